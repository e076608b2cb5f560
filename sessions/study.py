"""Studies: one guide run by K independent groups, and every poll pooled across them.

Why: one simulated focus group is one draw. Its poll results depend on who was seated, which
stimulus came first and the model's chance. A study repeats the guide with K groups (different
panels, rotated stimulus order) and reports how much the answers move *between* groups, so a
reader can tell a stable result from a lucky one.

Layout of a study folder::

    DIR/group-01/ … DIR/group-K/   ordinary run folders (events.jsonl, meta.json): each one can be
                                   exported, reported, resumed or branched like any run
    DIR/study.json                 the plan, each group's outcome and the pooled polls
    DIR/study.md                   the same, for people

Every number comes from the groups' logs through :mod:`troupe.core.poll_stats` — the same
reading of the answers that the exports and the report use for a single run — so a study never
disagrees with its own groups.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troupe.core.card import PersonaCard
from troupe.core.errors import BadInputError, RunStateError, TroupeError
from troupe.core.llm.protocol import ChatBackend
from troupe.core.log import read_events
from troupe.core.poll_stats import (
    COUNTED_KINDS,
    NUMERIC_KINDS,
    CompareRow,
    PollResult,
    collect_polls,
    format_sd,
    format_share,
    share_interval,
    side_by_side,
    t_interval,
)

from .export.common import SIMULATED_NOTICE
from .export.html import PALETTE, ChartRow, bar_chart_svg, compare_table, esc, page
from .headless import run_headless
from .run import EVENTS_FILE
from .saturation import Saturation, saturation, saturation_html, saturation_markdown

if TYPE_CHECKING:
    from .guide import Guide

log = logging.getLogger(__name__)

STUDY_JSON = "study.json"
STUDY_MD = "study.md"
STUDY_HTML = "study.html"
CAVEAT = (
    "Participants are simulated: every answer comes from a language model playing a persona. "
    "Use a study to see how stable a simulated result is, never as a measurement of real people."
)


# -- plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """One group of a study: its folder name, its seed and who sits in it."""

    name: str
    seed: int
    cards: tuple[PersonaCard, ...]

    @property
    def personas(self) -> list[str]:
        return [c.name for c in self.cards]


def group_name(index: int, groups: int) -> str:
    """``group-01`` … (zero-padded to the width of ``groups``, at least two digits)."""
    return f"group-{index + 1:0{max(2, len(str(groups)))}d}"


def plan_panels(pool: Sequence[str], groups: int, size: int, seed: int) -> list[list[str]]:
    """``groups`` panels of ``size`` distinct names drawn from ``pool``.

    Each group takes the ``size`` least-used names so far, ties broken by a draw seeded with
    ``seed``: no one sits twice in a group, every persona sits in the study as often as any
    other (give or take one), and consecutive groups differ whenever the pool allows it. The
    seeded shuffle also varies the seating (speaking) order from group to group.
    """
    if size < 1:
        raise BadInputError("must be 1 or more", field="--panel-size")
    if size > len(pool):
        raise BadInputError(f"is {size} but only {len(pool)} personas are available", field="--panel-size")
    rng = random.Random(f"study-panels|{seed}")
    uses = dict.fromkeys(pool, 0)
    panels: list[list[str]] = []
    for _ in range(groups):
        order = list(pool)
        rng.shuffle(order)
        order.sort(key=lambda name: uses[name])  # stable: equal use keeps the shuffled order
        panel = order[:size]
        for name in panel:
            uses[name] += 1
        panels.append(panel)
    return panels


def plan_groups(pool: Sequence[PersonaCard], *, groups: int, seed: int, panel_size: int | None) -> list[GroupPlan]:
    """The study's groups. With ``panel_size``, each group seats a balanced sample of ``pool``
    (:func:`plan_panels`); without, every group seats the whole pool. Group ``i`` (from 0) runs
    with seed ``seed + i``, so a guide's ``stimuli_order = "rotate"`` shows a different stimulus
    first in consecutive groups — the usual counterbalancing of order effects."""
    if groups < 1:
        raise BadInputError("must be 1 or more", field="--groups")
    names = [c.name for c in pool]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise BadInputError(f"{', '.join(twice)} is listed twice", field="--personas")
    by_name = {c.name: c for c in pool}
    if panel_size is None:
        panels = [names] * groups
    else:
        panels = plan_panels(names, groups, panel_size, seed)
    return [
        GroupPlan(group_name(i, groups), seed + i, tuple(by_name[n] for n in panel)) for i, panel in enumerate(panels)
    ]


# -- run ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """How one group's run ended: ``error`` is None when it ran to the end."""

    plan: GroupPlan
    run_dir: Path
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


