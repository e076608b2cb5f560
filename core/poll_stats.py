"""Poll results: the one computation every view of a poll reads.

The live engine (``poll_run.py``), the exports, the findings report, studies, the comparison
with human answers and the TUI all show poll results, and they must show the same numbers. This
module is where those numbers come from:

* **Reading a logged value** by the poll's kind (:func:`interpret`): Likert answers may be
  logged as the scale position (``4``), a numeric string (``"4"``) or the label (``"Agree"``);
  single/multi answers as labels (matched case-insensitively, or by an unambiguous prefix) or
  1-based positions; ``number`` answers as numbers.
* **One result per asking** (:func:`collect_polls`): the same ``poll_id`` asked twice gives two
  results. A participant's *latest* answer to an asking counts (a re-vote replaces the first);
  an answer that failed (an ``error`` event with the ``poll_id``) is counted in ``failed``.
* **The statistics** (:class:`PollResult`): counts per option, the share of *respondents* per
  option (multi-choice: 3 of 6 respondents choosing an option is 50 %, however many options
  each chose), mean, median, sample standard deviation (None below two answers), a 95 %
  Student-t interval for the mean, dispersion and an agreed/mixed/split verdict.
* **The chart rows** (:meth:`PollResult.bars`): one bar per option, or for ``number`` polls
  a few bins (:func:`number_bins`: one per integer when every answer is an integer, else
  equal-width bins) with the median's bin marked — the same in the TUI and every export.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .events import Error, Event, PollAnswer, PollAsked, PollClosed, SectionStarted
from .polls import LIKERT_LABELS, PollSpec

SCALE_KINDS = ("likert5", "likert7")
CHOICE_KINDS = ("single", "multi")
NUMERIC_KINDS = (*SCALE_KINDS, "number")
"""Kinds with a numeric reading (a mean, an SD, a CI)."""
COUNTED_KINDS = (*SCALE_KINDS, *CHOICE_KINDS)
"""Kinds whose answers are counted per option (a bar per option)."""

INTEGER_BINS = 12
"""Integer answers spanning at most this many values get one bin per value."""
NUMBER_BINS = 6
"""Otherwise ``number`` answers are put in at most this many bins."""
VERDICT_AGREED = 0.35
VERDICT_SPLIT = 0.65
"""Dispersion at or below ``VERDICT_AGREED`` reads "agreed", at or above ``VERDICT_SPLIT`` "split"."""


# -- formatting ----------------------------------------------------------------------------------


def format_number(x: float) -> str:
    """``3`` for 3.0, ``2.5`` for 2.50 — numbers as a reader writes them."""
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}".rstrip("0").rstrip(".")


def format_sd(sd: float | None) -> str:
    """``1.14``, or ``—`` where a standard deviation is undefined (fewer than two answers)."""
    return "—" if sd is None else f"{sd:.2f}"


def format_share(share: float) -> str:
    """``50%`` — a share of respondents, rounded to a whole percent."""
    return f"{share:.0%}"


def display_value(value: Any) -> str:
    """A logged value as text: ``Supermarket, Online`` for a list, ``8`` for 8.0."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value)
    if isinstance(value, float) and math.isfinite(value):
        return format_number(value)
    return str(value)


# -- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """One participant's answer to one asking of a poll, as logged and as read."""

    agent: str
    value: Any
    """As logged."""
    rationale: str
    seq: int
    revealed: bool
    score: float | None = None
    """The numeric reading of ``value`` (Likert position or number), when there is one."""
    choices: tuple[str, ...] = ()
    """The option labels ``value`` names (single/multi; the Likert label too)."""

    def display(self) -> str:
        """The value as a reader wants it: ``4 — Agree``, ``A, B``, ``3.5``, the free text."""
        if self.score is not None and self.choices:
            return f"{format_number(self.score)} — {self.choices[0]}"
        if self.choices:
            return ", ".join(self.choices)
        if self.score is not None:
            return format_number(self.score)
        return display_value(self.value)


def interpret(
    kind: str,
    options: Sequence[str],
    agent: str,
    value: Any,
    *,
    rationale: str = "",
    seq: int = 0,
    revealed: bool = False,
) -> Answer:
    """Read a logged answer's value as a score and/or option labels."""
    score: float | None = None
    choices: tuple[str, ...] = ()
    if kind in LIKERT_LABELS:
        position = _likert_position(value, options)
        if position is not None:
            score = float(position)
            choices = (options[position - 1],)
    elif kind == "number":
        score = as_number(value)
    elif kind in CHOICE_KINDS:
        raw = value if isinstance(value, list) else [value]
        picked = [match_option(v, options) for v in raw]
        choices = tuple(dict.fromkeys(p for p in picked if p is not None))
        if kind == "single":
            choices = choices[:1]
    return Answer(
        agent=agent,
        value=value,
        rationale=rationale or "",
        seq=seq,
        revealed=revealed,
        score=score,
        choices=choices,
    )


