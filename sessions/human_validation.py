"""Compare a simulated poll with real human answers to the same question.

Why: the only way to know whether a simulated panel says anything about people is to ask
people the same question and compare. This module reads one poll's simulated answers from a
run (or pools them over a study's groups) and one column of a CSV file of real answers, reads
both the way :mod:`troupe.core.poll_stats` reads logged answers (scale positions, Likert
labels, option labels or 1-based option numbers), and reports:

* n, mean and standard deviation of each side, the difference of means with Welch's t-test
  (unequal variances: a simulated panel is often far less varied than people) and Cohen's d;
* Mann–Whitney U, which respects that Likert answers are ordered but not evenly spaced;
* the answer distribution side by side with its total variation distance, and for choice
  polls a chi-square test of the two distributions;
* plain-language verdict lines, with the caution that small samples are weak evidence.

Every problem with the CSV is one :class:`BadInputError` naming the file, the column and, for a
cell that cannot be read, its row — as a spreadsheet numbers it (the header is row 1).
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troupe.core.errors import BadInputError
from troupe.core.events import PollAnswer
from troupe.core.poll_stats import CHOICE_KINDS, NUMERIC_KINDS, Answer, PollResult, format_sd
from troupe.core.poll_stats import interpret_event as interpret
from troupe.core.polls import LIKERT_LABELS

from .study import CAVEAT, GroupPolls, load_polls, pool_results

ALPHA = 0.05
"""Below this p-value a verdict says "differ"; above it, "no clear difference"."""
SMALL_SAMPLE = 30
"""Under this many answers on either side, the verdict warns that the evidence is weak."""
MULTI_SEPARATOR = ";"
"""A multi-choice cell lists its options separated by this (labels may contain commas)."""


# -- the simulated side ---------------------------------------------------------------------------


def simulated_poll(groups: list[GroupPolls], poll_id: str | None, where: str) -> tuple[PollResult, list[str]]:
    """The poll to compare, pooled over ``groups``; returns it and the names of the groups that asked it.

    Without ``poll_id`` the run must hold exactly one poll — guessing among several would
    compare the wrong question without anyone noticing.
    """
    ids: list[str] = []
    for group in groups:
        ids += [pid for pid in group.polls if pid not in ids]
    if not ids:
        raise BadInputError("no poll was asked in this run", path=where)
    if poll_id is None:
        if len(ids) > 1:
            raise BadInputError(f"has several polls; choose one with --poll ({', '.join(ids)})", path=where)
        poll_id = ids[0]
    if poll_id not in ids:
        raise BadInputError(f"no poll {poll_id!r} in this run (polls: {', '.join(ids)})", path=where, field="--poll")
    members = [(g.name, g.polls[poll_id]) for g in groups if poll_id in g.polls]
    pooled = pool_results([r for _, r in members])
    if pooled.kind == "text":
        raise BadInputError(
            f"poll {poll_id!r} takes free text; only scale, number and choice polls can be compared", path=where
        )
    if pooled.n == 0:
        raise BadInputError(f"poll {poll_id!r} has no answers", path=where)
    return pooled, [name for name, _ in members]


# -- the human side ------------------------------------------------------------------------------


def read_human_answers(csv_path: str | Path, column: str, poll: PollResult) -> PollResult:
    """The answers in ``column`` of ``csv_path``, read as answers to ``poll`` (blank cells skipped).

    The delimiter is the one of ``,`` ``;`` and tab that the header line uses most (spreadsheets
    in many locales write ``;``); a UTF-8 byte-order mark is ignored.
    """
    path = Path(csv_path)
    rows = _csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise BadInputError("the file is empty", path=str(path))
    index = _column_index(first[1], column, path)
    human = PollResult(
        poll_id=poll.poll_id,
        question=poll.question,
        kind=poll.kind,
        options=list(poll.options),
        private_first=True,
        seq=0,
        section_index=-1,
        section_title="",
    )
    for line, row in rows:
        cell = row[index].strip() if index < len(row) else ""
        if not cell:
            continue
        answer = read_cell(cell, poll, line)
        if answer is None:
            raise BadInputError(
                f"row {line}: {cell!r} is not an answer to poll {poll.poll_id!r} (expected {expected_values(poll)})",
                path=str(path),
                field=f"column {column!r}",
            )
        human.answers.append(answer)
        human.all_answers.append(answer)
    if not human.answers:
        raise BadInputError("no answers (every cell is blank)", path=str(path), field=f"column {column!r}")
    return human


def read_cell(cell: str, poll: PollResult, line: int) -> Answer | None:
    """One cell as core/poll_stats reads a logged answer; None when it names nothing the poll offers.

    A label is tried first, then a number as a 1-based option position (so an option that is
    itself a number, like ``"2"``, still means that option).
    """
    if poll.kind == "multi":
        parts = [p.strip() for p in cell.split(MULTI_SEPARATOR) if p.strip()]
        picked: list[str] = []
        for part in parts:
            one = _interpret(poll, part, line)
            if not one.choices:
                return None
            picked.extend(one.choices)
        return Answer(
            agent=f"row {line}",
            value=parts,
            rationale="",
            seq=line,
            revealed=False,
            choices=tuple(dict.fromkeys(picked)),
        )
    answer = _interpret(poll, cell, line)
    return answer if _resolved(poll.kind, answer) else None


def expected_values(poll: PollResult) -> str:
    """What a cell may hold, for the error message."""
    if poll.kind in LIKERT_LABELS:
        return f"1–{len(poll.options)} or one of: {', '.join(poll.options)}"
    if poll.kind == "number":
        return "a number"
    sep = f"; several separated by '{MULTI_SEPARATOR}'" if poll.kind == "multi" else ""
    return f"one of: {', '.join(poll.options)}, or its number 1–{len(poll.options)}{sep}"


def _interpret(poll: PollResult, value: str, line: int) -> Answer:
    def attempt(v: Any) -> Answer:
        event = PollAnswer(
            seq=line, ts="", poll_id=poll.poll_id, agent=f"row {line}", value=v, rationale="", revealed=False
        )
        return interpret(poll.kind, poll.options, event)

    answer = attempt(value)
    if _resolved(poll.kind, answer) or poll.kind not in CHOICE_KINDS:
        return answer
    number = _integer(value)
    return attempt(number) if number is not None else answer


def _resolved(kind: str, answer: Answer) -> bool:
    return answer.score is not None if kind in NUMERIC_KINDS else bool(answer.choices)


def _integer(text: str) -> int | None:
    match = re.fullmatch(r"\s*(\d+)(?:\.0*)?\s*", text)
    return int(match.group(1)) if match else None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` pairs; the first pair is the header."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInputError("file not found", path=str(path)) from None
    except UnicodeDecodeError:
        raise BadInputError('is not UTF-8 text (save it as "CSV UTF-8")', path=str(path)) from None
    except OSError as exc:
        raise BadInputError(f"cannot be read ({exc.strerror or exc})", path=str(path)) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise BadInputError(f"row {reader.line_num}: not valid CSV ({exc})", path=str(path)) from None


def _column_index(header: list[str], column: str, path: Path) -> int:
    """Exact header match first, then ignoring case (``Intent`` for ``intent``)."""
    names = [h.strip() for h in header]
    wanted = column.strip()
    folded = [n.casefold() for n in names]
    same = [i for i, n in enumerate(folded) if n == wanted.casefold()]
    if len(same) > 1:  # `score,score`: which one holds the answers is anyone's guess
        where = ", ".join(str(i + 1) for i in same)
        raise BadInputError(
            f"the header repeats this column (columns {where}); rename one", path=str(path), field=f"column {column!r}"
        )
    if wanted in names:
        return names.index(wanted)
    if wanted.casefold() in folded:
        return folded.index(wanted.casefold())
    shown = ", ".join(repr(n) for n in names[:12]) + (", …" if len(names) > 12 else "")
    raise BadInputError(f"no such column (the columns are {shown})", path=str(path), field=f"column {column!r}")


# -- the comparison ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatTest:
    """One statistical test: its statistic, p-value and degrees of freedom where it has them."""

    name: str
    statistic: float
    p: float
    df: float | None = None

    def describe(self, symbol: str) -> str:
        df = (
            ""
            if self.df is None
            else f", df = {self.df:.0f}"
            if float(self.df).is_integer()
            else f", df = {self.df:.1f}"
        )
        return f"{symbol} = {self.statistic:.2f}{df}, {format_p(self.p)}"

    def to_json(self) -> dict[str, Any]:
        return {"test": self.name, "statistic": self.statistic, "p": self.p, "df": self.df}


@dataclass(frozen=True, slots=True)
class DistributionRow:
    option: str
    simulated: int
    human: int
    simulated_share: float
    human_share: float


@dataclass(slots=True)
class Validation:
    """The simulated and real answers to one poll, compared. Build with :func:`compare`."""

    simulated: PollResult
    human: PollResult
    source: str
    groups: list[str]
    csv_path: str
    column: str
    welch: StatTest | None = None
    mann_whitney: StatTest | None = None
    chi_square: StatTest | None = None
    cohen_d: float | None = None
    distribution: list[DistributionRow] = field(default_factory=list)
    tvd: float | None = None
    notes: list[str] = field(default_factory=list)
    """Why a test was left out, or why its p-value is rough."""

    @property
    def numeric(self) -> bool:
        return self.simulated.kind in NUMERIC_KINDS

    @property
    def mean_difference(self) -> float | None:
        s, h = self.simulated.mean, self.human.mean
        return None if s is None or h is None else s - h

    def verdicts(self) -> list[str]:
        """Plain-language lines, most important first; the last ones are always the cautions."""
        lines: list[str] = []
        sim, hum = self.simulated, self.human
        if self.numeric and sim.mean is not None and hum.mean is not None:
            test = self.welch or self.mann_whitney
            means = f"mean {sim.mean:.1f} vs {hum.mean:.1f}"
            if test is not None and test.p < ALPHA and sim.mean != hum.mean:
                likert = sim.kind in LIKERT_LABELS
                word = (
                    ("more positive" if likert else "higher")
                    if sim.mean > hum.mean
                    else ("more negative" if likert else "lower")
                )
                lines.append(f"simulated answers are {word} than real ones ({means}, {format_p(test.p)})")
            elif test is not None:
                lines.append(f"no clear difference between the means ({means}, {format_p(test.p)})")
            else:
                lines.append(f"the means cannot be tested ({means}); see the notes")
            if sim.stdev is not None and hum.stdev:
                ratio = sim.stdev / hum.stdev
                sds = f"sd {sim.stdev:.2f} vs {hum.stdev:.2f}"
                if ratio < 2 / 3:
                    lines.append(
                        f"simulated answers are less varied than real ones ({sds}): personas may be converging on one view"
                    )
                elif ratio > 3 / 2:
                    lines.append(f"simulated answers are more varied than real ones ({sds})")
        if self.chi_square is not None:
            chi = self.chi_square.describe("χ²")
            if self.chi_square.p < ALPHA:
                lines.append(f"the simulated choices are distributed differently from the real ones ({chi})")
            else:
                lines.append(f"no clear difference between the choice distributions ({chi})")
        if sim.kind in CHOICE_KINDS:
            s_top, h_top = sim.leader(), hum.leader()
            if s_top is not None and h_top is not None:
                lines.append(
                    f"most chosen: simulated {s_top!r} ({sim.counts[s_top] / sim.n:.0%}), "
                    f"real {h_top!r} ({hum.counts[h_top] / hum.n:.0%})"
                )
        if self.tvd is not None:
            lines.append(
                f"the two distributions differ by {self.tvd:.0%} of answers "
                f"(total variation distance {self.tvd:.2f}: 0 = identical, 1 = no overlap)"
            )
        if min(sim.n, hum.n) < SMALL_SAMPLE:
            lines.append(
                f"caution: small samples (n = {sim.n} simulated, {hum.n} real) are weak evidence; "
                "no significant difference does not mean the two agree"
            )
        lines.append(
            "caution: simulated answers in one group followed the same discussion, so they are not fully "
            "independent and the p-values are somewhat optimistic"
        )
        lines.append(
            "caution: simulated participants are not people; a match on this poll does not validate the panel for other questions"
        )
        return lines

    def to_json(self) -> dict[str, Any]:
        def side(r: PollResult) -> dict[str, Any]:
            return {"n": r.n, "mean": r.mean, "stdev": r.stdev, "counts": r.counts}

        return {
            "poll_id": self.simulated.poll_id,
            "question": self.simulated.question,
            "kind": self.simulated.kind,
            "options": self.simulated.options,
            "simulated": {"source": self.source, "groups": self.groups, **side(self.simulated)},
            "human": {"file": self.csv_path, "column": self.column, **side(self.human)},
            "mean_difference": self.mean_difference,
            "cohen_d": self.cohen_d,
            "welch_t": self.welch.to_json() if self.welch else None,
            "mann_whitney_u": self.mann_whitney.to_json() if self.mann_whitney else None,
            "chi_square": self.chi_square.to_json() if self.chi_square else None,
            "distribution": [
                {
                    "option": r.option,
                    "simulated": r.simulated,
                    "human": r.human,
                    "simulated_share": r.simulated_share,
                    "human_share": r.human_share,
                }
                for r in self.distribution
            ],
            "total_variation_distance": self.tvd,
            "notes": self.notes,
            "verdicts": self.verdicts(),
            "caveat": CAVEAT,
        }

    def render_markdown(self) -> str:
        sim, hum = self.simulated, self.human
        groups = f"{len(self.groups)} groups pooled" if len(self.groups) > 1 else "one run"
        lines = [
            f"# Simulated vs real: {sim.poll_id} ({sim.kind})",
            "",
            f"> {sim.question}",
            "",
            f"- simulated: {self.source} ({groups})",
            f"- real: {self.csv_path}, column {self.column!r}",
            "",
            "| | simulated | real |",
            "|---|---|---|",
            f"| n | {sim.n} | {hum.n} |",
        ]
        if self.numeric:
            lines += [
                f"| mean | {_num(sim.mean)} | {_num(hum.mean)} |",
                f"| sd | {format_sd(sim.stdev)} | {format_sd(hum.stdev)} |",
            ]
        lines += ["", "## Tests", ""]
        if self.mean_difference is not None:
            d = f", Cohen's d = {self.cohen_d:.2f}" if self.cohen_d is not None else ""
            lines.append(f"- difference of means (simulated − real): {self.mean_difference:+.2f}{d}")
        if self.welch:
            lines.append(f"- Welch's t-test: {self.welch.describe('t')}")
        if self.mann_whitney:
            lines.append(f"- Mann–Whitney U: {self.mann_whitney.describe('U')}")
        if self.chi_square:
            lines.append(f"- chi-square test of the distributions: {self.chi_square.describe('χ²')}")
        if self.tvd is not None:
            lines.append(f"- total variation distance: {self.tvd:.2f}")
        lines += [f"- note: {note}" for note in self.notes]
        if self.distribution:
            lines += ["", "## Distribution", "", "| answer | simulated | real |", "|---|---|---|"]
            for r in self.distribution:
                option = r.option.replace("|", r"\|")
                lines.append(
                    f"| {option} | {r.simulated} ({r.simulated_share:.0%}) | {r.human} ({r.human_share:.0%}) |"
                )
        lines += ["", "## Verdict", ""] + [f"- {v}" for v in self.verdicts()] + ["", f"> {CAVEAT}"]
        return "\n".join(lines) + "\n"


def compare(
    simulated: PollResult, human: PollResult, *, source: str, groups: list[str], csv_path: str, column: str
) -> Validation:
    """Every test that applies to the poll's kind, with a note for each one that cannot run."""
    from scipy import stats

    v = Validation(simulated, human, source, list(groups), csv_path, column)
    x, y = simulated.scores, human.scores
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # near-constant samples: we check the cases ourselves
        if v.numeric:
            if len(x) < 2 or len(y) < 2:
                v.notes.append("Welch's t-test needs at least two answers on each side")
            elif statistics.pvariance(x) == 0 and statistics.pvariance(y) == 0:
                v.notes.append("Welch's t-test is undefined: every answer on each side is the same")
            else:
                r = stats.ttest_ind(x, y, equal_var=False)
                v.welch = StatTest("welch_t", float(r.statistic), float(r.pvalue), _float(getattr(r, "df", None)))
            if x and y:
                r = stats.mannwhitneyu(x, y, alternative="two-sided")
                v.mann_whitney = StatTest("mann_whitney_u", float(r.statistic), float(r.pvalue))
            v.cohen_d = cohen_d(x, y)
        if simulated.kind not in ("number", "text"):
            v.distribution = distribution(simulated, human)
            v.tvd = total_variation_distance(simulated.counts, human.counts)
        if simulated.kind in CHOICE_KINDS:
            v.chi_square = _chi_square(simulated, human, v.notes)
    return v


