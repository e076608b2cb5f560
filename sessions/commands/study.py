"""``troupe study`` and ``troupe validate``: the two research commands.

::

    troupe study SESSION --groups K [--panel-size N] [--personas P,…] [--backend B] [--model M]
                 [--seed S] [--rounds N] [--out DIR] [--concurrency C]
    troupe validate RUN_DIR --human FILE.csv --column COL [--poll POLL_ID] [--format md|json|html]

``study`` runs K groups of one guide headless (:mod:`troupe.sessions.study`), writes
``DIR/study.json``, ``DIR/study.md`` and ``DIR/study.html`` and prints a table of the pooled polls; it exits 1 when
any group failed (the others are still aggregated). ``validate`` compares one poll of a run or
study with a column of real answers (:mod:`troupe.sessions.human_validation`). Options mirror
``troupe run``'s names. Backends and the persona library are imported inside the handlers so
that ``troupe --help`` stays fast.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from troupe.core.card import PersonaCard
from troupe.core.errors import BadInputError
from troupe.core.llm.factory import make_backend
from troupe.core.llm.protocol import ChatBackend

from ..batching import (
    BATCH_STATE,
    JobProgress,
    add_batch_options,
    batch_backend,
    batching,
    file_written_note,
    make_job_backend,
    run_job,
)
from ..guide import Guide, load_guide
from ..opening import seat_cards
from ..run import check_new_run_dir, default_run_dir, read_meta
from ..study import (
    GroupOutcome,
    GroupPlan,
    PooledPoll,
    StudyReport,
    aggregate,
    plan_groups,
    pool_results,
    run_groups,
    theme_saturation,
    write_study,
)
from .options import (
    add_backend_options,
    add_poll_sampling_options,
    add_turn_check_options,
    apply_poll_sampling,
    non_negative,
    poll_sampling_note,
    positive,
    turn_check_choice,
)
from .run import add_budget_options, budget_limits


def register(subparsers: Any) -> None:
    study = subparsers.add_parser(
        "study",
        help="run K groups of a guide headless and pool their polls",
        description=(
            "Run a guide with K independent groups (different panels, rotated stimuli), then pool every "
            "poll: counts, means, 95 % CIs and how much groups differ. Writes DIR/study.json, DIR/study.md and DIR/study.html."
        ),
    )
    study.add_argument("session", metavar="SESSION", help="a guide file (.toml) or a shipped guide name")
    study.add_argument("--groups", type=positive, required=True, metavar="K", help="number of groups to run")
    study.add_argument(
        "--panel-size",
        type=positive,
        metavar="N",
        help="seat a different balanced sample of N personas in each group, from --personas or the whole library "
        "(default: every group seats the guide's panel, or --personas)",
    )
    study.add_argument(
        "--personas", metavar="P[,P…]", help="personas to seat or to sample from (library names or files)"
    )
    add_backend_options(study)
    study.add_argument(
        "--seed", type=int, default=0, help="group i runs with seed S+i; panels are drawn with S (default 0)"
    )
    study.add_argument("--rounds", type=non_negative, metavar="N", help="cap each discussion block at N rounds")
    study.add_argument("--out", metavar="DIR", help="study folder (default: runs/<time>-<guide>-study)")
    study.add_argument(
        "--concurrency", type=positive, default=2, metavar="C", help="groups running at once (default 2)"
    )
    add_poll_sampling_options(study)
    add_turn_check_options(study)
    add_budget_options(study)  # per group: a group that would pass a limit pauses (resumable) and counts as failed
    add_batch_options(study)
    ab = study.add_argument_group("A/B (optional): SESSION is the control arm; each --arm adds one")
    ab.add_argument(
        "--arm",
        action="append",
        metavar="NAME=GUIDE",
        help="a variant arm: K groups of GUIDE (the same polls); personas are randomised to arms (repeatable)",
    )
    ab.add_argument(
        "--match-on",
        metavar="ATTR[,ATTR…]",
        help="with --arm: balance the arms on these persona attributes (e.g. gender,age; age by decade)",
    )
    check = study.add_argument_group("validation (optional): compare the pooled polls with real answers")
    check.add_argument("--human", metavar="FILE.csv", help="CSV of real answers; writes DIR/validation.md and .json")
    check.add_argument("--column", action="append", metavar="COL", help="with --human: answer column (repeatable)")
    check.add_argument("--poll", action="append", metavar="POLL_ID", help="with --human: the poll per --column")
    check.add_argument("--map", action="append", metavar="LABEL=VALUE;…", help="with --human: text labels to values")
    check.add_argument("--by", metavar="COL", help="with --human: break down by this demographic column")
    study.set_defaults(handler=cmd_study)

    validate = subparsers.add_parser(
        "validate",
        help="compare a simulated poll with real human answers from a CSV",
        description=(
            "Compare one poll's simulated answers (a run, or every group of a study) with a column of real "
            "answers: means, Welch's t, Mann-Whitney U, distributions, chi-square, and a plain verdict."
        ),
    )
    validate.add_argument(
        "run_dir", metavar="RUN_DIR", nargs="?", help="a run folder or a study folder (or use --simulated)"
    )
    validate.add_argument(
        "--human", required=True, metavar="FILE.csv", help="CSV file of real answers, with a header row"
    )
    validate.add_argument(
        "--column",
        required=True,
        action="append",
        metavar="COL",
        help="the CSV column holding the answers (repeat for several columns)",
    )
    validate.add_argument(
        "--poll",
        action="append",
        metavar="POLL_ID",
        help="the poll to compare (required when the run has several; repeat to pair with each --column)",
    )
    validate.add_argument(
        "--simulated", metavar="FILE.csv", help="simulated answers from a CSV instead of a run (another tool, a study)"
    )
    validate.add_argument(
        "--simulated-column",
        action="append",
        metavar="COL",
        help="the --simulated CSV's answer column (default: the same name as --column; repeat to pair)",
    )
    validate.add_argument(
        "--scale",
        metavar="SCALE",
        help="likert5 (default for --simulated), likert7, or LO-HI (whole points, e.g. 0-10; LO-HI:continuous)",
    )
    validate.add_argument(
        "--map",
        action="append",
        metavar="LABEL=VALUE;…",
        help='text labels to scale values, e.g. "Definitely would buy=5;Probably would buy=4" (repeatable)',
    )
    validate.add_argument(
        "--by", metavar="COL", help="break down by this demographic column of the CSV (age band, gender…)"
    )
    validate.add_argument(
        "--format",
        "-f",
        choices=("md", "json", "html"),
        default="md",
        help="output on stdout (default md; html: a self-contained page with the distributions charted)",
    )
    validate.set_defaults(handler=cmd_validate)


# -- study ---------------------------------------------------------------------------------------


def cmd_study(args: argparse.Namespace) -> int:
    if args.human is not None or args.column:
        _check_validation_args(args)  # before any group runs: a typo should not cost a study
    if args.arm:
        return _study_arms(args)
    if args.match_on:
        raise BadInputError("--match-on goes with --arm", field="--match-on")
    guide = apply_poll_sampling(load_guide(args.session), args)
    note = poll_sampling_note(guide)
    if note:
        print(note, file=sys.stderr)
    pool = persona_pool(guide, args.personas, args.panel_size)
    plans = plan_groups(pool, groups=args.groups, seed=args.seed, panel_size=args.panel_size)
    resume = batching(args) and bool(args.out) and (Path(args.out) / BATCH_STATE).is_dir()
    if resume:  # a batch study stopped or killed: finish it in the same folder
        study_dir = Path(args.out)
    else:
        study_dir = check_new_run_dir(args.out) if args.out else _default_study_dir(guide)
    from troupe.core.config import load_settings

    settings = load_settings()
    options: dict[str, Any] = {"settings": settings, **turn_check_choice(args)}  # applied by open_session
    limits = budget_limits(args)
    if limits is not None:
        options["limits"] = limits
    study_dir.mkdir(parents=True, exist_ok=True)
    concurrency = args.concurrency
    if batching(args):  # every group's wave in the same batch: all groups at once, no turn limit
        concurrency = len(plans)
        options["max_concurrency"] = max(len(p.cards) for p in plans)
        (study_dir / BATCH_STATE).mkdir(exist_ok=True)
    with JobProgress(f"study · {len(plans)} groups", len(plans), quiet=args.quiet) as progress:
        inner = make_job_backend(settings, args) if batching(args) else make_backend(settings, args.backend, args.model)
        backend = batch_backend(inner, args, study_dir, progress)
        outcomes = asyncio.run(
            _run_with_progress(
                guide, plans, backend, study_dir, args.rounds, concurrency, options, progress=progress, resume=resume
            )
        )
    if outcomes is None:
        again = f"troupe study {args.session} --groups {args.groups} --seed {args.seed} --out {study_dir}"
        print(f"troupe: {file_written_note(backend, progress.lines_written, again)}", file=sys.stderr)
        return 0
    first_ok = next((o for o in outcomes if o.ok), None)
    meta = read_meta(first_ok.run_dir) if first_ok else {}
    report = StudyReport(
        guide_title=guide.title,
        guide_source=str(guide.source) if guide.source else None,
        backend=meta.get("backend") or getattr(backend, "name", None),
        model=meta.get("model") or getattr(backend, "model", None),
        seed=args.seed,
        rounds_cap=args.rounds,
        panel_size=args.panel_size,
        outcomes=outcomes,
        polls=aggregate(outcomes),
        saturation=theme_saturation(outcomes),
    )
    json_path, md_path = write_study(report, study_dir)
    print_study_table(report)
    print_saturation(report)
    for failed in report.failed:
        print(f"troupe: {failed.plan.name} failed: {failed.error}", file=sys.stderr)
    if report.failed:
        print(
            f"troupe: {len(report.failed)} of {len(outcomes)} groups failed; the others are aggregated. "
            f"Continue a failed group with `troupe resume {report.failed[0].run_dir}`",
            file=sys.stderr,
        )
    print(f"wrote {json_path}, {md_path} and {md_path.with_name('study.html')}", file=sys.stderr)
    if args.human is not None and len(report.failed) < len(outcomes):
        _write_validation(args, study_dir, md_path)
    return 1 if report.failed else 0


def _check_validation_args(args: argparse.Namespace) -> None:
    from troupe.personas.survey import read_survey

    if args.human is None or not args.column:
        raise BadInputError("--human FILE.csv and --column COL go together", field="--human")
    read_survey(args.human, [*args.column, *([args.by] if args.by else [])])  # the columns exist


def _write_validation(args: argparse.Namespace, study_dir: Path, md_path: Path) -> None:
    """``DIR/validation.json`` and ``.md``, and the headlines appended to the study report."""
    import json

    from ..human_validation import render_validation_html, validate_columns

    try:
        results = validate_columns(study_dir, args.human, args.column, args.poll, maps=args.map, by=args.by)
    except BadInputError as exc:
        print(f"troupe: validation not written: {exc}", file=sys.stderr)
        return
    data = results[0].to_json() if len(results) == 1 else {"validations": [r.to_json() for r in results]}
    (study_dir / "validation.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", "utf-8")
    (study_dir / "validation.md").write_text("\n".join(r.render_markdown() for r in results), "utf-8")
    (study_dir / "validation.html").write_text(render_validation_html(results), "utf-8")
    lines = ["", "## Validation against real answers", ""]
    for r in results:
        lines.append(f"- **{r.simulated.poll_id}** vs {Path(r.csv_path).name} column {r.column!r}: {r.verdicts()[0]}")
    lines += ["", "Every figure: validation.md (charted in validation.html; data in validation.json).", ""]
    with md_path.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    for r in results:
        print(f"{r.simulated.poll_id}: {r.verdicts()[0]}")
    print(
        f"wrote {study_dir / 'validation.json'}, {study_dir / 'validation.md'} and {study_dir / 'validation.html'}",
        file=sys.stderr,
    )


def _study_arms(args: argparse.Namespace) -> int:
    """``--arm``: the control (SESSION) and each variant run K groups each, on personas
    randomised to the arms; then every poll asked in all arms is compared (``DIR/ab.md``/``.json``)."""
    import json

    from troupe.core.config import load_settings

    from ..ab import assign_arms, compare_arms, parse_arm, render_markdown
    from ..study import CAVEAT, load_polls

    if args.human is not None:
        raise BadInputError("validate each arm's folder with `troupe validate DIR/ARM`", field="--human")
    arms = [("control", args.session), *(parse_arm(a) for a in args.arm)]
    names = [n for n, _ in arms]
    if len(set(names)) != len(names):
        raise BadInputError("arm names must differ (the first arm, SESSION, is 'control')", field="--arm")
    guides = {name: apply_poll_sampling(load_guide(g), args) for name, g in arms}
    note = poll_sampling_note(guides["control"])
    if note:
        print(note, file=sys.stderr)
    match_on = [a.strip() for a in (args.match_on or "").split(",") if a.strip()]
    pool = persona_pool(guides["control"], args.personas, args.panel_size)
    split = assign_arms(pool, names, match_on=match_on, seed=args.seed)
    plans = {
        name: plan_groups(split[name], groups=args.groups, seed=args.seed, panel_size=args.panel_size) for name in names
    }
    study_dir = check_new_run_dir(args.out) if args.out else _default_study_dir(guides["control"])
    settings = load_settings()
    options: dict[str, Any] = {
        **({"max_concurrency": settings.max_concurrency} if settings.origin("max_concurrency") else {}),
        **turn_check_choice(args),
    }
    failed = 0
    for name in names:
        print(f"arm {name}: {', '.join(c.name for c in split[name])}", file=sys.stderr)
        backend = make_backend(settings, args.backend, args.model)
        arm_dir = study_dir / name
        arm_dir.mkdir(parents=True, exist_ok=True)
        outcomes = (
            asyncio.run(
                _run_with_progress(guides[name], plans[name], backend, arm_dir, args.rounds, args.concurrency, options)
            )
            or []
        )
        report = StudyReport(
            guide_title=guides[name].title,
            guide_source=str(guides[name].source) if guides[name].source else None,
            backend=getattr(backend, "name", None),
            model=getattr(backend, "model", None),
            seed=args.seed,
            rounds_cap=args.rounds,
            panel_size=args.panel_size,
            outcomes=outcomes,
            polls=aggregate(outcomes),
        )
        write_study(report, arm_dir)
        failed += len(report.failed)
    pooled = {}
    for name in names:
        try:
            groups = load_polls(study_dir / name)
        except BadInputError:
            groups = []
        pooled[name] = {
            pid: pool_results([g.polls[pid] for g in groups if pid in g.polls])
            for pid in dict.fromkeys(p for g in groups for p in g.polls)
        }
    comparisons = [
        compare_arms(pooled["control"][pid], pooled[name][pid], control_name="control", arm_name=name)
        for name in names[1:]
        for pid in pooled["control"]
        if pid in pooled[name] and pooled["control"][pid].kind == pooled[name][pid].kind
    ]
    arms_json = {name: [c.name for c in split[name]] for name in names}
    data = {
        "arms": [{"name": n, "guide": g, "personas": arms_json[n]} for n, g in arms],
        "match_on": match_on,
        "seed": args.seed,
        "groups_per_arm": args.groups,
        "comparisons": [c.to_json() for c in comparisons],
        "caveat": CAVEAT,
    }
    (study_dir / "ab.json").write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (study_dir / "ab.md").write_text(render_markdown(arms_json, comparisons, CAVEAT), encoding="utf-8")
    for c in comparisons:
        print(f"{c.poll_id}: {c.summary()}")
    print(f"wrote {study_dir / 'ab.json'} and {study_dir / 'ab.md'}", file=sys.stderr)
    return 1 if failed else 0


def persona_pool(guide: Guide, personas: str | None, panel_size: int | None) -> list[PersonaCard]:
    """Who may sit in the study's groups: with ``--panel-size``, the personas to sample from
    (``--personas`` or the whole library); without, the one panel every group seats (``--personas``
    or the guide's panel, as ``troupe run`` seats it)."""
    if panel_size is None:
        return seat_cards(guide, personas)
    from troupe.personas.card import render_card
    from troupe.personas.library import list_library, resolve_persona

    if personas:
        names = [n.strip() for n in personas.split(",") if n.strip()]
        if not names:
            raise BadInputError("no persona names given", field="--personas")
        return [render_card(resolve_persona(n)) for n in names]
    return [render_card(p) for p in list_library()]


def _default_study_dir(guide: Guide) -> Path:
    run_dir = default_run_dir(guide)
    return check_new_run_dir(run_dir.with_name(f"{run_dir.name}-study"))


async def _run_with_progress(
    guide: Guide,
    plans: list[GroupPlan],
    backend: ChatBackend,
    study_dir: Path,
    rounds: int | None,
    concurrency: int,
    options: dict[str, Any],
    *,
    progress: JobProgress | None = None,
    resume: bool = False,
) -> list[GroupOutcome] | None:
    """Run the groups with one progress bar on stderr (per-group bars would fight over the
    terminal: rich allows one live display at a time): groups done, rate, cost so far, ETA.
    None: a ``--batch-file`` wave was written and the groups stopped there."""
    bar = progress or JobProgress(f"study · {len(plans)} groups", len(plans))

    def done(outcome: GroupOutcome) -> None:
        bar.advance(ok=outcome.ok)
        status = "done" if outcome.ok else f"failed: {outcome.error}"
        bar.print(f"{outcome.plan.name} ({', '.join(outcome.plan.personas)}): {status}")

    def on_event(event: Any) -> None:
        if event.type == "llm_call":
            bar.add_cost(float(getattr(event, "cost_usd", 0.0) or 0.0))

    try:
        job = run_groups(
            guide,
            plans,
            backend,
            study_dir,
            rounds_cap=rounds,
            concurrency=concurrency,
            on_done=done,
            on_event=on_event,
            resume=resume,
            **options,
        )
        if progress is None:
            with bar:
                return await job
        outcomes, lines = await run_job(job, backend)
        bar.lines_written = lines
        return outcomes
    finally:
        await backend.aclose()


def print_saturation(report: StudyReport) -> None:
    """The saturation curve as a terminal chart on stderr."""
    if report.saturation is None or not report.saturation.groups:
        return
    from ..saturation import chart_lines

    print("theme saturation (new themes per additional group):", file=sys.stderr)
    for line in chart_lines(report.saturation):
        print(line, file=sys.stderr)


def print_study_table(report: StudyReport) -> None:
    """The pooled polls as a rich table on stdout."""
    from rich.console import Console
    from rich.table import Table

    ok = len(report.outcomes) - len(report.failed)
    table = Table(title=f"{report.guide_title} — {ok} of {len(report.outcomes)} groups (simulated participants)")
    for name, justify in (
        ("poll", "left"),
        ("kind", "left"),
        ("n", "right"),
        ("pooled", "left"),
        ("95% CI", "left"),
        ("per group", "left"),
        ("spread", "right"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for poll in report.polls:
        table.add_row(*_row(poll))
    if not report.polls:
        table.add_row("—", "", "0", "no poll answered in a finished group", "", "", "")
    Console().print(table)


def _row(poll: PooledPoll) -> list[str]:
    p = poll.pooled
    if poll.numeric:
        ci = poll.ci95()
        pooled = f"mean {_num(p.mean)} · sd {_num(p.stdev)}"
        ci_text = f"{_num(ci[0])}–{_num(ci[1])}" if ci else "—"
        per_group = " ".join(_num(m) for _, m in poll.group_means())
        spread = f"sd {_num(poll.spread())}"
    else:
        leader = p.leader()
        pooled = f"{leader} ({p.counts[leader]}/{p.n})" if leader else "—"
        ci_text = "—"
        # The pooled favourite's count in each group: does every group lean the same way?
        per_group = " ".join(f"{r.counts.get(leader, 0)}/{r.n}" for _, r in poll.groups) if leader else "—"
        spread = f"{poll.spread():.0%}" if poll.spread() is not None else "—"
    return [p.poll_id, p.kind, str(p.n), pooled, ci_text, per_group, spread]


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


# -- validate ------------------------------------------------------------------------------------


def cmd_validate(args: argparse.Namespace) -> int:
    from ..human_validation import validate_columns

    if args.run_dir is None and args.simulated is None:
        raise BadInputError("give a run or study folder, or --simulated FILE.csv", field="RUN_DIR")
    if args.run_dir is not None and args.simulated is not None:
        raise BadInputError("give a run or study folder or --simulated FILE.csv, not both", field="--simulated")
    if args.simulated_column and args.simulated is None:
        raise BadInputError("--simulated-column goes with --simulated FILE.csv", field="--simulated-column")
    results = validate_columns(
        args.run_dir,
        args.human,
        args.column,
        args.poll,
        simulated_columns=args.simulated_column,
        simulated_csv=args.simulated,
        scale=args.scale,
        maps=args.map,
        by=args.by,
    )
    if args.format == "json":
        import json

        data: Any = results[0].to_json() if len(results) == 1 else {"validations": [r.to_json() for r in results]}
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.format == "html":
        from ..human_validation import render_validation_html

        print(render_validation_html(results), end="")
    else:
        print("\n".join(r.render_markdown() for r in results), end="")
    return 0
