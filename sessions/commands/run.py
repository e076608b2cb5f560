"""``troupe run``, ``troupe resume`` and ``troupe branch``.

``run`` seats the personas (``--personas`` or the guide's panel), builds the backend and either
opens the TUI on the new session or, with ``--headless``, runs the guide to its end with rich
progress on stderr (none with ``--quiet``, for scripts) and prints the run directory on stdout. ``resume`` reopens a stopped or
crashed run (same TUI/headless choice); ``branch`` copies events ``1..SEQ`` into a new run.

A backend that goes down mid-run stops the session cleanly (exit 1, the log intact, a hint to
``troupe resume``). Imports of the TUI, the backends and the persona library happen inside the
handlers so that ``troupe --help`` stays fast and headless runs never load Textual.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from troupe.core.budget import Limits
from troupe.core.config import RETRIEVALS
from troupe.core.errors import BackendError, BadInputError, BadRunError, DiskError
from troupe.core.llm.factory import make_backend
from troupe.core.llm.protocol import ChatBackend
from troupe.core.log import read_events

from ..batching import add_quiet_option
from ..guide import load_guide
from ..opening import seat_cards
from ..run import EVENTS_FILE, already_ended, branch_run, check_new_run_dir, default_run_dir
from .options import (
    add_backend_options,
    add_poll_sampling_options,
    add_turn_check_options,
    apply_poll_sampling,
    non_negative,
    poll_sampling_note,
    turn_check_choice,
)


def register(subparsers: Any) -> None:
    run = subparsers.add_parser(
        "run",
        help="run a session guide (TUI, or --headless)",
        description="Run a session guide with a panel of personas: live in the TUI, or --headless to the end.",
    )
    run.add_argument("session", metavar="SESSION", help="a guide file (.toml) or a shipped guide name")
    add_backend_options(run)
    run.add_argument(
        "--personas", metavar="P[,P…]", help="personas to seat (library names or files), instead of the guide's panel"
    )
    run.add_argument("--seed", type=int, default=0, help="seed: stimulus order rotation, scripted replies (default 0)")
    run.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<time>-<guide>)")
    run.add_argument("--rounds", type=non_negative, metavar="N", help="cap each discussion block at N rounds")
    run.add_argument(
        "--headless", action="store_true", help="no UI: run to the end, progress on stderr, run dir on stdout"
    )
    add_quiet_option(run, note="; with --headless")
    run.add_argument(
        "--retrieval",
        choices=RETRIEVALS,
        help="how personas recall older memories: lexical (BM25, no calls) or embeddings (the backend's "
        "embeddings endpoint; model from [memory] embedding_model) (default: $TROUPE_RETRIEVAL or lexical)",
    )
    add_poll_sampling_options(run)
    add_turn_check_options(run)
    add_budget_options(run)
    run.set_defaults(handler=cmd_run)

    resume = subparsers.add_parser(
        "resume",
        help="continue a stopped or crashed run",
        description="Reopen a run folder and continue the guide from where it stopped.",
    )
    resume.add_argument("run_dir", metavar="RUN_DIR")
    add_backend_options(resume, default_hint="the run's own")
    resume.add_argument("--headless", action="store_true", help="no UI: run to the end, progress on stderr")
    add_quiet_option(resume, note="; with --headless")
    add_budget_options(resume)
    resume.set_defaults(handler=cmd_resume)

    branch = subparsers.add_parser(
        "branch",
        help="start a new run from events 1..SEQ of a run",
        description="Copy events 1..SEQ of a run into a new run folder, to resume it differently.",
    )
    branch.add_argument("run_dir", metavar="RUN_DIR")
    branch.add_argument("--at", type=int, required=True, metavar="SEQ", help="the last event to keep")
    branch.add_argument("--out", metavar="DIR", help="new run folder (default: RUN_DIR-branch-SEQ)")
    branch.set_defaults(handler=cmd_branch)


def add_budget_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("budgets (headless; the session pauses before a limit would be passed)")
    group.add_argument("--max-cost", type=float, metavar="USD", help="stop before spending more than USD dollars")
    group.add_argument("--max-tokens", type=int, metavar="N", help="stop before using more than N tokens")
    group.add_argument("--max-minutes", type=float, metavar="M", help="stop before M active minutes")


def budget_limits(args: argparse.Namespace) -> Limits | None:
    """The ``--max-*`` options as limits (None when none given); bad values are bad input."""
    limits = Limits(args.max_cost, args.max_tokens, args.max_minutes)
    if not limits.any:
        return None
    for name, value in (
        ("--max-cost", limits.max_cost),
        ("--max-tokens", limits.max_tokens),
        ("--max-minutes", limits.max_minutes),
    ):
        if value is not None and not value >= 0:
            raise BadInputError(f"{name} must be 0 or more")
    if not getattr(args, "headless", True):  # studies are always headless
        raise BadInputError("--max-cost/--max-tokens/--max-minutes apply to --headless runs (for now)")
    return limits


# -- run -------------------------------------------------------------------------------------


def check_quiet(args: argparse.Namespace) -> None:
    """``--quiet`` silences a headless run's progress; a UI session has none to silence."""
    if args.quiet and not args.headless:
        raise BadInputError("--quiet applies to --headless runs (it hides the progress bar)")


