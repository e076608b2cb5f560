"""The per-turn persona check: one judge call on each utterance before the room hears it.

Off by default. When a session has it on (``[turn_check]`` in the config, a guide's
``[defaults.turn_check]``, ``--turn-check`` on ``troupe run``/``demo``), every turn whose answer
is a ``say`` goes through :meth:`TurnCheck.review` after its call returns and *before* it is
logged:

1. one structured judge call scores the draft (0–9) for adherence to the persona's card and for
   consistency with what the persona said earlier — the judge of ``troupe report --judge``,
   supplied by the sessions layer through the :class:`TurnJudge` protocol (core knows no judge);
2. a score below the threshold sends the turn's own prompt again, once, with the judge's
   justification as a note to the persona (the prompt is the one the turn was built with, so a
   parallel round's answers still all come from the room as the round began); the second answer
   is kept whatever it is;
3. the calls are logged as ``llm_call`` events with their own purposes (``turn_check``,
   ``regenerate``) and the verdict as one ``turn_checked`` event, all in the turn's burst, just
   before the turn's ``say``. A rejected draft is kept for audit in ``rejected_text`` only: no
   persona perceives a ``turn_checked`` event, so it never reaches a memory or a prompt.

A judge that fails (an error, no usable scores) or a regeneration that fails never costs the
turn: the draft is kept, and the failure is logged (``turn_checked.error`` and an ``error``
event with ``recovered=true``). Turns arguing a view on request (a devil's advocate) are not
checked: they are meant to sound unlike the persona.

:class:`TurnCheckTally` is the one count of checks, regenerations and their extra calls, folded
from the log; the session header, the exports and the report all read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from .agent import Agent, Situation, TurnOutcome
from .config import TURN_CHECK_THRESHOLD
from .errors import BackendError
from .events import Event
from .group_commit import Item
from .llm.protocol import CallUsage, ChatBackend, ChatRequest, DeltaCallback, Message
from .room import call_items

DEFAULT_THRESHOLD = TURN_CHECK_THRESHOLD
"""Scores below this are low (the report's judge lists them; the per-turn check regenerates)."""
MAX_SCORE = 9
EARLIER_LIMIT = 12
"""At most this many of the persona's earlier utterances are shown for self-consistency."""

CHECK_PURPOSE = "turn_check"
REGENERATE_PURPOSE = "regenerate"
EXTRA_PURPOSES = (CHECK_PURPOSE, REGENERATE_PURPOSE)
"""The purposes of the calls the check adds to a turn (``llm_call.purpose``)."""

NOTE_HEADING = "# Before you answer again"


@dataclass(frozen=True, slots=True)
class TurnCheckSettings:
    """A session's check, as recorded in its ``session_started`` (``turn_check``)."""

    threshold: int = DEFAULT_THRESHOLD
    """A draft scoring below this is regenerated once (0: check and log only)."""
    model: str | None = None
    """The judge's model (None: the session's)."""

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "model": self.model}

    @classmethod
    def from_json(cls, data: Any) -> TurnCheckSettings | None:
        """The settings a run recorded (None: the check was off)."""
        if not isinstance(data, dict):
            return None
        threshold = data.get("threshold")
        model = data.get("model")
        return cls(
            threshold=int(threshold) if isinstance(threshold, int) else DEFAULT_THRESHOLD,
            model=model if isinstance(model, str) and model else None,
        )


@dataclass(frozen=True, slots=True)
class TurnSubject:
    """One draft utterance to judge."""

    agent: str
    card: dict[str, Any]
    text: str
    question: str
    """What the persona was answering (the latest moderator line or stimulus)."""
    earlier: tuple[tuple[int, str], ...]
    """The persona's earlier utterances ``(seq, text)``, oldest first (for self-consistency)."""


@dataclass(slots=True)
class TurnVerdict:
    """What the judge said of one draft (or why it said nothing usable)."""

    adherence: int | None = None
    self_consistency: int | None = None
    adherence_justification: str = ""
    consistency_justification: str = ""
    calls: list[CallUsage] = field(default_factory=list)
    error: str | None = None
    error_kind: str = "invalid_output"

    @property
    def score(self) -> int | None:
        """The lower of the two scores: a draft is as good as its weakest side."""
        if self.adherence is None or self.self_consistency is None:
            return None
        return min(self.adherence, self.self_consistency)

    def justification(self, threshold: int) -> str:
        """The justification of each side below ``threshold`` (of both when none is)."""
        sides = [
            (self.adherence, self.adherence_justification),
            (self.self_consistency, self.consistency_justification),
        ]
        low = [text for value, text in sides if value is not None and value < threshold and text]
        return " ".join(low or [text for _, text in sides if text]).strip()


