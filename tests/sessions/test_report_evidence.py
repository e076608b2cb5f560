"""The report claims only what its evidence shows, and re-asked polls are shown before and after.

* Lexical themes (no usable model themes) are *topics raised*: who raised them, with verified
  quotes, and never a word about agreement or a split — even when the remarks share words but
  take opposite sides.
* A model theme's stance survives only when its verified, side-tagged quotes carry it.
* A private-first poll asked again is charted before/after with who moved; the chart's text
  alternative and the Markdown table carry the numbers of the log.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import Any

import pytest

from tests.sessions.export_support import GENERATED_AT
from troupe.core.clock import FixedClock
from troupe.core.llm.protocol import ChatRequest
from troupe.core.llm.scripted import ScriptedBackend, scripted_from
from troupe.core.log import EventLog
from troupe.core.poll_stats import format_share
from troupe.sessions.cli import main
from troupe.sessions.export import export_run, load_transcript
from troupe.sessions.export.html import ChartRow, bar_chart_svg
from troupe.sessions.report import build_report
from troupe.sessions.report_render import render_report_html, render_report_markdown

PEOPLE = ["Maria Lopez", "Tom Becker", "Aiko Sato", "Kwame Mensah"]
CARDS = {n: {"name": n, "descriptor": "", "prompt": f"You are {n}.", "traits": {}} for n in PEOPLE}
LIKE = "Well, I like Gazpacho Go more than I expected."
USE = "Honestly, Gazpacho Go sounds like something I'd actually use."
DOUBT = "I'm not convinced by Gazpacho Go yet."
REMARKS = [
    ("Maria Lopez", LIKE),
    ("Tom Becker", DOUBT),
    ("Aiko Sato", DOUBT),
    ("Kwame Mensah", DOUBT),
    ("Tom Becker", USE),
    ("Aiko Sato", "Gazpacho Go is fine, I suppose, but I'm not convinced."),
]
BEFORE = {"Maria Lopez": 4, "Tom Becker": 2, "Aiko Sato": 3, "Kwame Mensah": 5}
AFTER = {"Maria Lopez": 4, "Tom Becker": 4, "Aiko Sato": 2, "Kwame Mensah": 5}
LIKERT = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


def write_log(run_dir: Path, *, reask: bool = False) -> Path:
    """Remarks that share words but take opposite sides; with ``reask``, a private poll asked
    again after the discussion."""
    run_dir.mkdir(parents=True, exist_ok=True)
    with EventLog(run_dir / "events.jsonl", clock=FixedClock(), fsync=False) as log:
        a = log.append
        a(
            "session_started",
            title="Gazpacho <Go> & co",
            spec="concept-test.toml",
            personas=PEOPLE,
            backend="scripted",
            model="scripted-1",
            seed=0,
            persona_cards=CARDS,
        )
        a("section_started", index=0, title="Concept reactions")
        a("moderator", text="What do you make of Gazpacho Go?", to=None)

        def poll(private_first: bool, values: dict[str, int]) -> None:
            a(
                "poll_asked",
                poll_id="intent",
                question="I would buy Gazpacho Go.",
                kind="likert5",
                options=LIKERT,
                private_first=private_first,
            )
            for agent, value in values.items():
                a("poll_answer", poll_id="intent", agent=agent, value=value, rationale="r", revealed=not private_first)

        if reask:
            poll(True, BEFORE)
        for turn, (agent, text) in enumerate(REMARKS, 1):
            a("say", agent=agent, text=text, turn=turn)
        if reask:
            poll(False, AFTER)
        a("session_ended", reason="guide_finished")
    return run_dir


def assert_claims_nothing(text: str) -> None:
    low = text.lower()
    assert "agreed" not in low and "common ground" not in low and "split" not in low, text


async def both(run_dir: Path, backend: Any) -> tuple[str, str]:
    report = await build_report(load_transcript(run_dir), backend=backend, generated_at=GENERATED_AT)
    return render_report_markdown(report), render_report_html(report)


# -- the lexical fallback -------------------------------------------------------------------


async def test_the_fallback_reports_topics_raised_never_agreement(tmp_path: Path) -> None:
    run = write_log(tmp_path / "run")
    md, page = await both(run, ScriptedBackend(seed=3))  # schema-valid replies that cite nothing real
    for text in (md, page):
        assert_claims_nothing(text)
        assert "Topics raised" in text
    who = "4 of 4 participants (Aiko Sato, Kwame Mensah, Maria Lopez, Tom Becker) spoke of “gazpacho”"
    assert who in md and html.escape(who) in page
    quoted = re.findall(r"^> “(.*?)” — \*\*(.*?)\*\* \(#(\d+)\)", md, re.M)
    said = {seq: remark for seq, remark in enumerate(REMARKS, 4)}
    assert {(agent, q) for q, agent, _ in quoted} >= {("Maria Lopez", LIKE), ("Tom Becker", DOUBT)}
    for q, agent, seq in quoted:  # verbatim, from the participant and the event cited
        assert said[int(seq)][0] == agent and html.unescape(q) in said[int(seq)][1]


def test_the_report_command_says_topics_in_both_formats(tmp_path: Path) -> None:
    run = write_log(tmp_path / "run")
    assert main(["report", str(run)]) == 0
    assert main(["report", str(run), "--format", "html"]) == 0
    for name in ("report.md", "report.html"):
        text = next(run.glob(name.replace(".", "*."))).read_text(encoding="utf-8")
        assert_claims_nothing(text)
        assert "Topics raised" in text


# -- model themes: stance checked against tagged, verified quotes ---------------------------


def reply(stance: str, refs: list[tuple[int, str, str | None]], summary: str = "Everyone agreed they love it.") -> Any:
    def answer(request: ChatRequest) -> dict[str, Any]:
        return {
            "themes": [
                {
                    "label": "Gazpacho Go appeal",
                    "summary": summary,
                    "stance": stance,
                    "refs": [{"seq": s, "excerpt": e, "side": side} for s, e, side in refs],
                }
            ]
        }

    return scripted_from(answer)


# seqs in write_log: 1 started, 2 section, 3 moderator, 4.. the remarks in order
ONE_SIDED = [
    # a claim of agreement whose evidence has one "for" and one "against"
    [(4, LIKE, "for"), (5, DOUBT, "against")],
    # two quotes "for", both from the same participant
    [(4, LIKE, "for"), (4, "I like Gazpacho Go", "for")],
    # no side given at all
    [(4, LIKE, None), (8, USE, None)],
    # "for" quotes that are not in the log are dropped, leaving one participant
    [(4, LIKE, "for"), (8, "Gazpacho Go is the best soup ever", "for"), (5, DOUBT, None)],
]


@pytest.mark.parametrize("refs", ONE_SIDED)
async def test_a_claimed_agreement_on_one_sided_evidence_is_stance_unclear(
    tmp_path: Path, refs: list[tuple[int, str, str | None]]
) -> None:
    run = write_log(tmp_path / "run")
    report = await build_report(load_transcript(run), backend=reply("agreed", refs), generated_at=GENERATED_AT)
    (theme,) = report.sections[0].themes
    assert theme.method == "llm" and theme.claimed == "agreed" and theme.stance == "unclear"
    assert not [f for f in report.findings if f.basis == "theme"]
    for text in (render_report_markdown(report), render_report_html(report)):
        assert_claims_nothing(text)
        assert "Stance unclear." in text and "Everyone agreed" not in text


async def test_a_carried_agreement_and_a_carried_split_are_reported_with_who_said_what(tmp_path: Path) -> None:
    run = write_log(tmp_path / "run")
    agreed = await build_report(
        load_transcript(run),
        backend=reply("agreed", [(4, LIKE, "for"), (8, USE, "for")], summary="They like it."),
        generated_at=GENERATED_AT,
    )
    (finding,) = agreed.findings
    assert (finding.verdict, finding.topic, finding.basis) == ("agreed", "Gazpacho Go appeal", "theme")
    assert finding.detail == "quoted for it: Maria Lopez, Tom Becker; no one quoted against"
    md = render_report_markdown(agreed)
    assert "Stance: agreed — quoted for it: Maria Lopez, Tom Becker; no one quoted against." in md
    assert f"> “{LIKE}” — **Maria Lopez** (#4) [for]" in md

    split = await build_report(
        load_transcript(run),
        backend=reply("split", [(4, LIKE, "for"), (5, DOUBT, "against"), (6, DOUBT, "against")], summary="Mixed."),
        generated_at=GENERATED_AT,
    )
    (finding,) = split.findings
    assert finding.verdict == "split"
    assert finding.detail == "quoted for it: Maria Lopez; against: Tom Becker, Aiko Sato"
    # A claimed split with quotes on one side only is unclear.
    one_side = await build_report(
        load_transcript(run), backend=reply("split", [(4, LIKE, "for"), (8, USE, "for")]), generated_at=GENERATED_AT
    )
    assert one_side.sections[0].themes[0].stance == "unclear" and not one_side.findings


# -- before and after -----------------------------------------------------------------------


def desc_rows(svg: str) -> dict[str, dict[str, tuple[int, str]]]:
    """An SVG chart's text alternative (its <desc>) as label → series → (count, share)."""
    desc = html.unescape(re.search(r"<desc>(.*?)</desc>", svg, re.S)[1])  # type: ignore[index]
    body = desc.split(". ", 1)[1] if ". " in desc.split(" | ")[0] else desc
    out: dict[str, dict[str, tuple[int, str]]] = {}
    for row in body.split(" | "):
        label, rest = row.split(": ", 1)
        series: dict[str, tuple[int, str]] = {}
        for part in rest.split("; "):
            m = re.fullmatch(r"(?:(?P<name>.+?): )?(?P<count>\d+) \((?P<share>\d+%)\)(?:, 95 % CI .*)?", part)
            assert m, part
            series[m["name"] or ""] = (int(m["count"]), m["share"])
        out[label] = series
    return out


