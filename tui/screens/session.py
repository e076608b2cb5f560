"""The session screen: header, persona grid, shared feed, control bar, footer.

The screen never waits on the engine. Moderator verbs that make personas talk (speak, ask,
stimulus, poll, round, step, next section) run in async workers; the controller serialises
their rounds itself (and logs a moderator line at once, even mid-round), so the UI keeps
drawing and the moderator keeps typing (the verbs live in ``moderator.py``). Pausing and
muting are instant (the controller logs them synchronously) and apply to the next turn.
What the engine reports arrives through the :class:`~troupe.tui.bridge.SessionBridge` and
is drawn on a ~100 ms timer; this module is that drawing, plus the keys and the control bar.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import Worker

from troupe.core import events as ev
from troupe.core.budget import projection_text
from troupe.core.errors import TroupeError
from troupe.core.events import Event
from troupe.core.poll_stats import collect_polls

from ..bridge import Batch, SessionBridge
from ..command_line import Ask, Command, Parsed, Speak
from ..config import TuiConfig
from ..palette import SpeakerPalette
from ..session_api import ModeratedSession
from ..text import one_line, preview
from ..verbs import BY_COMMAND, QUIT_TOOLTIP
from ..widgets import guide_sidebar
from ..widgets.control_bar import CommandInput, ControlBar
from ..widgets.dynamics_panel import DynamicsPanel
from ..widgets.feed import Feed, ModeratorFeed, find_in
from ..widgets.find_bar import FindBar
from ..widgets.guide_sidebar import GuideSidebar
from ..widgets.persona_grid import PersonaGrid
from ..widgets.persona_pane import PersonaPane
from ..widgets.session_header import HeaderInfo, SessionHeader, format_elapsed
from .base import WorkerScreen
from .moderator import ModeratorVerbs

HISTORY_CHUNK = 250
"""Past events drawn per tick when a run opens, so a long run never freezes the screen."""
REWRAP_DELAY = 0.25
"""Seconds after the last resize before the feed is re-wrapped to its new width."""
OBSERVER_POLL = 0.5
"""Seconds between two looks at the observers' inbox (``sessions/observers.py``)."""
FREEZE_EVERY = 2000
"""Events drawn between two ``gc.freeze()`` calls (see :meth:`SessionScreen._settle_memory`)."""


