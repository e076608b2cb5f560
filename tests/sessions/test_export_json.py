"""JSON export: the spec, the personas and the events — which parse back to the same events."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sessions.export_support import CARDS, GENERATED_AT, PEOPLE, write_run
from troupe.core.errors import BadInputError
from troupe.core.log import read_events
from troupe.sessions.export import export_run
from troupe.sessions.export.json_export import events_from_export
from troupe.sessions.guide import parse_guide


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run")


def test_json_round_trip_gives_back_the_logged_events(run_dir: Path) -> None:
    path = export_run(run_dir, "json", include_thoughts=True, generated_at=GENERATED_AT)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert events_from_export(data) == read_events(run_dir / "events.jsonl")


def test_json_without_thoughts_omits_exactly_the_think_events(run_dir: Path) -> None:
    data = json.loads(export_run(run_dir, "json").read_text(encoding="utf-8"))
    logged = read_events(run_dir / "events.jsonl")
    assert events_from_export(data) == [e for e in logged if e.type != "think"]
    assert data["thoughts_included"] is False and data["thoughts_omitted"] == 1


def test_json_carries_spec_personas_provenance_and_poll_results(run_dir: Path) -> None:
    data = json.loads(export_run(run_dir, "json", generated_at=GENERATED_AT).read_text(encoding="utf-8"))
    assert data["format"] == "troupe-transcript" and data["version"] == 1
    assert "simulated" in data["notice"]
    assert data["generated_at"] == "2026-02-01T09:30:00Z"
    assert data["session"]["backend"] == "scripted" and data["session"]["model"] == "scripted-1"
    assert data["session"]["end_reason"] == "guide finished"
    assert parse_guide(data["guide"]).title.startswith("Gazpacho Go")  # the spec rebuilds
    assert [p["name"] for p in data["personas"]] == PEOPLE
    assert data["personas"][0]["descriptor"] == CARDS["Maria Lopez"]["descriptor"]
    intent = next(p for p in data["polls"] if p["poll_id"] == "purchase_intent")
    assert (
        intent["n"] == 4 and intent["mean"] == pytest.approx(3.5) and intent["stdev"] == pytest.approx(1.732, abs=1e-3)
    )
    assert intent["counts"] == {"Strongly disagree": 1, "Disagree": 0, "Neutral": 0, "Agree": 2, "Strongly agree": 1}


def test_events_from_export_refuses_other_json() -> None:
    with pytest.raises(BadInputError, match="not a Troupe JSON export"):
        events_from_export({"events": []})
