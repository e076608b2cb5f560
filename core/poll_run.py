"""Running and aggregating polls.

Each agent answers with one structured call whose output model is built for the poll
(:func:`answer_model`): a ``Literal`` of the allowed labels for Likert and single choice, a
list of them for multi, a bounded number, or free text — plus a one-sentence ``rationale``.

``private_first`` polls collect every answer in isolation: answers are logged with
``revealed=false`` and routed to nobody but their author, so no agent's prompt can contain
another's answer. Then, if the poll says ``reveal``, a ``poll_revealed`` event tells the room the
results and every agent perceives them. Open polls (``private_first=false``) go round the room
one by one, each answer heard by the next.

The result is a :class:`~troupe.core.poll_stats.PollResult` built by
:func:`~troupe.core.poll_stats.aggregate` — the same class and statistics the exports, the
report and the TUI read from the log.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from .agent import Agent, AnswerOutcome, Situation
from .group_commit import Item
from .poll_sampling import PollSampling, consult_draws, overriding_backend
from .poll_stats import PollResult, aggregate
from .polls import LIKERT_LABELS, PollSpec
from .prompt import Prompt
from .room import Room, SeatingOrder, call_items

RATIONALE = Field(description="One sentence: why you answer this way, in your own voice.")


def answer_model(spec: PollSpec) -> type[BaseModel]:
    """The pydantic model an agent's answer to ``spec`` must validate against."""
    if spec.kind in LIKERT_LABELS or spec.kind == "single":
        value_type: Any = Literal[tuple(spec.options or ())]
        value = (value_type, Field(description="Exactly one of the options, copied verbatim."))
    elif spec.kind == "multi":
        item: Any = Literal[tuple(spec.options or ())]
        limit = spec.max_choices
        how_many = f"One to {limit}" if limit else "One or more"
        value = (
            list[item],
            Field(min_length=1, max_length=limit, description=f"{how_many} of the options, copied verbatim."),
        )
    elif spec.kind == "number":
        bounds: dict[str, Any] = {}
        if spec.min is not None:
            bounds["ge"] = spec.min
        if spec.max is not None:
            bounds["le"] = spec.max
        value = (float, Field(description="A number" + _range_text(spec) + ".", **bounds))
    else:
        value = (str, Field(description="Your answer in a few words."))
    safe = "".join(ch if ch.isalnum() else "_" for ch in spec.id)[:40]
    return create_model(
        f"PollAnswer_{safe}",
        __config__=ConfigDict(extra="forbid"),
        value=value,
        rationale=(str, RATIONALE),
    )


def _range_text(spec: PollSpec) -> str:
    if spec.min is not None and spec.max is not None:
        return f" from {_num(spec.min)} to {_num(spec.max)}"
    if spec.min is not None:
        return f" of at least {_num(spec.min)}"
    if spec.max is not None:
        return f" of at most {_num(spec.max)}"
    return ""


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def question_text(spec: PollSpec) -> str:
    """The poll as the agent reads it in the "Now" part of its prompt."""
    lines = [f"The moderator asks you to answer a poll on your own: {spec.question}"]
    if spec.kind in ("single", "multi") or spec.kind in LIKERT_LABELS:
        lines.append("Options: " + " | ".join(spec.options or []))
        if spec.kind != "multi":
            lines.append("Choose exactly one option.")
        else:
            lines.append(
                f"Choose up to {spec.max_choices} options." if spec.max_choices else "Choose one or more options."
            )
    elif spec.kind == "number":
        lines.append("Answer with a number" + _range_text(spec) + ".")
    return "\n".join(lines)


POLL_TASK = (
    "Answer honestly, as yourself, without asking anyone. Reply with one JSON object: value (your "
    "answer; options copied exactly) and rationale (one sentence, in your own voice, on why)."
)


def _normalise(spec: PollSpec, value: Any) -> Any:
    if spec.kind == "multi" and isinstance(value, list):
        order = spec.options or []
        return [o for o in order if o in set(value)]
    if spec.kind == "number" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


async def run_poll(
    room: Room,
    spec: PollSpec,
    *,
    poll_id: str | None = None,
    answered: dict[str, tuple[Any, str]] | None = None,
    asked: bool = False,
    revealed: bool = False,
    done: set[str] | None = None,
    sampling: PollSampling | None = None,
    **close_fields: Any,
) -> PollResult:
    """Ask, collect, (reveal), aggregate and log one poll.

    ``asked``/``answered``/``revealed``/``done`` describe a poll already partly logged (a
    resumed run): it is not asked again and finished answers are not requested again.
    ``close_fields`` go on the ``poll_closed`` event (e.g. the guide ``beat``). ``sampling``
    (:mod:`.poll_sampling`: K draws, per-persona temperatures and seeds, an instruction set)
    is off when None, and the log is then exactly as without it.
    """
    if sampling is not None and sampling.changes_requests:
        with overriding_backend(room):
            return await _run_poll(room, spec, poll_id, answered, asked, revealed, done, sampling, close_fields)
    return await _run_poll(room, spec, poll_id, answered, asked, revealed, done, sampling, close_fields)


