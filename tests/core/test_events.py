"""Event models: the engine's added types parse, extras survive, unknown types are kept."""

from __future__ import annotations

from troupe.core.events import (
    EVENT_TYPES,
    GenericEvent,
    PollClosed,
    PollRevealed,
    RoundEnded,
    RoundStarted,
    Say,
    SectionEnded,
    SectionStarted,
    parse_event,
)

TS = "2026-01-01T12:00:00.000Z"


def test_the_engine_event_types_are_registered_and_parse() -> None:
    for name in ("round_started", "round_ended", "section_ended", "poll_closed"):
        assert name in EVENT_TYPES
    started = parse_event(
        {
            "seq": 1,
            "ts": TS,
            "type": "round_started",
            "key": "s1.r0",
            "policy": "parallel",
            "section": 1,
            "block": None,
            "round": 0,
        }
    )
    assert isinstance(started, RoundStarted) and started.adhoc is False and started.to is None
    assert isinstance(parse_event({"seq": 2, "ts": TS, "type": "round_ended", "key": "s1.r0"}), RoundEnded)
    ended = parse_event({"seq": 3, "ts": TS, "type": "section_ended", "index": 1, "skipped": True})
    assert isinstance(ended, SectionEnded) and ended.skipped
    closed = parse_event(
        {
            "seq": 4,
            "ts": TS,
            "type": "poll_closed",
            "poll_id": "p",
            "n": 3,
            "counts": {"A": 3},
            "mean": None,
            "stdev": None,
            "distribution": {"A": 1.0},
        }
    )
    assert isinstance(closed, PollClosed) and closed.n == 3


def test_added_fields_have_defaults_so_older_logs_still_load() -> None:
    section = parse_event({"seq": 1, "ts": TS, "type": "section_started", "index": 0, "title": "Warm-up"})
    assert isinstance(section, SectionStarted) and section.rules == [] and section.policy is None
    revealed = parse_event({"seq": 2, "ts": TS, "type": "poll_revealed", "poll_id": "p"})
    assert isinstance(revealed, PollRevealed) and revealed.answers is None
    moderator = parse_event({"seq": 3, "ts": TS, "type": "moderator", "text": "hi", "to": None})
    assert moderator.source == "moderator"


def test_extra_fields_round_trip_through_json() -> None:
    say = parse_event(
        {
            "seq": 5,
            "ts": TS,
            "type": "say",
            "agent": "Tom",
            "text": "No.",
            "turn": 2,
            "round_key": "s0.r1",
            "beat": None,
        }
    )
    assert isinstance(say, Say) and say.round_key == "s0.r1"  # type: ignore[attr-defined]
    again = parse_event(say.to_json_dict())
    assert again == say and again.to_json_dict()["round_key"] == "s0.r1"


def test_unknown_types_are_kept_verbatim() -> None:
    event = parse_event({"seq": 9, "ts": TS, "type": "future_thing", "payload": [1, 2]})
    assert isinstance(event, GenericEvent) and event.to_json_dict()["payload"] == [1, 2]
