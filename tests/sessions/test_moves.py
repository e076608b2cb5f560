"""Moves against dominance and conformity, at the engine level: each is an event, each acts on
the next turns, and a reopened run rebuilds the same state from the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.engine_fixtures import guide_data, make_cards, prompt_text, turn_requests
from tests.sessions.test_session import check_log
from troupe.core import dynamics
from troupe.core.clock import FixedClock
from troupe.core.errors import BadInputError
from troupe.core.events import parse_event
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.export import render
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session, minority_view
from troupe.sessions.transcript import build_transcript


async def start(tmp_path: Path, backend: ScriptedBackend | None = None) -> Session:
    return await Session.start(
        parse_guide(guide_data()),
        make_cards(),
        backend or ScriptedBackend(),
        tmp_path / "run",
        clock=FixedClock(),
    )


def turns_of(session: Session, key: str) -> list[str]:
    return [e.agent for e in session.events if e.type in ("say", "think", "pass") and e.round_key == key]  # type: ignore[attr-defined]


async def test_call_on_quiet_gives_the_next_round_to_the_least_airtime(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()  # warm-up prompt
    await session.step()  # round robin: everyone speaks once
    words = {r.agent: r.words for r in dynamics.airtime(session.events).rows}
    expected = sorted(words, key=lambda n: (words[n], list(session.cards).index(n)))[:2]
    events = await session.call_on_quiet(2)
    [called] = [e for e in session.events if e.type == "quiet_called"]
    assert called.agents == expected and called.round_key == "m1"  # type: ignore[attr-defined]
    assert [e.agent for e in events if e.type in ("say", "think", "pass")] == expected  # type: ignore[attr-defined]
    assert turns_of(session, "m1") == expected
    started = [e for e in session.events if e.type == "round_started" and e.key == "m1"]  # type: ignore[attr-defined]
    assert started[0].to == expected and started[0].seq > called.seq  # type: ignore[attr-defined]
    assert all("said little so far" in prompt_text(r) for r in turn_requests(session.backend)[-2:])
    await session.call_on_quiet()  # default: half the panel of four
    assert len(turns_of(session, "m2")) == 2
    check_log(session)
    await session.aclose()


async def test_devils_advocate_marks_the_say_and_the_exports(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()
    session.backend.enqueue({"action": "say", "text": "Honestly, cold soup is money down the drain."})  # type: ignore[attr-defined]
    await session.devils_advocate("Maria", "Cold soup is a waste of money")
    [move] = [e for e in session.events if e.type == "devils_advocate"]
    assert (move.agent, move.position, move.poll_id) == ("Maria Lopez", "Cold soup is a waste of money", None)  # type: ignore[attr-defined]
    [said] = [e for e in session.events if e.type == "say"]
    assert said.agent == "Maria Lopez" and said.role == "devils_advocate" and said.seq > move.seq  # type: ignore[attr-defined]
    assert "Cold soup is a waste of money" in prompt_text(turn_requests(session.backend)[-1])
    # Ordinary turns carry no role.
    await session.step()
    assert all(getattr(e, "role", None) is None for e in session.events if e.type == "say" and e.seq > said.seq)
    t = build_transcript(session.events)
    md, html = render(t, "md"), render(t, "html")
    assert "devil's advocate — argued on request, not their own view" in md
    assert "devil&#x27;s advocate — argued on request" in html or "devil's advocate — argued on request" in html
    assert "The moderator asked Maria Lopez to play devil's advocate for: Cold soup is a waste of money" in md
    with pytest.raises(BadInputError):
        await session.devils_advocate("Nobody", "x")
    check_log(session)
    await session.aclose()


def test_minority_view_reads_the_latest_poll() -> None:
    def log(*items: tuple[str, dict]):
        return [
            parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": t, **f}) for i, (t, f) in enumerate(items, 1)
        ]

    opts = ["Red", "Blue", "Green"]
    events = log(
        ("poll_asked", dict(poll_id="c", question="Colour?", kind="single", options=opts)),
        ("poll_answer", dict(poll_id="c", agent="A", value="Red", rationale="")),
        ("poll_answer", dict(poll_id="c", agent="B", value="Red", rationale="")),
        ("poll_answer", dict(poll_id="c", agent="C", value="Green", rationale="")),
    )
    assert minority_view(events) == ("c", "Colour? — Green")
    likert = log(
        ("poll_asked", dict(poll_id="l", question="Buy?", kind="likert5", options=None)),
        ("poll_answer", dict(poll_id="l", agent="A", value=4, rationale="")),
        ("poll_answer", dict(poll_id="l", agent="B", value=5, rationale="")),
    )
    assert minority_view(likert) == ("l", "Buy? — Strongly disagree")
    assert minority_view([])[0] is None


async def test_hold_back_sits_out_n_rounds_and_survives_reopen(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()
    session.hold_back("Aiko", 2)
    assert session.room.held == {"Aiko Sato": 2}
    await session.step()  # warm-up round robin: Aiko sits out
    assert "Aiko Sato" not in turns_of(session, "s0.r0") and len(turns_of(session, "s0.r0")) == 3
    assert session.room.held == {"Aiko Sato": 1}
    await session.run_round()  # m1: still out
    assert "Aiko Sato" not in turns_of(session, "m1")
    assert session.room.held == {}
    # A direct question reaches a held persona.
    session.hold_back("Tom", 1)
    await session.ask("Tom", "And you, Tom?")
    assert turns_of(session, "m2") == ["Tom Becker"]
    assert session.room.held == {}  # that round counted
    session.hold_back("Kwame", 3)
    await session.run_round()
    await session.aclose()

    reopened = await Session.reopen(tmp_path / "run", ScriptedBackend())
    assert reopened.room.held == {"Kwame Mensah": 2}
    await reopened.run_round()
    assert "Kwame Mensah" not in turns_of(reopened, "m4") and "Aiko Sato" in turns_of(reopened, "m4")
    with pytest.raises(BadInputError):
        reopened.hold_back("Kwame", -1)
    check_log(reopened)
    await reopened.aclose()


async def test_free_policy_follows_assertiveness_from_traits(tmp_path: Path) -> None:
    """The ``free`` policy weighs airtime by ``talkativeness`` (from extraversion when unset,
    ``personas/card.py``): over many rounds the loud speak more than the shy, unprompted."""
    session = await Session.start(
        parse_guide(
            guide_data(sections=[{"title": "Open", "prompt": "Talk about lunch.", "policy": "free", "rounds": 1}])
        ),
        make_cards(),
        ScriptedBackend(),
        tmp_path / "run",
        clock=FixedClock(),
    )
    await session.step()
    for _ in range(6):
        await session.run_round()
    rows = {r.agent: r for r in dynamics.airtime(session.events).rows}
    by_words = sorted(rows, key=lambda n: -rows[n].words)
    assert by_words == ["Aiko Sato", "Maria Lopez", "Kwame Mensah", "Tom Becker"]  # talkativeness .9 .7 .5 .2
    await session.aclose()
