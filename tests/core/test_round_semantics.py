"""Issue 14, round semantics: a parallel round means the same thing at any concurrency.

Every prompt of a parallel round is built from the room as it stood when the round began —
with ``max_concurrency`` below the panel size, the later waves must not hear the earlier
waves' answers — and the round's turns are logged in seating order, not finishing order.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from pathlib import Path

from engine_fixtures import guide_data, make_card, make_room, prompt_text, turn_requests

from tests.reliability.test_resume_reproduces import first_difference, prompts, view
from troupe.core.llm.protocol import ChatRequest
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.policies import RoundSpec, parallel
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session

PANEL = [f"Person {i:02d}" for i in range(10)]


def say_marker(round_no: int):
    """Each answer names its speaker and the round it answers."""

    def reply(request: ChatRequest) -> dict[str, object]:
        return {
            "action": "say",
            "text": f"{request.agent} answers round-{round_no} marker.",
            "to": None,
            "feeling": None,
        }

    return reply


class JitteryBackend(ScriptedBackend):
    """Scripted replies with a random latency per call, so turns finish out of seating order."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._rng = random.Random(7)

    async def complete(self, request, on_delta=None):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self._rng.uniform(0.0, 0.02))
        return await super().complete(request, on_delta=on_delta)


async def test_concurrency_two_ten_personas_every_prompt_sees_the_same_history(tmp_path: Path) -> None:
    script = []
    for r in (1, 2):
        script += [say_marker(r)] * len(PANEL)
    backend = JitteryBackend(script=script)
    room = make_room(tmp_path, backend, [make_card(n) for n in PANEL], max_concurrency=2)
    room.record("moderator", text="What do you usually have for lunch?", to=None)
    first = await parallel(room, RoundSpec("r1", room.situation()))
    second = await parallel(room, RoundSpec("r2", room.situation()))

    # The log is in seating order, both rounds, whatever order the replies came back in.
    assert [e.agent for e in first] == PANEL
    assert [e.agent for e in second] == PANEL
    seqs = [e.seq for e in first + second]
    assert seqs == sorted(seqs)

    requests = turn_requests(backend)
    assert len(requests) == 2 * len(PANEL)
    by_round = {1: requests[: len(PANEL)], 2: requests[len(PANEL) :]}
    for round_no, sent in by_round.items():
        assert sorted(r.agent for r in sent) == sorted(PANEL)
        for request in sent:
            text = prompt_text(request)
            # Nobody hears an answer of the round being asked (the later waves included) ...
            assert f"round-{round_no} marker" not in text, (round_no, request.agent)
            # ... and in round 2 everybody has heard every answer of round 1.
            if round_no == 2:
                for other in PANEL:
                    if other != request.agent:
                        assert f"{other} answers round-1 marker." in text, (request.agent, other)
    # Same history: the part of each round-2 prompt after the persona card is the same apart
    # from the agent's own line ("You said: ...") — compare what each heard from the others.
    heard = {
        r.agent: sorted(
            line for line in prompt_text(r).splitlines() if "marker" in line and not line.startswith("You said")
        )
        for r in by_round[2]
    }
    everyone = {line for lines in heard.values() for line in lines}
    for agent, lines in heard.items():
        assert set(lines) == {line for line in everyone if not line.startswith(agent)}


async def test_concurrency_two_matches_full_concurrency(tmp_path: Path) -> None:
    """The same round at concurrency 2 and 64 sends byte-identical prompts."""
    sent: dict[int, list[str]] = {}
    for concurrency in (2, 64):
        backend = ScriptedBackend(seed=3)
        room = make_room(
            tmp_path / str(concurrency), backend, [make_card(n) for n in PANEL], max_concurrency=concurrency
        )
        room.record("moderator", text="Tell us about breakfast.", to=None)
        for r in range(3):
            await parallel(room, RoundSpec(f"r{r}", room.situation()))
        sent[concurrency] = [prompt_text(q) for q in sorted(turn_requests(backend), key=lambda q: q.agent or "")]
    assert sent[2] == sent[64]


async def test_a_round_cut_midway_at_concurrency_two_resumes_to_the_same_run(tmp_path: Path) -> None:
    """Cut inside a parallel round run in waves of two; the resumed run reproduces the full one."""
    data = guide_data(defaults={"policy": "parallel", "rounds": 2, "max_concurrency": 2})
    cards = [make_card(n) for n in PANEL[:5]]

    backend = ScriptedBackend(seed=1)
    full = tmp_path / "full"
    session = await Session.start(parse_guide(data), cards, backend, full, seed=1, budget=700, max_concurrency=2)
    await session.run_to_end()
    await session.aclose()
    full_events, full_prompts = view(full), prompts(backend.requests)
    lines = (full / "events.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    # Cut points inside parallel rounds: after a turn of an open parallel round.
    cuts = []
    open_parallel = False
    for k, line in enumerate(lines, start=1):
        if '"type":"round_started"' in line.replace(" ", ""):
            open_parallel = '"policy":"parallel"' in line.replace(" ", "")
        elif '"type":"round_ended"' in line.replace(" ", ""):
            open_parallel = False
        elif open_parallel and '"type":"say"' in line.replace(" ", ""):
            cuts.append(k)
    assert len(cuts) >= 10
    failures = []
    for k in cuts[::3]:
        target = tmp_path / f"cut-{k}"
        target.mkdir()
        (target / "events.jsonl").write_text("".join(lines[:k]), encoding="utf-8")
        again = ScriptedBackend(seed=1)
        resumed = await Session.reopen(target, again)
        await resumed.run_to_end()
        await resumed.aclose()
        if view(target) != full_events:
            failures.append(f"cut after {k}: {first_difference(view(target), full_events)}")
        for key, sent in prompts(again.requests).items():
            if full_prompts[key][-len(sent) :] != sent:
                failures.append(f"cut after {k}: prompts of {key} differ")
                break
        shutil.rmtree(target)
    assert not failures, failures[:5]
