"""Entry points for the CLI: open the TUI on a new or a resumed session.

``sessions/commands/ui.py`` — the ``troupe`` command's composition root, the one module of the
sessions layer allowed to import the UI — hands out :func:`launch_session` and
:func:`launch_resume`. Sessions open through ``troupe.sessions.opening`` like everywhere else. The ``*_app`` builders return the
app without running it, for tests, snapshots and benchmarks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from troupe.core.card import PersonaCard
from troupe.core.config import Settings

from .app import TroupeApp, run_app
from .config import TuiConfig


def new_session_app(
    guide: Any,
    cards: Sequence[PersonaCard],
    backend: Any,
    run_dir: str | Path,
    *,
    settings: Settings | None = None,
    seed: int = 0,
    rounds_cap: int | None = None,
    retrieval: str | None = None,
    turn_check: bool | None = None,
    turn_check_threshold: int | None = None,
    config: TuiConfig | None = None,
) -> TroupeApp:
    """An app that starts a new session of ``guide`` with ``cards`` in ``run_dir``."""

    async def opener(cfg: TuiConfig) -> Any:
        from troupe.sessions.opening import open_session

        return await open_session(
            guide,
            cards,
            backend,
            run_dir,
            settings=settings,
            seed=seed,
            rounds_cap=rounds_cap,
            retrieval=retrieval,
            turn_check=turn_check,
            turn_check_threshold=turn_check_threshold,
            clock=cfg.clock,
        )

    return TroupeApp(config, opener=opener, opening_label=f"Starting “{guide.title}”…")


def resume_app(run_dir: str | Path, backend: Any, *, config: TuiConfig | None = None) -> TroupeApp:
    """An app that reopens the run in ``run_dir`` where its event log stops."""

    async def opener(cfg: TuiConfig) -> Any:
        from troupe.sessions.opening import reopen_session

        return await reopen_session(run_dir, backend, clock=cfg.clock)

    return TroupeApp(config, opener=opener, opening_label=f"Resuming {run_dir}…")


def launch_session(guide: Any, cards: Sequence[PersonaCard], backend: Any, run_dir: str | Path, **opening: Any) -> int:
    """Run the TUI on a new session; returns the exit code (0, or 1/2 if it could not start).
    ``opening`` is :func:`new_session_app`'s (settings, seed, rounds_cap, retrieval, turn_check…)."""
    config = TuiConfig(runs_dir=Path(run_dir).parent)
    return run_app(new_session_app(guide, cards, backend, run_dir, config=config, **opening))


def launch_resume(run_dir: str | Path, backend: Any) -> int:
    """Run the TUI on a stopped or crashed run; returns the exit code."""
    return run_app(resume_app(run_dir, backend, config=TuiConfig(runs_dir=Path(run_dir).parent)))


def launch_watch(run_dir: str | Path, observer: str | None = None) -> int:
    """``troupe watch RUN_DIR``: follow a run read-only (``tui/watch.py``)."""
    from .watch import launch_watch as watch

    return watch(run_dir, observer)
