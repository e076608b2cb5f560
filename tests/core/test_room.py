"""The room: visibility, pause and mute, cancellation safety, logging of calls, consolidation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import make_cards, make_room, prompt_text, turn_requests

from troupe.core.agent import AgentConfig, Situation
from troupe.core.errors import BackendError, BackendUnavailableError
from troupe.core.llm.protocol import ChatRequest, ChatResponse
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.policies import RoundSpec, parallel
from troupe.core.room import AgentActivity


def say(text: str, to: str | None = None) -> dict[str, Any]:
    return {"action": "say", "text": text, "to": to, "feeling": "calm"}


def by_agent(mapping: dict[str, dict[str, Any]]):
    """A script item that answers according to the requesting agent."""
    return lambda request: mapping[request.agent]


def types(room) -> list[str]:
    return [e.type for e in room.log.events]


async def round_of(room, key: str = "r1") -> list:
    return await parallel(room, RoundSpec(key=key, situation=room.situation()))


async def test_everyone_hears_a_say_to_all_and_only_the_speaker_knows_its_thoughts(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    room = make_room(tmp_path, backend)
    maria, tom, aiko = (room.agents[n] for n in ("Maria Lopez", "Tom Becker", "Aiko Sato"))
    room.record("say", agent="Maria Lopez", text="I love it.", turn=1)
    room.record("think", agent="Tom Becker", text="Overpriced rubbish.", turn=1)
    assert any("Maria Lopez: I love it." == i.text for i in tom.memory.items)
    assert any("You said: I love it." == i.text for i in maria.memory.items)
    assert not any("Overpriced" in i.text for i in maria.memory.items + aiko.memory.items)
    assert any("Overpriced" in i.text for i in tom.memory.items)


async def test_a_remark_to_one_person_is_heard_by_them_and_overheard_only_if_allowed(tmp_path: Path) -> None:
    room = make_room(tmp_path / "a", ScriptedBackend())
    room.record("say", agent="Maria Lopez", text="Tom, you'd hate it.", turn=1, to="Tom Becker")
    assert room.agents["Tom Becker"].memory.items[-1].text == "Maria Lopez (to you): Tom, you'd hate it."
    assert room.agents["Tom Becker"].mind.addressed_by == "Maria Lopez"
    assert not room.agents["Aiko Sato"].memory.items
    open_room = make_room(tmp_path / "b", ScriptedBackend(), overhear=True)
    open_room.record("say", agent="Maria Lopez", text="Tom, you'd hate it.", turn=1, to="Tom Becker")
    assert open_room.agents["Aiko Sato"].memory.items[-1].text == "Maria Lopez (to Tom Becker): Tom, you'd hate it."


async def test_a_stimulus_for_some_is_seen_only_by_them(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    room.record("stimulus", source="moderator", kind="text", text="Secret concept", to=["Aiko Sato"])
    assert room.agents["Aiko Sato"].memory.items and not room.agents["Tom Becker"].memory.items


async def test_muted_agents_speak_into_the_log_but_nobody_hears_them(tmp_path: Path) -> None:
    backend = ScriptedBackend(
        script=[
            by_agent(
                {
                    "Maria Lopez": say("Muted words."),
                    "Tom Becker": say("Heard words."),
                    "Aiko Sato": say("Aiko here."),
                    "Kwame Mensah": say("Kwame here."),
                }
            )
        ]
        * 4
    )
    room = make_room(tmp_path, backend)
    room.record("agent_muted", agent="Maria Lopez")
    room.record("moderator", text="Go.", to=None)
    await round_of(room)
    said = {e.agent: e for e in room.log.events if e.type == "say"}
    assert said["Maria Lopez"].muted is True and said["Tom Becker"].muted is False
    assert not any("Muted words" in i.text for i in room.agents["Tom Becker"].memory.items)
    assert any("You said: Muted words." == i.text for i in room.agents["Maria Lopez"].memory.items)


async def test_paused_agents_take_no_turns_but_keep_listening(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    room.record("agent_paused", agent="Tom Becker")
    room.record("moderator", text="Thoughts on soup?", to=None)
    events = await round_of(room)
    assert "Tom Becker" not in {e.agent for e in events} and len(events) == 3
    assert any(i.kind == "say" for i in room.agents["Tom Becker"].memory.items)
    room.record("agent_resumed", agent="Tom Becker")
    assert "Tom Becker" in {e.agent for e in await round_of(room, "r2")}


async def test_session_pause_holds_new_turns_and_lets_turns_in_flight_finish(tmp_path: Path) -> None:
    backend = ScriptedBackend(latency=0.05)
    room = make_room(tmp_path, backend, max_concurrency=2)
    room.record("moderator", text="Go.", to=None)
    task = asyncio.ensure_future(round_of(room))
    await asyncio.sleep(0.02)  # two turns in flight, two waiting for the semaphore
    room.record("session_paused")
    await asyncio.sleep(0.15)
    assert len(turn_requests(backend)) == 2 and not task.done()
    assert sum(1 for e in room.log.events if e.type in ("say", "think", "pass")) == 2  # in-flight ones logged
    room.record("session_resumed")
    assert len(await task) == 4


async def test_stop_cancels_turns_in_flight_without_half_recording(tmp_path: Path) -> None:
    backend = ScriptedBackend(latency=0.2)
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    before = types(room)
    task = asyncio.ensure_future(round_of(room))
    await asyncio.sleep(0.05)
    room.stop()
    assert await task == []
    assert types(room) == before  # no llm_call without its say, no say without its llm_call


async def test_one_llm_call_event_per_backend_call_including_repairs(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=["{broken", say("Fixed it.")])
    room = make_room(tmp_path, backend, make_cards(1))
    room.record("moderator", text="Go.", to=None)
    await round_of(room)
    assert types(room)[-3:] == ["llm_call", "llm_call", "say"]
    assert backend.calls == 2


async def test_invalid_output_is_an_unrecovered_error_and_the_round_goes_on(tmp_path: Path) -> None:
    replies = by_agent(
        {
            "Maria Lopez": "garbage",
            "Tom Becker": say("Fine."),
            "Aiko Sato": say("Sure."),
            "Kwame Mensah": say("Ok."),
        }
    )
    backend = ScriptedBackend(script=[replies] * 5)  # Maria's repair call gets garbage again
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    events = await round_of(room)
    error = next(e for e in events if e.type == "error")
    assert error.agent == "Maria Lopez" and error.recovered is False and error.kind == "invalid_output"
    assert sum(1 for e in events if e.type == "say") == 3
    assert sum(1 for e in room.log.events if e.type == "llm_call") == backend.calls == 5  # 4 turns + 1 repair


async def test_a_backend_that_is_down_is_logged_once_and_raised(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[BackendUnavailableError("connection refused")] * 4, latency=0.01)
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    with pytest.raises(BackendUnavailableError):
        await round_of(room)
    errors = [e for e in room.log.events if e.type == "error"]
    assert len(errors) == 1 and errors[0].recovered is False
    assert not any(e.type == "say" for e in room.log.events)


@pytest.mark.parametrize("stop_on_backend_error", [False, True])
async def test_a_server_error_fails_one_turn_or_halts_an_unattended_room(
    tmp_path: Path, stop_on_backend_error: bool
) -> None:
    """Interactive rooms log a 5xx that outlived the retries as a failed turn and go on; with
    ``stop_on_backend_error`` (headless runs) it halts like an outage, with no ``round_key``,
    so that resume redoes the turn. Invalid output never halts."""
    server = BackendError("failed (500) after 4 attempts", kind="server", retryable=True)
    replies = by_agent(
        {"Maria Lopez": server, "Tom Becker": "garbage", "Aiko Sato": say("Sure."), "Kwame Mensah": say("Ok.")}
    )

    def script(request):
        reply = replies(request)
        if isinstance(reply, Exception):
            raise reply
        return reply

    backend = ScriptedBackend(script=[script] * 6, latency=0.01)
    room = make_room(tmp_path, backend, stop_on_backend_error=stop_on_backend_error)
    room.record("moderator", text="Go.", to=None)
    if not stop_on_backend_error:
        events = await round_of(room)
        assert sorted((e.agent, e.kind) for e in events if e.type == "error") == [
            ("Maria Lopez", "server"),
            ("Tom Becker", "invalid_output"),
        ]
        assert all(e.round_key == "r1" for e in events if e.type == "error")
        return
    with pytest.raises(BackendError):
        await round_of(room)
    errors = [e for e in room.log.events if e.type == "error" and e.kind == "server"]
    assert [e.agent for e in errors] == ["Maria Lopez"]
    assert "round_key" not in errors[0].model_dump()
    assert room.stopping
    assert room.halts(server) and not room.halts(BackendError("bad", kind="bad_request"))


class GatedConsolidation:
    """Turns answer at once; consolidation calls wait until the test opens the gate."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self) -> None:
        self.inner = ScriptedBackend()
        self.gate = asyncio.Event()
        self.waiting = 0
        self.requests = self.inner.requests

    async def complete(self, request: ChatRequest, *, on_delta=None) -> ChatResponse:
        if request.purpose == "consolidate":
            self.waiting += 1
            await self.gate.wait()
        return await self.inner.complete(request, on_delta=on_delta)

    async def aclose(self) -> None:
        return None


