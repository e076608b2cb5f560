"""Tools against variance collapse: K draws per persona, per-persona temperatures and seeds,
versioned poll instructions — exercised with the scripted backend."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import make_room, prompt_text, turn_requests
from pydantic import ValidationError

from troupe.core.agent import AgentConfig
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.poll_run import run_poll
from troupe.core.poll_sampling import INSTRUCTION_SETS, PollSampling, choose
from troupe.core.polls import LIKERT_LABELS, PollSpec

LIKERT = LIKERT_LABELS["likert5"]
SPEC = PollSpec(id="intent", question="Would you buy the bottled gazpacho?", kind="likert5")


def by_seed(request: Any) -> dict[str, str]:
    """A reply that depends only on the request's seed (as a sampled model's would)."""
    return {"value": LIKERT[(request.seed or 0) % 5], "rationale": f"seed {request.seed}"}


def events(room: Any, kind: str) -> list[Any]:
    return [e for e in room.log.events if e.type == kind]


async def test_k_draws_keep_the_distribution_and_use_its_mode(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[by_seed] * 40)
    room = make_room(tmp_path, backend, max_concurrency=3)
    sampling = PollSampling(draws=5, seed=7)
    result = await run_poll(room, SPEC, sampling=sampling)
    asked = events(room, "poll_asked")[0]
    assert asked.instructions == "default" and asked.sampling == {"draws": 5, "seed": 7}
    answers = events(room, "poll_answer")
    assert len(answers) == 4 and result.n == 4
    requests = turn_requests(backend, "poll")
    assert len(requests) == 20  # K × personas: the cost
    assert len(events(room, "llm_call")) == 20
    for answer in answers:
        mine = [r for r in requests if r.agent == answer.agent]
        assert len({r.seed for r in mine}) == 5  # independent draws: five seeds
        assert sorted(answer.seeds) == sorted(r.seed for r in mine)
        expected = [LIKERT[s % 5] for s in answer.seeds]
        assert answer.draws == expected
        counts = Counter(expected)
        top = max(counts.values())
        mode = next(v for v in expected if counts[v] == top)  # ties: the first drawn
        assert answer.value == mode and answer.draws[answer.draw_used] == mode
        assert answer.rationale == f"seed {answer.seeds[answer.draw_used]}"
    # The same seed gives the same draws (a rerun is reproducible).
    again = make_room(tmp_path / "again", ScriptedBackend(script=[by_seed] * 40), max_concurrency=3)
    await run_poll(again, SPEC, sampling=sampling)
    assert [a.draws for a in events(again, "poll_answer")] == [a.draws for a in answers]


async def test_use_draw_takes_one_draw_picked_by_the_seed(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend(script=[by_seed] * 40))
    await run_poll(room, SPEC, sampling=PollSampling(draws=4, use="draw", seed=3))
    for answer in events(room, "poll_answer"):
        assert answer.use == "draw" and answer.value == answer.draws[answer.draw_used]
        assert answer.draw_used == choose(answer.draws, PollSampling(draws=4, use="draw", seed=3), answer.agent)


async def test_per_persona_temperatures_are_jittered_and_fixed(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=1)
    room = make_room(tmp_path, backend, config=AgentConfig(temperature=0.8))
    names = list(room.agents)
    sampling = PollSampling(temperature_jitter=0.3, seed=11, personas={names[0]: {"temperature": 1.5}})  # type: ignore[dict-item]
    await run_poll(room, SPEC, sampling=sampling)
    temps = {r.agent: r.temperature for r in turn_requests(backend, "poll")}
    assert temps[names[0]] == 1.5
    for name in names[1:]:
        assert 0.5 <= temps[name] <= 1.1 and temps[name] == sampling.temperature_for(name, 0.8)
    assert len(set(temps.values())) == len(names)  # each persona its own
    answers = events(room, "poll_answer")
    assert {a.agent: a.temperature for a in answers} == temps
    # A discussion turn in the same room afterwards is made with the session's own settings.
    assert room.backend is backend


async def test_the_individual_instruction_set_is_asked_and_recorded(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=2)
    room = make_room(tmp_path, backend)
    await run_poll(room, SPEC, sampling=PollSampling(instructions="individual-v1"))
    asked = events(room, "poll_asked")[0]
    assert asked.instructions == "individual-v1" and not hasattr(asked, "sampling")
    for request in turn_requests(backend, "poll"):
        assert INSTRUCTION_SETS["individual-v1"] in prompt_text(request)
        assert request.seed is None  # no draws, no seeds: one plain call each
    assert len(turn_requests(backend, "poll")) == 4


async def test_without_sampling_the_log_is_unchanged(tmp_path: Path) -> None:
    room = make_room(tmp_path, ScriptedBackend(seed=2))
    await run_poll(room, SPEC)
    line = next(json.loads(x) for x in (tmp_path / "events.jsonl").read_text().splitlines() if "poll_asked" in x)
    assert "instructions" not in line and "sampling" not in line
    answer = events(room, "poll_answer")[0]
    assert not hasattr(answer, "draws")


def test_sampling_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match="unknown poll instruction set 'typical'"):
        PollSampling(instructions="typical")
    with pytest.raises(ValidationError):
        PollSampling(draws=0)
    assert not PollSampling().changes_requests
    assert PollSampling(draws=5).cost_note().startswith("5× poll calls")
    assert PollSampling().cost_note() == "plain polls (one call per persona)"