async def _run_poll(
    room: Room,
    spec: PollSpec,
    poll_id: str | None,
    answered: dict[str, tuple[Any, str]] | None,
    asked: bool,
    revealed: bool,
    done: set[str] | None,
    sampling: PollSampling | None,
    close_fields: dict[str, Any],
) -> PollResult:
    pid = poll_id or spec.id
    answers: dict[str, tuple[Any, str]] = dict(answered or {})
    skip = set(done or ()) | set(answers)
    if not asked:
        extra = {
            k: v for k, v in (("min", spec.min), ("max", spec.max), ("max_choices", spec.max_choices)) if v is not None
        }
        room.record(
            "poll_asked",
            poll_id=pid,
            question=spec.question,
            kind=spec.kind,
            options=spec.options,
            private_first=spec.private_first,
            **extra,
            **(sampling.asked_fields() if sampling is not None else {}),
        )
    model = answer_model(spec)
    situation = Situation(current=question_text(spec), current_seq=None)
    task = sampling.task if sampling is not None else POLL_TASK

    async def prompt_for(agent: Agent) -> Prompt:
        return await agent.prompt_for(situation, task=task)

    async def one(agent: Agent, order: SeatingOrder | None = None) -> None:
        try:
            drawn: dict[str, Any] = {}
            if sampling is not None and sampling.changes_requests:
                draws = await consult_draws(room, agent, prompt_for, model, sampling)
                outcome, drawn = (draws.outcome, draws.fields) if draws is not None else (None, {})
            else:
                outcome = await room.consult(agent, prompt_for, model, "poll")
            if outcome is not None:
                if order is not None:  # answers are logged in seating order (reproducible)
                    await order.wait(agent.name)
                items = _answer_items(spec, pid, outcome, answers, public=not spec.private_first, drawn=drawn)
                await room.commit(items, on_written=order.releaser(agent.name) if order else None)
        finally:
            if order is not None:
                order.release(agent.name)

    agents = [a for a in room.active() if a.name not in skip]
    if spec.private_first:
        order = SeatingOrder([a.name for a in agents])
        results = await asyncio.gather(*(one(a, order) for a in agents), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, asyncio.CancelledError):
                raise r
    else:
        for agent in agents:
            if room.stopping:
                break
            await one(agent)
    result = aggregate(spec, answers, poll_id=pid)
    missing = [a.name for a in agents if a.name not in answers]
    failed_now = _failed(room, pid) if missing else set()  # one scan of the log, not one per persona
    result.failed = [name for name in missing if name in failed_now]
    if room.stopping:
        return result
    if spec.private_first and spec.reveal and not revealed:
        room.record(
            "poll_revealed",
            poll_id=pid,
            question=spec.question,
            answers={name: value for name, (value, _) in answers.items()},
            counts=result.counts or None,
        )
    room.record(
        "poll_closed",
        poll_id=pid,
        n=result.n,
        counts=result.counts,
        mean=result.mean,
        stdev=result.stdev,
        distribution=result.distribution,
        **close_fields,
    )
    return result


def _answer_items(
    spec: PollSpec,
    pid: str,
    outcome: AnswerOutcome,
    answers: dict[str, tuple[Any, str]],
    *,
    public: bool,
    drawn: dict[str, Any] | None = None,
) -> list[Item]:
    """An answer's events: its ``llm_call`` events, then ``poll_answer`` (or the error)."""
    items = call_items(outcome.agent, "poll", outcome.calls)
    parsed = outcome.parsed
    if outcome.error is not None or parsed is None:
        items.append(
            (
                "error",
                dict(
                    agent=outcome.agent,
                    kind=getattr(outcome.error, "kind", "invalid_output"),
                    message=str(outcome.error or "no parsed output"),
                    recovered=False,
                    purpose="poll",
                    poll_id=pid,
                ),
            )
        )
        return items
    value = _normalise(spec, getattr(parsed, "value", None))
    rationale = str(getattr(parsed, "rationale", "")).strip()
    answers[outcome.agent] = (value, rationale)
    if drawn and "draws" in drawn:  # K draws: the persona's distribution, normalised like the answer
        drawn = {**drawn, "draws": [_normalise(spec, v) for v in drawn["draws"]]}
    items.append(
        (
            "poll_answer",
            dict(poll_id=pid, agent=outcome.agent, value=value, rationale=rationale, revealed=public, **(drawn or {})),
        )
    )
    return items


def _failed(room: Room, pid: str) -> set[str]:
    return {
        agent
        for e in reversed(room.log.events[-500:])
        if e.type == "error" and getattr(e, "poll_id", None) == pid and (agent := getattr(e, "agent", None))
    }


__all__ = ["POLL_TASK", "PollResult", "aggregate", "answer_model", "question_text", "run_poll"]
