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

import math
import re
import statistics
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troupe.core.errors import BadInputError
from troupe.core.events import PollAnswer
from troupe.core.poll_stats import CHOICE_KINDS, NUMERIC_KINDS, Answer, CompareRow, PollResult, format_sd, side_by_side
from troupe.core.poll_stats import interpret_event as interpret
from troupe.core.polls import LIKERT_LABELS
from troupe.core.validation import csv_column, read_csv_rows
from troupe.personas.survey import age_in_band, persona_value

from .export.common import SIMULATED_NOTICE
from .export.html import bar_chart_svg, compare_rows, compare_table, esc, page
from .export.markdown import compare_markdown
from .fidelity import ASPECTS, SEVERITY_WORDS, Fidelity, Scale, assess, finite, format_num, format_p
from .study import CAVEAT, GroupPolls, load_polls, pool_results

ALPHA = 0.05
"""Below this p-value a verdict says "differ"; above it, "no clear difference"."""
SMALL_SAMPLE = 30
"""Under this many answers on either side, the verdict warns that the evidence is weak."""
MULTI_SEPARATOR = ";"
"""A multi-choice cell lists its options separated by this (labels may contain commas)."""
NON_ANSWERS = (
    "don't know",
    "don’t know",
    "dont know",
    "do not know",
    "dk",
    "not sure",
    "unsure",
    "n/a",
    "na",
    "prefer not to say",
    "prefer not to answer",
    "refused",
    "no answer",
    "no opinion",
    "-",
)
"""Cells that say the respondent gave no answer: dropped (and counted), never an error."""
SMALL_CELL = 10
"""A demographic cell with fewer answers than this on either side is shown, not tested."""


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


@dataclass(slots=True)
class ColumnRead:
    """One CSV column read as answers to a poll, with what was dropped and each answer's group."""

    result: PollResult
    dropped: dict[str, int] = field(default_factory=dict)
    """Why cells were skipped → how many: ``blank``, or the non-answer as written (``don't know``)."""
    groups: dict[int, str] = field(default_factory=dict)
    """Row number → the value of the ``by`` column on that row (when asked for)."""

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())


def read_human_answers(csv_path: str | Path, column: str, poll: PollResult) -> PollResult:
    """The answers in ``column`` of ``csv_path``, read as answers to ``poll`` (blank and
    "don't know" cells skipped). See :func:`read_answer_column` for the options."""
    return read_answer_column(csv_path, column, poll).result


def read_answer_column(
    csv_path: str | Path,
    column: str,
    poll: PollResult,
    *,
    mapping: dict[str, str] | None = None,
    non_answers: tuple[str, ...] = NON_ANSWERS,
    by: str | None = None,
    scale: Scale | None = None,
) -> ColumnRead:
    """The answers in ``column`` of ``csv_path``, read as answers to ``poll``.

    ``mapping`` turns text labels into scale values first (keys compared ignoring case and
    spacing: ``{"definitely would buy": "5"}``); blank cells and ``non_answers`` are dropped and
    counted; any other cell that is not an answer on the poll's scale (``scale`` bounds a
    ``number`` poll) is a :class:`BadInputError` naming the file, the column and the row.
    ``by`` names a column whose value on each row is kept (for a demographic breakdown).

    The delimiter is the one of ``,`` ``;`` and tab that the header line uses most (spreadsheets
    in many locales write ``;``); a UTF-8 byte-order mark is ignored.
    """
    path = Path(csv_path)
    rows = read_csv_rows(path)
    first = next(rows, None)
    if first is None:
        raise BadInputError("the file is empty", path=str(path))
    index = csv_column(first[1], column, path)
    by_index = csv_column(first[1], by, path) if by is not None else None
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
    read = ColumnRead(human)
    mapped = {_fold(k): v for k, v in (mapping or {}).items()}
    skip = {_fold(n) for n in non_answers}
    for line, row in rows:
        if not any(c.strip() for c in row):
            continue  # a blank line is no respondent
        cell = row[index].strip() if index < len(row) else ""
        if not cell:
            read.dropped["blank"] = read.dropped.get("blank", 0) + 1
            continue
        answer = read_cell(mapped.get(_fold(cell), cell), poll, line)
        if answer is not None and scale is not None and not _on_scale(answer, scale):
            answer = None
        if answer is None and _fold(cell) in skip:  # an option that reads "N/A" stays an answer
            key = _fold(cell)
            read.dropped[key] = read.dropped.get(key, 0) + 1
            continue
        if answer is None:
            hint = "; map labels with --map LABEL=VALUE" if poll.kind in NUMERIC_KINDS else ""
            raise BadInputError(
                f"row {line}: {cell!r} is not an answer to poll {poll.poll_id!r} "
                f"(expected {expected_values(poll, scale)}{hint})",
                path=str(path),
                field=f"column {column!r}",
            )
        human.answers.append(answer)
        human.all_answers.append(answer)
        if by_index is not None:
            read.groups[line] = row[by_index].strip() if by_index < len(row) else ""
    if not human.answers:
        raise BadInputError(
            f"no answers (every cell is blank or a non-answer: {_dropped_text(read.dropped)})",
            path=str(path),
            field=f"column {column!r}",
        )
    return read


