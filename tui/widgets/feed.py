"""The shared feed: every stimulus, moderator line, utterance and poll, in log order.

It is a :class:`~textual.widgets.RichLog`: finished events are rendered once into lines and
kept as strips, so scrolling through ten thousand events costs the same as through ten
(one widget per message would cost hundreds of milliseconds per append at a thousand,
STYLE.md #7). The feed shows; the event log remembers: nothing here is the source of truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.segment import Segment
from rich.style import StyleType
from rich.text import Text
from textual.strip import Strip
from textual.widgets import RichLog

from troupe.core import events as ev
from troupe.core.events import Event
from troupe.core.poll_stats import display_value

from .. import palette as pal
from ..palette import SpeakerPalette
from ..text import visible as v

MATCH_STYLE = "bold black on #e5c07b"
"""How a search match is shown in the feed."""
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


def layout_row(row: FeedRow, console: Console, width: int) -> Text:
    """Wrap the body under itself (a hanging indent), the label and number in front.

    Wrapping here, once, with plain :class:`~rich.text.Text` costs a third of what a
    ``Table.grid`` row costs, which is what lets a resumed run draw thousands of events fast.
    """
    head = Text(f"{row.seq:>5} ", style="dim")
    head.append(row.label[:LABEL_WIDTH].ljust(LABEL_WIDTH), style=row.label_style)
    head.append(" ")
    lines = row.body.wrap(console, max(10, width - PREFIX_WIDTH))
    for i, line in enumerate(lines):
        if i:
            head.append("\n" + " " * PREFIX_WIDTH)
        head.append_text(line)
    return head


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

    def __init__(
        self, palette: SpeakerPalette, *, goals: Mapping[int, str] | None = None, id: str | None = "feed"
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
        self.marked: int | None = None
        """The entry showing the search's current match."""

    def needs_rewrap(self) -> bool:
        """Whether the lines were wrapped to another width than the feed has now."""
        width = self.scrollable_content_region.width
        return bool(self.lines) and width > 0 and max(20, width) != self.wrapped_at

    def clear(self) -> RichLog:
        self.shown = 0
        self.wrapped_at = 0
        self.line_of.clear()
        self.rows.clear()
        self.marked = None
        return super().clear()

    def add_events(self, events: Iterable[Event]) -> None:
        width = max(20, self.scrollable_content_region.width)
        self.wrapped_at = width
        console = self.app.console
        # follow new events only when the moderator is not reading further up
        follow = self.auto_scroll and self.scroll_y >= self.max_scroll_y - 1
        wrote = False
        for event in events:
            row = feed_row(event, self.palette, self.goals)
            if row is not None:
                self.line_of[row.seq] = len(self.lines) + self._start_line
                self.rows[row.seq] = row
                self.write(layout_row(row, console, width), width=width, scroll_end=False)
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
        previous, self.marked = self.marked, None
        if previous is not None:
            self._redraw(previous, "")
        if seq is not None and self._redraw(seq, query):
            self.marked = seq

    def _redraw(self, seq: int, query: str) -> bool:
        """Draw ``seq``'s entry again in place (the same lines: only styles change)."""
        y, row = self.line_y(seq), self.rows.get(seq)
        if y is None or row is None or not self.wrapped_at:
            return False
        body = row.body.copy()
        needle = query.strip().casefold()
        if needle:
            text, start = body.plain.casefold(), 0
            while (at := text.find(needle, start)) >= 0:
                body.stylize(MATCH_STYLE, at, at + len(needle))
                start = at + len(needle)
        width = self.wrapped_at
        console = self.app.console
        rendered = layout_row(FeedRow(row.seq, row.label, row.label_style, body), console, width)
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