def expected(values: dict[str, int]) -> dict[str, tuple[int, str]]:
    counts = {label: sum(1 for v in values.values() if v == i + 1) for i, label in enumerate(LIKERT)}
    return {label: (c, format_share(c / len(values))) for label, c in counts.items()}


async def test_a_reasked_private_poll_is_shown_before_and_after_with_who_moved(tmp_path: Path) -> None:
    run = write_log(tmp_path / "run", reask=True)
    report = await build_report(load_transcript(run), mode="lexical", generated_at=GENERATED_AT)
    (change,) = report.changes
    assert (change.before.seq, change.after.seq) == (4, 15)
    moved = {name: (a.score, b.score) for name, a, b in change.moved}
    assert moved == {"Tom Becker": (2.0, 4.0), "Aiko Sato": (3.0, 2.0)}
    before, after = expected(BEFORE), expected(AFTER)

    page = render_report_html(report)
    block = page.split('<div class="poll change"', 1)[1]
    chart = desc_rows(re.search(r"<svg.*?</svg>", block, re.S)[0])  # type: ignore[index]
    for label in LIKERT:
        assert chart[label] == {"before (#4)": before[label], "after (#15)": after[label]}
    assert "2 of 4 changed their answer; kept theirs: Maria Lopez, Kwame Mensah." in page

    md = render_report_markdown(report)
    section = md.split("## Before and after discussion", 1)[1]
    for label in LIKERT:
        b, a = before[label], after[label]
        assert f"| {label} | {b[0]} ({b[1]}) | {a[0]} ({a[1]}) |" in section
    assert "| Tom Becker | 2 — Disagree | 4 — Agree |" in section
    assert "| Aiko Sato | 3 — Neutral | 2 — Disagree |" in section

    # The transcript exports show the same comparison beside the second asking.
    exported = export_run(run, "html", generated_at=GENERATED_AT).read_text(encoding="utf-8")
    svg = re.search(r'<div class="poll change".*?(<svg.*?</svg>)', exported, re.S)[1]  # type: ignore[index]
    assert desc_rows(svg) == chart
    exported_md = export_run(run, "md", generated_at=GENERATED_AT).read_text(encoding="utf-8")
    assert "### Before and after: I would buy Gazpacho Go." in exported_md

    # The chart's numbers are the CSV export's answers, split at the second asking.
    with export_run(run, "csv").open(newline="", encoding="utf-8") as fh:
        answers = [r for r in csv.DictReader(fh) if r["type"] == "poll_answer" and r["poll_id"] == "intent"]
    for name, side in (
        ("before (#4)", [r for r in answers if int(r["seq"]) < 15]),
        ("after (#15)", [r for r in answers if int(r["seq"]) > 15]),
    ):
        scores = [int(float(r["score"])) for r in side]
        for k, label in enumerate(LIKERT, 1):
            assert chart[label][name] == (scores.count(k), format_share(scores.count(k) / len(scores)))


