"""``troupe`` (no command) and ``troupe demo``: the terminal UI's entry points.

``troupe`` opens the home screen; ``troupe demo`` opens a live session of the shipped
``concept-test`` guide with its panel. The UI is imported inside the handlers, so the rest
of the CLI (and headless runs) never load Textual.
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from troupe.core.errors import TroupeError

from .options import add_backend_options, add_turn_check_options, turn_check_choice

DEMO_GUIDE = "concept-test"
RUNS_DIR = Path("runs")

# With the scripted backend the demo paces replies like a real model (a short think, then
# text streaming at about 50 tokens a second), so the panes visibly come alive.
DEMO_SCRIPTED_LATENCY_S = 0.6
DEMO_SCRIPTED_CHUNK = 4
DEMO_SCRIPTED_DELAY_S = 0.02


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="open the TUI on the demo session (concept test, six personas)",
        description="Open a live, moderated demo session in the terminal UI.",
    )
    add_backend_options(demo)
    demo.add_argument("--seed", type=int, default=0, help="seed (rotates concept order; scripted replies)")
    demo.add_argument("--out", metavar="RUN_DIR", help="run folder (default: runs/<time>-concept-test)")
    add_turn_check_options(demo)
    demo.set_defaults(handler=run_demo)
    watch = subparsers.add_parser(
        "watch",
        help="follow a run read-only from another terminal (observers; notes go to the moderator)",
        description="Follow a running (or finished) session read-only: no LLM calls, no writes to its log. "
        "A note typed here goes to the run's observer inbox; the moderator's app logs it (observer_note).",
    )
    watch.add_argument("run_dir", metavar="RUN_DIR", help="the run folder to follow")
    watch.add_argument("--as", dest="observer", metavar="NAME", help="your name on notes (default: your user name)")
    watch.set_defaults(handler=run_watch)


def open_home(args: argparse.Namespace) -> int:
    """``troupe`` alone: the home screen (templates, recent runs, panel, backend)."""
    from troupe.tui.app import TroupeApp, run_app
    from troupe.tui.config import TuiConfig

    return run_app(TroupeApp(TuiConfig(runs_dir=RUNS_DIR)))


def pace_for_demo(backend: Any) -> Any:
    """Give the scripted backend a model's rhythm; other backends are left as they are."""
    from troupe.core.llm.scripted import ScriptedBackend

    target = getattr(backend, "inner", backend)
    if isinstance(target, ScriptedBackend):
        target.latency = DEMO_SCRIPTED_LATENCY_S
        target.stream_chunk = DEMO_SCRIPTED_CHUNK
        target.stream_delay = DEMO_SCRIPTED_DELAY_S
    return backend


def run_demo(args: argparse.Namespace) -> int:
    from troupe.core.config import load_settings
    from troupe.core.llm.factory import make_backend
    from troupe.sessions.guide import load_guide
    from troupe.sessions.opening import seat_cards
    from troupe.sessions.run import check_new_run_dir, default_run_dir

    guide = load_guide(DEMO_GUIDE)
    cards = seat_cards(guide)
    settings = load_settings()
    backend = pace_for_demo(make_backend(settings, args.backend, args.model))
    run_dir = check_new_run_dir(args.out) if args.out else default_run_dir(guide, base=RUNS_DIR)
    launch_session = launcher("launch_session")
    return int(
        launch_session(
            guide,
            cards,
            backend,
            run_dir,
            settings=settings,
            seed=args.seed,
            **turn_check_choice(args),
        )
    )


def run_watch(args: argparse.Namespace) -> int:
    return int(launcher("launch_watch")(args.run_dir, args.observer))


def launcher(function: str) -> Any:
    """``launch_session`` or ``launch_resume`` from the TUI (this module is the one place the
    sessions layer may import the UI: the ``troupe`` command's composition root)."""
    try:
        launch = importlib.import_module("troupe.tui.launch")
    except ImportError:
        raise TroupeError("the terminal UI is not available in this installation; use --headless") from None
    return getattr(launch, function)
