"""The group-dynamics panel: the readouts of ``core/dynamics.py`` live, beside the feed.

Airtime shares and who dominates (with the move against it), who answered whom, conformity
and voice overlap — the same numbers as ``troupe dynamics`` and the report's section, computed
from the log only (``docs/dynamics.md``). Hidden by default; ``y`` shows it. While shown it is
recomputed when the log has grown, at most once a second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from troupe.core.dynamics import MODERATOR, ROOM, Dynamics, compute
from troupe.core.events import Event
from troupe.sessions.dynamics_render import dynamics_summary

from ..text import visible

REFRESH_S = 1.0


def readouts_text(d: Dynamics) -> Text:
    """The panel's text: the live summary, then one line per speaker of whom they answered."""
    text = Text(visible(dynamics_summary(d)), no_wrap=False)
    rows = [
        (speaker, [(target, n) for target, n in targets.items() if n]) for speaker, targets in d.airtime.replies.items()
    ]
    rows = [(speaker, cells) for speaker, cells in rows if cells]
    if rows:
        text.append("\nWho answered whom:", style="bold")
        for speaker, cells in rows:
            shown = " · ".join(f"{_short(t)} {n}" for t, n in sorted(cells, key=lambda c: -c[1]))
            text.append(f"\n  {visible(_short(speaker))} → {visible(shown)}")
    return text


def _short(name: str) -> str:
    return name if name in (MODERATOR, ROOM) else name.split()[0] if name.split() else name


class DynamicsPanel(Static):
    """See the module docstring."""

    DEFAULT_CSS = """
    DynamicsPanel {
        height: auto;
        max-height: 12;
        border: round $panel-lighten-1;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="readouts")
        self.border_title = "group dynamics"
        self.display = False
        self._seq = -1
        self._at = 0.0

    def toggle(self, events: Sequence[Event]) -> bool:
        """Show or hide; returns whether it is shown."""
        self.display = not self.display
        if self.display:
            self.follow(events, force=True)
        return bool(self.display)

    def follow(self, events: Sequence[Event], *, force: bool = False) -> None:
        """Recompute from ``events`` if shown and the log grew (at most once a second)."""
        if not self.display or not events:
            return
        seq = events[-1].seq
        now = time.monotonic()
        if not force and (seq == self._seq or now - self._at < REFRESH_S):
            return
        self._seq, self._at = seq, now
        self.update(readouts_text(compute(events)))
