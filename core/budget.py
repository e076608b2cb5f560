"""Budgets: what a run has spent, what the rest of the guide will cost, and whether the next
step would pass a limit (``docs/dynamics.md``, "Budgets"). Pure functions of the event log.

* **Spent** (:func:`usage_of`): cost and tokens summed over ``llm_call`` events (every purpose:
  turns, polls, repairs, memory consolidation, embeddings); *active minutes* = the sum of the
  gaps between consecutive events, leaving out gaps longer than :data:`IDLE_GAP_S` (a stopped,
  paused or idle run costs no time); *units* = the turns and poll answers taken (``say``,
  ``think``, ``pass``, a failed turn's ``error``, ``poll_answer``).
* **Per unit** figures are spent ÷ units, so each unit carries its share of the overheads.
* **Projection** (:func:`project`) of ``n`` more units = ``n`` × the per-unit figures.
* **Guard** (:func:`breach`): before a step of ``n`` units, the first limit that
  spent + projected(``n``) would pass. Before the first unit there is no per-unit figure and
  nothing is projected (only a limit already reached stops the step).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .errors import RunStateError
from .events import Event

IDLE_GAP_S = 120.0
"""A gap between two events longer than this is idle time (not counted in active minutes)."""

UNIT_EVENTS = ("say", "think", "pass", "turn_withdrawn", "poll_answer")


@dataclass(frozen=True, slots=True)
class Limits:
    max_cost: float | None = None
    """US dollars."""
    max_tokens: int | None = None
    """Prompt + completion tokens."""
    max_minutes: float | None = None
    """Active minutes (see the module doc)."""

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.max_cost, self.max_tokens, self.max_minutes))


@dataclass(frozen=True, slots=True)
class Usage:
    cost: float = 0.0
    tokens: int = 0
    seconds: float = 0.0
    units: int = 0
    calls: int = 0


@dataclass(frozen=True, slots=True)
class Projection:
    units: int
    cost: float
    tokens: float
    seconds: float


@dataclass(frozen=True, slots=True)
class Breach:
    limit: str
    """``max_cost``, ``max_tokens`` or ``max_minutes``."""
    value: float
    spent: float
    projected: float
    """Projected cost of the next step alone."""

    def describe(self) -> str:
        fmt = {
            "max_cost": lambda x: f"${x:.4f}".rstrip("0").rstrip("."),
            "max_tokens": lambda x: f"{x:,.0f} tokens",
            "max_minutes": lambda x: f"{x:.1f} min",
        }[self.limit]
        return (
            f"--{self.limit.replace('_', '-')} {fmt(self.value)}: spent {fmt(self.spent)}, "
            f"the next step would add about {fmt(self.projected)}"
        )


class BudgetReachedError(RunStateError):
    """The session paused before a step that would pass a budget limit: the run is saved and
    resumes with a higher limit. Exit code 1, like any run that stopped resumable (DESIGN's
    exit codes are 0, 1 and 2; scripts tell this stop apart by its message or the log's
    ``budget_reached`` event)."""

    title = "Budget reached"
    exit_code = 1

    def __init__(self, message: str, breach: Breach) -> None:
        super().__init__(message)
        self.breach = breach


def _time(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def active_seconds(events: Sequence[Event]) -> float:
    total = 0.0
    previous: datetime | None = None
    for event in events:
        now = _time(event.ts)
        if now is None:
            continue
        if previous is not None:
            gap = (now - previous).total_seconds()
            if 0 < gap <= IDLE_GAP_S:
                total += gap
        previous = now
    return total


def usage_of(events: Sequence[Event]) -> Usage:
    cost = 0.0
    tokens = units = calls = 0
    for event in events:
        if event.type == "llm_call":
            calls += 1
            cost += float(getattr(event, "cost_usd", 0.0) or 0.0)
            tokens += int(getattr(event, "prompt_tokens", 0) or 0) + int(getattr(event, "completion_tokens", 0) or 0)
        elif event.type in UNIT_EVENTS or (event.type == "error" and getattr(event, "round_key", None)):
            units += 1
    return Usage(cost=cost, tokens=tokens, seconds=active_seconds(events), units=units, calls=calls)


def project(usage: Usage, units: int) -> Projection:
    """The cost, tokens and active seconds of ``units`` more turns/answers, at the run's rate."""
    if usage.units <= 0 or units <= 0:
        return Projection(max(0, units), 0.0, 0.0, 0.0)
    k = units / usage.units
    return Projection(units, usage.cost * k, usage.tokens * k, usage.seconds * k)


def projection_text(p: Projection) -> str:
    """``rest ≈ $0.12 · 41k tok · 3 min`` — the header's projection of the rest of the guide."""
    if p.units <= 0:
        return "rest: nothing left"
    if not (p.cost or p.tokens or p.seconds):
        return "rest: no estimate yet"
    tokens = f"{p.tokens / 1000:.0f}k" if p.tokens >= 1000 else f"{p.tokens:.0f}"
    minutes = max(1, round(p.seconds / 60)) if p.seconds else 0
    return f"rest ≈ ${p.cost:.2f} · {tokens} tok · {minutes} min"


def breach(limits: Limits, usage: Usage, next_units: int) -> Breach | None:
    """The first limit the next step (``next_units`` turns/answers) would pass, else None.
    A limit is passed when spent + projected exceeds it, or when spent already reaches it."""
    step = project(usage, next_units)
    checks = (
        ("max_cost", limits.max_cost, usage.cost, step.cost),
        ("max_tokens", limits.max_tokens, float(usage.tokens), step.tokens),
        ("max_minutes", limits.max_minutes, usage.seconds / 60.0, step.seconds / 60.0),
    )
    for name, value, spent, projected in checks:
        if value is None:
            continue
        if spent >= value or (projected > 0 and spent + projected > value):
            return Breach(name, float(value), spent, projected)
    return None


__all__ = [
    "IDLE_GAP_S",
    "Breach",
    "BudgetReachedError",
    "Limits",
    "Projection",
    "Usage",
    "active_seconds",
    "breach",
    "project",
    "usage_of",
]
