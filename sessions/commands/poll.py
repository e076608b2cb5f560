"""``troupe poll``: a private poll of a whole population, no discussion.

::

    troupe poll POPULATION_DIR --guide G --poll ID [--out RUN_DIR] [--backend B] [--model M]
                [--seed S] [--batch | --batch-file OUT.jsonl] [--batch-results IN.jsonl] [--quiet]

Every persona of the folder answers the guide's poll ``ID`` privately (nobody hears anybody).
The run is an ordinary run folder: ``session_started``, the poll's section, ``poll_asked``,
one ``poll_answer`` (or ``error``) per persona, ``poll_closed``, ``session_ended`` — so
``troupe export``, ``report`` and ``validate`` read it like any other run. Run the same
command again with the same ``--out`` to finish a run that was stopped or killed: answers
already logged are not asked again, and a batch already submitted is attached to, not paid twice.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from troupe.core.errors import BadInputError

from ..batching import (
    JobProgress,
    add_batch_options,
    batch_backend,
    batching,
    event_counter,
    file_written_note,
    make_job_backend,
    run_job,
)
from ..guide import Guide, Section, load_guide
from .options import add_backend_options


def register(subparsers: Any) -> None:
    poll = subparsers.add_parser(
        "poll",
        help="a private poll of a whole population (no discussion), logged as a run",
        description=(
            "Ask one poll of a guide to every persona of a folder, privately: one answer each, nobody hears "
            "anybody. Writes an ordinary run folder. Run it again with the same --out to finish a stopped run."
        ),
    )
    poll.add_argument("population", metavar="POPULATION_DIR", help="a folder of persona files (e.g. from generate)")
    poll.add_argument("--guide", required=True, metavar="G", help="the guide holding the poll (file or shipped name)")
    poll.add_argument("--poll", required=True, metavar="ID", help="the poll's id in the guide")
    poll.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<time>-poll-<ID>); reuse to resume")
    add_backend_options(poll)
    poll.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    add_batch_options(poll)
    poll.set_defaults(handler=cmd_poll)


def poll_guide(guide: Guide, poll_id: str) -> Guide:
    """A one-section guide that only asks ``poll_id`` — privately, answers not revealed."""
    for section in guide.sections:
        for spec in section.polls:
            if spec.id == poll_id:
                private = spec.model_copy(update={"private_first": True, "reveal": False})
                only = Section(title=section.title, prompt=None, rounds=0, polls=[private])
                return guide.model_copy(update={"sections": [only], "title": f"{guide.title} · poll {poll_id}"})
    known = [p.id for s in guide.sections for p in s.polls]
    raise BadInputError(
        f"no poll {poll_id!r} in this guide (its polls: {', '.join(known) or 'none'})",
        path=str(guide.source) if guide.source else None,
        field="--poll",
    )


def cmd_poll(args: argparse.Namespace) -> int:
    from troupe.core.config import load_settings
    from troupe.personas.card import render_card
    from troupe.personas.profile import collect_personas

    guide = poll_guide(load_guide(args.guide), args.poll)
    out = Path(args.out) if args.out else Path("runs") / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-poll-{args.poll}"
    resuming = (out / "events.jsonl").is_file() and (out / "events.jsonl").stat().st_size > 0
    cards = [] if resuming else [render_card(p) for p in collect_personas([args.population])]
    names = [c.name for c in cards]
    if len(set(names)) != len(names):
        raise BadInputError("two personas of this folder have the same name", path=args.population)
    settings = load_settings()
    inner = make_job_backend(settings, args)
    out.mkdir(parents=True, exist_ok=True)
    total = len(cards) if cards else _seated(out)
    with JobProgress(f"poll {args.poll}", total, quiet=args.quiet) as progress:
        backend = batch_backend(inner, args, out, progress)
        again = f"troupe poll {args.population} --guide {args.guide} --poll {args.poll} --out {out}"
        result, lines = asyncio.run(
            _closing(_poll(guide, cards, backend, out, args, settings, progress, resuming), backend)
        )
    if result is None:
        print(f"troupe: {file_written_note(backend, lines, again)}", file=sys.stderr)
        return 0
    ok, failed = result
    print(f"{ok} answers, {failed} failed · {out}", file=sys.stderr)
    if failed:
        print(f"troupe: {failed} personas did not answer; finish with `{again}`", file=sys.stderr)
    return 1 if failed else 0


def _seated(run_dir: Path) -> int:
    from troupe.core.log import read_events

    for event in read_events(run_dir / "events.jsonl"):
        if event.type == "session_started":
            return len(getattr(event, "personas", []) or [])
    return 0


async def _poll(
    guide: Guide,
    cards: list[Any],
    backend: Any,
    out: Path,
    args: argparse.Namespace,
    settings: Any,
    progress: JobProgress,
    resuming: bool,
) -> tuple[tuple[int, int] | None, int]:
    from ..opening import open_session, reopen_session

    if resuming:
        session = await reopen_session(out, backend, unattended=True)
    else:
        options: dict[str, Any] = {"max_concurrency": max(1, len(cards))} if batching(args) else {}
        session = await open_session(
            guide, cards, backend, out, settings=settings, seed=args.seed, unattended=True, **options
        )
    for event in session.events:  # a resumed run: what is already answered
        if event.type == "poll_answer":
            progress.advance()
    session.subscribe(
        event_counter(
            progress,
            lambda e: (
                True
                if e.type == "poll_answer"
                else False
                if e.type == "error" and getattr(e, "purpose", None) == "poll"
                else None
            ),
        )
    )
    try:
        done, lines = await run_job(session.run_to_end(), backend)
    finally:
        await session.aclose()
    if done is None and lines:
        return None, lines
    answered = {e.agent for e in session.events if e.type == "poll_answer"}
    return (len(answered), max(0, len(session.cards) - len(answered))), lines


async def _closing(job: Any, backend: Any) -> Any:
    try:
        return await job
    finally:
        close = getattr(backend, "aclose", None)
        if close is not None:
            await close()