async def run_groups(
    guide: Guide,
    plans: Sequence[GroupPlan],
    backend: ChatBackend,
    study_dir: str | Path,
    *,
    rounds_cap: int | None = None,
    concurrency: int = 2,
    on_done: Callable[[GroupOutcome], None] | None = None,
    on_event: Callable[[Any], None] | None = None,
    resume: bool = False,
    **session_options: Any,
) -> list[GroupOutcome]:
    """Run every group headless into ``study_dir/<group>``, at most ``concurrency`` at a time.

    One backend serves all groups (one connection pool, one local model in memory). A group
    that fails — the backend went down, a bug — is recorded with its message and the others
    go on: a study of ten groups should not be lost to one bad one. Its folder keeps the
    events logged before the failure, so ``troupe resume`` can finish it.

    ``on_event`` hears every group's events once durable (progress bars). ``resume``: a group
    whose folder already holds a log is reopened and finished (one already ended is done).
    """
    if concurrency < 1:
        raise BadInputError("must be 1 or more", field="--concurrency")
    root = Path(study_dir)
    gate = asyncio.Semaphore(concurrency)

    async def one(plan: GroupPlan) -> GroupOutcome:
        run_dir = root / plan.name
        async with gate:
            try:
                if on_event is None and not resume:
                    await run_headless(
                        guide,
                        plan.cards,
                        backend,
                        run_dir,
                        seed=plan.seed,
                        rounds_cap=rounds_cap,
                        progress=False,
                        **session_options,
                    )
                else:
                    await _run_group(guide, plan, backend, run_dir, rounds_cap, on_event, resume, session_options)
            except TroupeError as exc:
                outcome = GroupOutcome(plan, run_dir, str(exc))
            except Exception as exc:  # one broken group must not sink the study; say what it was
                log.exception("study group %s failed", plan.name)
                outcome = GroupOutcome(plan, run_dir, f"{type(exc).__name__}: {exc}")
            else:
                outcome = GroupOutcome(plan, run_dir)
        if on_done is not None:
            on_done(outcome)
        return outcome

    return list(await asyncio.gather(*(one(p) for p in plans)))


async def _run_group(
    guide: Guide,
    plan: GroupPlan,
    backend: ChatBackend,
    run_dir: Path,
    rounds_cap: int | None,
    on_event: Callable[[Any], None] | None,
    resume: bool,
    session_options: dict[str, Any],
) -> None:
    from .opening import open_session, reopen_session

    log_file = run_dir / EVENTS_FILE
    if resume and log_file.is_file() and log_file.stat().st_size > 0:
        events = read_events(log_file)
        if any(e.type == "session_ended" for e in events):
            return
        session = await reopen_session(run_dir, backend, unattended=True)
    else:
        session = await open_session(
            guide,
            plan.cards,
            backend,
            run_dir,
            seed=plan.seed,
            rounds_cap=rounds_cap,
            unattended=True,
            **session_options,
        )
    if on_event is not None:
        session.subscribe(on_event)
    try:
        await session.run_to_end()
    finally:
        await session.aclose()


# -- read groups back ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GroupPolls:
    """One run's polls, by id. A poll asked twice in one run counts its last asking (a
    moderator re-asking replaces the first result, as a re-vote does within an asking)."""

    name: str
    run_dir: Path
    polls: dict[str, PollResult]


def read_group_polls(name: str, run_dir: str | Path) -> GroupPolls:
    path = Path(run_dir)
    by_id: dict[str, PollResult] = {}
    for result in collect_polls(read_events(path / EVENTS_FILE)):
        by_id[result.poll_id] = result
    return GroupPolls(name, path, by_id)


def load_polls(path: str | Path) -> list[GroupPolls]:
    """The polls of a run folder (one group) or of a study folder (every group that finished)."""
    return [read_group_polls(name, run_dir) for name, run_dir in study_groups(path)]


