"""Charts for `troupe validate --format html` and `troupe study`'s study.html.

Each chart's text alternative (the SVG ``<desc>``) is parsed and its numbers checked against
what they stand for: the answers in the runs' log lines, the CSV of real answers, study.json
and the Markdown. Headless Chromium renders both pages without console messages where it is
installed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from tests.sessions.test_report_evidence import desc_rows
from tests.sessions.test_validate_human import HUMAN_CSV, HUMAN_INTENT, LEAKY_ENV, as_likert, simulated
from troupe.core.poll_stats import Answer, PollResult, format_share
from troupe.core.polls import LIKERT_LABELS
from troupe.sessions.cli import main
from troupe.sessions.human_validation import compare, render_validation_html

LIKERT = LIKERT_LABELS["likert5"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 3-group study of ab-test (a Likert poll and a single-choice poll), scripted."""
    root = tmp_path_factory.mktemp("charts")
    out = root / "s"
    with pytest.MonkeyPatch.context() as mp:
        for name in LEAKY_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        args = ["study", "ab-test", "--groups", "3", "--panel-size", "3", "--backend", "scripted", "--rounds", "1"]
        assert main([*args, "--out", str(out)]) == 0
    (root / "human.csv").write_text(HUMAN_CSV, encoding="utf-8")
    yield out


