"""Turn policies: who speaks in a round, and in what order.

A policy is an async function ``policy(room, spec) -> list[Event]`` that runs one round and
returns the turn events it logged. None of them makes an LLM call of its own: choosing the next
speaker is arithmetic on the room's state.

* :func:`parallel` — every active agent answers at once (bounded by the room's
  ``max_concurrency``): a round costs one LLM latency, not N.
* :func:`round_robin` — one at a time in seating order (rotated each round so nobody always
  opens); each hears the previous speakers.
* :func:`free` — as many turns as active agents; next speaker: whoever was just addressed
  (most recent first), else who wants to speak (a pending private thought), else the least
  airtime weighted by ``card.traits["talkativeness"]``; never the same speaker twice in a row.
* :func:`directed` — only the addressed agents answer (``spec.to``); with nobody addressed the
  round interviews the next agent in seating order.

``spec.done`` names agents whose turn in this round is already logged (a resumed round), so
finished turns are never requested again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .agent import Agent, Situation
from .events import Event
from .room import Room, SeatingOrder


@dataclass(frozen=True)
class RoundSpec:
    """One round to run."""

    key: str
    """Identifies the round in the log (``round_key`` on its turn events)."""
    situation: Situation = field(default_factory=Situation)
    to: Sequence[str] | None = None
    """Addressees, for :func:`directed` (and a parallel round limited to some agents)."""
    done: frozenset[str] = frozenset()
    index: int = 0
    """The round's number within its block (rotates round-robin and directed order)."""
    seed: int = 0


Policy = Callable[[Room, RoundSpec], Awaitable[list[Event]]]


def _check(results: Sequence[object]) -> list[Event]:
    """Turn results → events; re-raise a fatal backend error or a bug, drop cancelled turns."""
    events: list[Event] = []
    for result in results:
        if isinstance(result, Event):
            events.append(result)
        elif isinstance(result, asyncio.CancelledError) or result is None:
            continue
        elif isinstance(result, BaseException):
            raise result
    return events


async def _one(room: Room, agent: Agent, spec: RoundSpec) -> list[Event]:
    task = room.spawn_turn(agent, spec.situation, spec.key)
    return _check(await asyncio.gather(task, return_exceptions=True))


def _rotated(agents: list[Agent], index: int) -> list[Agent]:
    if not agents:
        return agents
    k = index % len(agents)
    return agents[k:] + agents[:k]


async def parallel(room: Room, spec: RoundSpec) -> list[Event]:
    agents = [a for a in room.active() if a.name not in spec.done and (not spec.to or a.name in spec.to)]
    # Every prompt is built now, from the room as the round found it, before any turn runs:
    # with max_concurrency below the panel size, later waves must not hear earlier ones.
    prepared = await room.prepare_round(agents, spec.situation)
    agents = [a for a in agents if a.name in prepared]
    order = SeatingOrder([a.name for a in agents])
    tasks = [room.spawn_turn(a, spec.situation, spec.key, order=order, prepared=prepared[a.name]) for a in agents]
    return _check(await asyncio.gather(*tasks, return_exceptions=True))


async def round_robin(room: Room, spec: RoundSpec) -> list[Event]:
    events: list[Event] = []
    order = [a for a in _rotated(list(room.agents.values()), spec.index) if not spec.to or a.name in spec.to]
    for agent in order:
        if room.stopping:
            break
        if agent.name in spec.done or agent.name in room.paused or agent.name in room.held:
            continue
        events += await _one(room, agent, spec)
    return events


def pick_next(room: Room, last: str | None, rng: random.Random) -> Agent | None:
    """The ``free`` policy's choice of the next speaker (no LLM call)."""
    active = room.active()
    candidates = [a for a in active if a.name != last] or active
    if not candidates:
        return None
    addressed = [a for a in candidates if a.mind.addressed_by]
    if addressed:
        return max(addressed, key=lambda a: a.mind.addressed_at)
    eager = [a for a in candidates if a.mind.wants_to_speak]
    pool = eager or candidates
    return min(
        pool,
        key=lambda a: (a.airtime_chars + 100.0) / (0.2 + a.talkativeness) * (0.85 + 0.3 * rng.random()),
    )


async def free(room: Room, spec: RoundSpec) -> list[Event]:
    events: list[Event] = []
    turns = max(0, len(room.active()) - len(spec.done))
    last: str | None = None
    for i in range(turns):
        if room.stopping:
            break
        rng = random.Random(f"free|{spec.seed}|{spec.key}|{i + len(spec.done)}")
        agent = pick_next(room, last, rng)
        if agent is None:
            break
        events += await _one(room, agent, spec)
        last = agent.name
    return events


async def directed(room: Room, spec: RoundSpec) -> list[Event]:
    names = [n for n in (spec.to or []) if n in room.agents]
    if not names:
        active = room.active()
        names = [_rotated(active, spec.index)[0].name] if active else []
    events: list[Event] = []
    for name in names:
        if room.stopping:
            break
        if name in spec.done or name in room.paused:
            continue
        events += await _one(room, room.agents[name], spec)
    return events


POLICIES: dict[str, Policy] = {
    "parallel": parallel,
    "round_robin": round_robin,
    "free": free,
    "directed": directed,
}


def get_policy(name: str) -> Policy:
    try:
        return POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown turn policy {name!r} (known: {', '.join(POLICIES)})") from None


__all__ = ["POLICIES", "Policy", "RoundSpec", "directed", "free", "get_policy", "parallel", "pick_next", "round_robin"]