def test_the_chart_renderer_escapes_what_it_embeds_and_states_every_number() -> None:
    rows = [
        ChartRow('<script>alert("x")</script>', (2, 1), (0.5, 0.25)),
        ChartRow("B & C", (2, 3), (0.5, 0.75), intervals=((0.15, 0.85), None)),
    ]
    svg = bar_chart_svg(rows, [("one <b>", "#000"), ("two", "#111")], title="T <i>")
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    assert desc_rows(svg) == {
        '<script>alert("x")</script>': {"one <b>": (2, "50%"), "two": (1, "25%")},
        "B & C": {"one <b>": (2, "50%"), "two": (3, "75%")},
    }
    assert "95 % CI 15%–85%" in html.unescape(svg)


def test_a_long_legend_wraps_inside_the_chart() -> None:
    names = [(f"group-{i:02d} (n=12)", "#123456") for i in range(1, 11)]
    svg = bar_chart_svg([ChartRow("x", (1,) * 10, (0.1,) * 10)], names)
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg)[1])  # type: ignore[index]
    legend = re.findall(r'<rect x="(\d+)" y="(\d+)" width="12"', svg)
    assert len(legend) == 10 and len({y for _, y in legend}) > 1
    assert all(int(x) + 24 + 7 * len(names[0][0]) <= width + 24 for x, _ in legend)
