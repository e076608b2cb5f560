"""The feed's search bar: ``/find TEXT`` or ctrl+f opens it above the control bar.

What is typed is looked for as plain text, case-insensitive (:func:`~troupe.tui.widgets.feed.find_in`):
never a pattern, never markup. Enter or ↑ goes to the next older match, ↓ to the next newer
one (both wrap); escape closes the bar and gives the keys back to the panel.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static


class FindBar(Horizontal):
    """An input and a match count (``3 / 7``); the session screen does the searching."""

    BINDINGS = [
        Binding("up", "step(-1)", "Older match", id="troupe.find.older", show=False),
        Binding("down", "step(1)", "Newer match", id="troupe.find.newer", show=False),
        Binding("escape", "close", "Close search", id="troupe.find.close", show=False),
    ]

    class Search(Message):
        """Look for ``query``; ``step`` −1 / +1 moves to the older / newer match, 0 starts over
        (at the latest match)."""

        def __init__(self, query: str, step: int) -> None:
            super().__init__()
            self.query = query
            self.step = step

    class Closed(Message):
        """The bar was closed (escape)."""

    def __init__(self) -> None:
        super().__init__(id="find-bar")

    def compose(self) -> ComposeResult:
        yield Static("find ", id="find-label")
        yield Input(placeholder="text in the feed (enter/↑ older · ↓ newer · esc close)", id="find-input")
        yield Static("", id="find-count")

    @property
    def input(self) -> Input:
        return self.query_one("#find-input", Input)

    def open(self, query: str = "") -> None:
        self.display = True
        if query:
            self.input.value = query
        self.input.focus()
        self.post_message(self.Search(self.input.value, 0))

    def show_count(self, index: int | None, total: int) -> None:
        count = self.query_one("#find-count", Static)
        count.update("no match" if not total else f"{(index or 0) + 1} / {total}")

    @on(Input.Changed, "#find-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Search(event.value, 0))

    @on(Input.Submitted, "#find-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Search(event.value, -1))

    def action_step(self, step: int) -> None:
        self.post_message(self.Search(self.input.value, step))

    def action_close(self) -> None:
        self.display = False
        self.post_message(self.Closed())