class SessionScreen(ModeratorVerbs, WorkerScreen[None]):
    """A live, moderated session (the verbs are in :class:`ModeratorVerbs`)."""

    # The one-key verbs live on the persona grid (``verbs.panel_bindings``): they act only
    # while a pane has focus. The app's quit again here, so that the footer lists it.
    BINDINGS = [
        Binding("ctrl+q", "app.quit", "Quit", id="troupe.session.quit", priority=True, tooltip=QUIT_TOOLTIP),
    ]
    AUTO_FOCUS = "#command"
    """The screen opens typing in the control bar (never with a pane, or the sidebar, focused)."""

    def __init__(self, session: ModeratedSession, config: TuiConfig) -> None:
        super().__init__(id="session")
        self.session = session
        self.config = config
        self.names = list(session.cards)
        self.palette = SpeakerPalette(self.names)
        self.bridge: SessionBridge | None = None
        self.auto = False
        self.show_thoughts = False
        self.history_loaded = False
        self._queued = 0
        self._drawn_since_freeze = 0
        self._drawn_upto = 0
        """The feed shows the events up to here; later ones wait in the bridge."""
        self._rewrap_timer: Timer | None = None
        self._projected: tuple[int, str] | None = None
        self._last_error_notice: str | None = None
        self._asked_polls: set[str] = set()
        """Ids of the polls asked from the poll dialog that are still running."""
        self.found: list[int] = []
        """The seqs of the feed entries matching the search (the find bar), in feed order."""
        self.found_at: int | None = None
        """The match shown (highlighted) now."""
        self.find_from_feed = False
        """The search was opened from the feed: closing it goes back there."""
        self._airtime_at = -1
        """The log's last seq when the panes' airtime was last computed."""
        self.show_guide = False
        """The guide sidebar is on (g); it folds away below ``guide_sidebar.MIN_SCREEN_WIDTH``."""

    # -- composition ---------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield SessionHeader()
        panes = [
            PersonaPane(name, card.descriptor, self.palette.colour(name), history=self.config.pane_history, index=i)
            for i, (name, card) in enumerate(self.session.cards.items())
        ]
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield PersonaGrid(panes)
                yield DynamicsPanel()
                sections = getattr(self.session.guide, "sections", [])
                yield ModeratorFeed(
                    self.palette,
                    goals={i: s.goal for i, s in enumerate(sections) if getattr(s, "goal", None)},
                    started=getattr(self.session.state, "started_at", None),
                )
                yield FindBar()
            yield GuideSidebar()
        yield ControlBar(self.names)
        yield Footer(compact=True)

    @property
    def grid(self) -> PersonaGrid:
        return self.query_one(PersonaGrid)

    @property
    def feed(self) -> Feed:
        return self.query_one(Feed)

    @property
    def find_bar(self) -> FindBar:
        return self.query_one(FindBar)

    @property
    def control_bar(self) -> ControlBar:
        return self.query_one(ControlBar)

    def on_mount(self) -> None:
        self.bridge = SessionBridge(self.session)
        self._relayout()
        for widget in self.query(CommandInput):
            widget.cursor_blink = self.config.cursor_blink
        self._fold_into_panes(self.session.events)
        self._refresh_state()
        self.set_interval(self.config.flush_interval, self.flush, name="flush")
        self.set_interval(OBSERVER_POLL, self._pick_up_observer_notes, name="observers")
        if not self.config.freeze_elapsed:
            self.set_interval(1.0, self._tick, name="elapsed")
        self.control_bar.input.focus()
        self.load_history()

    def on_unmount(self) -> None:
        if self.bridge is not None:
            self.bridge.close()

    def on_resize(self) -> None:
        self._relayout()
        # The feed's lines were wrapped to its old width: once resizing settles, draw them again.
        if self._rewrap_timer is not None:
            self._rewrap_timer.stop()
        self._rewrap_timer = self.set_timer(REWRAP_DELAY, self._rewrap_feed, name="rewrap")

    def _rewrap_feed(self) -> None:
        self._rewrap_timer = None
        if self.history_loaded and self.feed.needs_rewrap():
            self.load_history(self._drawn_upto)

    def redraw_feed(self) -> None:
        """Draw the feed again from the log (a filter or timestamps changed what it shows): the
        path a resize takes."""
        self.load_history(self._drawn_upto)

    @property
    def sidebar(self) -> GuideSidebar:
        return self.query_one(GuideSidebar)

    def _relayout(self) -> None:
        # header, control bar and footer take one row each; the grid and the feed share the rest
        shown = self.show_guide and self.size.width >= guide_sidebar.MIN_SCREEN_WIDTH
        if self.sidebar.display != shown:  # (setting it moves the focus: only on a change)
            self.sidebar.display = shown
            # the feed got narrower or wider with no resize of the screen: wrap its lines again
            self.call_after_refresh(self._rewrap_feed)
        self.grid.apply_plan(self.size.width - (guide_sidebar.WIDTH if shown else 0), max(1, self.size.height - 3))
        if shown:
            self._update_sidebar()

    def _update_sidebar(self) -> None:
        """Draw where the session stands in its guide (``sessions/guide_status.py``)."""
        from troupe.sessions.guide_status import guide_status

        guide = getattr(self.session, "guide", None)
        events = self.session.events
        if guide is None or not events or not self.sidebar.display:
            return
        if self.config.freeze_elapsed:  # snapshots: the clocks stand at the latest event
            now = datetime.fromisoformat(events[-1].ts.replace("Z", "+00:00"))
        else:
            now = self.config.clock.now()
        self.sidebar.show(guide_status(guide, events, now, seed=getattr(self.session, "seed", 0)))

    @on(GuideSidebar.ProbeChosen)
    def _probe_chosen(self, message: GuideSidebar.ProbeChosen) -> None:
        self.fire_probe(message.text)

    # -- drawing what the engine reports ---------------------------------------------

    @work(exit_on_error=False, group="history", exclusive=True, description="drawing the run so far")
    async def load_history(self, upto: int | None = None) -> None:
        """Draw past events into the feed a chunk at a time (keys stay live meanwhile).

        Called when the screen opens, and again with the events already shown when a resize
        changes the feed's width (its lines are wrapped to the width they were drawn at).
        New events wait in the bridge meanwhile and are drawn after, in order.
        """
        self.history_loaded = False
        if upto is None:
            upto = self.bridge.last_seq if self.bridge else 0
        self._drawn_upto = upto
        for _ in range(100):  # lines are wrapped to the feed's width: wait for the first layout
            if self.feed.scrollable_content_region.width:
                break
            await asyncio.sleep(0.01)
        past = [e for e in self.session.events if e.seq <= upto][-self.config.feed_backlog :]
        self.feed.clear()
        for start in range(0, len(past), HISTORY_CHUNK):
            self.feed.add_events(past[start : start + HISTORY_CHUNK])
            await asyncio.sleep(0)
        feed = self.feed
        if feed.has_focus and feed.selected is not None:  # the moderator works in the feed: stay there
            feed.call_after_refresh(feed.reveal, feed.selected)
        self.history_loaded = True
        self._settle_memory(len(past))
        self.flush()

    def _pick_up_observer_notes(self) -> None:
        """Log what observers (``troupe watch``) put in the run's inbox: ``observer_note``."""
        try:
            self.session.pick_up_observer_notes()
        except TroupeError as exc:  # e.g. the session ended meanwhile: nothing more is logged
            self.notify(exc.message, title="Observer note", severity="warning", markup=False)

    def flush(self) -> None:
        """Draw everything the bridge recorded since the last flush (timer, ~10 Hz)."""
        if self.bridge is None or not self.history_loaded:
            return
        batch = self.bridge.drain()
        if batch:
            self._apply(batch)
        self.query_one(DynamicsPanel).follow(self.session.events)
        self._update_status()

    def _apply(self, batch: Batch) -> None:
        for name, activity in batch.activity.items():
            pane = self.grid.pane(name)
            if pane is not None:
                pane.set_activity(activity.status, activity.partial_text)
        if not batch.events:
            return
        self.feed.add_events(batch.events)
        self._drawn_upto = max(self._drawn_upto, batch.events[-1].seq)
        self._settle_memory(len(batch.events))
        self._fold_into_panes(batch.events)
        for event in batch.events:
            self._announce(event)
        self._refresh_state()

    def _settle_memory(self, drawn: int) -> None:
        """Move the long-lived objects of a big feed out of the garbage collector's sight.

        Thousands of events and their rendered lines are kept for the whole session; a full
        (generation 2) collection walks all of them and, measured with 10,000 events, stalls
        the loop for ~230 ms in the middle of a streaming round. ``gc.freeze()`` after they
        are drawn makes later collections skip them (25 ms worst gap in the same run).
        """
        self._drawn_since_freeze += drawn
        if self._drawn_since_freeze >= FREEZE_EVERY:
            self._drawn_since_freeze = 0
            gc.collect()
            gc.freeze()

    def _fold_into_panes(self, events: Iterable[Event]) -> None:
        self.grid.fold(events)

    def _announce(self, event: Event) -> None:
        """Notices for the events the moderator must not miss in a busy feed."""
        if isinstance(event, ev.Error) and not event.recovered:
            if event.message == self._last_error_notice:
                return  # the same failure for the next persona (an outage): one notice is enough
            self._last_error_notice = event.message
            who = f"{event.agent}: " if event.agent else ""
            if event.halted:  # the session stopped before the turn: it is redone, not lost
                self.notify(
                    f"{who}{event.message}\nResume or retry to redo the turn.",
                    title=f"Not answered ({event.kind})",
                    severity="warning",
                    timeout=8,
                    markup=False,
                )
            else:
                self.notify(
                    f"{who}{event.message}",
                    title=f"Turn failed ({event.kind})",
                    severity="warning",
                    timeout=6,
                    markup=False,
                )
        elif isinstance(event, (ev.Say, ev.Think, ev.Pass)):
            self._last_error_notice = None  # turns work again: the next failure is news
        elif isinstance(event, ev.PollClosed):
            if self.asked_here(event.poll_id):
                return  # the moderator's own poll: run_poll opens its results, or gives this notice
            poll = next((p for p in collect_polls(self.session.events) if p.poll_id == event.poll_id), None)
            if poll is not None:
                self.poll_closed_notice(poll)
        elif isinstance(event, ev.ObserverNote):
            self.notify(preview(event.text), title=f"Note from {event.observer}", timeout=10, markup=False)
        elif isinstance(event, ev.SessionEnded):
            self.auto = False
            self.notify("The session has ended. e exports it; ctrl+q quits.", title="Session ended")

    def _projection(self) -> str:
        """The rest of the guide at the rate so far (``Session.projection``), recomputed only
        when the log has grown — the header is redrawn far more often than events arrive."""
        seq = self.session.log.last_seq
        if self._projected is None or self._projected[0] != seq:
            projection = self.session.projection()
            # only a real estimate earns header room ("nothing left", "no estimate yet" do not)
            text = projection_text(projection) if projection.units > 0 and projection.tokens else ""
            self._projected = (seq, text)
        return self._projected[1]

    def _refresh_state(self) -> None:
        state = self.session.state
        for name, agent in state.agents.items():
            pane = self.grid.pane(name)
            if pane is not None:
                pane.set_flags(paused=agent.paused, muted=agent.muted, turns=agent.turns)
        self._show_airtime()
        self.query_one(SessionHeader).show(
            HeaderInfo(
                title=state.title,
                section_index=state.section_index,
                section_count=state.section_count,
                section_title=state.section_title or "",
                tokens=state.prompt_tokens + state.completion_tokens,
                cost_usd=state.cost_usd,
                backend=state.backend,
                model=state.model,
                paused=state.paused,
                ended=state.ended,
                auto=self.auto,
                projection=self._projection(),
                checks=state.turn_checks.short(),
            ),
            self._elapsed(),
        )
        self._update_sidebar()

    def _show_airtime(self) -> None:
        """Airtime on the panes (:meth:`PersonaGrid.show_airtime`), once per new event, not per redraw."""
        events = self.session.events
        last = events[-1].seq if events else 0
        if last == self._airtime_at:
            return
        self._airtime_at = last
        self.grid.show_airtime(events)

    def _elapsed(self) -> str:
        if self.config.freeze_elapsed:
            return format_elapsed(0)
        started = getattr(self.session.state, "started_at", None)
        if isinstance(started, str):
            started = datetime.fromisoformat(started.replace("Z", "+00:00"))
        if not isinstance(started, datetime):
            return format_elapsed(0)
        return format_elapsed((self.config.clock.now() - started).total_seconds())

    def _tick(self) -> None:
        self.query_one(SessionHeader).show(elapsed=self._elapsed())
        self._update_sidebar()

    def _update_status(self) -> None:
        parts = []
        queued = getattr(self.session, "queued", [])
        if queued:  # typed during a round: logged (and in the feed) when the panel hears it
            parts.append(f"✉ {len(queued)} queued: “{one_line(queued[0])[:40]}”")
        if self._queued:
            waiting = self.session.state.paused and not self.session.state.ended
            parts.append(f"‖ {self._queued} waiting" if waiting else f"⟳ {self._queued} running")
        if self.auto:
            parts.append("auto ▶")
        self.control_bar.set_status(" · ".join(parts))

    def already_reported(self, error: BaseException) -> bool:
        """One notice per failure: a turn that fails is also logged as an ``error`` event,
        and whichever of the two arrives first is the one shown."""
        message = getattr(error, "message", None) or str(error)
        if message == self._last_error_notice:
            return True
        self._last_error_notice = message
        return False

    def worker_failed(self, worker: Worker[Any]) -> None:
        if worker.group == "auto":
            self.auto = False
            self._refresh_state()

    # -- the control bar -------------------------------------------------------------

    @on(ControlBar.Entered)
    def _entered(self, message: ControlBar.Entered) -> None:
        self.execute(message.parsed)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.control_bar.set_mode("input" if isinstance(event.widget, CommandInput) else "keys")

    def on_paste(self, event: events.Paste) -> None:
        """A paste outside the control bar goes into it, whole, line breaks and all: a paste
        never fires keys."""
        event.stop()
        command = self.control_bar.input
        self.set_focus(command)
        command.paste(event.text)

    def on_key(self, event: events.Key) -> None:
        """With the focus nowhere (a dialog just closed on a removed widget), typing types."""
        if self.focused is None and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            command = self.control_bar.input
            self.set_focus(command)
            command.insert_text_at_cursor(event.character)

    # -- searching the feed (the find bar) ----------------------------------------------

    @on(FindBar.Search)
    def _search(self, message: FindBar.Search) -> None:
        """Go to a match of the find bar's text: the latest (step 0), or the next older (−1)
        or newer (+1) one from the match shown, wrapping; it is drawn highlighted."""
        feed = self.feed
        self.found = [seq for seq in find_in(feed.rows, message.query) if feed.line_y(seq) is not None]
        if not self.found:
            self.found_at = None
            feed.mark(None)
            self.find_bar.show_count(None, 0)
            return
        if message.step == 0 or self.found_at not in self.found:
            index = len(self.found) - 1
        else:
            index = (self.found.index(self.found_at) + message.step) % len(self.found)
        self.found_at = self.found[index]
        feed.mark(self.found_at, message.query)
        y = feed.line_y(self.found_at) or 0
        feed.scroll_to(y=max(0, y - feed.scrollable_content_region.height // 3), animate=False, immediate=True)
        self.find_bar.show_count(index, len(self.found))

    @on(FindBar.Closed)
    def _search_closed(self) -> None:
        self.found, self.found_at = [], None
        self.feed.mark(None)
        self.set_focus(self.feed if self.find_from_feed else self.grid.selected or self.control_bar.input)

    @on(CommandInput.Leave)
    def _leave_input(self) -> None:
        if self.grid.selected is not None:
            self.set_focus(self.grid.selected)  # at once: the next key is already a panel key

    @on(PersonaPane.DetailsRequested)
    def _details_requested(self, message: PersonaPane.DetailsRequested) -> None:
        self.open_details(message.pane.persona)

    def execute(self, parsed: Parsed) -> None:
        """Run what the moderator typed."""
        if isinstance(parsed, Speak):
            self.speak(parsed.text)
        elif isinstance(parsed, Ask):
            agent = self.session.state.agents.get(parsed.name)
            if agent is not None and agent.paused:
                self.notify(
                    f"{parsed.name} is paused and will not answer until resumed (p, or /resume).",
                    title="Paused",
                    severity="warning",
                )
            self.ask(parsed.name, parsed.text)
        elif isinstance(parsed, Command):
            self._command(parsed.verb, parsed.argument, parsed.rest)

    def _command(self, verb: str, arg: str, rest: str = "") -> None:
        self.run_verb(BY_COMMAND[verb].name, arg, rest)
