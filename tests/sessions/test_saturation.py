"""Theme saturation across a study's groups (sessions/saturation.py) on crafted logs."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tests.sessions.test_report_evidence import desc_rows
from troupe.core.events import Event, parse_event
from troupe.core.poll_stats import format_share
from troupe.sessions.cli import main
from troupe.sessions.saturation import (
    Saturation,
    chart_lines,
    group_themes,
    saturation,
    saturation_html,
    saturation_markdown,
)


def group(*lines: tuple[str, str]) -> list[Event]:
    items = [
        ("session_started", dict(title="t", personas=["Ana", "Ben"], backend="scripted")),
        ("section_started", dict(index=0, title="Talk")),
        *[("say", dict(agent=a, text=t, turn=1)) for a, t in lines],
    ]
    return [parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": k, **f}) for i, (k, f) in enumerate(items, 1)]


PRICE = (("Ana", "The price is too high."), ("Ben", "That price puts me off."))
BOTTLE = (("Ana", "A glass bottle looks nice."), ("Ben", "The bottle feels cheap."))
FRIDGE = (("Ana", "My fridge is always full."), ("Ben", "No fridge space left at home."))


def test_new_themes_per_group_and_saturation() -> None:
    assert group_themes(group(*PRICE)) == ["price"]
    assert group_themes(group(*PRICE, *BOTTLE)) == ["bottle", "price"]
    sat = saturation(
        [
            ("g1", group(*PRICE)),
            ("g2", group(*PRICE, *BOTTLE)),
            ("g3", group(*BOTTLE, *FRIDGE)),
            ("g4", group(*FRIDGE, *PRICE)),
        ]
    )
    assert sat.new_counts == [1, 1, 1, 0]
    assert sat.cumulative == [1, 2, 3, 3]
    assert sat.new == [["price"], ["bottle"], ["fridge"], []]
    assert sat.saturated_at == 4
    chart = chart_lines(sat, width=30)
    assert chart[0].split()[1] == "█" * 10 and chart[3].split()[1] == "░" * 30 and chart[3].endswith("+0 new, 3 in all")
    md = "\n".join(saturation_markdown(sat))
    assert "Saturation: group 4 added no new theme." in md and "scripted backend" in md
    assert sat.to_json()["new_per_group"] == [1, 1, 1, 0]


def test_a_scripted_three_group_study_reports_a_saturation_curve(tmp_path: Path, capsys) -> None:
    out = tmp_path / "study"
    assert main(["study", "concept-test", "--groups", "3", "--backend", "scripted", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "theme saturation (new themes per additional group):" in err
    md = (out / "study.md").read_text()
    assert "## Theme saturation" in md and "## Polls" in md
    data = json.loads((out / "study.json").read_text())["saturation"]
    assert [g["name"] for g in data["groups"]] == ["group-01", "group-02", "group-03"]
    cumulative = [g["cumulative"] for g in data["groups"]]
    assert cumulative == sorted(cumulative) and cumulative[0] == len(data["groups"][0]["themes"]) > 0
    assert sum(data["new_per_group"]) == cumulative[-1]
    check_study_html(out)


VOID = {"meta", "link", "br", "img", "hr", "input"}


class Page(HTMLParser):
    """Checks that every element is closed in order, and keeps the text of one section."""

    def __init__(self, section: str) -> None:
        super().__init__(convert_charrefs=True)
        self.section = section
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.depth: int | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        self.stack.append(tag)
        if tag == "section" and dict(attrs).get("class") == self.section:
            self.depth = len(self.stack)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        if self.depth == len(self.stack):
            self.depth = -1
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.depth is not None and self.depth > 0:
            self.text.append(data)


def saturation_section(page: str) -> tuple[str, str]:
    """The saturation section's markup and its text as a browser would read it (the page must parse)."""
    parser = Page("saturation")
    parser.feed(page)
    parser.close()
    assert parser.problems == [] and parser.stack == []
    block = re.search(r'<section class="saturation" id="saturation">.*?</section>', page, re.S)
    assert block is not None
    return block[0], " ".join(" ".join(parser.text).split())


def check_study_html(out: Path) -> None:
    """study.html (it parses) carries the saturation curve with study.json's figures, escaped."""
    data = json.loads((out / "study.json").read_text())["saturation"]
    page = (out / "study.html").read_text(encoding="utf-8")
    assert "<script" not in page
    block, text = saturation_section(page)
    total = data["groups"][-1]["cumulative"]
    [svg] = re.findall(r"<svg.*?</svg>", block, re.S)
    assert desc_rows(svg) == {
        g["name"]: {
            "new themes": (len(g["new"]), format_share(len(g["new"]) / total)),
            "cumulative": (g["cumulative"], format_share(g["cumulative"] / total)),
        }
        for g in data["groups"]
    }
    for g in data["groups"]:  # the table: group, themes, new, cumulative, the new themes
        row = f"{g['name']} {len(g['themes'])} {len(g['new'])} {g['cumulative']} {', '.join(g['new']) or '—'}"
        assert row in text
    verdict = f"Saturation: group {data['saturated_at_group']} added no new theme."
    assert (verdict if data["saturated_at_group"] else "Not saturated: every group added new themes.") in text
    assert verdict in (out / "study.md").read_text() or not data["saturated_at_group"]


def test_saturation_html_escapes_theme_text_and_says_when_nothing_finished() -> None:
    sat = Saturation(
        groups=["g<1>", "g2"], themes=[["<b>bold</b>"], ["<b>bold</b>", "x&y"]], new=[["<b>bold</b>"], ["x&y"]]
    )
    block = saturation_html(sat)
    assert "<b>" not in block and "&lt;b&gt;bold&lt;/b&gt;" in block and "x&amp;y" in block and "g&lt;1&gt;" in block
    rows = desc_rows(re.findall(r"<svg.*?</svg>", block, re.S)[0])
    assert rows == {
        "g<1>": {"new themes": (1, "50%"), "cumulative": (1, "50%")},
        "g2": {"new themes": (1, "50%"), "cumulative": (2, "100%")},
    }
    assert "Not saturated: every group added new themes." in html.unescape(block)
    assert "No finished group." in saturation_html(Saturation())
