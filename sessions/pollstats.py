"""Poll results computed from the event log — counts, mean, standard deviation, dispersion.

Exports and the findings report both show poll results, and both must show the same numbers,
derived only from what was logged (never from an LLM's reading of the transcript). This module
is that one computation.

A poll is identified by its ``poll_asked`` event: the same ``poll_id`` asked twice gives two
results. Each participant's *latest* answer to a given asking counts (a re-vote replaces the
first); every answer stays in the log and in the transcript.

Values are interpreted by kind: Likert answers may be logged as the scale position (``4``),
a numeric string (``"4"``) or the label (``"Agree"``); single/multi answers as labels (matched
case-insensitively) or 1-based positions; ``number`` answers as numbers.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from troupe.core.events import Event, PollAnswer, PollAsked
from troupe.core.polls import LIKERT_LABELS

NUMERIC_KINDS = ("likert5", "likert7", "number")
CHOICE_KINDS = ("single", "multi")


@dataclass(frozen=True, slots=True)
class Answer:
    agent: str
    value: Any
    """As logged."""
    rationale: str
    seq: int
    revealed: bool
    score: float | None = None
    """The numeric reading of ``value`` (Likert position or number), when there is one."""
    choices: tuple[str, ...] = ()
    """The option labels ``value`` names (single/multi; Likert label too)."""

    def display(self) -> str:
        """The value as a reader wants it: ``4 — Agree``, ``A; B``, ``3.5``."""
        if self.score is not None and self.choices:
            return f"{format_number(self.score)} — {self.choices[0]}"
        if self.choices:
            return "; ".join(self.choices)
        if self.score is not None:
            return format_number(self.score)
        if isinstance(self.value, list):
            return "; ".join(str(v) for v in self.value)
        return "" if self.value is None else str(self.value)


@dataclass(slots=True)
class PollResult:
    """One asking of a poll and its answers."""

    poll_id: str
    question: str
    kind: str
    options: list[str]
    private_first: bool
    seq: int
    section_index: int
    section_title: str
    answers: list[Answer] = field(default_factory=list)
    """Latest answer per participant, in answer order."""
    all_answers: list[Answer] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.answers)

    @property
    def counts(self) -> dict[str, int]:
        """Option label → number of participants choosing it (all options, zeros included)."""
        counts = {label: 0 for label in self.options}
        for answer in self.answers:
            for choice in answer.choices:
                counts[choice] = counts.get(choice, 0) + 1
        if self.kind == "number":
            for score in sorted(self.scores):
                counts[format_number(score)] = counts.get(format_number(score), 0) + 1
        return counts

    @property
    def scores(self) -> list[float]:
        return [a.score for a in self.answers if a.score is not None]

    @property
    def mean(self) -> float | None:
        scores = self.scores
        return statistics.fmean(scores) if scores and self.kind in NUMERIC_KINDS else None

    @property
    def stdev(self) -> float | None:
        """Sample standard deviation (n − 1); None when not numeric or with fewer than two
        answers (undefined then — the engine's ``poll_closed`` says the same)."""
        scores = self.scores
        if len(scores) < 2 or self.kind not in NUMERIC_KINDS:
            return None
        return statistics.stdev(scores)

    @property
    def scale(self) -> tuple[float, float] | None:
        """The range a numeric answer can take (Likert 1..n; ``number`` from its answers)."""
        if self.kind in LIKERT_LABELS:
            return (1.0, float(len(LIKERT_LABELS[self.kind])))
        if self.kind == "number" and self.scores:
            return (min(self.scores), max(self.scores))
        return None

    @property
    def top_share(self) -> float | None:
        """Share of participants who picked the most common option (choice and Likert polls)."""
        if not self.answers or self.kind in ("number", "text"):
            return None
        counts = self.counts
        return max(counts.values()) / self.n if counts else None

    @property
    def dispersion(self) -> float | None:
        """0 = everyone agrees, 1 = as split as possible.

        Likert: standard deviation over half the scale's range (a 50/50 split between the two
        ends gives ~1). Number: coefficient of variation, capped at 1. Choices: 1 − the top
        option's share, rescaled so that an even split over all options gives 1.
        """
        if self.n < 2:
            return 0.0 if self.n == 1 else None
        if self.kind in LIKERT_LABELS:
            lo, hi = self.scale or (1.0, 5.0)
            return min(1.0, (self.stdev or 0.0) / ((hi - lo) / 2))
        if self.kind == "number":
            mean = self.mean or 0.0
            return min(1.0, (self.stdev or 0.0) / abs(mean)) if mean else 1.0
        if self.kind in CHOICE_KINDS and self.top_share is not None:
            k = max(1, min(len(self.options), self.n))
            floor = 1.0 / k
            return 0.0 if k == 1 else min(1.0, (1.0 - self.top_share) / (1.0 - floor))
        return None

    def verdict(self) -> str | None:
        """``agreed``, ``split`` or ``mixed`` — how the group answered, from dispersion alone."""
        d = self.dispersion
        if d is None or self.n < 2:
            return None
        if d <= 0.35:
            return "agreed"
        if d >= 0.65:
            return "split"
        return "mixed"

    def leader(self) -> str | None:
        """The most chosen option (ties: the first in option order)."""
        counts = {k: v for k, v in self.counts.items() if v}
        if not counts or self.kind == "number":
            return None
        return max(counts, key=lambda k: counts[k])

    def summary(self) -> str:
        """One line: ``n=5 · mean 3.40 · sd 1.14`` or ``n=5 · top: Concept B (3 of 5)``."""
        parts = [f"n={self.n}"]
        if self.mean is not None:
            parts.append(f"mean {self.mean:.2f}")
            parts.append(f"sd {format_sd(self.stdev)}")
        leader = self.leader()
        if leader is not None and self.kind in CHOICE_KINDS:
            parts.append(f"top: {leader} ({self.counts[leader]} of {self.n})")
        return " · ".join(parts)


def collect_polls(events: Iterable[Event]) -> list[PollResult]:
    """Every asking of a poll in the log, with its answers, in log order."""
    results: list[PollResult] = []
    open_by_id: dict[str, PollResult] = {}
    section_index, section_title = -1, ""
    for event in events:
        if event.type == "section_started":
            section_index = int(getattr(event, "index", section_index + 1))
            section_title = str(getattr(event, "title", ""))
        elif isinstance(event, PollAsked):
            result = PollResult(
                poll_id=event.poll_id,
                question=event.question,
                kind=event.kind,
                options=_options(event.kind, event.options),
                private_first=event.private_first,
                seq=event.seq,
                section_index=section_index,
                section_title=section_title,
            )
            results.append(result)
            open_by_id[event.poll_id] = result
        elif isinstance(event, PollAnswer):
            result = open_by_id.get(event.poll_id)
            if result is None:  # an answer with no question logged: keep it, under its id
                result = PollResult(
                    poll_id=event.poll_id,
                    question=event.poll_id,
                    kind="text",
                    options=[],
                    private_first=False,
                    seq=event.seq,
                    section_index=section_index,
                    section_title=section_title,
                )
                results.append(result)
                open_by_id[event.poll_id] = result
            answer = interpret(result.kind, result.options, event)
            result.all_answers.append(answer)
            result.answers = [a for a in result.answers if a.agent != answer.agent] + [answer]
    return results


def interpret(kind: str, options: list[str], event: PollAnswer) -> Answer:
    """Read a logged answer's value as a score and/or option labels."""
    value = event.value
    score: float | None = None
    choices: tuple[str, ...] = ()
    if kind in LIKERT_LABELS:
        position = _likert_position(value, options)
        if position is not None:
            score = float(position)
            choices = (options[position - 1],)
    elif kind == "number":
        score = _as_number(value)
    elif kind in CHOICE_KINDS:
        raw = value if isinstance(value, list) else [value]
        picked = [_match_option(v, options) for v in raw]
        choices = tuple(dict.fromkeys(p for p in picked if p is not None))
        if kind == "single":
            choices = choices[:1]
    return Answer(
        agent=event.agent,
        value=value,
        rationale=event.rationale or "",
        seq=event.seq,
        revealed=event.revealed,
        score=score,
        choices=choices,
    )


def _options(kind: str, options: list[str] | None) -> list[str]:
    if options:
        return list(options)
    return list(LIKERT_LABELS.get(kind, []))


def _likert_position(value: Any, options: list[str]) -> int | None:
    n = len(options)
    number = _as_number(value)
    if number is not None and float(number).is_integer() and 1 <= number <= n:
        return int(number)
    if isinstance(value, str):
        label = _match_option(value, options)
        if label is not None:
            return options.index(label) + 1
    return None


def _match_option(value: Any, options: list[str]) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and float(value).is_integer() and 1 <= value <= len(options):
        return options[int(value) - 1]
    if not isinstance(value, str):
        return None
    wanted = _norm(value)
    for option in options:
        if _norm(option) == wanted:
            return option
    # A label answered by its prefix ("Concept B") or with the letter only ("B").
    prefixed = [o for o in options if _norm(o).startswith(wanted) and wanted]
    return prefixed[0] if len(prefixed) == 1 else None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _norm(text: str) -> str:
    return " ".join(text.strip().lower().split())


def format_sd(sd: float | None) -> str:
    """``1.14``, or ``—`` where a standard deviation is undefined (one answer)."""
    return "—" if sd is None else f"{sd:.2f}"


def format_number(x: float) -> str:
    """``3`` for 3.0, ``2.5`` for 2.50 — numbers as a reader writes them."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")
