"""Headless runs: a guide taken to its end with no UI, rich progress on stderr.

``troupe run --headless``, ``troupe resume --headless`` and studies drive sessions through
:func:`run_headless` and :func:`resume_headless`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from troupe.core.budget import Limits, projection_text
from troupe.core.card import PersonaCard
from troupe.core.config import Settings
from troupe.core.events import Event
from troupe.core.llm.protocol import ChatBackend

from .guide import Guide
from .opening import open_session, reopen_session
from .plan import Beat
from .session import Session


async def run_headless(
    guide: Guide,
    cards: Sequence[PersonaCard],
    backend: ChatBackend,
    run_dir: str | Path,
    *,
    seed: int = 0,
    rounds_cap: int | None = None,
    progress: bool = True,
    settings: Settings | None = None,
    limits: Limits | None = None,
    **session_options: Any,
) -> Path:
    """Run ``guide`` to its end with no UI (rich progress on stderr); returns the run dir.

    Opened by :func:`~troupe.sessions.opening.open_session` like every session, unattended: a
    backend failure halts the run (resumable) rather than losing the turn."""
    session = await open_session(
        guide,
        cards,
        backend,
        run_dir,
        settings=settings,
        seed=seed,
        rounds_cap=rounds_cap,
        unattended=True,
        limits=limits,
        **session_options,
    )
    return await _drive(session, progress=progress)


async def resume_headless(
    run_dir: str | Path, backend: ChatBackend, *, progress: bool = True, limits: Limits | None = None
) -> Path:
    """Reopen a stopped run and take it to its end with no UI; returns the run dir. ``limits``
    replace the run's budget limits (a run paused by a budget goes on with higher ones)."""
    session = await reopen_session(run_dir, backend, unattended=True)
    return await _drive(session, progress=progress, limits=limits)


async def _drive(session: Session, *, progress: bool, limits: Limits | None = None) -> Path:
    """Raises :class:`~troupe.core.budget.BudgetReachedError` (exit 1) when a budget pauses it."""
    try:
        if limits is not None and limits.any:
            session.set_limits(limits)
        if progress:
            await _with_progress(session)
        else:
            await session.run_to_end()
    finally:
        await session.aclose()
    return session.run_dir


async def _with_progress(session: Session) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    state = session.state
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(_short(state.title), total=state.beats_total, completed=state.beats_done, stats="")

        current = [""]

        def refresh() -> None:
            s = session.state
            stats = f"{s.calls} calls · {s.prompt_tokens + s.completion_tokens:,} tok"
            if s.cost_usd:
                stats += f" · ${s.cost_usd:.3f}"
            if s.errors:
                stats += f" · {s.errors} errors"
            stats += f" · {projection_text(session.projection())}"
            bar.update(task, completed=s.beats_done, stats=" · ".join(filter(None, (current[0], stats))))

        def on_beat(beat: Beat) -> None:
            current[0] = beat.describe()
            refresh()

        def on_event(event: Event) -> None:  # live figures during a long round, not only between beats
            if event.type in ("llm_call", "error"):
                refresh()

        unsubscribe = session.subscribe(on_event)
        try:
            await session.run_to_end(on_beat=on_beat)
        finally:
            unsubscribe()


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
