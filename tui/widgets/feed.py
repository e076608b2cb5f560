"""The shared feed: every stimulus, moderator line, utterance and poll, in log order.

It is a :class:`~textual.widgets.RichLog`: finished events are rendered once into lines and
kept as strips, so scrolling through ten thousand events costs the same as through ten
(one widget per message would cost hundreds of milliseconds per append at a thousand,
STYLE.md #7). The feed shows; the event log remembers: nothing here is the source of truth.

Focused, the feed has a *selected entry* (↑/↓ or k/j move it entry by entry, home/end go to
the first/latest, a click selects): the moderator's verbs that act on an entry (``*`` stars
it, ``f`` filters to its speaker) read :attr:`Feed.selected`. A *filter* (:func:`in_view`)
and *timestamps* change what the feed draws, never what the log holds: the screen redraws
the feed from the log (the path a resize takes) after changing them. The selection and the
search's match are both drawn by restyling the entry in place (:meth:`Feed._redraw`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from rich.console import Console
from rich.segment import Segment
from rich.style import StyleType
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.strip import Strip
from textual.widgets import RichLog

from troupe.core import events as ev
from troupe.core.events import Event
from troupe.core.poll_stats import display_value

from .. import palette as pal
from ..palette import SpeakerPalette
from ..text import one_line, plain
from ..text import visible as v
from ..verbs import feed_bindings
from .session_header import format_elapsed

MATCH_STYLE = "bold black on #e5c07b"
"""How a search match is shown in the feed."""
SELECTED_STYLE = "on #2c3a4f"
"""The selected entry's background (drawn while the feed has focus)."""
SELECTED_SEQ_STYLE = "bold reverse"
"""The selected entry's number."""
LABEL_WIDTH = 12
PREFIX_WIDTH = 5 + 1 + LABEL_WIDTH + 1
"""``" 1234 MODERATOR    "``: the sequence number, the speaker, then the text."""
MAX_LINES = 60_000
"""Rendered lines kept (an event is one to a few lines); the oldest scroll out first."""


@dataclass(frozen=True)
class FeedRow:
    """One event as the feed shows it, before it is wrapped to the feed's width."""

    seq: int
    label: str
    label_style: StyleType
    body: Text
    stamp: str = ""
    """The entry's time when the feed shows timestamps (:func:`stamp`), else empty."""


def layout_row(row: FeedRow, console: Console, width: int) -> Text:
    """Wrap the body under itself (a hanging indent), the label and number in front.

    Wrapping here, once, with plain :class:`~rich.text.Text` costs a third of what a
    ``Table.grid`` row costs, which is what lets a resumed run draw thousands of events fast.
    """
    head = Text(f"{row.seq:>5} ", style="dim")
    prefix = PREFIX_WIDTH
    if row.stamp:
        head.append(f"{row.stamp} ", style="dim")
        prefix += len(row.stamp) + 1
    head.append(row.label[:LABEL_WIDTH].ljust(LABEL_WIDTH), style=row.label_style)
    head.append(" ")
    lines = row.body.wrap(console, max(10, width - prefix))
    for i, line in enumerate(lines):
        if i:
            head.append("\n" + " " * prefix)
        head.append_text(line)
    return head