async def test_consolidation_runs_off_the_critical_path_at_most_every_fifth_turn(tmp_path: Path) -> None:
    backend = GatedConsolidation()
    room = make_room(tmp_path, backend, config=AgentConfig(consolidate_every=5))
    for agent in room.agents.values():  # a small window so items leave it quickly
        agent.memory.config.window_tokens = 150
    room.record("moderator", text="Let's talk about soup.", to=None)
    for r in range(12):
        await round_of(room, f"r{r}")
    # Twelve rounds went by while every consolidation call was still blocked: none held a turn.
    assert backend.waiting > 0 and room.consolidations_in_flight == backend.waiting
    assert not any(e.type == "memory_consolidated" for e in room.log.events)
    backend.gate.set()
    await room.drain(timeout=5)
    turns = sum(1 for e in room.log.events if e.type in ("say", "think", "pass"))
    consolidations = [e for e in room.log.events if e.type == "llm_call" and e.purpose == "consolidate"]
    assert consolidations and len(consolidations) / turns <= 0.2
    done = [e for e in room.log.events if e.type == "memory_consolidated"]
    assert len(done) == len(consolidations)
    agent = room.agents[done[-1].agent]
    assert agent.memory.notes and agent.memory.notes_upto_seq == max(e.upto_seq for e in done if e.agent == agent.name)


