"""The shipped guides: each validates, seats real library personas, and runs headless to the end
with the scripted backend — and every export and the report are made from such a run and read
back the way users would (pandas/csv, an HTML parser, a JSON round trip)."""

from __future__ import annotations

import asyncio
import csv
import json
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from troupe.core.clock import FixedClock
from troupe.core.events import Event
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.log import read_events
from troupe.personas.card import render_card
from troupe.personas.library import resolve_persona
from troupe.sessions.export import export_run, load_transcript
from troupe.sessions.export.csv_export import COLUMNS
from troupe.sessions.export.json_export import events_from_export
from troupe.sessions.guide import Guide, list_guides, load_guide
from troupe.sessions.headless import run_headless
from troupe.sessions.report import build_report

SHIPPED = ["ab-test", "brainstorm", "concept-test", "interview"]


def test_the_four_guides_ship() -> None:
    assert [p.stem for p in list_guides()] == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_guide_validates_and_its_panel_resolves(name: str) -> None:
    guide = load_guide(name)
    assert guide.sections and guide.description and guide.objectives
    for slug in guide.panel.personas:
        assert resolve_persona(slug).name
    turns = guide.total_rounds() * len(guide.panel.personas)
    assert turns <= 60, "keep shipped sessions quick to run headless"
    for section in guide.sections:
        assert section.prompt, f"{name}: {section.title} has no moderator prompt"


def test_concept_test_is_a_concept_test() -> None:
    guide = load_guide("concept-test")
    assert guide.kind == "concept_test" and len(guide.panel.personas) >= 5
    titles = [s.title for s in guide.sections]
    assert titles[0] == "Warm-up" and titles[-1] == "Wrap-up"
    concepts = next(s for s in guide.sections if s.title == "Concept reactions")
    assert [s.kind for s in concepts.stimuli] == ["concept", "concept"] and concepts.stimuli_order == "rotate"
    intent = next(p for s in guide.sections for p in s.polls if p.id == "purchase_intent")
    assert intent.kind == "likert5" and intent.private_first


def test_brainstorm_has_a_no_criticism_rule_and_a_vote() -> None:
    guide = load_guide("brainstorm")
    assert guide.kind == "brainstorm"
    rules = " ".join(r for s in guide.sections for r in s.rules).lower()
    assert "no criticism" in rules
    assert any("cluster" in s.title.lower() for s in guide.sections)
    kinds = {p.kind for s in guide.sections for p in s.polls}
    assert {"multi", "single"} <= kinds


def test_ab_test_has_two_variants_and_a_single_choice_preference() -> None:
    guide = load_guide("ab-test")
    variants = [st for s in guide.sections for st in s.stimuli]
    assert len(variants) == 2 and all(v.title and v.title.startswith("Variant") for v in variants)
    preference = next(p for s in guide.sections for p in s.polls if p.id == "preferred_variant")
    assert preference.kind == "single" and preference.private_first


def test_interview_is_one_to_one_and_directed() -> None:
    guide = load_guide("interview")
    assert guide.kind == "interview" and len(guide.panel.personas) == 1
    assert all(guide.policy_for(s) == "directed" for s in guide.sections)


# -- end to end ----------------------------------------------------------------------------