def parse_mapping(items: list[str] | None, poll: PollResult, scale: Scale | None = None) -> dict[str, str]:
    """``--map`` values: ``"Definitely=5;Probably=4"`` (pairs separated by ``;``, or by ``,``
    when there is no ``;``), each value checked against the poll's scale."""
    mapping: dict[str, str] = {}
    for item in items or []:
        pairs = item.split(";") if ";" in item else item.split(",")
        for pair in pairs:
            if not pair.strip():
                continue
            label, sep, value = pair.rpartition("=")
            if not sep or not label.strip() or not value.strip():
                raise BadInputError(f"{pair.strip()!r} is not LABEL=VALUE", field="--map")
            answer = read_cell(value.strip(), poll, 0)
            if answer is None or (scale is not None and not _on_scale(answer, scale)):
                raise BadInputError(
                    f"{label.strip()!r} maps to {value.strip()!r}, which is not on the poll's scale "
                    f"(expected {expected_values(poll, scale)})",
                    field="--map",
                )
            mapping[label.strip()] = value.strip()
    return mapping


def _on_scale(answer: Answer, scale: Scale) -> bool:
    if answer.score is None:
        return True
    if not scale.low <= answer.score <= scale.high:
        return False
    return not scale.ordinal or float(answer.score).is_integer()


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def _dropped_text(dropped: dict[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in dropped.items()) or "none"


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


def expected_values(poll: PollResult, scale: Scale | None = None) -> str:
    """What a cell may hold, for the error message."""
    if poll.kind in LIKERT_LABELS:
        return f"1–{len(poll.options)} or one of: {', '.join(poll.options)}"
    if poll.kind == "number":
        return f"a number from {scale.describe()}" if scale is not None else "a number"
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
    fidelity: Fidelity | None = None
    """Centre, spread, extremes and shape compared (scale and number polls)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Human cells skipped, by reason (``blank``, ``don't know``…)."""
    dropped_simulated: dict[str, int] = field(default_factory=dict)
    """Simulated cells skipped, when the simulated side is a CSV too."""
    breakdown: list[BreakdownRow] = field(default_factory=list)
    by: str | None = None
    """The demographic column of the breakdown."""
    instructions: list[str] = field(default_factory=list)
    """The poll instruction sets the simulated answers were given under (from the log)."""

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
        if self.fidelity is not None and self.fidelity.aspects:
            lines += self.fidelity.verdicts()
        elif self.numeric and sim.mean is not None and hum.mean is not None:
            lines.append(f"the means cannot be tested (mean {sim.mean:.1f} vs {hum.mean:.1f}); see the notes")
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
        if self.dropped:
            lines.append(f"{sum(self.dropped.values())} real cells dropped ({_dropped_text(self.dropped)})")
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
            "fidelity": self.fidelity.to_json() if self.fidelity else None,
            "headline": self.verdicts()[0],
            "dropped": {"human": self.dropped, "simulated": self.dropped_simulated},
            "breakdown": {"by": self.by, "cells": [r.to_json() for r in self.breakdown]} if self.by else None,
            "poll_instructions": self.instructions,
            "notes": self.notes,
            "verdicts": self.verdicts(),
            "caveat": CAVEAT,
        }

    def compare_rows(self) -> list[CompareRow]:
        """Both distributions on common rows (options, or shared bins of number answers) —
        the rows of the chart and of the Markdown table."""
        return side_by_side([self.simulated, self.human])

    def render_html_section(self) -> str:
        """One comparison as HTML: the two distributions overlaid in one chart, the verdict on
        each aspect beside it, then the same figures as the Markdown."""
        sim, hum = self.simulated, self.human
        groups = f"{len(self.groups)} groups pooled" if len(self.groups) > 1 else "one run"
        names = [f"simulated (n={sim.n})", f"real (n={hum.n})"]
        rows = compare_rows(self.compare_rows())
        chart = bar_chart_svg(
            rows, list(zip(names, ("#3b5bdb", "#e67700"))), title=f"Simulated vs real: {sim.question}"
        )
        parts = [
            f'<section class="validation" id="v-{esc(sim.poll_id)}-{esc(self.column)}">',
            f"<h2>Simulated vs real: {esc(sim.poll_id)} ({esc(sim.kind)})</h2>",
            f"<p><em>{esc(sim.question)}</em></p>",
            f'<p class="small">simulated: {esc(self.source)} ({esc(groups)}) · real: {esc(self.csv_path)}, '
            f"column {esc(repr(self.column))}</p>",
            f'<p class="headline"><strong>{esc(self.verdicts()[0])}</strong></p>',
            '<div class="side">',
            f'<figure class="chart">{chart}<figcaption class="small">Share of each side\'s answers; '
            "the table below gives every number.</figcaption></figure>",
        ]
        if self.fidelity is not None and self.fidelity.aspects:
            parts.append('<table class="aspects"><thead><tr><th>Aspect</th><th>Verdict</th></tr></thead><tbody>')
            for name in ASPECTS:
                aspect = self.fidelity.aspect(name)
                if aspect is not None:
                    parts.append(
                        f'<tr class="sev{aspect.severity}"><th>{esc(name)}<br><span class="small">'
                        f"{esc(SEVERITY_WORDS[aspect.severity])}</span></th><td>{esc(aspect.text)}</td></tr>"
                    )
            parts.append("</tbody></table>")
        parts.append("</div>")
        if rows:
            parts.append(compare_table(rows, ["simulated", "real"], caption="Distribution"))
        figures = [("n", str(sim.n), str(hum.n))]
        if self.numeric:
            figures += [
                ("mean", format_num(sim.mean), format_num(hum.mean)),
                ("sd", format_sd(sim.stdev), format_sd(hum.stdev)),
            ]
        parts.append(
            '<table class="figures"><thead><tr><th></th><th class="num">simulated</th><th class="num">real</th></tr></thead><tbody>'
            + "".join(f'<tr><th>{k}</th><td class="num">{a}</td><td class="num">{b}</td></tr>' for k, a, b in figures)
            + "</tbody></table>"
        )
        tests = [line.removeprefix("- ") for line in self._test_lines()]
        if self.fidelity is not None and self.fidelity.aspects:
            tests += [line.removeprefix("- ") for line in self.fidelity.markdown_rows()]
            tests += [f"note: {note}" for note in self.fidelity.notes]
        if tests:
            parts.append("<h3>Tests</h3><ul>" + "".join(f"<li>{esc(t)}</li>" for t in tests) + "</ul>")
        if self.by:
            parts.append(
                f'<h3>By {esc(self.by)}</h3><table><thead><tr><th>group</th><th class="num">n simulated</th>'
                '<th class="num">n real</th><th>verdict</th></tr></thead><tbody>'
                + "".join(
                    f'<tr><td>{esc(r.value or "(blank)")}</td><td class="num">{r.n_simulated}</td>'
                    f'<td class="num">{r.n_human}</td><td>{esc(r.verdict)}</td></tr>'
                    for r in self.breakdown
                )
                + "</tbody></table>"
            )
        parts.append("<h3>Verdict</h3><ul>" + "".join(f"<li>{esc(v)}</li>" for v in self.verdicts()) + "</ul>")
        parts.append("</section>")
        return "\n".join(parts)

    def _test_lines(self) -> list[str]:
        lines: list[str] = []
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
        return lines

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
        ]
        if self.instructions:
            lines.append(f"- poll instructions: {', '.join(self.instructions)}")
        if self.dropped:
            lines.append(f"- real cells dropped: {_dropped_text(self.dropped)}")
        if self.dropped_simulated:
            lines.append(f"- simulated cells dropped: {_dropped_text(self.dropped_simulated)}")
        lines += [
            "",
            f"**{self.verdicts()[0]}**",
            "",
            "| | simulated | real |",
            "|---|---|---|",
            f"| n | {sim.n} | {hum.n} |",
        ]
        if self.numeric:
            lines += [
                f"| mean | {format_num(sim.mean)} | {format_num(hum.mean)} |",
                f"| sd | {format_sd(sim.stdev)} | {format_sd(hum.stdev)} |",
            ]
        lines += ["", "## Tests", ""] + self._test_lines()
        if self.fidelity is not None and self.fidelity.aspects:
            lines += ["", "## Centre, spread, extremes, shape", ""] + self.fidelity.markdown_rows()
            lines += [f"- note: {note}" for note in self.fidelity.notes]
        if self.by:
            lines += ["", f"## By {self.by}", "", "| group | n simulated | n real | verdict |", "|---|---|---|---|"]
            for row in self.breakdown:
                cell = row.value.replace("|", r"\|") or "(blank)"
                verdict = row.verdict.replace("|", r"\|")
                lines.append(f"| {cell} | {row.n_simulated} | {row.n_human} | {verdict} |")
        if self.distribution:
            lines += ["", "## Distribution", "", "| answer | simulated | real |", "|---|---|---|"]
            for r in self.distribution:
                option = r.option.replace("|", r"\|")
                lines.append(
                    f"| {option} | {r.simulated} ({r.simulated_share:.0%}) | {r.human} ({r.human_share:.0%}) |"
                )
        elif self.compare_rows():
            lines += ["", "## Distribution (shared bins)", ""]
            lines += compare_markdown(self.compare_rows(), ["simulated", "real"])
        lines += ["", "## Verdict", ""] + [f"- {v}" for v in self.verdicts()] + ["", f"> {CAVEAT}"]
        return "\n".join(lines) + "\n"