class TurnJudge(Protocol):
    """Scores one draft utterance (``troupe.sessions.turn_check`` supplies the implementation).

    Must not raise for a failed call: a failure comes back as :attr:`TurnVerdict.error`, with
    the usage of the calls that were made."""

    async def judge(self, backend: ChatBackend, subject: TurnSubject, *, model: str | None) -> TurnVerdict: ...


def earlier_utterances(events: Sequence[Event], agent: str, limit: int = EARLIER_LIMIT) -> tuple[tuple[int, str], ...]:
    """``agent``'s latest ``limit`` utterances in ``events`` (``say``), oldest first."""
    found: list[tuple[int, str]] = []
    for event in reversed(events):
        if event.type == "say" and getattr(event, "agent", None) == agent:
            found.append((event.seq, str(getattr(event, "text", ""))))
            if len(found) >= limit:
                break
    return tuple(reversed(found))


def correction_note(justification: str) -> str:
    """What the persona is told before answering again (the judge's words, as data)."""
    why = f" The reviewer's note: {justification}" if justification else ""
    return (
        f"{NOTE_HEADING}\nYour answer did not sound like you (the person described above) or contradicted "
        f"what you said before.{why}\nAnswer the same question again, as yourself, in your own voice."
    )


class TurnCheck:
    """The room's hook (``Room.turn_check``): see the module docstring."""

    def __init__(self, judge: TurnJudge, settings: TurnCheckSettings, *, model: str | None = None) -> None:
        self.judge = judge
        self.settings = settings
        self.model = settings.model or model

    @property
    def threshold(self) -> int:
        return self.settings.threshold

    def applies(self, outcome: TurnOutcome, situation: Situation) -> bool:
        """Only spoken answers are checked, and never a view argued on request."""
        action = outcome.action
        return (
            outcome.error is None
            and action is not None
            and action.action == "say"
            and bool(action.text.strip())
            and situation.role is None
        )

    async def review(
        self,
        agent: Agent,
        outcome: TurnOutcome,
        situation: Situation,
        *,
        backend: ChatBackend,
        events: Sequence[Event],
        on_delta: DeltaCallback | None = None,
    ) -> tuple[TurnOutcome, list[Item]]:
        """Check a finished turn; returns the outcome to log and the events that go before it.

        The returned outcome's ``calls`` are the draft's (logged as the turn's); the check's and
        the regeneration's calls are among the returned events."""
        if not self.applies(outcome, situation):
            return outcome, []
        assert outcome.action is not None
        draft = outcome.action.text.strip()
        subject = TurnSubject(
            agent=agent.name,
            card=agent.card.to_dict(),
            text=draft,
            question=situation.current,
            earlier=earlier_utterances(events, agent.name),
        )
        verdict = await self.judge.judge(backend, subject, model=self.model)
        items = call_items(agent.name, CHECK_PURPOSE, verdict.calls)
        score = verdict.score
        fields: dict[str, Any] = dict(
            agent=agent.name,
            turn=agent.turns + 1,
            score=score,
            adherence=verdict.adherence,
            self_consistency=verdict.self_consistency,
            threshold=self.threshold,
            regenerated=False,
            justification=verdict.justification(self.threshold),
            error=None,
        )
        if verdict.error is not None or score is None:
            message = f"the turn check failed ({verdict.error or 'no scores'}); the answer is kept unchecked"
            fields["error"] = verdict.error or "no scores"
            items.append(_error(agent.name, verdict.error_kind, message, CHECK_PURPOSE))
            items.append(("turn_checked", fields))
            return outcome, items
        if score >= self.threshold:
            items.append(("turn_checked", fields))
            return outcome, items
        request = _with_note(outcome, fields["justification"])
        try:
            second = await agent.call(backend, outcome.prompt, request, on_delta=on_delta)
        except BackendError as exc:  # even an outage: the turn keeps its first answer
            second = TurnOutcome(agent.name, None, [], exc, outcome.prompt, request)
        items += call_items(agent.name, REGENERATE_PURPOSE, second.calls)
        if second.error is not None or second.action is None:
            err = second.error
            fields["error"] = f"regeneration failed: {err or 'no parsed output'}"
            message = f"the regeneration failed ({err or 'no parsed output'}); the first answer is kept"
            items.append(_error(agent.name, getattr(err, "kind", "invalid_output"), message, REGENERATE_PURPOSE))
            items.append(("turn_checked", fields))
            return outcome, items
        fields["regenerated"] = True
        fields["rejected_text"] = draft
        items.append(("turn_checked", fields))
        return replace(second, calls=outcome.calls), items


