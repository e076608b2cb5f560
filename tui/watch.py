"""``troupe watch RUN_DIR``: a read-only live view of a run, for observers behind the mirror.

It follows the run's ``events.jsonl`` (:class:`~troupe.sessions.observers.LogTail`) and draws
it with the session screen's own widgets — the persona panes (:meth:`PersonaGrid.fold`, with
their airtime from :meth:`PersonaGrid.show_airtime`) and the feed — but holds no session
controller, makes no LLM call and never writes to the log. The moderator's controls are
replaced by a note box: a note goes to the run's observer inbox
(:func:`~troupe.sessions.observers.send_note`), which the moderator's app logs as an
``observer_note`` event. On a finished run it replays the whole log.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from troupe.core import events as ev
from troupe.core.errors import BadRunError
from troupe.core.events import Event
from troupe.sessions.observers import LogTail, send_note

from .config import TuiConfig
from .palette import SpeakerPalette
from .text import one_line, plain
from .widgets.feed import Feed, seen_behind_the_mirror
from .widgets.persona_grid import PersonaGrid
from .widgets.persona_pane import PersonaPane

FOLLOW_INTERVAL = 0.3
"""Seconds between two reads of the log."""


class NoteBox(Input):
    """The observer's one-line note box. Enter empties it as it sends, so a second enter queued
    behind the first cannot send the same note twice; a multi-line paste keeps every line,
    joined by spaces (a plain ``Input`` keeps the first line only)."""

    async def action_submit(self) -> None:
        text, self.value = self.value, ""
        self.post_message(self.Submitted(self, text))

    def _on_paste(self, event: events.Paste) -> None:
        text = " ".join(line.strip() for line in event.text.splitlines() if line.strip())
        if text:
            if self.selection.is_empty:
                self.insert_text_at_cursor(text)
            else:
                self.replace(text, *self.selection)
        event.prevent_default()  # not Input's own paste (the first line only) as well
        event.stop()


class WatchScreen(Screen[None]):
    """The run's panes and feed, drawn from its log as it grows; a note box at the bottom."""

    BINDINGS = [Binding("ctrl+q", "app.quit", "Quit", id="troupe.watch.quit", priority=True)]

    def __init__(self, run_dir: str | Path, observer: str, config: TuiConfig | None = None) -> None:
        super().__init__(id="watch")
        self.run_dir = Path(run_dir)
        self.observer = observer
        self.config = config or TuiConfig()
        self.tail = LogTail(self.run_dir)
        self.pending: list[Event] = self.tail.read()
        if not self.pending or not isinstance(self.pending[0], ev.SessionStarted):
            raise BadRunError("no session has started here (no events.jsonl)", path=str(self.run_dir))
        start = self.pending[0]
        self.title_text = start.title
        cards = start.persona_cards or {}
        self.names = list(start.personas)
        self.descriptors = {n: str((cards.get(n) or {}).get("descriptor") or "") for n in self.names}
        self.palette = SpeakerPalette(self.names)
        self.seen: list[Event] = []
        """Every event drawn so far (tests read it)."""
        self.ended = False

    def compose(self) -> ComposeResult:
        yield Static(id="watch-header")
        panes = [
            PersonaPane(
                name, self.descriptors[name], self.palette.colour(name), history=self.config.pane_history, index=i
            )
            for i, name in enumerate(self.names)
        ]
        for pane in panes:
            pane.can_focus = False  # an observer has no moderator keys
        with Vertical(id="main"):
            yield PersonaGrid(panes)
            yield Feed(self.palette)
        note = NoteBox(placeholder="a note to the moderator (enter sends it)", id="observer-note")
        note.cursor_blink = self.config.cursor_blink
        yield note
        yield Footer(compact=True)

    @property
    def grid(self) -> PersonaGrid:
        return self.query_one(PersonaGrid)

    @property
    def feed(self) -> Feed:
        return self.query_one(Feed)

    def on_mount(self) -> None:
        self._relayout()
        self._header()
        self.query_one("#observer-note", NoteBox).focus()
        self.call_after_refresh(self.follow)
        self.set_interval(FOLLOW_INTERVAL, self.follow, name="follow")

    def on_resize(self) -> None:
        self._relayout()

    def _relayout(self) -> None:
        self.grid.apply_plan(self.size.width, max(1, self.size.height - 3))

    def _header(self) -> None:
        state = "ended" if self.ended else "live"
        self.query_one("#watch-header", Static).update(
            plain(f" Watching {one_line(self.title_text)} · {state} · read-only · as {one_line(self.observer)}")
        )

    def follow(self) -> None:
        """Draw what the log gained since the last look."""
        if not self.feed.scrollable_content_region.width:
            return  # the feed wraps to its width: wait for the first layout
        events, self.pending = self.pending + self.tail.read(), []
        if not events:
            return
        self.feed.add_events([e for e in events if seen_behind_the_mirror(e)])
        self.grid.fold(events)
        self.seen += events
        self.grid.show_airtime(self.seen)
        if any(isinstance(e, ev.SessionEnded) for e in events):
            self.ended = True
            self._header()

    def on_input_submitted(self, message: Input.Submitted) -> None:
        text = message.value.strip()
        if not text:
            return
        send_note(self.run_dir, text, self.observer)
        if self.ended:
            self.notify("The session has ended: the moderator will not see this note.", severity="warning")
        else:
            self.notify("Sent to the moderator.", timeout=3)


class WatchApp(App[int]):
    """The observer's app: one :class:`WatchScreen`."""

    CSS_PATH = "troupe.tcss"
    TITLE = "Troupe — watching"

    def __init__(self, run_dir: str | Path, observer: str | None = None, config: TuiConfig | None = None) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.observer = observer or _whoami()
        self.config = config or TuiConfig()
        """Only ``cursor_blink`` applies here (snapshots turn it off)."""

    def on_mount(self) -> None:
        self.push_screen(WatchScreen(self.run_dir, self.observer, self.config))


def _whoami() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "observer"


def launch_watch(run_dir: str | Path, observer: str | None = None) -> int:
    """Follow ``run_dir`` read-only in the terminal; returns the exit code."""
    if not (Path(run_dir) / "events.jsonl").is_file():
        raise BadRunError("no event log here", path=str(run_dir))
    app: Any = WatchApp(run_dir, observer)
    app.run()
    return 0
