"""A recorded session replays through the record/replay cache with zero backend calls.

Parallel turns finish in a different order on every run; the log (and so every agent's
memory and every later prompt) must not depend on that order, or replay would miss.
"""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from troupe.core.llm.cache import CachedBackend
from troupe.core.llm.protocol import ChatRequest, ChatResponse
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.log import read_events
from troupe.personas.card import render_card
from troupe.personas.library import resolve_persona
from troupe.sessions.guide import load_guide
from troupe.sessions.session import Session

PANEL = ("maria-lopez", "tom-becker", "aiko-sato", "kwame-mensah")


class Jittery:
    """Scripted replies that finish in a random order (like a real server)."""

    name = "scripted"
    model = "scripted-1"

    def __init__(self, seed: int) -> None:
        self.inner = ScriptedBackend(seed=1)
        self.rng = random.Random(seed)
        self.calls = 0

    async def complete(self, request: ChatRequest, *, on_delta=None) -> ChatResponse:
        self.calls += 1
        await asyncio.sleep(self.rng.uniform(0, 0.02))
        return await self.inner.complete(request, on_delta=on_delta)

    async def aclose(self) -> None:
        return None


class Unreachable(Jittery):
    async def complete(self, request: ChatRequest, *, on_delta=None) -> ChatResponse:
        raise AssertionError(f"replay called the backend for a {request.purpose} call")


def spoken(run_dir: Path) -> list[tuple]:
    return [
        (e.type, getattr(e, "agent", None), getattr(e, "text", None) or getattr(e, "value", None))
        for e in read_events(run_dir / "events.jsonl")
        if e.type in ("say", "think", "pass", "poll_answer", "memory_consolidated")
    ]


async def test_a_recorded_session_replays_with_zero_calls_and_the_same_transcript(tmp_path: Path) -> None:
    guide = load_guide("concept-test")
    cards = [render_card(resolve_persona(slug)) for slug in PANEL]
    cache = tmp_path / "llm.sqlite"

    recorder = Jittery(seed=1)
    recording = await Session.start(guide, cards, CachedBackend(recorder, cache, "record"), tmp_path / "rec", seed=4)
    await recording.run_to_end()
    await recording.aclose()
    assert recorder.calls > 0

    replayer = Unreachable(seed=2)
    replay = await Session.start(guide, cards, CachedBackend(replayer, cache, "replay"), tmp_path / "rep", seed=4)
    await replay.run_to_end()
    await replay.aclose()

    assert replayer.calls == 0
    assert spoken(tmp_path / "rep") == spoken(tmp_path / "rec")
    errors = [e for e in read_events(tmp_path / "rep" / "events.jsonl") if e.type == "error"]
    assert errors == []