def study_groups(path: str | Path) -> list[tuple[str, Path]]:
    """``(name, run folder)`` of a run folder (itself, one group) or of a study folder's
    groups that finished.

    A study folder is recognised by its ``study.json`` (groups marked failed are left out) or,
    for a study that was interrupted before writing it, by subfolders holding an event log.
    """
    root = Path(path)
    if (root / EVENTS_FILE).is_file():
        return [(root.name, root)]
    if (root / STUDY_JSON).is_file():
        try:
            data = json.loads((root / STUDY_JSON).read_text(encoding="utf-8"))
            groups = [(str(g["name"]), str(g["run_dir"])) for g in data["groups"] if g.get("status") == "ok"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BadInputError(f"cannot be read as a study ({exc})", path=str(root / STUDY_JSON)) from None
        if not groups:
            raise BadInputError("no group of this study finished", path=str(root / STUDY_JSON))
        return [(name, root / rel) for name, rel in groups]
    runs = sorted(p for p in root.iterdir() if (p / EVENTS_FILE).is_file()) if root.is_dir() else []
    if not runs:
        raise BadInputError("not a run or study folder (no events.jsonl, no study.json)", path=str(root))
    return [(p.name, p) for p in runs]


# -- pool ---------------------------------------------------------------------------------------


def pool_results(results: Sequence[PollResult]) -> PollResult:
    """One :class:`PollResult` holding every answer of ``results`` (same poll, several groups).

    Its ``counts``, ``mean`` and ``stdev`` are :mod:`troupe.core.poll_stats`' own, computed over all the
    answers (the same persona in two groups is two respondents).
    """
    first = results[0]
    pooled = PollResult(
        poll_id=first.poll_id,
        question=first.question,
        kind=first.kind,
        options=list(first.options),
        private_first=first.private_first,
        seq=first.seq,
        section_index=first.section_index,
        section_title=first.section_title,
    )
    for result in results:
        pooled.answers.extend(result.answers)
        pooled.all_answers.extend(result.all_answers)
        pooled.failed.extend(result.failed)
    return pooled


@dataclass(slots=True)
class PooledPoll:
    """A poll across the groups that asked it: the pooled result and each group's own."""

    pooled: PollResult
    groups: list[tuple[str, PollResult]] = field(default_factory=list)

    @property
    def numeric(self) -> bool:
        return self.pooled.kind in NUMERIC_KINDS

    def ci95(self) -> tuple[float, float] | None:
        """Treating every answer as independent (they are not quite: a group hears itself)."""
        return self.pooled.ci95

    def group_means(self) -> list[tuple[str, float]]:
        return [(name, r.mean) for name, r in self.groups if r.mean is not None]

    def ci95_of_group_means(self) -> tuple[float, float] | None:
        """The group as the unit (K − 1 df): honest about answers clustering within a group."""
        return t_interval([m for _, m in self.group_means()]) if self.numeric else None

    def between_groups_sd(self) -> float | None:
        """Numeric polls: the standard deviation of the group means."""
        means = [m for _, m in self.group_means()]
        return statistics.stdev(means) if self.numeric and len(means) >= 2 else None

    def share_ranges(self) -> dict[str, float]:
        """Choice and Likert polls: per option, the largest minus the smallest share of a
        group's participants who chose it — how far groups disagree on that option."""
        if self.pooled.kind not in COUNTED_KINDS:
            return {}
        answered = [r for _, r in self.groups if r.n]
        if len(answered) < 2:
            return {}
        return {
            option: max(r.counts.get(option, 0) / r.n for r in answered)
            - min(r.counts.get(option, 0) / r.n for r in answered)
            for option in self.pooled.options
        }

    def spread(self) -> float | None:
        """One between-group spread figure: sd of group means (numeric), else the widest share range."""
        if self.numeric:
            return self.between_groups_sd()
        ranges = self.share_ranges()
        return max(ranges.values()) if ranges else None

    def rows(self) -> list[CompareRow]:
        """The distribution on common rows — options, or shared bins of number answers — with
        the pooled result first, then each group's: the rows of the charts and of the tables."""
        return side_by_side([self.pooled, *(r for _, r in self.groups)])

    def share_intervals(self) -> list[tuple[float, float] | None]:
        """Per row of :meth:`rows`, the 95 % (Wilson) interval of the pooled share."""
        return [share_interval(r.counts[0], self.pooled.n) for r in self.rows()]

    def to_json(self) -> dict[str, Any]:
        p = self.pooled
        ci, ci_groups = self.ci95(), self.ci95_of_group_means()
        means = self.group_means()
        return {
            "poll_id": p.poll_id,
            "question": p.question,
            "kind": p.kind,
            "options": p.options,
            "n": p.n,
            "counts": p.counts,
            "mean": p.mean,
            "stdev": p.stdev,
            "ci95": list(ci) if ci else None,
            "groups": [
                {"group": name, "n": r.n, "counts": r.counts, "mean": r.mean, "stdev": r.stdev}
                for name, r in self.groups
            ],
            "between_groups": {
                "sd_of_means": self.between_groups_sd(),
                "min_mean": min((m for _, m in means), default=None),
                "max_mean": max((m for _, m in means), default=None),
                "ci95_of_means": list(ci_groups) if ci_groups else None,
                "share_ranges": self.share_ranges() or None,
                "spread": self.spread(),
            },
        }


def pool_polls(groups: Sequence[GroupPolls]) -> list[PooledPoll]:
    """Every poll id found in ``groups``, in the order the first group asked them, pooled."""
    order: list[str] = []
    for group in groups:
        for poll_id in group.polls:
            if poll_id not in order:
                order.append(poll_id)
    pooled: list[PooledPoll] = []
    for poll_id in order:
        members = [(g.name, g.polls[poll_id]) for g in groups if poll_id in g.polls]
        first = members[0][1]
        for name, result in members[1:]:
            if result.kind != first.kind or result.options != first.options:
                raise RunStateError(
                    f"poll {poll_id!r} is a {result.kind} poll with other options in {name} than in "
                    f"{members[0][0]}; these runs cannot be pooled"
                )
        pooled.append(PooledPoll(pool_results([r for _, r in members]), members))
    return pooled


# -- the study's files --------------------------------------------------------------------------


@dataclass(slots=True)
class StudyReport:
    """What ``study.json`` and ``study.md`` say."""

    guide_title: str
    guide_source: str | None
    backend: str | None
    model: str | None
    seed: int
    rounds_cap: int | None
    panel_size: int | None
    outcomes: list[GroupOutcome]
    polls: list[PooledPoll]
    saturation: Saturation | None = None
    """New themes per additional group (``sessions/saturation.py``)."""
    created_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def failed(self) -> list[GroupOutcome]:
        return [o for o in self.outcomes if not o.ok]

    def to_json(self, study_dir: Path) -> dict[str, Any]:
        return {
            "study": {
                "guide": self.guide_title,
                "spec": self.guide_source,
                "backend": self.backend,
                "model": self.model,
                "groups": len(self.outcomes),
                "seed": self.seed,
                "rounds_cap": self.rounds_cap,
                "panel_size": self.panel_size,
                "created_at": self.created_at,
            },
            "caveat": CAVEAT,
            "groups": [
                {
                    "name": o.plan.name,
                    "run_dir": _relative(o.run_dir, study_dir),
                    "seed": o.plan.seed,
                    "personas": o.plan.personas,
                    "status": "ok" if o.ok else "failed",
                    "error": o.error,
                }
                for o in self.outcomes
            ],
            "polls": [p.to_json() for p in self.polls],
            **({"saturation": self.saturation.to_json()} if self.saturation is not None else {}),
        }


def aggregate(outcomes: Sequence[GroupOutcome]) -> list[PooledPoll]:
    """Pool the polls of the groups that finished (a failed group's partial answers are left out:
    a group cut off mid-poll would weigh the pool towards whoever answered first)."""
    finished = [read_group_polls(o.plan.name, o.run_dir) for o in outcomes if o.ok]
    return pool_polls(finished) if finished else []


def theme_saturation(outcomes: Sequence[GroupOutcome]) -> Saturation:
    """Saturation over the groups that finished, in study order."""
    return saturation([(o.plan.name, read_events(o.run_dir / EVENTS_FILE)) for o in outcomes if o.ok])


def write_study(report: StudyReport, study_dir: str | Path) -> tuple[Path, Path]:
    """Write ``study.json``, ``study.md`` and ``study.html`` (each atomically); returns the
    first two paths (``study.html`` sits beside them)."""
    root = Path(study_dir)
    root.mkdir(parents=True, exist_ok=True)
    json_path = _atomic_write(root / STUDY_JSON, json.dumps(report.to_json(root), ensure_ascii=False, indent=2) + "\n")
    md_path = _atomic_write(root / STUDY_MD, render_markdown(report))
    _atomic_write(root / STUDY_HTML, render_html(report))
    return json_path, md_path


def render_markdown(report: StudyReport) -> str:
    ok = len(report.outcomes) - len(report.failed)
    lines = [
        f"# Study: {report.guide_title}",
        "",
        f"> {CAVEAT}",
        "",
        f"- groups: {len(report.outcomes)} ({ok} finished, {len(report.failed)} failed)",
        f"- backend: {report.backend or '?'} · model: {report.model or '?'}",
        f"- seeds: {report.seed}…{report.seed + len(report.outcomes) - 1}"
        + (f" · rounds cap: {report.rounds_cap}" if report.rounds_cap is not None else ""),
        f"- panels: {'a balanced sample of ' + str(report.panel_size) + ' personas per group' if report.panel_size else 'the same panel in every group'}",
        "",
        "## Groups",
        "",
        "| group | seed | personas | status |",
        "|---|---|---|---|",
    ]
    for o in report.outcomes:
        status = "ok" if o.ok else f"failed: {_cell(o.error or '')}"
        lines.append(f"| {o.plan.name} | {o.plan.seed} | {_cell(', '.join(o.plan.personas))} | {status} |")
    lines += ["", "## Polls", ""]
    if not report.polls:
        lines.append("No poll was answered in a finished group.")
    for poll in report.polls:
        lines += _poll_markdown(poll)
    if report.saturation is not None:
        lines += ["", *saturation_markdown(report.saturation)]
    lines += [
        "",
        "## Reading these numbers",
        "",
        "- The 95 % CI treats every answer as independent. Participants in one group hear each other, "
        "so the CI over group means (the group as the unit) is the more honest one.",
        "- A large between-group spread means the result depends on who was seated and in which order: "
        "run more groups before trusting it.",
    ]
    return "\n".join(lines) + "\n"


STUDY_CSS = """
.groups-note { color: var(--muted); font-size: .9rem; }
"""


def render_html(report: StudyReport) -> str:
    """``study.html``: per poll, the pooled distribution with 95 % intervals, then the groups
    side by side (so their spread shows), each chart with its numbers in a table beside it;
    then the theme saturation curve (``sessions/saturation.py``, as in ``study.md``)."""
    ok = len(report.outcomes) - len(report.failed)
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(report.outcomes))]
    body = [
        f"<header><h1>Study: {esc(report.guide_title)}</h1>",
        f'<p class="notice" role="note"><strong>Simulated participants.</strong> {esc(SIMULATED_NOTICE)}</p>',
        f'<p class="small">{esc(CAVEAT)}</p>',
        '<dl class="meta">'
        + "".join(
            f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>"
            for k, v in (
                ("groups", f"{len(report.outcomes)} ({ok} finished, {len(report.failed)} failed)"),
                ("backend", f"{report.backend or '?'} · model {report.model or '?'}"),
                ("seeds", f"{report.seed}…{report.seed + len(report.outcomes) - 1}"),
            )
        )
        + "</dl></header>",
        '<section><h2>Groups</h2><table><thead><tr><th>group</th><th class="num">seed</th><th>personas</th>'
        "<th>status</th></tr></thead><tbody>",
    ]
    for o in report.outcomes:
        status = "ok" if o.ok else f"failed: {o.error or ''}"
        body.append(
            f'<tr><td>{esc(o.plan.name)}</td><td class="num">{o.plan.seed}</td>'
            f"<td>{esc(', '.join(o.plan.personas))}</td><td>{esc(status)}</td></tr>"
        )
    body.append("</tbody></table></section><section><h2>Polls</h2>")
    if not report.polls:
        body.append("<p>No poll was answered in a finished group.</p>")
    for poll in report.polls:
        body.append(_poll_html(poll, colours))
    body.append("</section>")
    if report.saturation is not None:
        body.append(saturation_html(report.saturation))
    body.append(
        "<section><h2>Reading these numbers</h2><ul><li>The intervals treat every answer as "
        "independent. Participants in one group hear each other, so the interval over group means (the group "
        "as the unit) is the more honest one.</li><li>A large between-group spread means the result depends on "
        "who was seated and in which order: run more groups before trusting it.</li></ul></section>"
    )
    return page(f"Study: {report.guide_title}", "en", "\n".join(body), extra_css=STUDY_CSS)


