"""The moderator's controls act on the room as it is, at the engine level (issue 9, items 5–7):
a pause stops an answer in flight, nothing happens after the end, and a question typed during
a round is logged when the panel hears it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.core.engine_fixtures import guide_data, make_cards
from troupe.core.clock import FixedClock
from troupe.core.errors import RunStateError
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session


async def open_room(tmp_path: Path, latency: float = 0.3) -> Session:
    guide = parse_guide(guide_data())
    return await Session.start(
        guide, make_cards(), ScriptedBackend(latency=latency), tmp_path / "run", clock=FixedClock()
    )


async def in_flight(session: Session, name: str) -> None:
    """Wait until ``name``'s turn is being generated (its model call has started)."""
    for _ in range(200):
        if session.state.agents[name].status in ("thinking", "speaking"):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{name} never started a turn")


async def test_a_pause_withdraws_the_answer_in_flight_and_nobody_hears_it(tmp_path: Path) -> None:
    session = await open_room(tmp_path)
    asking = asyncio.ensure_future(session.say("What would you pay for a bottle?"))
    await in_flight(session, "Maria Lopez")
    session.pause_agent("Maria Lopez")
    await asking
    events = session.events
    paused_at = next(e.seq for e in events if e.type == "agent_paused")
    assert not [e for e in events if e.type == "say" and e.agent == "Maria Lopez"]
    [withdrawn] = [e for e in events if e.type == "turn_withdrawn"]
    assert withdrawn.agent == "Maria Lopez" and withdrawn.seq > paused_at and withdrawn.reason == "paused"
    heard = [item.text for name in ("Tom Becker", "Aiko Sato") for item in session.agent(name).memory.items]
    assert withdrawn.text and not any(withdrawn.text in line for line in heard)
    assert [e.agent for e in events if e.type == "llm_call" and e.agent == "Maria Lopez"]  # the call is paid
    await session.aclose()


async def test_a_mute_in_flight_logs_the_answer_muted(tmp_path: Path) -> None:
    session = await open_room(tmp_path)
    asking = asyncio.ensure_future(session.say("What would you pay for a bottle?"))
    await in_flight(session, "Tom Becker")
    session.mute_agent("Tom Becker")
    await asking
    says = [e for e in session.events if e.type == "say" and e.agent == "Tom Becker"]
    assert all(e.muted for e in says)
    heard = [item.text for item in session.agent("Maria Lopez").memory.items]
    assert not any(e.text in line for e in says for line in heard)
    await session.aclose()


async def test_after_the_end_every_verb_refuses_the_same_way_and_nothing_is_appended(tmp_path: Path) -> None:
    session = await open_room(tmp_path, latency=0.0)
    await session.say("Hello everyone.")
    await session.end()
    last = session.log.last_seq
    verbs = [
        lambda: session.say("Still there?"),
        lambda: session.run_round(),
        lambda: session.next_section(),
        lambda: session.step(),
    ]
    for verb in verbs:
        with pytest.raises(RunStateError, match=r"the session has ended; .*troupe branch .* --at \d+"):
            await verb()
    for sync_verb in (
        lambda: session.pause_agent("Maria Lopez"),
        lambda: session.mute_agent("Tom Becker"),
        session.pause,
        session.resume,
    ):
        with pytest.raises(RunStateError, match="the session has ended"):
            sync_verb()
    assert session.log.last_seq == last and session.events[-1].type == "session_ended"
    await session.aclose()


async def test_a_question_typed_during_a_round_is_logged_when_the_panel_hears_it(tmp_path: Path) -> None:
    session = await open_room(tmp_path, latency=0.2)
    first = asyncio.ensure_future(session.say("First: would you try it?"))
    await in_flight(session, "Maria Lopez")
    second = asyncio.ensure_future(session.say("Second: and at two euros?"))
    await asyncio.sleep(0.05)
    assert session.queued == ["Second: and at two euros?"]
    assert [e.text for e in session.events if e.type == "moderator"] == ["First: would you try it?"]
    await asyncio.gather(first, second)
    assert session.queued == []
    moderator_seqs = [e.seq for e in session.events if e.type == "moderator"]
    replies = {e.reply_to for e in session.events if e.type == "say"}
    # every answer to the first question comes before the second question is logged
    assert any(e.type == "say" and e.reply_to == moderator_seqs[0] for e in session.events)
    assert all(e.seq < moderator_seqs[1] for e in session.events if e.type == "say" and e.reply_to == moderator_seqs[0])
    assert moderator_seqs[1] in replies
    await session.aclose()


async def test_a_guide_poll_can_ask_for_a_discussion_of_its_revealed_results(tmp_path: Path) -> None:
    data = guide_data()
    data["sections"][1]["polls"][0]["discuss"] = True
    guide = parse_guide(data)
    session = await Session.start(guide, make_cards(), ScriptedBackend(), tmp_path / "run", clock=FixedClock())
    await session.run_to_end()
    events = session.events
    revealed = next(e for e in events if e.type == "poll_revealed")
    [opening] = [e for e in events if e.type == "moderator" and getattr(e, "source", None) == "discuss_results"]
    assert opening.seq > revealed.seq and opening.poll_id == "intent" and "Would you buy it?" in opening.text
    answers = [e for e in events if e.type == "say" and e.reply_to == opening.seq]
    assert answers, "the panel discussed the results"
    await session.aclose()


def test_discuss_needs_results_that_are_revealed() -> None:
    from troupe.core.errors import BadInputError

    data = guide_data()
    data["sections"][1]["polls"][0].update(discuss=True, reveal=False)
    with pytest.raises(BadInputError, match=r"polls\[0\]\.discuss: .*needs private_first and reveal"):
        parse_guide(data)
