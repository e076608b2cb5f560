"""HTML transcript: self-contained, escaped, speakers coloured, polls charted, printable."""

from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.sessions.export_support import GENERATED_AT, MUTED_SAY, SCRIPT_STIMULUS, THOUGHT, write_run
from troupe.sessions.export import export_run


class Collector(HTMLParser):
    """Tags, attributes and text of a page, the way a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)

    def names(self) -> set[str]:
        return {t for t, _ in self.tags}

    def joined(self) -> str:
        return "".join(self.text)


@pytest.fixture
def page(tmp_path: Path) -> tuple[Path, Collector]:
    path = export_run(write_run(tmp_path / "run"), "html", generated_at=GENERATED_AT)
    parser = Collector()
    parser.feed(path.read_text(encoding="utf-8"))
    return path, parser


def test_script_in_a_stimulus_stays_text(page: tuple[Path, Collector]) -> None:
    _, parsed = page
    assert "script" not in parsed.names()
    assert SCRIPT_STIMULUS in parsed.joined()


def test_self_contained_no_external_assets(page: tuple[Path, Collector]) -> None:
    path, parsed = page
    assert not parsed.names() & {"script", "link", "img", "iframe", "object", "embed"}
    for tag, attrs in parsed.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), (tag, name, value)
    csp = next(a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in (csp or "")
    assert "@media print" in parsed.style and "url(" not in parsed.style


def test_provenance_speakers_and_privacy(page: tuple[Path, Collector]) -> None:
    _, parsed = page
    text = parsed.joined()
    assert "Simulated participants." in text and "scripted / scripted-1" in text and "2026-02-01 09:30 UTC" in text
    assert THOUGHT not in text
    # Each speaker's remarks carry that speaker's colour.
    colours = {}
    for tag, attrs in parsed.tags:
        if tag == "div" and "say" in (attrs.get("class") or "").split():
            colours.setdefault(attrs["id"], attrs.get("style"))
    assert len(set(colours.values())) == 4
    muted = next(a for t, a in parsed.tags if t == "div" and a.get("id") == "e19")
    assert "muted" in (muted.get("class") or "")
    assert MUTED_SAY in text and "muted — not heard by the room" in text


def test_polls_are_charted_in_inline_svg(page: tuple[Path, Collector]) -> None:
    _, parsed = page
    svgs = [a for t, a in parsed.tags if t == "svg"]
    assert len(svgs) == 3
    assert any("Agree: 2 (50%)" in (a.get("aria-label") or "") for a in svgs)
    assert sum(1 for t, _ in parsed.tags if t == "rect") == 3 + 5 + 4


def test_thoughts_shown_when_asked(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run")
    parser = Collector()
    parser.feed(export_run(run, "html", include_thoughts=True).read_text(encoding="utf-8"))
    assert THOUGHT in parser.joined() and "private thought" in parser.joined()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_chromium_renders_it_without_running_the_script(page: tuple[Path, Collector]) -> None:
    path, _ = page
    result = subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-500:]
    dom = result.stdout
    parsed = Collector()
    parsed.feed(dom)
    assert "script" not in parsed.names()  # the browser built no script element either
    assert 'alert("pwned")' in parsed.joined()
    assert "Concept reactions" in parsed.joined() and "<svg" in dom