def cmd_run(args: argparse.Namespace) -> int:
    check_quiet(args)
    guide = apply_poll_sampling(load_guide(args.session), args)
    note = poll_sampling_note(guide)
    if note:
        print(note, file=sys.stderr)
    cards = seat_cards(guide, args.personas)
    limits = budget_limits(args)
    run_dir = check_new_run_dir(args.out) if args.out else default_run_dir(guide)
    settings = _settings()
    backend = make_backend(settings, args.backend, args.model)
    # The same session whichever way it runs: opened by troupe.sessions.opening either way.
    opening = dict(
        settings=settings,
        seed=args.seed,
        rounds_cap=args.rounds,
        retrieval=args.retrieval,
        **turn_check_choice(args),
    )
    if not args.headless:
        launch = _tui("launch_session")
        try:
            return int(launch(guide, cards, backend, run_dir, **opening))
        finally:
            _close(backend)

    from .. import headless

    job = headless.run_headless(guide, cards, backend, run_dir, **opening, limits=limits, progress=not args.quiet)
    return _headless(job, backend, run_dir)


def _settings() -> Any:
    from troupe.core.config import load_settings

    return load_settings()


def _headless(coro: Any, backend: ChatBackend, run_dir: Path) -> int:
    try:
        done = asyncio.run(_closing(coro, backend))
    except BackendError as exc:  # a fault no waiting fixed: the run stops, resumable
        print(f"troupe: {exc}; the run is saved: continue it with `troupe resume {run_dir}`", file=sys.stderr)
        return 1
    except DiskError as exc:  # full or read-only disk: what was written is valid and resumes
        saved = "nothing was recorded" not in exc.message
        hint = f"; once it is fixed, continue with `troupe resume {run_dir}`" if saved else ""
        print(f"troupe: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C: the turns in flight are dropped whole; the log is intact
        if (run_dir / EVENTS_FILE).is_file():
            print(
                f"troupe: interrupted; the run is saved in {run_dir}; continue it with `troupe resume {run_dir}`",
                file=sys.stderr,
            )
        else:
            print("troupe: interrupted", file=sys.stderr)
        return 130
    print(done)
    return 0


async def _closing(coro: Any, backend: ChatBackend) -> Any:
    try:
        return await coro
    finally:
        await backend.aclose()


def _close(backend: ChatBackend) -> None:
    try:
        asyncio.run(backend.aclose())
    except Exception:  # closing is best effort once the UI has exited
        pass


def _tui(function: str) -> Any:
    """The TUI's launcher, through the one composition root that may import the UI."""
    from . import ui

    return ui.launcher(function)


# -- resume ----------------------------------------------------------------------------------


def cmd_resume(args: argparse.Namespace) -> int:
    check_quiet(args)
    run_dir = Path(args.run_dir)
    if not (run_dir / EVENTS_FILE).is_file():
        raise BadInputError("not a run folder (no events.jsonl)", path=str(run_dir))
    events = read_events(run_dir / EVENTS_FILE)
    if not events or events[0].type != "session_started":
        raise BadRunError("does not start with session_started; is this a Troupe run?", path=str(run_dir / EVENTS_FILE))
    if any(e.type == "session_ended" for e in events):
        raise already_ended(run_dir)  # before building a backend the run would never use
    limits = budget_limits(args)
    backend_name, model = recorded_backend(run_dir)
    backend = make_backend(_settings(), args.backend or backend_name, args.model or (None if args.backend else model))
    if not args.headless:
        launch = _tui("launch_resume")
        try:
            return int(launch(run_dir, backend))
        finally:
            _close(backend)

    from .. import headless

    job = headless.resume_headless(run_dir, backend, limits=limits, progress=not args.quiet)
    return _headless(job, backend, run_dir)


def recorded_backend(run_dir: Path) -> tuple[str | None, str | None]:
    """The backend and model named in the run's ``session_started`` (for a faithful resume)."""
    import json

    with open(run_dir / EVENTS_FILE, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        data = json.loads(first)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    backend = data.get("backend")
    return (backend if backend in ("openai", "local", "scripted") else None), data.get("model")


# -- branch ----------------------------------------------------------------------------------


def cmd_branch(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / EVENTS_FILE).is_file():
        raise BadInputError("not a run folder (no events.jsonl)", path=str(run_dir))
    print(branch_run(run_dir, args.at, args.out))
    return 0