def _poll_html(poll: PooledPoll, colours: list[str]) -> str:
    p = poll.pooled
    parts = [f'<div class="poll" id="poll-{esc(p.poll_id)}">', f"<h3>{esc(p.poll_id)} ({esc(p.kind)})</h3>"]
    parts.append(f"<p><em>{esc(p.question)}</em></p>")
    facts = [f"pooled: n = {p.n}"]
    if poll.numeric:
        ci, ci_groups = poll.ci95(), poll.ci95_of_group_means()
        facts.append(
            f"mean {_num(p.mean)} · sd {format_sd(p.stdev)}" + (f" · 95 % CI {_num(ci[0])}–{_num(ci[1])}" if ci else "")
        )
        facts.append(
            f"between groups: sd of means {format_sd(poll.between_groups_sd())}"
            + (f" · 95 % CI over group means {_num(ci_groups[0])}–{_num(ci_groups[1])}" if ci_groups else "")
        )
    else:
        spread = poll.spread()
        if spread is not None:
            facts.append(f"between groups: widest gap in an option's share {spread:.0%}")
    parts.append('<p class="small">' + " · ".join(esc(f) for f in facts) + "</p>")
    rows = poll.rows()
    if rows:
        intervals = poll.share_intervals()
        pooled_rows = [ChartRow(r.label, r.counts[:1], r.shares[:1], intervals=(ci,)) for r, ci in zip(rows, intervals)]
        parts.append(
            '<figure class="chart">'
            + bar_chart_svg(pooled_rows, [("pooled", "#3b5bdb")], title=f"{p.poll_id}, pooled, with 95 % intervals")
            + '<figcaption class="small">Pooled: count, share of respondents and its 95 % (Wilson) interval.'
            "</figcaption></figure>"
        )
        parts.append(compare_table(pooled_rows, ["pooled"], caption="Pooled distribution"))
        names = [f"{name} (n={r.n})" for name, r in poll.groups]
        group_rows = [ChartRow(r.label, r.counts[1:], r.shares[1:]) for r in rows]
        parts.append(
            '<figure class="chart">'
            + bar_chart_svg(group_rows, list(zip(names, colours)), title=f"{p.poll_id}, group by group")
            + '<figcaption class="small">Each group\'s answers side by side: how far the groups differ.'
            "</figcaption></figure>"
        )
        parts.append(compare_table(group_rows, [name for name, _ in poll.groups], caption="Groups side by side"))
    parts.append("</div>")
    return "\n".join(parts)


