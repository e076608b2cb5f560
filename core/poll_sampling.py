"""Tools against variance collapse in poll answers — each off by default, each with its cost.

Why: language models playing personas answer polls more alike than people do (the same mean,
half the spread, almost no extreme answers). Three optional tools push back:

* **K draws per persona** (``draws = K``): the persona's answer is asked K times with
  independent calls in parallel (each with its own seed); the K values are kept in the log as
  the persona's answer distribution, and the answer used is their **mode** (``use = "mode"``;
  ties go to the value drawn first) or one **draw** picked by the seed (``use = "draw"``).
  Cost: K × the poll calls (and tokens) of one answer.
* **Per-persona sampling settings**: a base ``temperature`` for poll answers, a per-persona
  ``temperature_jitter`` (each persona's temperature is the base ± up to that much, fixed by
  the seed and the persona's name), per-draw ``seed`` values derived from the seed, the name and
  the draw, and explicit ``personas = { "Tom Becker" = { temperature = 1.2 } }``. Cost: none in
  calls; higher temperatures make answers noisier as well as more varied.
* **A versioned instruction set** (``instructions``): ``default`` is Troupe's standard poll task;
  ``individual-v1`` asks for *this individual's* answer rather than a typical one. The name is
  recorded on ``poll_asked`` so that ``troupe validate`` says which set produced the answers.
  Cost: a few dozen prompt tokens per answer.

``run_poll(…, sampling=PollSampling(…))`` uses them; with ``sampling=None`` nothing changes
(the log is byte-for-byte what it was). The request settings reach the backend through a thin
wrapper installed on the room for the duration of the poll: it changes ``temperature`` and
``seed`` only on the requests made by a draw (a context variable marks them), so discussion
turns running at the same time are untouched.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import hashlib
import random
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .llm.protocol import ChatRequest, ChatResponse, DeltaCallback

if TYPE_CHECKING:
    from .agent import Agent, AnswerOutcome
    from .prompt import Prompt
    from .room import Room

DEFAULT_INSTRUCTIONS = "default"

INSTRUCTION_SETS: dict[str, str] = {
    "default": (
        "Answer honestly, as yourself, without asking anyone. Reply with one JSON object: value (your "
        "answer; options copied exactly) and rationale (one sentence, in your own voice, on why)."
    ),
    "individual-v1": (
        "Answer as the particular person you are, not as a typical or average respondent. Real people "
        "differ a great deal: many hold firm views and use the ends of a scale when they feel strongly, "
        "others do not care at all. Give the answer that follows from your own circumstances, budget, "
        "tastes, habits and temperament, even if it is unusual, extreme or negative; do not hedge towards "
        "the middle to be agreeable. Answer without asking anyone. Reply with one JSON object: value (your "
        "answer; options copied exactly) and rationale (one sentence, in your own voice, on why)."
    ),
}
"""Poll instruction sets by versioned name. A published name never changes its text: a new
wording gets a new name (``individual-v2``), so a log always says exactly what was asked."""


class PersonaSampling(BaseModel):
    """Explicit settings for one persona's poll answers (override the jittered ones)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    seed: int | None = None


class PollSampling(BaseModel):
    """How poll answers are sampled. The defaults change nothing (one call, standard task)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    draws: int = Field(default=1, ge=1, le=50)
    """K independent calls per persona; K × the cost of a poll."""
    use: Literal["mode", "draw"] = "mode"
    """The answer used: the most frequent of the K values, or one draw picked by the seed."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Base temperature for poll answers (default: the session's, else 1.0 when jittering)."""
    temperature_jitter: float = Field(default=0.0, ge=0, le=1)
    """Each persona's temperature is the base ± up to this much (fixed per persona by the seed)."""
    seed: int | None = None
    """Derives each persona's per-draw seeds (default: the session's seed, else 0)."""
    instructions: str = DEFAULT_INSTRUCTIONS
    personas: dict[str, PersonaSampling] = Field(default_factory=dict)

    @field_validator("instructions")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in INSTRUCTION_SETS:
            raise ValueError(f"unknown poll instruction set {value!r} (known: {', '.join(INSTRUCTION_SETS)})")
        return value

    @property
    def changes_requests(self) -> bool:
        """Whether calls are made differently from a plain poll (draws, temperatures or seeds)."""
        return (
            self.draws > 1
            or self.temperature is not None
            or self.temperature_jitter > 0
            or self.seed is not None
            or bool(self.personas)
        )

    @property
    def task(self) -> str:
        return INSTRUCTION_SETS[self.instructions]

    def temperature_for(self, agent: str, base: float | None) -> float | None:
        """The persona's poll temperature: explicit, else the base ± its fixed jitter."""
        own = self.personas.get(agent)
        if own is not None and own.temperature is not None:
            return own.temperature
        t = self.temperature if self.temperature is not None else base
        if self.temperature_jitter <= 0:
            return t
        t = 1.0 if t is None else t
        offset = random.Random(f"{self.seed or 0}|{agent}|temperature").uniform(-1, 1) * self.temperature_jitter
        return round(min(2.0, max(0.0, t + offset)), 3)

    def seed_for(self, agent: str, draw: int, base: int | None) -> int | None:
        """The request seed of one draw: explicit for the persona's first draw, else derived
        from the seed, the persona and the draw (stable across runs and machines)."""
        own = self.personas.get(agent)
        if own is not None and own.seed is not None and draw == 0:
            return own.seed
        if self.draws == 1 and self.seed is None and (own is None or own.seed is None):
            return base
        root = self.seed if self.seed is not None else (base or 0)
        digest = hashlib.sha256(f"{root}|{agent}|{draw}".encode()).digest()
        return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF

    def asked_fields(self) -> dict[str, Any]:
        """What ``poll_asked`` records: the instruction set and, when used, the sampling."""
        fields: dict[str, Any] = {"instructions": self.instructions}
        if self.changes_requests:
            fields["sampling"] = self.model_dump(mode="json", exclude_defaults=True) | {"draws": self.draws}
        return fields

    def cost_note(self) -> str:
        """The tools' cost in words, for headers and help."""
        parts = []
        if self.draws > 1:
            parts.append(f"{self.draws}× poll calls ({self.draws} draws per persona, {self.use} used)")
        if self.temperature_jitter > 0 or self.temperature is not None:
            parts.append("per-persona temperatures (no extra calls)")
        if self.instructions != DEFAULT_INSTRUCTIONS:
            parts.append(f"instructions {self.instructions} (a few dozen prompt tokens per answer)")
        return "; ".join(parts) or "plain polls (one call per persona)"


