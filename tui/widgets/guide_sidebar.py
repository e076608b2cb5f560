"""The guide sidebar (g): the sections, the current one's goal, prompt, what is still to come,
its unused probes (enter or a click fires one) and the clocks.

It draws a :class:`~troupe.sessions.guide_status.GuideStatus` — computed from the log, like
everything else on screen. Guide text is data: drawn with ``plain_text``, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from troupe.sessions.guide_status import GuideStatus

from ..text import plain_text
from .session_header import format_elapsed

WIDTH = 44
"""Columns the sidebar takes when shown."""
MIN_SCREEN_WIDTH = 120
"""Below this width the sidebar folds away (the panes and the feed need the room)."""
OVER = "bold #ff5555"
ON_TIME = "#98c379"


def clock_line(label: str, seconds: float, minutes: float | None, over: bool) -> Text:
    """``section  03:12 / 10:00`` (red once over the planned time)."""
    out = Text(f"{label:<8}", style="dim")
    out.append(format_elapsed(seconds), style=OVER if over else ON_TIME if minutes is not None else "")
    if minutes is not None:
        out.append(f" / {format_elapsed(minutes * 60)}", style="dim")
    return out


class GuideSidebar(VerticalScroll, can_focus=False):
    class ProbeChosen(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__(id="guide-sidebar")
        self.status: GuideStatus | None = None
        self._probes: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(id="guide-clock")
        yield Static(id="guide-sections")
        yield Static(id="guide-section")
        yield Static(Text("Probes (enter fires one)", style="bold"), id="guide-probes-title")
        yield OptionList(id="guide-probes")

    def on_mount(self) -> None:
        self.border_title = "guide"

    def show(self, status: GuideStatus) -> None:
        self.status = status
        clock = Text()
        clock.append_text(clock_line("section", status.section_seconds, status.section_minutes, status.section_over))
        clock.append("\n")
        clock.append_text(clock_line("session", status.total_seconds, status.total_minutes, status.total_over))
        self.query_one("#guide-clock", Static).update(clock)
        sections = Text()
        for i, title in enumerate(status.sections):
            mark, style = ("▶", "bold") if i == status.current else ("✓", "dim") if i < status.current else (" ", "")
            sections.append(f"{mark} {i + 1}. ", style=style)
            sections.append_text(plain_text(title, style))
            sections.append("\n")
        self.query_one("#guide-sections", Static).update(sections)
        self.query_one("#guide-section", Static).update(self._section_text(status))
        if status.probes_left != self._probes:
            self._probes = list(status.probes_left)
            probes = self.query_one("#guide-probes", OptionList)
            probes.clear_options()
            probes.add_options([Option(plain_text(p)) for p in self._probes])
            probes.highlighted = 0 if self._probes else None
            self.query_one("#guide-probes-title", Static).display = bool(self._probes)
            probes.display = bool(self._probes)

    @staticmethod
    def _section_text(status: GuideStatus) -> Text:
        out = Text()
        if status.goal:
            out.append("Goal ", style="bold")
            out.append("(moderator only)\n", style="dim")
            out.append_text(plain_text(status.goal.strip(), "italic"))
            out.append("\n\n")
        if status.prompt:
            out.append("Prompt\n", style="bold")
            out.append_text(plain_text(status.prompt.strip()))
            out.append("\n\n")
        for heading, items in (("Stimuli to come", status.stimuli_to_come), ("Polls to come", status.polls_to_come)):
            if items:
                out.append(f"{heading}\n", style="bold")
                for item in items:
                    out.append("· ")
                    out.append_text(plain_text(" ".join(item.split())))
                    out.append("\n")
                out.append("\n")
        return out

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        message.stop()
        if 0 <= message.option_index < len(self._probes):
            self.post_message(self.ProbeChosen(self._probes[message.option_index]))