def _when(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def stamp(ts: str, started: str | None) -> str:
    """An entry's time as the feed shows it: elapsed since the session started (``12:03``,
    ``1:02:03``, the header's clock), right-aligned to seven cells; empty when unknown."""
    if not started:
        return ""
    try:
        seconds = (_when(ts) - _when(started)).total_seconds()
    except ValueError:
        return ""
    return format_elapsed(seconds).rjust(7)


CONTEXT_TYPES = frozenset(
    {"session_started", "section_started", "stimulus", "poll_asked", "poll_revealed", "session_ended"}
)
"""What a filtered feed keeps besides the persona's own entries: what the room was shown and asked."""


def in_view(event: Event, only: str | None) -> bool:
    """Whether the feed shows ``event`` while filtered to the persona ``only`` (None: no filter).

    Filtered, the feed keeps what that persona did (their lines, poll answers, failed turns,
    pause and mute marks), what was said to them (another persona's line ``→`` them), and the
    context they answered: the moderator's lines to the room or to them, stimuli, poll
    questions, section headings, session start and end, and failures of the whole session.
    Other personas' entries, and the moderator's notes, stars and observer notes, are hidden.
    """
    if only is None:
        return True
    agent = getattr(event, "agent", None)
    if agent:
        return agent == only or (isinstance(event, ev.Say) and event.to == only)
    if isinstance(event, ev.Moderator):
        return not event.to or only in event.to
    if isinstance(event, ev.Error):
        return True  # no persona's: the session's own failure
    return event.type in CONTEXT_TYPES


def seen_behind_the_mirror(event: Event) -> bool:
    """Whether observers watching the run (``troupe watch``) are shown ``event``: everything
    but the moderator's private notes, which are the moderator's alone."""
    return not isinstance(event, ev.Note)


def row_text(row: FeedRow) -> str:
    """The plain text a search looks in: the speaker's label and the entry's text."""
    return f"{row.label} {row.body.plain}"


def find_in(rows: Mapping[int, FeedRow], query: str) -> list[int]:
    """The seqs of the rows containing ``query``: plain text, case-insensitive (never a
    pattern nor markup: ``[b]`` or ``.*`` are looked for as typed), in feed order."""
    needle = query.strip().casefold()
    if not needle:
        return []
    return sorted(seq for seq, row in rows.items() if needle in row_text(row).casefold())


def _short(name: str) -> str:
    return v(name.split(" ", 1)[0])


OUTAGES = {
    "connection": "backend unreachable",
    "auth": "backend refused the key",
    "quota": "backend quota used up",
    "not_found": "model or endpoint not found",
    "config": "backend not configured",
    "missing_extra": "backend not installed",
    "server": "backend server error",
    "rate_limit": "backend rate limit",
    "timeout": "backend timed out",
}
"""What stopped the session, by the kind of backend failure that halted it (``core/errors.py``);
any other kind reads "backend unavailable"."""


def error_outcome(event: ev.Error) -> str:
    """What became of the turn an ``error`` event is about, in the moderator's words."""
    if event.recovered:
        return "recovered"
    if event.halted:
        return f"not answered — {OUTAGES.get(event.kind, 'backend unavailable')}; resume or retry to redo it"
    if event.purpose == "poll":
        return "no answer to this poll"
    return "turn lost"


def feed_row(event: Event, palette: SpeakerPalette, goals: Mapping[int, str] | None = None) -> FeedRow | None:
    """The feed line(s) for one event, or ``None`` for events the feed does not show.

    Private thoughts stay in the persona panes; accounting (``llm_call``) and memory
    updates are not conversation. Muted speech is shown, marked, because the moderator
    hears everything even when the room does not.
    """
    if isinstance(event, ev.Say):
        body = Text(v(event.text))
        if event.to:
            body = Text.assemble((f"→ {_short(event.to)}  ", "dim"), body)
        if event.muted:
            body = Text.assemble(("(muted) ", "italic dim"), body)
            body.stylize("dim")
        return FeedRow(event.seq, _short(event.agent), palette.style(event.agent), body)
    if isinstance(event, ev.Moderator):
        to = f"→ {', '.join(_short(n) for n in event.to)}  " if event.to else ""
        return FeedRow(event.seq, "MODERATOR", pal.MODERATOR, Text.assemble((to, "dim"), (v(event.text), "bold")))
    if isinstance(event, ev.Stimulus):
        head = f"[{event.kind}] " + (f"{v(event.title)} — " if event.title else "")
        path = f"  ({v(event.path)})" if event.path else ""
        return FeedRow(
            event.seq, "STIMULUS", pal.STIMULUS, Text.assemble((head, "bold"), v(event.text.strip()), (path, "dim"))
        )
    if isinstance(event, ev.PollAsked):
        options = f"  [{v(' / '.join(event.options))}]" if event.options and event.kind in ("single", "multi") else ""
        private = "  (private first)" if event.private_first else ""
        return FeedRow(
            event.seq,
            "POLL",
            pal.POLL,
            Text.assemble((v(event.question), "bold"), f"  {event.kind}", (options + private, "dim")),
        )
    if isinstance(event, ev.PollAnswer):
        mark = "" if event.revealed else "  (private)"
        body = Text.assemble(
            ("answers ", "dim"),
            (v(display_value(event.value)), "bold"),
            f" — {v(event.rationale)}",
            (mark, "dim italic"),
        )
        return FeedRow(event.seq, _short(event.agent), palette.style(event.agent), body)
    if isinstance(event, ev.PollRevealed):
        return FeedRow(event.seq, "POLL", pal.POLL, Text("answers revealed to the room", style="dim"))
    if isinstance(event, ev.SectionStarted):
        body = Text(f"── {event.index + 1}: {v(event.title)} ──", style="bold")
        goal = (goals or {}).get(event.index)
        if goal:  # the guide's note to the moderator; the panel never sees it
            body.append(f"  goal: {v(goal.strip())}", style="italic #8a8a8a")
        return FeedRow(event.seq, "SECTION", pal.SYSTEM, body)
    if isinstance(event, ev.SessionStarted):
        return FeedRow(
            event.seq, "SESSION", pal.SYSTEM, Text(v(f"{event.title} — {', '.join(event.personas)}"), style="bold")
        )
    if isinstance(event, ev.Error):
        who = f"{event.agent}: " if event.agent else ""
        return FeedRow(
            event.seq, "ERROR", pal.ERROR, Text(v(f"{who}{event.kind}: {event.message} ({error_outcome(event)})"))
        )
    if isinstance(event, ev.TurnChecked) and event.regenerated:  # the rejected answer is never shown as said
        return FeedRow(
            event.seq,
            "·",
            pal.SYSTEM,
            Text(
                v(f"{event.agent}: first answer scored {event.score}/9 by the persona check; asked again"),
                style=pal.SYSTEM,
            ),
        )
    system = {
        "agent_paused": "paused",
        "agent_resumed": "resumed",
        "agent_muted": "muted",
        "agent_unmuted": "unmuted",
    }
    if event.type in system:
        return FeedRow(
            event.seq, "·", pal.SYSTEM, Text(v(f"{getattr(event, 'agent', '')} {system[event.type]}"), style=pal.SYSTEM)
        )
    if isinstance(event, ev.SessionPaused):
        return FeedRow(event.seq, "·", pal.SYSTEM, Text("session paused", style=pal.SYSTEM))
    if isinstance(event, ev.SessionResumed):
        return FeedRow(event.seq, "·", pal.SYSTEM, Text("session resumed", style=pal.SYSTEM))
    if isinstance(event, ev.Highlight):
        tag = f"  [{v(event.tag)}]" if event.tag else ""
        return FeedRow(event.seq, "★ STARRED", pal.POLL, Text.assemble(f"#{event.target}", (tag, "dim")))
    if isinstance(event, ev.Note):  # the moderator's own note: nobody in the room sees it
        return FeedRow(event.seq, "NOTE", pal.SYSTEM, Text.assemble(("(private) ", "dim"), (v(event.text), "italic")))
    if isinstance(event, ev.ObserverNote):
        return FeedRow(
            event.seq, "OBSERVER", pal.STIMULUS, Text.assemble((f"{v(event.observer)}: ", "bold"), v(event.text))
        )
    if isinstance(event, ev.SessionEnded):
        return FeedRow(event.seq, "SESSION", pal.SYSTEM, Text(v(f"ended ({event.reason})"), style="bold"))
    return None


def format_event(
    event: Event, palette: SpeakerPalette, width: int = 100, console: Console | None = None
) -> Text | None:
    """The feed lines for one event at ``width`` columns, or ``None`` if the feed skips it."""
    row = feed_row(event, palette)
    return None if row is None else layout_row(row, console or Console(width=width), width)


class Feed(RichLog):
    """The feed widget; :meth:`add_events` appends what the log says happened."""

    BINDINGS = [
        Binding("up,k", "select(-1)", "Older entry", id="troupe.feed.older", show=False),
        Binding("down,j", "select(1)", "Newer entry", id="troupe.feed.newer", show=False),
        Binding("home", "first", "First entry", id="troupe.feed.first", show=False),
        Binding("end", "latest", "Latest", id="troupe.feed.latest", show=False),
    ]

    def __init__(
        self,
        palette: SpeakerPalette,
        *,
        goals: Mapping[int, str] | None = None,
        started: str | None = None,
        id: str | None = "feed",
    ) -> None:
        super().__init__(
            id=id, wrap=False, markup=False, highlight=False, max_lines=MAX_LINES, auto_scroll=True, min_width=20
        )
        self.palette = palette
        self.goals = dict(goals or {})
        """Section index → the guide's goal for it, shown on the section's line."""
        self.border_title = "feed"
        self.shown = 0
        """How many events the feed has drawn (tests and the benchmark read it)."""
        self.wrapped_at = 0
        """The width the lines were wrapped to (0: nothing drawn yet)."""
        self.line_of: dict[int, int] = {}
        """Event seq → the (absolute) line its entry starts on; see :meth:`line_y`."""
        self.rows: dict[int, FeedRow] = {}
        """Event seq → its row as drawn (search reads the plain text)."""
        self._order: list[int] = []
        self._starts: list[int] = []
        """The seqs drawn, in feed order, and the (absolute) line each starts on."""
        self.marked: int | None = None
        """The entry showing the search's current match."""
        self.mark_query = ""
        """What the marked entry shows highlighted."""
        self.selected: int | None = None
        """The selected entry's seq (drawn as such while the feed has focus)."""
        self.only: str | None = None
        """The persona the feed is filtered to (:func:`in_view`), or None."""
        self.show_times = False
        """Entries show their time (:func:`stamp`)."""
        self.started = started
        """When the session started (ISO): timestamps count from there."""
        self._focused = False
        """The selection is drawn (set on focus and blur: ``has_focus`` is set after our handlers)."""

    # -- what is drawn --------------------------------------------------------------------

    def needs_rewrap(self) -> bool:
        """Whether the lines were wrapped to another width than the feed has now."""
        width = self.scrollable_content_region.width
        return bool(self.lines) and width > 0 and max(20, width) != self.wrapped_at

    def clear(self) -> RichLog:
        """Forget the lines drawn; the selection, the search's mark, the filter and the
        timestamps stay, and apply to what is drawn next (a redraw keeps them)."""
        self.shown = 0
        self.wrapped_at = 0
        self.line_of.clear()
        self.rows.clear()
        self._order.clear()
        self._starts.clear()
        return super().clear()

    def set_view(self, *, only: str | None = None, show_times: bool | None = None) -> None:
        """Filter to persona ``only`` (None: everyone) and show or hide timestamps; applies to
        the lines drawn from now on (the caller redraws the feed)."""
        self.only = only
        if show_times is not None:
            self.show_times = show_times
        title = "feed" + (f" · only {one_line(only)} (f or /filter clears)" if only else "")
        self.border_title = plain(title + (" · times" if self.show_times else ""))

    def add_events(self, events: Iterable[Event]) -> None:
        width = max(20, self.scrollable_content_region.width)
        self.wrapped_at = width
        console = self.app.console
        # follow new events only when the moderator is not reading further up
        follow = self.auto_scroll and self.scroll_y >= self.max_scroll_y - 1
        wrote = False
        for event in events:
            if self.started is None:
                self.started = event.ts
            if not in_view(event, self.only):
                continue
            row = feed_row(event, self.palette, self.goals)
            if row is not None:
                if self.show_times:
                    row = replace(row, stamp=stamp(event.ts, self.started))
                line = len(self.lines) + self._start_line
                self.line_of[row.seq] = line
                self._order.append(row.seq)
                self._starts.append(line)
                self.rows[row.seq] = row
                self.write(self._render(row, console, width), width=width, scroll_end=False)
                self.shown += 1
                wrote = True
        if wrote and follow:
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    def line_y(self, seq: int) -> int | None:
        """The line (in the feed's scroll coordinates) where event ``seq``'s entry starts, or
        None when the feed does not show it (or it has scrolled out of the kept lines)."""
        line = self.line_of.get(seq)
        if line is None or line < self._start_line:
            return None
        return line - self._start_line

    def jump_to(self, seq: int) -> bool:
        """Scroll so that event ``seq`` is at the top of the feed (``False``: not shown)."""
        y = self.line_y(seq)
        if y is None:
            return False
        self.scroll_to(y=y, animate=False, immediate=True)
        return True

    def mark(self, seq: int | None, query: str = "") -> None:
        """Show ``query`` highlighted in event ``seq``'s entry (the search's current match);
        the entry marked before is drawn plain again. ``None`` unmarks."""
        previous, self.marked, self.mark_query = self.marked, seq, query
        if previous is not None and previous != seq:
            self._redraw(previous)
        if seq is not None and not self._redraw(seq):
            self.marked = None

    def _render(self, row: FeedRow, console: Console, width: int) -> Text:
        """An entry's lines as drawn now: the search's match highlighted if it is the marked
        entry, on the selection's background if it is the selected one (and the feed has focus)."""
        needle = self.mark_query.strip().casefold() if row.seq == self.marked else ""
        if needle:
            body = row.body.copy()
            text, start = body.plain.casefold(), 0
            while (at := text.find(needle, start)) >= 0:
                body.stylize(MATCH_STYLE, at, at + len(needle))
                start = at + len(needle)
            row = replace(row, body=body)
        rendered = layout_row(row, console, width)
        if row.seq == self.selected and self._focused:
            rendered.stylize_before(SELECTED_STYLE)
            rendered.stylize(SELECTED_SEQ_STYLE, 0, 5)
        return rendered

    def _redraw(self, seq: int) -> bool:
        """Draw ``seq``'s entry again in place (the same lines: only styles change)."""
        y, row = self.line_y(seq), self.rows.get(seq)
        if y is None or row is None or not self.wrapped_at:
            return False
        width = self.wrapped_at
        console = self.app.console
        rendered = self._render(row, console, width)
        options = console.options.update(overflow="ignore", no_wrap=True).update_width(width)
        strips = Strip.from_lines(list(Segment.split_lines(console.render(rendered, options))))
        for strip in strips:
            strip.adjust_cell_length(width)
        if y + len(strips) > len(self.lines):
            return False
        self.lines[y : y + len(strips)] = strips
        self._line_cache.clear()
        self.refresh()
        return True

    # -- the selected entry ------------------------------------------------------------------

    def entries(self) -> list[int]:
        """The seqs of the entries shown (not scrolled out of the kept lines), in feed order."""
        return self._order[bisect_left(self._starts, self._start_line) :]

    def select(self, seq: int | None, reveal: bool = True) -> None:
        """Make ``seq``'s entry the selected one (scrolled into view); ``None``: no selection."""
        previous, self.selected = self.selected, seq
        if previous is not None and previous != seq:
            self._redraw(previous)
        if seq is not None:
            self._redraw(seq)
            if reveal:
                self.reveal(seq)

    def reveal(self, seq: int) -> None:
        """Scroll as little as needed for all of ``seq``'s entry to be in view."""
        y = self.line_y(seq)
        if y is None:
            return
        at = bisect_left(self._order, seq)
        end = self._starts[at + 1] - self._start_line if at + 1 < len(self._order) else len(self.lines)
        height = max(1, self.scrollable_content_region.height)
        if y < self.scroll_y:
            self.scroll_to(y=y, animate=False, immediate=True)
        elif end > self.scroll_y + height:
            self.scroll_to(y=y if end - y > height else end - height, animate=False, immediate=True)

    def entry_at(self, y: int) -> int | None:
        """The seq of the entry drawn on line ``y`` (scroll coordinates), or None."""
        at = bisect_right(self._starts, y + self._start_line) - 1
        if at < 0 or self._starts[at] < self._start_line:
            return None
        return self._order[at]

    def _in_view_entry(self) -> int | None:
        """The entry on the view's last line (where a selection starts), else the latest."""
        shown = self.entries()
        if not shown:
            return None
        seq = self.entry_at(int(self.scroll_y) + max(1, self.scrollable_content_region.height) - 1)
        return seq if seq is not None else shown[-1]

    def action_select(self, step: int) -> None:
        """Move the selection ``step`` entries (−1: older, +1: newer)."""
        shown = self.entries()
        if not shown:
            return
        if self.selected is None or self.line_y(self.selected) is None:
            self.select(self._in_view_entry())
            return
        at = bisect_left(shown, self.selected)
        self.select(shown[max(0, min(len(shown) - 1, at + step))])

    def action_first(self) -> None:
        shown = self.entries()
        if shown:
            self.select(shown[0], reveal=False)
        self.scroll_home(animate=False, immediate=True)

    def action_latest(self) -> None:
        self.latest()

    def latest(self) -> None:
        """Scroll to the newest entry (selected, while the feed has focus): the feed follows new
        events again from here."""
        shown = self.entries()
        if shown and self.has_focus:
            self.select(shown[-1], reveal=False)
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    @property
    def following(self) -> bool:
        """Whether new events scroll into view (the feed is at its end)."""
        return self.scroll_y >= self.max_scroll_y - 1

    def on_focus(self) -> None:
        self._focused = True
        if self.selected is None or self.line_y(self.selected) is None:
            self.selected = self._in_view_entry()
        if self.selected is not None:
            self._redraw(self.selected)

    def on_blur(self) -> None:
        self._focused = False
        if self.selected is not None:
            self._redraw(self.selected)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        seq = self.entry_at(int(self.scroll_y) + offset.y)
        if seq is not None:
            self.select(seq)


class ModeratorFeed(Feed):
    """The session screen's feed: with it focused, the verbs that act on an entry (star,
    filter…) and a few panel keys work too (``verbs.feed_bindings``)."""

    BINDINGS = feed_bindings()