def _poll_markdown(poll: PooledPoll) -> list[str]:
    p = poll.pooled
    lines = [f"### {p.poll_id} ({p.kind})", "", f"> {p.question}", ""]
    if poll.numeric:
        ci, ci_groups = poll.ci95(), poll.ci95_of_group_means()
        lines.append(
            f"- pooled: n = {p.n} · mean {_num(p.mean)} · sd {format_sd(p.stdev)}"
            + (f" · 95 % CI {_num(ci[0])}–{_num(ci[1])}" if ci else "")
        )
        means = ", ".join(f"{name} {_num(m)}" for name, m in poll.group_means())
        lines.append(f"- group means: {means or '—'}")
        lines.append(
            f"- between groups: sd of means {format_sd(poll.between_groups_sd())}"
            + (f" · 95 % CI over group means {_num(ci_groups[0])}–{_num(ci_groups[1])}" if ci_groups else "")
        )
    else:
        lines.append(f"- pooled: n = {p.n}")
        spread = poll.spread()
        if spread is not None:
            lines.append(f"- between groups: widest gap in an option's share {spread:.0%}")
    rows = poll.rows()
    if rows:
        header = "| answer | pooled | 95 % CI | " + " | ".join(name for name, _ in poll.groups) + " |"
        lines += ["", header, "|---" * (3 + len(poll.groups)) + "|"]
        for row, interval in zip(rows, poll.share_intervals()):
            share = f" ({format_share(row.shares[0])})" if p.n else ""
            ci = f"{format_share(interval[0])}–{format_share(interval[1])}" if interval else "—"
            cells = " | ".join(str(c) for c in row.counts[1:])
            lines.append(f"| {_cell(row.label)} | {row.counts[0]}{share} | {ci} | {cells} |")
    lines.append("")
    return lines


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _atomic_write(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


__all__ = [
    "CAVEAT",
    "STUDY_JSON",
    "STUDY_HTML",
    "STUDY_MD",
    "GroupOutcome",
    "GroupPlan",
    "GroupPolls",
    "PooledPoll",
    "StudyReport",
    "aggregate",
    "group_name",
    "load_polls",
    "plan_groups",
    "plan_panels",
    "pool_polls",
    "pool_results",
    "read_group_polls",
    "render_html",
    "render_markdown",
    "run_groups",
    "write_study",
]