VALIDATION_CSS = """
.side { display: flex; flex-wrap: wrap; gap: 1rem 1.5rem; align-items: flex-start; }
.side figure.chart { flex: 1 1 30rem; margin: 0; }
.side table.aspects { flex: 1 1 18rem; width: auto; }
table.aspects th { white-space: nowrap; }
tr.sev2 th { color: #c92a2a; }
tr.sev1 th { color: #e67700; }
tr.sev0 th { color: #2b8a3e; }
"""


def render_validation_html(results: list[Validation]) -> str:
    """``troupe validate --format html``: one self-contained page, a section per comparison."""
    body = [
        "<header><h1>Simulated vs real answers</h1>",
        f'<p class="notice" role="note"><strong>Simulated participants.</strong> {esc(SIMULATED_NOTICE)}</p>',
        f'<p class="small">{esc(CAVEAT)}</p></header>',
    ]
    body += [r.render_html_section() for r in results]
    return page("Simulated vs real answers", "en", "\n".join(body), extra_css=VALIDATION_CSS)


def compare(
    simulated: PollResult,
    human: PollResult,
    *,
    source: str,
    groups: list[str],
    csv_path: str,
    column: str,
    scale: Scale | None = None,
) -> Validation:
    """Every test that applies to the poll's kind, with a note for each one that cannot run.

    ``scale`` gives a ``number`` poll its ends (Likert polls have theirs); without it a number
    poll is compared as continuous answers, with no extremes."""
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
                v.welch = StatTest("welch_t", float(r.statistic), float(r.pvalue), finite(getattr(r, "df", None)))
            if x and y:
                r = stats.mannwhitneyu(x, y, alternative="two-sided")
                v.mann_whitney = StatTest("mann_whitney_u", float(r.statistic), float(r.pvalue))
            v.cohen_d = cohen_d(x, y)
            v.fidelity = assess(x, y, scale or poll_scale(simulated)) if x and y else None
        if simulated.kind not in ("number", "text"):
            v.distribution = distribution(simulated, human)
            v.tvd = total_variation_distance(simulated.counts, human.counts)
        if simulated.kind in CHOICE_KINDS:
            v.chi_square = _chi_square(simulated, human, v.notes)
    return v