def distribution(simulated: PollResult, human: PollResult) -> list[DistributionRow]:
    """Per option: how many on each side chose it, and as a share of that side's respondents."""
    s, h = simulated.counts, human.counts
    return [
        DistributionRow(
            o,
            s.get(o, 0),
            h.get(o, 0),
            s.get(o, 0) / simulated.n if simulated.n else 0.0,
            h.get(o, 0) / human.n if human.n else 0.0,
        )
        for o in simulated.options
    ]


def total_variation_distance(a: dict[str, int], b: dict[str, int]) -> float | None:
    """Half the summed absolute difference of the two normalised distributions (0 … 1).

    Normalised over choices made, so for multi-choice polls (several picks a person) it
    compares the mix of picks."""
    ta, tb = sum(a.values()), sum(b.values())
    if not ta or not tb:
        return None
    keys = set(a) | set(b)
    return 0.5 * sum(abs(a.get(k, 0) / ta - b.get(k, 0) / tb) for k in keys)


def cohen_d(x: list[float], y: list[float]) -> float | None:
    """Difference of means over the pooled standard deviation; None when undefined."""
    if len(x) < 2 or len(y) < 2:
        return None
    pooled = ((len(x) - 1) * statistics.variance(x) + (len(y) - 1) * statistics.variance(y)) / (len(x) + len(y) - 2)
    return (statistics.fmean(x) - statistics.fmean(y)) / math.sqrt(pooled) if pooled > 0 else None