async def test_replaying_the_log_rebuilds_every_agent_exactly(tmp_path: Path) -> None:
    room = make_room(tmp_path / "live", ScriptedBackend(), config=AgentConfig(consolidate_every=2))
    for agent in room.agents.values():
        agent.memory.config.window_tokens = 200
    room.record("moderator", text="Let's talk about soup.", to=None)
    room.record("agent_muted", agent="Aiko Sato")
    for r in range(6):
        await round_of(room, f"r{r}")
    await room.drain(timeout=5)
    replayed = make_room(tmp_path / "copy", ScriptedBackend(), config=AgentConfig(consolidate_every=2))
    for agent in replayed.agents.values():
        agent.memory.config.window_tokens = 200
    replayed.replay(room.log.events)
    assert replayed.muted == {"Aiko Sato"}
    for name, agent in room.agents.items():
        twin = replayed.agents[name]
        assert [i.text for i in twin.memory.items] == [i.text for i in agent.memory.items]
        assert (twin.memory.window_start, twin.memory.summary, twin.memory.notes) == (
            agent.memory.window_start,
            agent.memory.summary,
            agent.memory.notes,
        )
        assert twin.mind.render() == agent.mind.render() and twin.mind.render_standing() == agent.mind.render_standing()
        assert (twin.turns, twin.airtime_chars) == (agent.turns, agent.airtime_chars)
        situation = Situation(current="next?")
        assert (await twin.prompt_for(situation)).messages == (await agent.prompt_for(situation)).messages


async def test_activity_streams_partial_text_to_listeners(tmp_path: Path) -> None:
    backend = ScriptedBackend(stream_chunk=5)
    room = make_room(tmp_path, backend, make_cards(1))
    updates: list[AgentActivity] = []
    room.add_listener(updates.append)
    room.record("moderator", text="Go.", to=None)
    [event] = await round_of(room)
    statuses = [u.status for u in updates]
    assert statuses[0] == "thinking" and statuses[-1] == "idle"
    partials = [u.partial_text for u in updates if u.partial_text]
    if event.type == "say":
        assert "speaking" in statuses and partials[-1] == event.text
        assert len(partials) > 2 and all(len(a) < len(b) for a, b in zip(partials, partials[1:]))


async def test_parallel_turns_all_see_the_same_state(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    events = await round_of(room)
    for request in turn_requests(backend):
        text = prompt_text(request)
        assert not any(e.text in text for e in events if e.type == "say")