def poll_scale(poll: PollResult) -> Scale | None:
    """A Likert poll's scale (1 … n); None for other kinds (a number poll's ends are not known)."""
    if poll.kind in LIKERT_LABELS:
        return Scale(1.0, float(len(LIKERT_LABELS[poll.kind])))
    return None


def parse_scale(text: str | None) -> tuple[str, Scale | None]:
    """``--scale``: ``likert5``, ``likert7``, or ``LO-HI`` (whole points, e.g. ``0-10``); or
    ``LO-HI:continuous`` for answers anywhere between. Returns the poll kind and the scale."""
    if text is None:
        return "likert5", Scale(1.0, 5.0)
    t = text.strip().lower()
    if t in LIKERT_LABELS:
        return t, Scale(1.0, float(len(LIKERT_LABELS[t])))
    match = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*(?:-|–|\.\.|to)\s*(-?\d+(?:\.\d+)?)(:continuous)?", t)
    if match is None or float(match.group(1)) >= float(match.group(2)):
        raise BadInputError(
            f"{text!r} is not a scale (likert5, likert7, or LO-HI such as 1-10; add :continuous for any number between)",
            field="--scale",
        )
    lo, hi, continuous = float(match.group(1)), float(match.group(2)), bool(match.group(3))
    if not continuous and not (lo.is_integer() and hi.is_integer()):
        raise BadInputError(f"{text!r}: an ordinal scale runs between whole numbers", field="--scale")
    return "number", Scale(lo, hi, ordinal=not continuous)


