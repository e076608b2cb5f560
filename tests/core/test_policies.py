"""Turn policies: parallel, round_robin, free and directed — order, hearing, and cost."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from engine_fixtures import make_card, make_cards, make_room, prompt_text, turn_requests

from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.policies import RoundSpec, directed, free, get_policy, parallel, pick_next, round_robin


def always_say(request):
    return {"action": "say", "text": f"{request.agent} speaking, call {id(request)}.", "to": None, "feeling": None}


async def test_a_parallel_round_costs_one_latency_not_n(tmp_path: Path) -> None:
    cards = [make_card(f"Person {i}") for i in range(10)]
    room = make_room(tmp_path, ScriptedBackend(latency=0.1), cards)
    room.record("moderator", text="Go.", to=None)
    start = time.perf_counter()
    events = await parallel(room, RoundSpec("r1", room.situation()))
    elapsed = time.perf_counter() - start
    assert len(events) == 10
    assert elapsed < 0.5  # serially it would be 1.0 s


async def test_max_concurrency_bounds_a_parallel_round(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend(latency=0.05), max_concurrency=2)
    room.record("moderator", text="Go.", to=None)
    start = time.perf_counter()
    await parallel(room, RoundSpec("r1", room.situation()))
    assert time.perf_counter() - start >= 0.1  # 4 agents, 2 at a time: two latencies


async def test_round_robin_rotates_the_opener_and_each_hears_the_previous(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[always_say] * 8)
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    first = await round_robin(room, RoundSpec("r0", room.situation(), index=0))
    second = await round_robin(room, RoundSpec("r1", room.situation(), index=1))
    names = list(room.agents)
    assert [e.agent for e in first] == names
    assert [e.agent for e in second] == names[1:] + names[:1]
    requests = turn_requests(backend)[:4]
    for k, request in enumerate(requests):
        text = prompt_text(request)
        assert all(prev.text in text for prev in first[:k])  # heard everyone before
        assert all(later.text not in text for later in first[k:])


async def test_free_answers_the_addressed_first_and_never_repeats_a_speaker(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    room.record("say", agent="Maria Lopez", text="Kwame, what do you think?", turn=1, to="Kwame Mensah")
    assert pick_next(room, "Maria Lopez", random.Random(0)).name == "Kwame Mensah"
    events = await free(room, RoundSpec("r1", room.situation(), seed=1))
    assert events[0].agent == "Kwame Mensah"
    assert len(events) == 4
    assert all(a.agent != b.agent for a, b in zip(events, events[1:]))


async def test_free_prefers_talkative_people_with_little_airtime(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    picks = [pick_next(room, None, random.Random(i)).name for i in range(50)]
    assert picks.count("Aiko Sato") > picks.count("Tom Becker")  # talkativeness 0.9 vs 0.2
    room.agents["Aiko Sato"].airtime_chars = 5000  # she has talked a lot: others come first
    assert pick_next(room, None, random.Random(0)).name != "Aiko Sato"


async def test_free_gives_the_floor_to_who_wants_to_speak(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    room.record("think", agent="Tom Becker", text="I must say something about the price.", turn=1)
    assert pick_next(room, None, random.Random(0)).name == "Tom Becker"


async def test_free_makes_no_llm_call_of_its_own(tmp_path: Path) -> None:
    backend = ScriptedBackend()
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Go.", to=None)
    events = await free(room, RoundSpec("r1", room.situation()))
    assert backend.calls == len(events) == sum(1 for e in room.log.events if e.type == "llm_call")


async def test_directed_only_the_addressed_answer(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[always_say] * 3)
    room = make_room(tmp_path, backend)
    room.record("moderator", text="Tom, why not?", to=["Tom Becker"])
    events = await directed(room, RoundSpec("r1", room.situation(), to=["Tom Becker"]))
    assert [e.agent for e in events] == ["Tom Becker"] and backend.calls == 1
    interviews = [await directed(room, RoundSpec(f"i{i}", room.situation(), index=i)) for i in range(2)]
    assert [e[0].agent for e in interviews] == list(room.agents)[:2]  # nobody addressed: the next one


@pytest.mark.parametrize("name", ["parallel", "round_robin", "free", "directed"])
async def test_every_policy_skips_paused_agents_and_finished_turns(tmp_path: Path, name: str) -> None:
    room = make_room(tmp_path, ScriptedBackend())
    room.record("agent_paused", agent="Tom Becker")
    room.record("moderator", text="Go.", to=None)
    spec = RoundSpec(
        "r1",
        room.situation(),
        done=frozenset({"Maria Lopez"}),
        to=["Tom Becker", "Aiko Sato"] if name == "directed" else None,
    )
    events = await get_policy(name)(room, spec)
    speakers = {e.agent for e in events}
    assert "Tom Becker" not in speakers
    if name != "free":  # free picks speakers by state; ``done`` only shortens the round
        assert "Maria Lopez" not in speakers
    assert events and len(events) <= 3


def test_unknown_policy_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown turn policy"):
        get_policy("chaos")


async def test_parallel_can_be_limited_to_some_agents(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend(), make_cards())
    room.record("moderator", text="Go.", to=None)
    events = await parallel(room, RoundSpec("r1", room.situation(), to=["Aiko Sato", "Tom Becker"]))
    assert {e.agent for e in events} == {"Aiko Sato", "Tom Becker"}