def _with_note(outcome: TurnOutcome, justification: str) -> ChatRequest:
    """The turn's own request, with the correction note after its last message."""
    request = outcome.request
    note = correction_note(justification)
    messages = list(request.messages)
    last = messages[-1]
    messages[-1] = Message(last.role, f"{last.content}\n\n{note}")
    parts = request.parts
    if parts is not None:  # backends that rebuild the prompt read the note with the question
        parts = replace(parts, question=f"{parts.question}\n{note}".strip())
    return replace(request, messages=messages, parts=parts, purpose=REGENERATE_PURPOSE)


def _error(agent: str, kind: str, message: str, purpose: str) -> Item:
    # No round_key: this is not the turn (the turn is the event that follows).
    return ("error", dict(agent=agent, kind=kind, message=message, recovered=True, purpose=purpose))


# -- counting (one home: header, exports and report read this) -----------------------------


@dataclass(slots=True)
class TurnCheckTally:
    """Checks, regenerations and their extra calls, folded from a run's events (:meth:`add`)."""

    enabled: bool = False
    threshold: int | None = None
    checks: int = 0
    """``turn_checked`` events: turns the judge was asked about."""
    regenerated: int = 0
    """Turns whose kept text is the second answer."""
    failed: int = 0
    """Checks (or regenerations) that failed; the first answer was kept."""
    calls: int = 0
    """Extra model calls: the checks' and the regenerations' (``llm_call`` purposes)."""
    tokens: int = 0
    cost_usd: float = 0.0

    def add(self, event: Event) -> None:
        t = event.type
        if t == "session_started":
            settings = TurnCheckSettings.from_json(getattr(event, "turn_check", None))
            self.enabled = settings is not None
            self.threshold = settings.threshold if settings is not None else None
        elif t == "turn_checked":
            self.checks += 1
            self.regenerated += bool(getattr(event, "regenerated", False))
            self.failed += getattr(event, "error", None) is not None
        elif t == "llm_call" and getattr(event, "purpose", None) in EXTRA_PURPOSES:
            self.calls += 1
            self.tokens += int(getattr(event, "prompt_tokens", 0) or 0) + int(
                getattr(event, "completion_tokens", 0) or 0
            )
            self.cost_usd += float(getattr(event, "cost_usd", 0.0) or 0.0)

    @property
    def shown(self) -> bool:
        """Whether there is anything to report (the check was on, or a run logged checks)."""
        return self.enabled or self.checks > 0

    def short(self) -> str:
        """``checks 12 · regen 2`` (the session header); ``""`` when the check is off."""
        if not self.shown:
            return ""
        failed = f" · failed {self.failed}" if self.failed else ""
        return f"checks {self.checks} · regen {self.regenerated}{failed}"

    def summary(self) -> str:
        """One sentence for exports and reports; ``""`` when the check is off."""
        if not self.shown:
            return ""
        threshold = f" (threshold {self.threshold})" if self.threshold is not None else ""
        failed = f", {self.failed} failed (first answer kept)" if self.failed else ""
        cost = f", ${self.cost_usd:.4f}" if self.cost_usd else ""
        return (
            f"{self.checks} turns checked{threshold}, {self.regenerated} regenerated{failed}; "
            f"{self.calls} extra model calls, {self.tokens:,} tokens{cost}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "threshold": self.threshold,
            "checks": self.checks,
            "regenerated": self.regenerated,
            "failed": self.failed,
            "calls": self.calls,
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
        }


def tally(events: Sequence[Event]) -> TurnCheckTally:
    """The :class:`TurnCheckTally` of a whole log."""
    out = TurnCheckTally()
    for event in events:
        out.add(event)
    return out


__all__ = [
    "CHECK_PURPOSE",
    "DEFAULT_THRESHOLD",
    "EXTRA_PURPOSES",
    "REGENERATE_PURPOSE",
    "TurnCheck",
    "TurnCheckSettings",
    "TurnCheckTally",
    "TurnJudge",
    "TurnSubject",
    "TurnVerdict",
    "correction_note",
    "earlier_utterances",
    "tally",
]