# -- breakdown by a demographic column -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    """One demographic cell (``25-34``, ``Female``…): its sizes and its verdict, or why it was not tested."""

    value: str
    n_simulated: int
    n_human: int
    tested: bool
    verdict: str
    fidelity: Fidelity | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "n_simulated": self.n_simulated,
            "n_human": self.n_human,
            "tested": self.tested,
            "verdict": self.verdict,
            "fidelity": self.fidelity.to_json() if self.fidelity else None,
        }


def breakdown(
    simulated: dict[str, list[float]], human: dict[str, list[float]], scale: Scale | None
) -> list[BreakdownRow]:
    """Per demographic value, the fidelity verdict; cells under :data:`SMALL_CELL` answers on
    either side are listed, flagged, and not tested (a handful of answers says nothing)."""
    rows: list[BreakdownRow] = []
    for value in list(human) + [v for v in simulated if v not in human]:
        x, y = simulated.get(value, []), human.get(value, [])
        if min(len(x), len(y)) < SMALL_CELL:
            why = "no simulated answers" if not x else "no real answers" if not y else "small cell"
            rows.append(
                BreakdownRow(value, len(x), len(y), False, f"not tested: {why} (fewer than {SMALL_CELL} a side)")
            )
            continue
        f = assess(x, y, scale)
        rows.append(BreakdownRow(value, len(x), len(y), True, f.headline(), f))
    return rows


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


def validate(
    run_dir: str | Path | None,
    csv_path: str | Path,
    column: str,
    poll_id: str | None = None,
    *,
    simulated_csv: str | Path | None = None,
    simulated_column: str | None = None,
    scale: str | None = None,
    maps: list[str] | None = None,
    by: str | None = None,
) -> Validation:
    """``troupe validate``: load both sides and compare them.

    The simulated side is a run or study folder (``run_dir``, one poll of it) or a CSV column
    (``simulated_csv`` and ``simulated_column``, read on ``scale``: ``likert5`` unless said).
    ``maps`` are ``--map`` values (text labels → scale values, for both CSVs); ``by`` a
    demographic column of the human CSV to break the comparison down by."""
    if simulated_csv is not None:
        kind, sc = parse_scale(scale)
        template = PollResult(
            poll_id=simulated_column or column,
            question=f"{Path(simulated_csv).name}, column {simulated_column or column!r}",
            kind=kind,
            options=list(LIKERT_LABELS.get(kind, [])),
            private_first=True,
            seq=0,
            section_index=-1,
            section_title="",
        )
        mapping = parse_mapping(maps, template, sc)
        sim_read = read_answer_column(
            simulated_csv, simulated_column or column, template, mapping=mapping, by=by, scale=sc
        )
        simulated, groups, source = sim_read.result, [Path(simulated_csv).name], str(simulated_csv)
        sim_groups = _groups_from_rows(sim_read) if by else {}
        dropped_sim, instructions = sim_read.dropped, []
    else:
        if run_dir is None:
            raise BadInputError("give a run or study folder, or --simulated FILE.csv", field="RUN_DIR")
        source = str(run_dir)
        polls = load_polls(run_dir)
        simulated, groups = simulated_poll(polls, poll_id, source)
        sc = poll_scale(simulated)
        if scale is not None:
            kind, given = parse_scale(scale)
            if simulated.kind != kind and not (simulated.kind in LIKERT_LABELS and given == sc):
                raise BadInputError(
                    f"poll {simulated.poll_id!r} is a {simulated.kind} poll; --scale {scale} does not fit it",
                    field="--scale",
                )
            sc = given
        mapping = parse_mapping(maps, simulated, sc)
        sim_groups, dropped_sim = {}, {}
        instructions = _instructions(polls, simulated.poll_id)
    human_read = read_answer_column(csv_path, column, simulated, mapping=mapping, by=by, scale=sc)
    v = compare(
        simulated,
        human_read.result,
        source=source,
        groups=groups,
        csv_path=str(csv_path),
        column=column,
        scale=sc,
    )
    v.dropped, v.dropped_simulated, v.instructions = human_read.dropped, dropped_sim, instructions
    if by is not None and v.numeric:
        human_groups = _groups_from_rows(human_read)
        if simulated_csv is None:
            sim_groups = _groups_from_personas(simulated, load_polls(run_dir or ""), by, list(human_groups))
            unmatched = len(simulated.scores) - sum(len(g) for g in sim_groups.values())
            if unmatched:
                v.notes.append(
                    f"{unmatched} simulated answers come from personas with no {by!r} value among the CSV's; "
                    "they are left out of the breakdown"
                )
        v.by, v.breakdown = by, breakdown(sim_groups, human_groups, sc)
    elif by is not None:
        v.notes.append("the breakdown is for scale and number polls")
    return v