def _chi_square(simulated: PollResult, human: PollResult, notes: list[str]) -> StatTest | None:
    """2 × k contingency test over the options somebody chose (an option nobody chose on
    either side has an expected count of zero and is left out — it says nothing)."""
    from scipy import stats

    s, h = simulated.counts, human.counts
    kept = [o for o in simulated.options if s.get(o, 0) or h.get(o, 0)]
    if len(kept) < 2:
        notes.append("chi-square test left out: every answer on both sides is the same option")
        return None
    result = stats.chi2_contingency([[s.get(o, 0) for o in kept], [h.get(o, 0) for o in kept]])
    if float(result.expected_freq.min()) < 5:
        notes.append("some expected counts are below 5, so the chi-square p-value is only a rough guide")
    if simulated.kind == "multi":
        notes.append(
            "multi-choice: one person may count in several options, which the chi-square test treats as independent picks"
        )
    return StatTest("chi_square", float(result.statistic), float(result.pvalue), float(result.dof))


# -- the whole command ---------------------------------------------------------------------------


def validate(run_dir: str | Path, csv_path: str | Path, column: str, poll_id: str | None = None) -> Validation:
    """``troupe validate``: load both sides and compare them."""
    where = str(run_dir)
    simulated, groups = simulated_poll(load_polls(run_dir), poll_id, where)
    human = read_human_answers(csv_path, column, simulated)
    return compare(simulated, human, source=where, groups=groups, csv_path=str(csv_path), column=column)


def format_p(p: float) -> str:
    """``p = 0.003``; ``p < 0.001`` below that (more digits would be false precision)."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _float(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


__all__ = [
    "ALPHA",
    "DistributionRow",
    "StatTest",
    "Validation",
    "cohen_d",
    "compare",
    "distribution",
    "expected_values",
    "format_p",
    "read_cell",
    "read_human_answers",
    "simulated_poll",
    "total_variation_distance",
    "validate",
]
