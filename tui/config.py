"""Settings of the terminal UI that tests and snapshots need to pin down.

Everything on screen that varies between two identical runs (the wall clock, the elapsed
timer, the blinking cursor, the redraw cadence) is read from one :class:`TuiConfig`, so a
snapshot test can turn all of it off in one place (the posting pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from troupe.core.clock import Clock, SystemClock

from .widgets.persona_pane import HISTORY


@dataclass(frozen=True)
class TuiConfig:
    """How the UI behaves; the defaults are for a person at a terminal."""

    clock: Clock = field(default_factory=SystemClock)
    """Passed to ``Session.start``/``resume`` so event timestamps follow it."""
    freeze_elapsed: bool = False
    """Show a fixed elapsed time instead of ticking once a second (snapshots)."""
    cursor_blink: bool = True
    flush_interval: float = 0.1
    """Seconds between redraws of streamed text and new events (never per token)."""
    runs_dir: Path = Path("runs")
    """Where the home screen looks for recent runs and puts new ones."""
    feed_backlog: int = 10_000
    """How many past events the feed draws when a run is opened (the log keeps them all)."""
    pane_history: int = HISTORY
    """How many past utterances each persona pane keeps (it draws the newest that fit)."""
    guides: Callable[[], list[Path]] | None = None
    """The session templates the home screen lists (None: the shipped guides)."""
    library: Callable[[], list[Any]] | None = None
    """The personas the home screen offers (None: the shipped library)."""
    settings: Callable[[], Any] | None = None
    """Loads the backend settings the home screen checks (None: ``load_settings()``)."""
    backend_check: Callable[[Any], dict[str, str | None]] | None = None
    """Why each backend cannot run here, from the settings (None: ``home.backend_problems``;
    snapshots pin it, since what is installed varies between machines)."""