def validate_columns(
    run_dir: str | Path | None,
    csv_path: str | Path,
    columns: list[str],
    polls: list[str] | None = None,
    *,
    simulated_columns: list[str] | None = None,
    **options: Any,
) -> list[Validation]:
    """Several answer columns at once: each column with the poll (or simulated column) in the
    same position, or all with the one given."""

    def paired(values: list[str] | None, what: str) -> list[str | None]:
        if not values:
            return [None] * len(columns)
        if len(values) == 1:
            return [values[0]] * len(columns)
        if len(values) != len(columns):
            raise BadInputError(f"give one {what} or one per --column ({len(columns)})", field=what)
        return list(values)

    return [
        validate(run_dir, csv_path, column, poll, simulated_column=sim_col, **options)
        for column, poll, sim_col in zip(
            columns, paired(polls, "--poll"), paired(simulated_columns, "--simulated-column"), strict=True
        )
    ]


def _groups_from_rows(read: ColumnRead) -> dict[str, list[float]]:
    groups: dict[str, list[float]] = {}
    for answer in read.result.answers:
        if answer.score is not None:
            groups.setdefault(read.groups.get(answer.seq, ""), []).append(answer.score)
    return groups


def _groups_from_personas(
    simulated: PollResult, polls: list[GroupPolls], column: str, values: list[str]
) -> dict[str, list[float]]:
    """Simulated scores grouped by the CSV value each answering persona carries (its card's traits)."""
    import json

    traits: dict[str, dict[str, Any]] = {}
    for group in polls:
        try:
            with (group.run_dir / "events.jsonl").open(encoding="utf-8") as fh:
                started = json.loads(fh.readline() or "{}")
        except (OSError, ValueError):
            continue
        cards = started.get("persona_cards") if isinstance(started, dict) else None
        for name, card in (cards if isinstance(cards, dict) else {}).items():
            if isinstance(card, dict):
                traits.setdefault(name, card.get("traits") or {})
    groups: dict[str, list[float]] = {}
    for answer in simulated.answers:
        value = persona_value(traits.get(answer.agent, {}), column, values)
        if value is not None and answer.score is not None:
            groups.setdefault(value, []).append(answer.score)
    return groups


def _instructions(polls: list[GroupPolls], poll_id: str) -> list[str]:
    """The poll instruction sets (``instructions`` on ``poll_asked``) the answers were given under."""
    import json

    seen: list[str] = []
    for group in polls:
        try:
            lines = (group.run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if '"poll_asked"' not in line or poll_id not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.get("instructions") if event.get("poll_id") == poll_id else None
            if isinstance(name, str) and name not in seen:
                seen.append(name)
    return seen or ["default"]


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
    "validate_columns",
    "BreakdownRow",
    "ColumnRead",
    "age_in_band",
    "breakdown",
    "parse_mapping",
    "parse_scale",
    "persona_value",
    "poll_scale",
    "read_answer_column",
]