def svgs(text: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", text, re.S)


def validate(capsys: pytest.CaptureFixture[str], study: Path, fmt: str) -> str:
    capsys.readouterr()
    args = [str(study), "--human", str(study.parent / "human.csv"), "--column", "intent", "--poll", "booking_intent"]
    assert main(["validate", *args, "--format", fmt]) == 0
    return capsys.readouterr().out


# -- validate --format html -----------------------------------------------------------------


def test_validation_chart_overlays_the_log_and_the_csv(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = validate(capsys, study, "html")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    groups = sorted(p for p in study.iterdir() if p.is_dir())
    sim = [as_likert(v) for v in simulated(groups, "booking_intent")]
    hum = HUMAN_INTENT
    (svg,) = svgs(page)
    rows = desc_rows(svg)
    sim_name, hum_name = f"simulated (n={len(sim)})", f"real (n={len(hum)})"
    assert list(rows) == LIKERT
    for k, label in enumerate(LIKERT, 1):
        assert rows[label] == {
            sim_name: (sim.count(k), format_share(sim.count(k) / len(sim))),
            hum_name: (hum.count(k), format_share(hum.count(k) / len(hum))),
        }
    # The same numbers as the Markdown's distribution table.
    md = validate(capsys, study, "md")
    for label, series in rows.items():
        (sc, ss), (hc, hs) = series[sim_name], series[hum_name]
        assert f"| {label} | {sc} ({ss}) | {hc} ({hs}) |" in md


def test_validation_page_puts_each_aspect_verdict_beside_the_chart(
    study: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = validate(capsys, study, "html")
    data = json.loads(validate(capsys, study, "json"))
    side = page.split('<div class="side">', 1)[1].split("</div>", 1)[0]
    assert "<svg" in side and '<table class="aspects">' in side  # chart and verdicts side by side
    shown = {
        name: html.unescape(text)
        for name, text in re.findall(r"<tr class=\"sev\d\"><th>(\w+)<br>.*?</th><td>(.*?)</td></tr>", side)
    }
    assert shown == {a["aspect"]: a["verdict"] for a in data["fidelity"]["aspects"]}
    assert html.escape(data["headline"], quote=True) in page
    figures = re.search(r'<table class="figures">.*?</table>', page, re.S)[0]  # type: ignore[index]
    assert f'<th>mean</th><td class="num">{data["simulated"]["mean"]:.2f}</td>' in figures
    assert f'<td class="num">{data["human"]["mean"]:.2f}</td>' in figures


def number_poll(values: list[float], name: str) -> PollResult:
    result = PollResult(poll_id="price", question="Fair <price>?", kind="number", options=[], seq=1)
    result.answers = [
        Answer(agent=f"{name}{i}", value=x, rationale="", seq=i, revealed=False, score=x) for i, x in enumerate(values)
    ]
    return result


def test_number_polls_share_bins_in_the_chart_and_the_markdown() -> None:
    sim, hum = [1.0, 2, 2, 3, 3, 3], [2.0, 4, 5, 5, 6]
    v = compare(number_poll(sim, "s"), number_poll(hum, "h"), source="r", groups=["r"], csv_path="h.csv", column="p")
    page = render_validation_html([v])
    assert "Fair &lt;price&gt;?" in page and "<price>" not in page
    rows = desc_rows(svgs(page)[0])
    assert list(rows) == ["1", "2", "3", "4", "5", "6"]  # integer answers: one bin per integer, shared
    for label in rows:
        k = float(label)
        s, h = sim.count(k), hum.count(k)
        assert rows[label] == {
            "simulated (n=6)": (s, format_share(s / 6)),
            "real (n=5)": (h, format_share(h / 5)),
        }
        assert f"| {label} | {s} ({format_share(s / 6)}) | {h} ({format_share(h / 5)}) |" in v.render_markdown()


# -- study.html -----------------------------------------------------------------------------


def poll_blocks(page: str) -> dict[str, str]:
    return {m[1]: m[2] for m in re.finditer(r'<div class="poll" id="poll-([\w-]+)">(.*?)</div>', page, re.S)}


def wilson(count: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(count, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


def test_study_html_charts_the_pooled_distribution_with_intervals_and_the_groups(study: Path) -> None:
    page = (study / "study.html").read_text(encoding="utf-8")
    assert "<script" not in page
    data = json.loads((study / "study.json").read_text(encoding="utf-8"))
    blocks = poll_blocks(page)
    assert list(blocks) == [p["poll_id"] for p in data["polls"]] and blocks
    md = (study / "study.md").read_text(encoding="utf-8")
    for poll in data["polls"]:
        pooled_svg, groups_svg = svgs(blocks[poll["poll_id"]])
        n = poll["n"]
        pooled = desc_rows(pooled_svg)
        assert list(pooled) == list(poll["counts"])
        for option, count in poll["counts"].items():
            assert pooled[option] == {"": (count, format_share(count / n))}
            low, high = wilson(count, n)
            span = f"{format_share(low)}–{format_share(high)}"
            assert f"{option}: {count} ({format_share(count / n)}), 95 % CI {span}" in html.unescape(pooled_svg)
            cells = " | ".join(str(g["counts"][option]) for g in poll["groups"])
            assert f"| {option} | {count} ({format_share(count / n)}) | {span} | {cells} |" in md
        by_group = desc_rows(groups_svg)
        for option in poll["counts"]:
            assert by_group[option] == {
                f"{g['group']} (n={g['n']})": (g["counts"][option], format_share(g["counts"][option] / g["n"]))
                for g in poll["groups"]
            }
        # The pooled counts are the groups' sums, straight from the runs' log lines.
        for option, count in poll["counts"].items():
            raw = [v for g in poll["groups"] for v in simulated([study / g["group"]], poll["poll_id"])]
            options = poll["options"] or LIKERT
            labels = [options[as_likert(v) - 1] if poll["kind"].startswith("likert") else str(v).strip() for v in raw]
            assert sum(1 for x in labels if x.lower() == option.lower()) == count


# -- headless Chromium ----------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def render(path: Path) -> tuple[str, str]:
    result = subprocess.run(
        [
            CHROMIUM or "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr[-500:]
    return result.stdout, result.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_chromium_renders_the_validation_and_study_pages_without_console_errors(
    study: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    validation = tmp_path / "validation.html"
    validation.write_text(validate(capsys, study, "html"), encoding="utf-8")
    for path in (validation, study / "study.html"):
        dom, log = render(path)
        consoled: list[Any] = [line for line in log.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        assert not consoled, consoled
        assert "<svg" in dom and "<desc>" in dom