# -- request overrides --------------------------------------------------------------------------

_OVERRIDES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("poll_overrides", default=None)


class _Overriding:
    """Wraps a backend; requests made inside a draw get that draw's temperature and seed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        overrides = _OVERRIDES.get()
        if overrides:
            request = dataclasses.replace(request, **overrides)
        if on_delta is None:
            return await self.inner.complete(request)
        return await self.inner.complete(request, on_delta=on_delta)


@contextmanager
def overriding_backend(room: Room) -> Iterator[None]:
    """Route the room's calls through :class:`_Overriding` for the duration of a poll."""
    original = room.backend
    if isinstance(original, _Overriding):
        yield
        return
    room.backend = _Overriding(original)
    try:
        yield
    finally:
        room.backend = original


# -- K draws ------------------------------------------------------------------------------------


@dataclasses.dataclass(slots=True)
class Draws:
    """One persona's K answers: the merged outcome (all calls, the chosen answer) and the record."""

    outcome: AnswerOutcome
    fields: dict[str, Any]
    """Extra ``poll_answer`` fields: ``draws`` (the K values), ``draw_used``, ``temperature``, ``seeds``."""


async def consult_draws(
    room: Room,
    agent: Agent,
    prompt_for: Callable[[Agent], Awaitable[Prompt]],
    output_model: type[BaseModel],
    sampling: PollSampling,
) -> Draws | None:
    """Ask ``agent`` K times in parallel (bounded by the room's concurrency), each draw with its
    own seed and the persona's temperature; None when the agent was skipped (paused, stopping)."""
    from .agent import AnswerOutcome

    base_t, base_seed = agent.config.temperature, agent.config.seed
    temperature = sampling.temperature_for(agent.name, base_t)
    seeds = [sampling.seed_for(agent.name, k, base_seed) for k in range(sampling.draws)]

    async def draw(seed: int | None) -> AnswerOutcome | None:
        _OVERRIDES.set({"temperature": temperature, "seed": seed})  # this task's context only
        return await room.consult(agent, prompt_for, output_model, "poll")

    results = await asyncio.gather(*(draw(s) for s in seeds))
    outcomes = [r for r in results if r is not None]
    if not outcomes:
        return None
    calls = [c for o in outcomes for c in o.calls]
    good = [(k, o) for k, o in enumerate(outcomes) if o.error is None and o.parsed is not None]
    if not good:
        last = outcomes[-1]
        return Draws(AnswerOutcome(agent.name, None, calls, last.error, last.request), {})
    values = [getattr(o.parsed, "value", None) for _, o in good]
    used = choose(values, sampling, agent.name)
    chosen = good[used][1]
    fields = {
        "draws": values,
        "draw_used": used,
        "use": sampling.use,
        "temperature": temperature,
        "seeds": [seeds[k] for k, _ in good],
    }
    if len(good) < sampling.draws:
        fields["draws_failed"] = sampling.draws - len(good)
    return Draws(AnswerOutcome(agent.name, chosen.parsed, calls, None, chosen.request), fields)


def choose(values: list[Any], sampling: PollSampling, agent: str) -> int:
    """The index of the draw used: the first draw of the most frequent value (``mode``), or one
    picked by the seed and the persona (``draw``)."""
    if sampling.use == "draw":
        return random.Random(f"{sampling.seed or 0}|{agent}|use").randrange(len(values))
    keys = [_key(v) for v in values]
    counts = {k: keys.count(k) for k in keys}
    top = max(counts.values())
    return next(i for i, k in enumerate(keys) if counts[k] == top)


def _key(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "INSTRUCTION_SETS",
    "Draws",
    "PersonaSampling",
    "PollSampling",
    "choose",
    "consult_draws",
    "overriding_backend",
]
