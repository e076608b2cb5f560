"""One persona's seat in the grid.

The border carries the name and the one-line descriptor; inside are a status badge, the
things the persona said, oldest first like the feed, its latest private thought when thoughts
are shown, and the utterance being generated (growing as it streams) last. The newest lines
that fit are drawn, so a taller pane shows more of them.

The pane is a single widget that renders one Textual ``Content``: the screen feeds it
state (:meth:`set_activity`, :meth:`add_said`…) and each setter only asks for a repaint when
something visible changed. Streaming updates arrive already throttled by the screen's flush
timer, so a pane repaints at most ten times a second however fast tokens come.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.widget import Widget

from ..text import one_line, plain, visible

Part = str | tuple[str, str]
QUIET = "#8a8a8a"
"""Older utterances and notes: a fixed grey rather than ``dim``, which costs a colour blend
per segment on every repaint."""

HISTORY = 60
"""How many past utterances a pane keeps: more than the tallest pane shows (each takes a line
at least), so a pane on a tall terminal fills its height with the latest ones."""

BADGES: dict[str, tuple[str, str]] = {
    "idle": ("○ idle", "#8a8a8a"),
    "thinking": ("◌ thinking…", "#e5c07b"),
    "speaking": ("● speaking", "#98c379"),
    "paused": ("‖ paused", "#61afef"),
    "muted": ("⊘ muted", "#c678dd"),
    "error": ("✖ error", "#ff5555"),
}


class PersonaPane(Widget, can_focus=True):
    """A persona's pane; focus it (click, arrows) to make it the selected persona."""

    BINDINGS = [
        Binding(
            "enter",
            "details",
            "Details",
            id="troupe.pane.details",
            show=False,
            tooltip="The persona's card, memory summary, private poll answers and airtime",
        ),
    ]

    @dataclass
    class Selected(Message):
        """The moderator moved the selection onto this pane."""

        pane: PersonaPane

    @dataclass
    class DetailsRequested(Message):
        pane: PersonaPane

    def __init__(self, name: str, descriptor: str, colour: str, *, history: int = HISTORY, index: int = 0) -> None:
        super().__init__(classes="persona-pane")
        self.persona = name
        self.descriptor = descriptor
        self.colour = colour
        self.index = index
        self.status = "idle"
        self.paused = False
        self.muted = False
        self.partial: str | None = None
        self.feeling: str | None = None
        self.turns = 0
        self.airtime: tuple[int, int, float, bool] = (0, 0, 0.0, False)
        """Turns, words, share of the room's words, silent this section (``set_airtime``)."""
        self.said: deque[str] = deque(maxlen=history)
        self.thoughts: deque[str] = deque(maxlen=2)
        self.quiet: str | None = None
        """Why the last turn produced no speech ("passed", "thought privately"), until it speaks."""
        self.show_thoughts = False
        self.compact = False
        self.border_title = plain(one_line(f"{name} · {descriptor}" if descriptor else name))  # text, not markup
        self.styles.border_title_color = colour

    # -- state in ------------------------------------------------------------------

    def set_activity(self, status: str, partial: str | None) -> None:
        """Apply the latest AgentActivity; an error badge stays until the next turn starts."""
        if self.status == "error" and status == "idle":
            status = "error"
        if (status, partial) != (self.status, self.partial):
            self.status, self.partial = status, partial
            self.refresh()

    def add_said(self, text: str, feeling: str | None = None) -> None:
        self.said.append(text)
        self.partial = None
        self.quiet = None
        self.feeling = feeling or self.feeling
        if self.status == "speaking":
            self.status = "idle"
        self.refresh()

    def add_thought(self, text: str) -> None:
        self.thoughts.append(text)
        self.partial = None
        self.quiet = "thought privately"
        self.refresh()

    def add_pass(self) -> None:
        self.partial = None
        self.quiet = "passed: stayed silent"
        self.refresh()

    def set_flags(self, *, paused: bool, muted: bool, turns: int) -> None:
        if (paused, muted, turns) != (self.paused, self.muted, self.turns):
            self.paused, self.muted, self.turns = paused, muted, turns
            self.set_class(paused, "-paused")
            self.set_class(muted, "-muted")
            self.refresh()

    def set_airtime(self, turns: int, words: int, share: float, *, silent: bool) -> None:
        """Who is talking, from ``core/dynamics.py`` (the numbers of ``/dynamics`` and the
        details screen): turns, words and share of the room's words; and whether the persona
        has not spoken yet in this section."""
        parts = [f"{turns} turn{'s' if turns != 1 else ''}", f"{words} words", f"{share:.0%}"] if turns else []
        if silent:
            parts.append("silent this section")
        self.airtime = (turns, words, share, silent)
        self.set_class(silent, "-silent")
        self.border_subtitle = " · ".join(parts)

    def set_show_thoughts(self, show: bool) -> None:
        if show != self.show_thoughts:
            self.show_thoughts = show
            self.refresh()

    def set_compact(self, compact: bool) -> None:
        if compact != self.compact:
            self.compact = compact
            self.set_class(compact, "-compact")
            self.refresh()

    # -- rendering -----------------------------------------------------------------

    @property
    def badge_key(self) -> str:
        """What the badge says: activity wins while a turn is live, then paused, muted."""
        if self.status in ("thinking", "speaking", "error"):
            return self.status
        if self.paused:
            return "paused"
        if self.muted:
            return "muted"
        return self.status if self.status in BADGES else "idle"

    def _badge_parts(self) -> list[Part]:
        label, colour = BADGES[self.badge_key]
        parts: list[Part] = [(label, colour if self.badge_key == "idle" else f"bold {colour}")]
        if self.muted and self.badge_key != "muted":
            parts.append((" · muted", BADGES["muted"][1]))
        if self.paused and self.badge_key != "paused":
            parts.append((" · paused", BADGES["paused"][1]))
        if self.feeling and not self.compact:
            parts.append((f"  {visible(self.feeling)}", f"italic {QUIET}"))
        return parts

    @property
    def shown_partial(self) -> str | None:
        """The streaming text the pane may draw: a turn that streams as ``think`` is private,
        so while thoughts are hidden (the default) its words are never drawn, not even while
        they arrive (the engine marks it: ``AgentActivity(status="thinking", partial_text=…)``)."""
        if self.partial is not None and self.status == "thinking" and not self.show_thoughts:
            return None
        return self.partial

    def badge(self) -> Content:
        return Content.assemble(*self._badge_parts())

    def render(self) -> Content:
        """The pane's text, fitted to its height (:meth:`text` is all of it)."""
        return self._render_compact() if self.compact else self._fit()

    def text(self) -> Content:
        """All the pane's text, built as Textual ``Content`` (no Rich round trip: this runs for
        every pane on every flush while personas stream)."""
        if self.compact:
            return self._render_compact()
        return Content("\n").join([self.badge(), *reversed(list(self._newest_first()))])

    def _newest_first(self) -> Iterator[Content]:
        """What follows the badge, newest first: the words streaming in now, then what the
        latest turn was (a thought, or why it said nothing), then what the persona said. Drawn
        in the other order (oldest first like the feed, the newest last, so a full pane keeps
        it); a generator, so a repaint builds only the blocks that fit."""
        partial = self.shown_partial
        if partial is not None:
            style = "italic #9a9ab0" if self.status == "thinking" else "bold"
            yield Content.assemble((visible(partial), style), ("▍", self.colour))
        if self.show_thoughts and self.thoughts:
            yield Content.styled(f"(thinks) {visible(self.thoughts[-1])}", "italic #9a9ab0")
        elif self.quiet and self.partial is None:
            yield Content.styled(f"({self.quiet})", f"italic {QUIET}")
        for age, said in enumerate(reversed(self.said)):
            fresh = age == 0 and self.partial is None
            # a tab is one space in a pane (drawn, a tab's width would depend on where it falls)
            yield Content.styled(f"“{visible(said).replace(chr(9), ' ')}”", "" if fresh else QUIET)

    def _fit(self) -> Content:
        """The badge and the newest lines that fill the pane's height; where older lines were
        cut, the first one kept starts with an ellipsis."""
        width, height = self.content_size
        if width <= 0 or height <= 0:
            return self.text()
        kept: list[Content] = []
        cut = False
        for block in self._newest_first():
            if len(kept) >= height - 1:
                cut = True
                break
            kept[:0] = [line for part in block.split("\n") for line in (part.wrap(width) or [part])]
        first = self.badge()
        badge = first.wrap(width) or [first]
        if not cut and len(badge) + len(kept) <= height:
            return Content("\n").join([*badge, *kept])
        if height == 1:
            return badge[0]
        kept = kept[len(kept) - (height - 1) :]
        kept[0] = Content("…").append(kept[0].truncate(max(0, width - 1)))
        return Content("\n").join([badge[0], *kept])

    def _render_compact(self) -> Content:
        """One line (the pane's CSS turns wrapping off and ends it with an ellipsis)."""
        parts: list[Part] = [(visible(self.persona.split(" ", 1)[0]), f"bold {self.colour}"), " ", *self._badge_parts()]
        partial = self.shown_partial
        line = partial if partial is not None else (self.said[-1] if self.said else "")
        if self.show_thoughts and self.partial is None and self.thoughts:
            line = f"(thinks) {self.thoughts[-1]}"
        elif self.quiet and self.partial is None:  # the latest turn said nothing: say so
            line = f"({self.quiet})"
        if line:
            parts.append(("  " + visible(line.replace("\n", " ")), "bold" if partial is not None else QUIET))
        return Content.assemble(*parts)

    # -- interaction ---------------------------------------------------------------

    def on_focus(self) -> None:
        self.post_message(self.Selected(self))

    def on_click(self) -> None:
        self.focus()

    def action_details(self) -> None:
        self.post_message(self.DetailsRequested(self))