def interpret_event(kind: str, options: Sequence[str], event: PollAnswer) -> Answer:
    """:func:`interpret` for a logged ``poll_answer`` event."""
    return interpret(
        kind, options, event.agent, event.value, rationale=event.rationale, seq=event.seq, revealed=event.revealed
    )


def _likert_position(value: Any, options: Sequence[str]) -> int | None:
    number = as_number(value)
    if number is not None and float(number).is_integer() and 1 <= number <= len(options):
        return int(number)
    if isinstance(value, str):
        label = match_option(value, options)
        if label is not None:
            return list(options).index(label) + 1
    return None


def match_option(value: Any, options: Sequence[str]) -> str | None:
    """The option ``value`` names: its label (any case), its 1-based position, or a unique prefix."""
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
    prefixed = [o for o in options if wanted and _norm(o).startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


def as_number(value: Any) -> float | None:
    """A finite number from an int, a float or a numeric string (``"3,5"`` too); else None."""
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


# -- statistics ----------------------------------------------------------------------------------


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """The Student-t confidence interval of the mean of ``values`` (n − 1 df); None below two."""
    if len(values) < 2:
        return None
    from scipy import stats  # heavy: imported once a result needs it

    mean = statistics.fmean(values)
    sem = statistics.stdev(values) / math.sqrt(len(values))
    if sem == 0:
        return (mean, mean)
    low, high = stats.t.interval(confidence, len(values) - 1, loc=mean, scale=sem)
    return (float(low), float(high))


def share_interval(count: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of the share ``count / n`` (sound at 0 % and 100 % and for
    small n, where the normal approximation is not); None without respondents."""
    if n <= 0:
        return None
    from scipy import stats  # heavy: imported once a result needs it

    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = count / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True, slots=True)
class Bar:
    """One row of a poll's chart: an option, or a bin of ``number`` answers."""

    label: str
    count: int
    share: float
    """Of respondents (multi-choice shares can sum to more than 1)."""
    median: bool = False
    """This bin holds the median (``number`` polls)."""


def number_bins(values: Sequence[float]) -> list[tuple[str, int, bool]]:
    """``(label, count, holds the median)`` for numeric answers, in numeric order.

    * every answer an integer, at most :data:`INTEGER_BINS` integers from the smallest to the
      largest: one bin per integer, empty ones included (``7``, ``8``, ``9``);
    * integers over a wider range: :data:`NUMBER_BINS` or fewer equal-width bins of whole
      numbers (``10–19``);
    * other numbers: one bin per distinct value when there are at most :data:`NUMBER_BINS` of
      them and they read as a scale — answers repeat, or the values are evenly spaced
      (``1.5``, ``2``, ``2.5``) — else a few equal-width bins, about the square root of the
      number of answers, the last closed (``2.5–3.25``): six scattered answers (0.1, 0.33,
      1.8, 2.02, 2.31, 3.33) are three bars, not six bars of one.

    The median's bin is marked: the bin where the answers, counted from the lowest, reach half
    (the bin of the lower median), so a median of 8.5 between the answers 8 and 9 marks 8.
    """
    if not values:
        return []
    labels, edges = _bin_layout(values)
    counts = _bin_counts(values, labels, edges)
    middle = bisect_right(edges, statistics.median_low(values))
    return [(label, count, i == middle) for i, (label, count) in enumerate(zip(labels, counts))]


def _bin_layout(values: Sequence[float]) -> tuple[list[str], list[float]]:
    """The bins' labels and the edges between them (see :func:`number_bins`)."""
    lo, hi = min(values), max(values)
    distinct = sorted(set(values))
    if all(float(v).is_integer() for v in values):
        span = int(hi - lo) + 1
        if span <= INTEGER_BINS:
            centres = [lo + i for i in range(span)]
            return [format_number(c) for c in centres], [c + 0.5 for c in centres[:-1]]
        width = math.ceil(span / NUMBER_BINS)
        starts = [lo + i * width for i in range(math.ceil(span / width))]
        return [f"{format_number(a)}–{format_number(a + width - 1)}" for a in starts], [a - 0.5 for a in starts[1:]]
    gaps = [b - a for a, b in zip(distinct, distinct[1:])]
    evenly = bool(gaps) and max(gaps) - min(gaps) <= 1e-9 * max(1.0, abs(hi))
    if len(distinct) <= 3 or (len(distinct) <= NUMBER_BINS and (len(distinct) < len(values) or evenly)):
        return [format_number(v) for v in distinct], [(a + b) / 2 for a, b in zip(distinct, distinct[1:])]
    bins = min(NUMBER_BINS, max(2, math.ceil(math.sqrt(len(values)))))
    step = (hi - lo) / bins
    bounds = [lo + i * step for i in range(bins)] + [hi]
    labels = [f"{format_number(bounds[i])}–{format_number(bounds[i + 1])}" for i in range(bins)]
    return labels, bounds[1:-1]


def _bin_counts(values: Sequence[float], labels: Sequence[str], edges: Sequence[float]) -> list[int]:
    counts = [0] * len(labels)
    for v in values:
        counts[bisect_right(edges, v)] += 1
    return counts


def shared_number_bins(series: Sequence[Sequence[float]]) -> list[tuple[str, list[int]]]:
    """Several sets of numeric answers in the same bins (:func:`number_bins`' rule applied to
    all of them together): ``(label, [count in each set])`` in numeric order."""
    everything = [v for values in series for v in values]
    if not everything:
        return []
    labels, edges = _bin_layout(everything)
    per_series = [_bin_counts(values, labels, edges) for values in series]
    return [(label, [counts[i] for counts in per_series]) for i, label in enumerate(labels)]


@dataclass(frozen=True, slots=True)
class CompareRow:
    """One row of a side-by-side chart: an option (or a shared bin) and, for each result
    compared, how many chose it and their share of that result's respondents."""

    label: str
    counts: tuple[int, ...]
    shares: tuple[float, ...]


def side_by_side(results: Sequence[PollResult]) -> list[CompareRow]:
    """The distributions of several results of one poll (groups, simulated vs real, before vs
    after) on common rows: the options of choice and Likert polls, shared bins of number polls."""
    if not results:
        return []
    ns = [r.n for r in results]

    def row(label: str, counts: Sequence[int]) -> CompareRow:
        return CompareRow(label, tuple(counts), tuple(c / n if n else 0.0 for c, n in zip(counts, ns)))

    kind = results[0].kind
    if kind == "number":
        return [row(label, counts) for label, counts in shared_number_bins([r.scores for r in results])]
    if kind in COUNTED_KINDS:
        labels = list(dict.fromkeys(label for r in results for label in r.counts))
        return [row(label, [r.counts.get(label, 0) for r in results]) for label in labels]
    return []


@dataclass(slots=True)
class PollResult:
    """One asking of a poll: its answers and every statistic shown of it."""

    poll_id: str
    question: str
    kind: str
    options: list[str]
    private_first: bool = True
    seq: int = 0
    """The ``poll_asked`` event (0 for a result not read from a log)."""
    section_index: int = -1
    section_title: str = ""
    answers: list[Answer] = field(default_factory=list)
    """The latest answer per participant, in answer order."""
    all_answers: list[Answer] = field(default_factory=list)
    """Every answer logged, re-votes included."""
    failed: list[str] = field(default_factory=list)
    """Participants whose answer failed (invalid even after repair) and who have none."""
    closed: PollClosed | None = None
    """The ``poll_closed`` event, once every answer is in."""
    spec: PollSpec | None = None
    """The question as the engine ran it (live results only)."""

    @property
    def n(self) -> int:
        """Respondents: participants with an answer."""
        return len(self.answers)

    def answer_of(self, agent: str) -> Answer | None:
        return next((a for a in self.answers if a.agent == agent), None)

    def add(self, answer: Answer) -> None:
        """Record ``answer``; it replaces the same participant's earlier one (a re-vote)."""
        self.all_answers.append(answer)
        self.answers = [a for a in self.answers if a.agent != answer.agent] + [answer]
        if answer.agent in self.failed:
            self.failed.remove(answer.agent)

    def fail(self, agent: str) -> None:
        if agent not in self.failed and self.answer_of(agent) is None:
            self.failed.append(agent)

    @property
    def counts(self) -> dict[str, int]:
        """Option label → participants choosing it (every option, zeros included); for
        ``number`` polls, each distinct value → how many gave it, in numeric order."""
        counts = {label: 0 for label in self.options}
        for answer in self.answers:
            for choice in answer.choices:
                counts[choice] = counts.get(choice, 0) + 1
        if self.kind == "number":
            for score in sorted(self.scores):
                counts[format_number(score)] = counts.get(format_number(score), 0) + 1
        return counts

    @property
    def distribution(self) -> dict[str, float]:
        """Option → share of respondents who chose it (multi-choice: can sum to more than 1)."""
        n = self.n
        return {k: (c / n if n else 0.0) for k, c in self.counts.items()}

    def share(self, option: str) -> float:
        return self.distribution.get(option, 0.0)

    @property
    def scores(self) -> list[float]:
        if self.kind not in NUMERIC_KINDS:
            return []
        return [a.score for a in self.answers if a.score is not None]

    @property
    def mean(self) -> float | None:
        scores = self.scores
        return statistics.fmean(scores) if scores else None

    @property
    def median(self) -> float | None:
        scores = self.scores
        return float(statistics.median(scores)) if scores else None

    @property
    def stdev(self) -> float | None:
        """Sample standard deviation (n − 1); None when not numeric or below two answers."""
        scores = self.scores
        return statistics.stdev(scores) if len(scores) >= 2 else None

    @property
    def ci95(self) -> tuple[float, float] | None:
        """95 % Student-t interval for the mean; None when not numeric or below two answers."""
        return t_interval(self.scores)

    @property
    def scale(self) -> tuple[float, float] | None:
        """The range a numeric answer can take (Likert 1..n; ``number`` from its answers)."""
        if self.kind in LIKERT_LABELS:
            return (1.0, float(len(self.options) or len(LIKERT_LABELS[self.kind])))
        if self.kind == "number" and self.scores:
            return (min(self.scores), max(self.scores))
        return None

    @property
    def top_share(self) -> float | None:
        """Share of respondents who picked the most common option (choice and Likert polls)."""
        if not self.answers or self.kind not in COUNTED_KINDS:
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
        if d <= VERDICT_AGREED:
            return "agreed"
        if d >= VERDICT_SPLIT:
            return "split"
        return "mixed"

    def leader(self) -> str | None:
        """The most chosen option (ties: the first in option order)."""
        counts = {k: v for k, v in self.counts.items() if v}
        if not counts or self.kind == "number":
            return None
        return max(counts, key=lambda k: counts[k])

    def bars(self) -> list[Bar]:
        """The chart: a bar per option (choice and Likert), a bin per range (number), none (text)."""
        n = self.n
        if self.kind == "number":
            return [Bar(label, c, c / n if n else 0.0, median) for label, c, median in number_bins(self.scores)]
        if self.kind in COUNTED_KINDS:
            return [Bar(label, c, c / n if n else 0.0) for label, c in self.counts.items()]
        return []

    def stats(self) -> list[tuple[str, str]]:
        """The statistics line as ``(name, value)`` pairs, for every renderer to lay out alike:
        Mean, Median, SD (sample), 95 % CI (numeric polls), n and Failed (answers that failed)."""
        out: list[tuple[str, str]] = []
        if self.mean is not None:
            out.append(("Mean", f"{self.mean:.2f}"))
            median = self.median
            if median is not None:
                out.append(("Median", format_number(round(median, 2))))
            out.append(("SD", format_sd(self.stdev)))
            ci = self.ci95
            if ci is not None:
                out.append(("95 % CI", f"{ci[0]:.2f}–{ci[1]:.2f}"))
        out.append(("n", str(self.n)))
        if self.failed:
            out.append(("Failed", str(len(self.failed))))
        return out

    def summary(self) -> str:
        """One line: ``n=5 · mean 3.40 · sd 1.14`` or ``n=6 · top: Online (3 of 6, 50%)``."""
        parts = [f"n={self.n}"]
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.mean is not None:
            parts.append(f"mean {self.mean:.2f}")
            if self.kind == "number" and self.median is not None:
                parts.append(f"median {format_number(round(self.median, 2))}")
            parts.append(f"sd {format_sd(self.stdev)}")
        leader = self.leader()
        if leader is not None and self.kind in CHOICE_KINDS:
            count = self.counts[leader]
            parts.append(f"top: {leader} ({count} of {self.n}, {format_share(count / self.n)})")
        return " · ".join(parts)


# -- building results ----------------------------------------------------------------------------


def aggregate(spec: PollSpec, answers: Mapping[str, tuple[Any, str]], *, poll_id: str | None = None) -> PollResult:
    """The result of ``spec`` from ``agent → (value, rationale)`` (the live engine's answers)."""
    result = PollResult(
        poll_id=poll_id or spec.id,
        question=spec.question,
        kind=spec.kind,
        options=poll_options(spec.kind, spec.options),
        private_first=spec.private_first,
        spec=spec,
    )
    for agent, (value, rationale) in answers.items():  # one answer per agent: no re-vote to replace
        answer = interpret(
            spec.kind, result.options, agent, value, rationale=rationale, revealed=not spec.private_first
        )
        result.all_answers.append(answer)
        result.answers.append(answer)
    return result


def poll_options(kind: str, options: Sequence[str] | None) -> list[str]:
    """The options of a poll as logged; Likert polls without them use the standard labels."""
    if options:
        return list(options)
    return list(LIKERT_LABELS.get(kind, []))


def collect_polls(events: Iterable[Event]) -> list[PollResult]:
    """Every asking of a poll in the log, with its answers and failures, in log order."""
    results: list[PollResult] = []
    open_by_id: dict[str, PollResult] = {}
    section_index, section_title = -1, ""
    for event in events:
        if isinstance(event, SectionStarted):
            section_index, section_title = event.index, event.title
        elif isinstance(event, PollAsked):
            result = PollResult(
                poll_id=event.poll_id,
                question=event.question,
                kind=event.kind,
                options=poll_options(event.kind, event.options),
                private_first=event.private_first,
                seq=event.seq,
                section_index=section_index,
                section_title=section_title,
            )
            results.append(result)
            open_by_id[event.poll_id] = result
        elif isinstance(event, PollAnswer):
            asking = open_by_id.get(event.poll_id)
            if asking is None:  # an answer with no question logged: keep it, under its id
                asking = PollResult(
                    poll_id=event.poll_id,
                    question=event.poll_id,
                    kind="text",
                    options=[],
                    private_first=False,
                    seq=event.seq,
                    section_index=section_index,
                    section_title=section_title,
                )
                results.append(asking)
                open_by_id[event.poll_id] = asking
            asking.add(interpret_event(asking.kind, asking.options, event))
        elif isinstance(event, Error) and event.purpose == "poll" and event.agent:
            poll_id = getattr(event, "poll_id", None)
            if isinstance(poll_id, str) and poll_id in open_by_id:
                open_by_id[poll_id].fail(event.agent)
        elif isinstance(event, PollClosed) and event.poll_id in open_by_id:
            open_by_id[event.poll_id].closed = event
    return results


@dataclass(slots=True)
class PollChange:
    """A poll answered privately, then asked again later in the run: both askings and who moved."""

    before: PollResult
    after: PollResult

    @property
    def both(self) -> list[tuple[str, Answer, Answer]]:
        """Participants who answered both times: (name, first answer, second answer)."""
        out = []
        for first in self.before.answers:
            second = self.after.answer_of(first.agent)
            if second is not None:
                out.append((first.agent, first, second))
        return out

    @property
    def moved(self) -> list[tuple[str, Answer, Answer]]:
        """Those whose answer changed between the two askings."""
        return [(name, a, b) for name, a, b in self.both if _answer_key(a) != _answer_key(b)]

    @property
    def stayed(self) -> list[str]:
        return [name for name, a, b in self.both if _answer_key(a) == _answer_key(b)]

    def rows(self) -> list[CompareRow]:
        return side_by_side([self.before, self.after])


def _answer_key(answer: Answer) -> tuple[Any, ...]:
    return (tuple(sorted(answer.choices)), answer.score, answer.display() if not answer.choices else "")


def poll_changes(polls: Sequence[PollResult]) -> list[PollChange]:
    """Each private-first asking paired with the next asking of the same poll id (log order)."""
    out: list[PollChange] = []
    for i, first in enumerate(polls):
        if not first.private_first:
            continue
        later = next((p for p in polls[i + 1 :] if p.poll_id == first.poll_id), None)
        if later is not None:
            out.append(PollChange(first, later))
    return out


def answers_by(events: Iterable[Event], agent: str) -> list[tuple[PollResult, Answer]]:
    """One participant's (latest) answer to every asking it answered, in log order."""
    return [(poll, answer) for poll in collect_polls(events) if (answer := poll.answer_of(agent)) is not None]


__all__ = [
    "CHOICE_KINDS",
    "COUNTED_KINDS",
    "NUMERIC_KINDS",
    "SCALE_KINDS",
    "Answer",
    "Bar",
    "CompareRow",
    "PollChange",
    "PollResult",
    "aggregate",
    "answers_by",
    "as_number",
    "collect_polls",
    "display_value",
    "format_number",
    "format_sd",
    "format_share",
    "interpret",
    "interpret_event",
    "match_option",
    "number_bins",
    "poll_changes",
    "poll_options",
    "share_interval",
    "shared_number_bins",
    "side_by_side",
    "t_interval",
]
