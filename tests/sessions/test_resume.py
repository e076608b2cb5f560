"""Resume: a killed run goes on to the end, finished turns are never requested again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.core.engine_fixtures import guide_data, make_cards, turn_requests
from troupe.core.errors import RunStateError
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.log import read_events
from troupe.sessions.guide import parse_guide
from troupe.sessions.plan import position, unanswered
from troupe.sessions.run import branch_run
from troupe.sessions.session import Session

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import asyncio, sys
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session
from tests.core.engine_fixtures import guide_data, make_cards

async def main():
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(seed=1, latency=0.05), sys.argv[1])
    await session.run_to_end()

asyncio.run(main())
"""

TURNS = ("say", "think", "pass")


def read(run_dir: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    return lines


def turn_keys(lines: list[dict]) -> list[tuple[str, str]]:
    return [(e["agent"], e["round_key"]) for e in lines if e["type"] in TURNS]


async def test_a_run_killed_mid_way_resumes_to_the_end_without_repeating_turns(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run_dir)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = run_dir / "events.jsonl"
            if path.exists() and path.read_text().count('"type":"say"') >= 6:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the child run never got going")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)
    before = read(run_dir)
    assert before[-1]["type"] != "session_ended"

    backend = ScriptedBackend(seed=1)
    session = await Session.reopen(run_dir, backend)
    await session.run_to_end()
    await session.aclose()
    after = read(run_dir)
    assert after[: len(before)] == before  # nothing logged before the kill was touched
    assert after[-1]["type"] == "session_ended" and after[-1]["reason"] == "completed"

    keys = turn_keys(after)
    assert len(keys) == len(set(keys))  # no finished turn was taken twice
    per_round = Counter(key for _, key in keys)
    assert per_round == {"s0.r0": 4, "s1.b0.r0": 4, "s1.b0.r1": 4, "s1.b1.r0": 4, "s1.b1.r1": 4}
    resumed_turns = len(keys) - len(turn_keys(before))
    assert len(turn_requests(backend)) == resumed_turns  # only the missing turns were requested
    counts = Counter(e["type"] for e in after)
    assert counts["section_ended"] == 2 and counts["poll_closed"] == 1 and counts["poll_answer"] == 4
    assert counts["round_started"] == counts["round_ended"] == 5  # a cut-off round is not restarted twice
    assert counts["llm_call"] == sum(1 for e in before if e["type"] == "llm_call") + backend.calls


async def test_reopening_rebuilds_the_same_agents_and_state(tmp_path: Path) -> None:
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(seed=2), tmp_path / "run")
    for _ in range(6):
        await session.step()
    session.mute_agent("Tom Becker")
    await session.room.drain(timeout=5)
    live = {
        name: (list(a.memory.items), a.memory.summary, a.mind.render() + a.mind.render_standing(), a.turns)
        for name, a in session.room.agents.items()
    }
    live_state = session.state
    cursor = session._cursor
    await session.aclose()

    reopened = await Session.reopen(tmp_path / "run", ScriptedBackend(seed=2))
    for name, agent in reopened.room.agents.items():
        items, summary, mind, turns = live[name]
        assert [i.text for i in agent.memory.items] == [i.text for i in items]
        assert (agent.memory.summary, agent.mind.render() + agent.mind.render_standing(), agent.turns) == (
            summary,
            mind,
            turns,
        )
    assert position(reopened.plan, reopened.events) == cursor  # the pure function agrees
    state = reopened.state
    assert (state.section_index, state.rounds, state.calls, state.beats_done) == (
        live_state.section_index,
        live_state.rounds,
        live_state.calls,
        live_state.beats_done,
    )
    assert state.agents["Tom Becker"].muted and reopened._cursor == cursor
    await reopened.aclose()


async def test_a_poll_cut_off_mid_way_asks_only_the_missing_agents(tmp_path: Path) -> None:
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(seed=3), tmp_path / "full")
    await session.run_to_end()
    await session.aclose()
    second_answer = [e.seq for e in session.events if e.type == "poll_answer"][1]
    branch = branch_run(tmp_path / "full", second_answer, tmp_path / "branch")

    backend = ScriptedBackend(seed=3)
    resumed = await Session.reopen(branch, backend)
    await resumed.run_to_end()
    await resumed.aclose()
    lines = read(branch)
    assert sum(1 for e in lines if e["type"] == "poll_asked") == 1
    assert len(turn_requests(backend, "poll")) == 2 and len(turn_requests(backend, "turn")) == 0
    revealed = next(e for e in lines if e["type"] == "poll_revealed")
    assert len(revealed["answers"]) == 4