async def _run(guide: Guide, run_dir: Path) -> Path:
    cards = [render_card(resolve_persona(p)) for p in guide.panel.personas]
    return await run_headless(
        guide, cards, ScriptedBackend(seed=7), run_dir, seed=1, progress=False, clock=FixedClock()
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each shipped guide played to its end, once for the whole module."""
    base = tmp_path_factory.mktemp("shipped")
    return {name: asyncio.run(_run(load_guide(name), base / name)) for name in SHIPPED}


@pytest.mark.parametrize("name", SHIPPED)
def test_runs_headless_to_the_end(runs: dict[str, Path], name: str) -> None:
    guide = load_guide(name)
    events = read_events(runs[name] / "events.jsonl")
    assert events[0].type == "session_started" and events[-1].type == "session_ended"
    started = [e.title for e in events if e.type == "section_started"]  # type: ignore[attr-defined]
    assert started == [s.title for s in guide.sections]
    panel = set(events[0].personas)  # type: ignore[attr-defined]
    for poll in (p for s in guide.sections for p in s.polls):
        answered = {e.agent for e in events if e.type == "poll_answer" and e.poll_id == poll.id}  # type: ignore[attr-defined]
        assert answered == panel, poll.id
    turns = sum(1 for e in events if e.type in ("say", "think", "pass"))
    assert turns >= guide.total_rounds()
    assert any(e.type == "say" for e in events)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


def _visible(events: list[Event]) -> list[Event]:
    return [e for e in events if e.type != "think"]


@pytest.mark.parametrize("name", SHIPPED)
def test_every_export_reads_back(runs: dict[str, Path], name: str) -> None:
    run = runs[name]
    logged = read_events(run / "events.jsonl")
    says = [e for e in logged if e.type == "say"]

    md = export_run(run, "md", force=True).read_text(encoding="utf-8")
    assert "simulated" in md and "scripted / scripted-1" in md
    assert all(e.text.splitlines()[0][:40] in md for e in says if "<" not in e.text)  # type: ignore[attr-defined]

    data = json.loads(export_run(run, "json", force=True, include_thoughts=True).read_text(encoding="utf-8"))
    assert events_from_export(data) == logged
    data = json.loads(export_run(run, "json", force=True).read_text(encoding="utf-8"))
    assert events_from_export(data) == _visible(logged)

    csv_path = export_run(run, "csv", force=True)
    frame = pd.read_csv(csv_path)
    assert list(frame.columns) == COLUMNS
    assert frame[frame["type"] == "say"]["text"].tolist() == [e.text for e in says]  # type: ignore[attr-defined]
    assert len(frame[frame["type"] == "poll_answer"]) == sum(1 for e in logged if e.type == "poll_answer")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    assert "think" not in {r["type"] for r in rows}

    page = _Page()
    page.feed(export_run(run, "html", force=True).read_text(encoding="utf-8"))
    assert "script" not in page.tags and "Simulated participants." in page.text
    assert page.tags.count("svg") == sum(1 for e in logged if e.type == "poll_asked" and e.kind != "text")  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", SHIPPED)
async def test_report_from_a_real_run_quotes_verbatim(runs: dict[str, Path], name: str) -> None:
    run = runs[name]
    said = {e.seq: (e.agent, e.text) for e in read_events(run / "events.jsonl") if e.type == "say"}  # type: ignore[attr-defined]
    report = await build_report(load_transcript(run), backend=ScriptedBackend(seed=11))
    assert report.all_quotes
    for quote in report.all_quotes:
        assert quote.agent == said[quote.seq][0] and quote.text in said[quote.seq][1]
    assert report.overall or any(s.themes for s in report.sections), "lexical themes should always find something"
    for poll in report.polls:
        assert poll.n == len(load_guide(name).panel.personas)


def test_troupe_run_then_export_and_report_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from troupe.sessions.cli import main

    monkeypatch.chdir(tmp_path)
    run = tmp_path / "gazpacho"
    assert main(["run", "concept-test", "--headless", "--backend", "scripted", "--seed", "1", "--out", str(run)]) == 0
    events = read_events(run / "events.jsonl")
    assert events[-1].type == "session_ended"
    # The concept cards rotate with the seed: seed 1 shows concept B first.
    shown = [e.title for e in events if e.type == "stimulus"]  # type: ignore[attr-defined]
    assert [t[:9] for t in shown] == ["Concept B", "Concept A"]
    for fmt in ("md", "json", "csv", "html"):
        assert main(["export", str(run), "--format", fmt]) == 0
    assert main(["report", str(run), "--format", "html"]) == 0
    assert {p.name for p in run.iterdir()} >= {
        "transcript.md",
        "transcript.json",
        "transcript.csv",
        "transcript.html",
        "report.html",
    }


@pytest.mark.parametrize("name", SHIPPED)
def test_export_statistics_agree_with_the_engines_poll_closed(runs: dict[str, Path], name: str) -> None:
    """Two independent computations from the same answers: the engine's, logged in poll_closed,
    and the exports' (core/poll_stats). They must agree."""
    transcript = load_transcript(runs[name])
    closed = {e.poll_id: e for e in transcript.events if e.type == "poll_closed"}  # type: ignore[attr-defined]
    assert set(closed) == {p.poll_id for p in transcript.polls}
    for poll in transcript.polls:
        engine = closed[poll.poll_id]
        assert poll.n == engine.n  # type: ignore[attr-defined]
        assert poll.counts == engine.counts  # type: ignore[attr-defined]
        assert poll.mean == pytest.approx(engine.mean)  # type: ignore[attr-defined]
        assert poll.stdev == pytest.approx(engine.stdev)  # type: ignore[attr-defined]
