"""The prompts a session sends are a function of its log — and the engine's speed-ups keep them.

Issue 14 made perception cheap (lines heard by the whole room are stored once and taken up by
each listener when it next needs its memory; the recall index is shared by the room). Those are
pure optimisations: for the same log every persona must get byte-identical prompts. This test
runs scripted sessions that exercise every routing rule — round-robin, parallel and free
rounds, lines addressed to one persona (with and without ``overhear``), a muted and a paused
persona, a stimulus shown to some, private and revealed polls, memory eviction, consolidation
and recall (lexical and embeddings) — and compares a digest of every prompt with the golden
file recorded before the optimisation.

When a prompt changes *on purpose* (new wording, a new prompt section), regenerate the golden
and say so in the commit: ``TROUPE_WRITE_GOLDEN=1 pytest tests/core/test_prompts_golden.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from pathlib import Path
from typing import Any

import pytest
from engine_fixtures import make_card, make_cards

from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.polls import PollSpec
from troupe.sessions.guide import StimulusSpec, parse_guide
from troupe.sessions.session import Session

GOLDEN = Path(__file__).parent / "golden" / "prompts.json"


class AddressingBackend(ScriptedBackend):
    """Scripted replies where about a third of the ``say`` turns address another persona by
    first name (the plain scripted writer always speaks to everyone). Deterministic: the choice
    depends only on the request's content."""

    def _reply(self, request: ChatRequest, messages: list[Message]) -> str:
        text = super()._reply(request, messages)
        if request.purpose != "turn":
            return text
        data = json.loads(text)
        others = [n for n in request.metadata.get("panel", ()) if n != request.agent]
        pick = zlib.crc32(request.messages[-1].content.encode())
        if data.get("action") == "say" and others and pick % 3 == 0:
            data["to"] = others[pick % len(others)].split()[0]
        return json.dumps(data)


def guide() -> dict[str, Any]:
    return {
        "title": "Golden prompts",
        "defaults": {"policy": "parallel", "rounds": 2},
        "sections": [
            {"title": "Warm-up", "prompt": "Tell us what you usually have for lunch.", "policy": "round_robin"},
            {
                "title": "Concept",
                "prompt": "Here is an idea for a new product: a chilled soup in a bottle.",
                "stimuli": [
                    {"kind": "concept", "title": "Soup A", "text": "A chilled soup in a bottle, 2.49."},
                    {"kind": "concept", "title": "Soup B", "text": "A family recipe soup, cold-pressed."},
                ],
                "polls": [
                    {"id": "intent", "question": "Would you buy it?", "kind": "likert5"},
                    {"id": "price", "question": "What would you pay?", "kind": "number", "min": 0, "max": 10},
                ],
            },
            {"title": "Open floor", "prompt": "Anything else about lunch on the go?", "policy": "free", "rounds": 3},
        ],
    }


async def scenario(run_dir: Path, *, overhear: bool, retrieval: str) -> dict[str, list[str]]:
    """A session driven through its guide with moderator commands in between; every prompt
    sent, as ``agent|purpose`` → digests in the order that agent sent them."""
    cards = [*make_cards(4), make_card("Lena Vogel", {"occupation": "teacher", "talkativeness": 0.6})]
    names = [c.name for c in cards]
    backend = AddressingBackend(seed=3)
    original = backend.complete

    async def complete(request: ChatRequest, *, on_delta: Any = None) -> Any:
        request.metadata.setdefault("panel", names)
        return await original(request, on_delta=on_delta)

    backend.complete = complete  # type: ignore[method-assign]
    session = await Session.start(
        parse_guide(guide()), cards, backend, run_dir, seed=1, budget=700, overhear=overhear, retrieval=retrieval
    )
    steps = 0
    while await session.step():
        steps += 1
        if steps == 3:
            session.mute_agent("Tom Becker")
            await session.say("@Maria what did you have yesterday?")
        elif steps == 5:
            await session.show(StimulusSpec(kind="text", text="A picnic basket with two bottles."), to=names[2:4])
            session.pause_agent("Aiko Sato")
        elif steps == 7:
            session.unmute_agent("Tom Becker")
            await session.run_round()
            session.resume_agent("Aiko Sato")
            await session.poll(PollSpec(id="pack", question="Pick a pack size", kind="single", options=["1", "4", "6"]))
            await session.discuss_results()
    await session.end("completed")
    await session.aclose()
    out: dict[str, list[str]] = {}
    for request in backend.requests:
        text = "\n".join(f"{m.role}: {m.content}" for m in request.messages)
        out.setdefault(f"{request.agent}|{request.purpose}", []).append(hashlib.sha256(text.encode()).hexdigest()[:16])
    return out


SCENARIOS = {
    "lexical": {"overhear": False, "retrieval": "lexical"},
    "overhear": {"overhear": True, "retrieval": "lexical"},
    "embeddings": {"overhear": False, "retrieval": "embeddings"},
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_prompt_is_byte_identical_to_the_golden(tmp_path: Path, name: str) -> None:
    got = await scenario(tmp_path / "run", **SCENARIOS[name])
    assert sum(len(v) for v in got.values()) > 60, "the scenario must send many prompts"
    assert any(k.endswith("|consolidate") for k in got), "the budget must force consolidation"
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("TROUPE_WRITE_GOLDEN"):
        golden[name] = got
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return
    want = golden[name]
    for key in sorted(set(want) | set(got)):
        mine, theirs = got.get(key, []), want.get(key, [])
        first = next((i for i, (a, b) in enumerate(zip(mine, theirs)) if a != b), min(len(mine), len(theirs)))
        assert mine == theirs, f"{name}: {key}: prompt {first + 1} differs ({len(mine)} sent, golden {len(theirs)})"
