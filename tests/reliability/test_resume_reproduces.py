"""Defect 4 of issue 15: a resumed run reproduces the uninterrupted one.

A short scripted run (round-robin warm-up, a parallel concept section with two stimuli and a
poll, a prompt budget small enough that memory consolidation and recall both happen) is run
once without interruption. Then, for *every* event boundary k, the log is cut after event k
(what a kill at that moment leaves), the run is reopened and run to its end with a fresh
backend, and both must match the uninterrupted run:

* the transcript — every event but its timestamp and measured latency;
* the prompts sent after the cut — per persona, the resumed run's prompts are exactly the last
  prompts of the uninterrupted run (the scripted backend's replies depend only on the prompt,
  so equal prompts mean equal replies and any divergence shows up here first).

Two causes made resumed runs diverge, both fixed in ``core/room.py``:

* a log cut inside a ``parallel`` round: the replay made the turns still to take hear the turns
  already taken (and evict older memories to fit them), though live every prompt of the round
  is built from the room as it stood when the round began — the replay now holds those events
  back until the remaining prompts are built;
* a memory consolidation launched but not yet applied where the log ends: its request and
  result lived only in memory, so the resumed run launched a different one later — launches
  now happen at a fixed point of the log (an agent's own turn event), the replay makes the same
  decisions and rebuilds the same request, and the resumed room sends it again and applies it
  at the same turn.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.core.engine_fixtures import guide_data, make_cards
from troupe.core.llm.protocol import ChatRequest
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.log import read_events
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session

VOLATILE = {"ts", "latency_ms"}
SEQ_FIELDS = ("seq", "reply_to", "upto_seq", "target")
BUDGET = 700
"""Prompt tokens: small enough that old items leave the window (consolidation, recall)."""


def view(run: Path) -> list[dict[str, Any]]:
    """The transcript: every event but its timestamp, and no ``llm_call`` accounting (a call
    logged just before the cut is paid, and logged, once more by the resumed run); ``seq`` and
    the fields that point at one are renumbered over what is left, so a repeated accounting
    line does not shift them."""
    events = [e.to_json_dict() for e in read_events(run / "events.jsonl") if e.type != "llm_call"]
    number = {e["seq"]: i + 1 for i, e in enumerate(events)}
    out = []
    for e in events:
        row = {k: v for k, v in e.items() if k not in VOLATILE}
        for key in SEQ_FIELDS:
            if isinstance(row.get(key), int):
                row[key] = number.get(row[key], f"llm_call near {row[key]}")
        out.append(row)
    return out


def prompts(requests: list[ChatRequest]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in requests:
        out[f"{r.agent}|{r.purpose}"].append("\n".join(f"{m.role}: {m.content}" for m in r.messages))
    return out


async def uninterrupted(run: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    backend = ScriptedBackend(seed=1)
    session = await Session.start(parse_guide(guide_data()), make_cards(3), backend, run, seed=1, budget=BUDGET)
    await session.run_to_end()
    await session.aclose()
    return view(run), prompts(backend.requests)


async def resumed_at(source: Path, k: int, target: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    target.mkdir()
    lines = (source / "events.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    (target / "events.jsonl").write_text("".join(lines[:k]), encoding="utf-8")
    backend = ScriptedBackend(seed=1)
    session = await Session.reopen(target, backend)
    await session.run_to_end()
    await session.aclose()
    return view(target), prompts(backend.requests)


def first_difference(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
            return f"event {i + 1} ({x.get('type')} vs {y.get('type')}) differs in {keys}"
    return f"lengths {len(a)} vs {len(b)}"


async def test_a_run_cut_at_every_event_boundary_resumes_to_the_same_transcript_and_prompts(tmp_path: Path) -> None:
    full_events, full_prompts = await uninterrupted(tmp_path / "full")
    assert full_events[-1]["type"] == "session_ended"
    assert any(e["type"] == "memory_consolidated" for e in full_events), "the budget must force consolidation"
    failures: list[str] = []
    cuts = len((tmp_path / "full" / "events.jsonl").read_text(encoding="utf-8").splitlines())
    for k in range(1, cuts):
        events, sent = await resumed_at(tmp_path / "full", k, tmp_path / f"cut-{k}")
        if events != full_events:
            failures.append(f"cut after {k}: transcript: {first_difference(events, full_events)}")
        for key, resumed in sent.items():
            if full_prompts[key][-len(resumed) :] != resumed:
                failures.append(f"cut after {k}: prompts of {key} differ")
                break
        shutil.rmtree(tmp_path / f"cut-{k}")
        await asyncio.sleep(0)
    assert not failures, f"{len(failures)} of {cuts - 1} cuts diverge; first: " + "; ".join(failures[:5])
