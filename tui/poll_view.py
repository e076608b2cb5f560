"""Polls as the UI shows them, rebuilt from the event log.

The results dialog, the persona detail (private answers) and the ``r`` key all read polls
from events (``poll_asked``, ``poll_answer``, ``poll_closed``) rather than from a live
``PollResult``, so they work the same for a poll run a minute ago and one in a resumed run.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from troupe.core import events as ev
from troupe.core.events import Event

CHOICE_KINDS = ("single", "multi", "likert5", "likert7")


@dataclass(frozen=True)
class Answer:
    agent: str
    value: Any
    rationale: str
    revealed: bool


@dataclass
class PollView:
    poll_id: str
    question: str
    kind: str
    options: list[str] | None
    private_first: bool
    seq: int
    answers: list[Answer] = field(default_factory=list)
    closed: ev.PollClosed | None = None

    def label(self, value: Any) -> list[str]:
        """The option label(s) an answer value stands for (Likert 1..n → its label)."""
        values = value if isinstance(value, list) else [value]
        out = []
        for v in values:
            if (
                self.options
                and self.kind.startswith("likert")
                and isinstance(v, (int, float))
                and not isinstance(v, bool)
            ):
                index = int(v) - 1
                out.append(self.options[index] if 0 <= index < len(self.options) else str(v))
            else:
                out.append(str(v))
        return out

    def counts(self) -> dict[str, int]:
        """Answers per option, in the option order (choice and Likert polls)."""
        counts = {option: 0 for option in self.options or []}
        for answer in self.answers:
            for label in self.label(answer.value):
                counts[label] = counts.get(label, 0) + 1
        return counts

    def numbers(self) -> list[float]:
        out = []
        for answer in self.answers:
            try:
                out.append(float(answer.value))
            except (TypeError, ValueError):
                continue
        return out

    def mean_stdev(self) -> tuple[float | None, float | None]:
        if self.closed is not None and self.closed.mean is not None:
            return self.closed.mean, self.closed.stdev
        values = self.numbers() if self.kind == "number" else self._scores()
        if not values:
            return None, None
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    def _scores(self) -> list[float]:
        if not self.kind.startswith("likert") or not self.options:
            return []
        scores = []
        for answer in self.answers:
            label = self.label(answer.value)[0]
            if label in self.options:
                scores.append(float(self.options.index(label) + 1))
        return scores


def poll_views(events: Iterable[Event]) -> list[PollView]:
    """Every poll in the log, in the order asked, with its answers."""
    polls: dict[str, PollView] = {}
    for event in events:
        if isinstance(event, ev.PollAsked):
            polls[event.poll_id] = PollView(
                event.poll_id, event.question, event.kind, event.options, event.private_first, event.seq
            )
        elif isinstance(event, ev.PollAnswer) and event.poll_id in polls:
            polls[event.poll_id].answers.append(Answer(event.agent, event.value, event.rationale, event.revealed))
        elif isinstance(event, ev.PollClosed) and event.poll_id in polls:
            polls[event.poll_id].closed = event
    return list(polls.values())


def answers_by(events: Iterable[Event], agent: str) -> list[tuple[PollView, Answer]]:
    """One persona's answers to every poll (private ones included: the moderator sees all)."""
    return [(poll, a) for poll in poll_views(events) for a in poll.answers if a.agent == agent]