async def test_a_paused_run_resumed_headless_is_unpaused(tmp_path: Path) -> None:
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(), tmp_path / "run")
    await session.step()
    session.pause()
    await session.aclose()
    reopened = await Session.reopen(tmp_path / "run", ScriptedBackend())
    assert reopened.state.paused
    await asyncio.wait_for(reopened.run_to_end(), timeout=30)
    assert reopened.ended and any(e.type == "session_resumed" for e in reopened.events)
    await reopened.aclose()


async def test_a_torn_last_line_is_dropped_and_the_run_goes_on(tmp_path: Path) -> None:
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(), tmp_path / "run")
    await session.step()
    await session.aclose()
    with open(tmp_path / "run" / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"seq": 4, "ts": "2026-01-01T00:00:00.000Z", "type": "sa')
    reopened = await Session.reopen(tmp_path / "run", ScriptedBackend())
    await reopened.run_to_end()
    await reopened.aclose()
    assert read(tmp_path / "run")[-1]["type"] == "session_ended"


async def test_only_a_self_contained_unfinished_run_can_be_resumed(tmp_path: Path) -> None:
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(), tmp_path / "run")
    await session.end()
    await session.aclose()
    with pytest.raises(RunStateError, match="already ended"):
        await Session.reopen(tmp_path / "run", ScriptedBackend())
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "events.jsonl").write_text(
        '{"seq":1,"ts":"2026-01-01T00:00:00.000Z","type":"session_started","title":"t","personas":[],"backend":"x"}\n'
    )
    with pytest.raises(RunStateError, match="self-contained"):
        await Session.reopen(tmp_path / "bare", ScriptedBackend())
    with pytest.raises(RunStateError):
        await Session.reopen(tmp_path / "nothing", ScriptedBackend())


async def test_a_moderator_line_left_unanswered_is_answered_after_reopen(tmp_path: Path) -> None:
    """Quit between logging the moderator's line and the personas' answers: resume owes it."""
    run_dir = tmp_path / "run"
    session = await Session.start(parse_guide(guide_data()), make_cards(), ScriptedBackend(seed=1), run_dir)
    line = session.room.record("moderator", text="What would you pay for it?", to=None, source="moderator")
    await session.aclose()

    reopened = await Session.reopen(run_dir, ScriptedBackend(seed=2))
    assert not reopened.finished
    assert await reopened.step()
    answers = [e for e in reopened.events if e.type in TURNS and getattr(e, "round_key", None)]
    assert answers and {e.agent for e in answers} == set(reopened.cards)
    started = [e for e in reopened.events if e.type == "round_started" and getattr(e, "reply_to", None) == line.seq]
    assert len(started) == 1
    await reopened.aclose()
    assert unanswered(read_events(run_dir / "events.jsonl")) == []


async def test_an_interrupted_moderator_round_resumes_with_only_the_missing_answers(tmp_path: Path) -> None:
    from troupe.core.errors import BackendUnavailableError

    run_dir = tmp_path / "run"
    cards = make_cards()
    first = cards[0].name

    def fail_unless_first(request):  # the first persona answers, the others find the server down
        if request.agent == first:
            return {"action": "say", "text": "I would pay two euros.", "to": None, "feeling": None}
        return BackendUnavailableError("server down")

    backend = ScriptedBackend(script=[fail_unless_first] * len(cards))
    session = await Session.start(parse_guide(guide_data()), cards, backend, run_dir, stop_on_backend_error=True)
    with pytest.raises(BackendUnavailableError):
        await session.say("What would you pay for it?")
    await session.aclose()

    fresh = ScriptedBackend(seed=3)
    reopened = await Session.reopen(run_dir, fresh)
    assert await reopened.step()
    asked = {r.agent for r in fresh.requests if r.purpose == "turn"}
    assert first not in asked and asked == {c.name for c in cards[1:]}
    moderator = next(e for e in reopened.events if e.type == "moderator" and e.text == "What would you pay for it?")
    round_ = next(e for e in reopened.events if e.type == "round_started" and e.reply_to == moderator.seq)
    turns = [e for e in reopened.events if e.type in TURNS and e.round_key == round_.key]
    assert sorted(e.agent for e in turns) == sorted(c.name for c in cards)  # each exactly once
    await reopened.aclose()
