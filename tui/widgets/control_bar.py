"""The moderator's control bar: one input line with completion and history.

Plain text speaks to the room, ``@Name …`` asks one persona, ``/…`` runs a command (see
``command_line.py``). The input owns every printable key while focused, so the screen's
one-key bindings (space, p, m…) never fire mid-sentence; ``escape`` hands focus back to the
persona grid where those keys work, and ``/`` or ``i`` there comes back here.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

from ..command_line import CommandError, CommandSuggester, Parsed, parse_line
from ..text import plain

PLACEHOLDER = "speak to the room · @Name ask one · /command (try /help) · esc: keys"
TYPING_PAUSE_S = 2.0
"""A key typed into the input this recently means the moderator is still typing, even if the
line is empty (just sent, or erased to start again): nothing modal should open on them."""
MODES = {"input": "INPUT", "keys": "KEYS"}
"""The mode indicator's words: what a key does now (type into the bar, or act on the panel)."""
MODE_TIPS = {
    "input": "Typing goes to the control bar. esc: panel keys (space, p, m, n…)",
    "keys": "Keys act on the panel (space, p, m, n…). i or /: type again",
}
NOT_TYPING_KEYS = frozenset({"enter", "escape"})
"""Keys that end typing (send the line, leave the input) rather than compose a line."""


class CommandInput(Input):
    """An :class:`Input` with up/down history and tab to accept a completion."""

    BINDINGS = [
        Binding("up", "history(-1)", "Previous line", show=False),
        Binding("down", "history(1)", "Next line", show=False),
        Binding("tab", "complete", "Complete", show=False),
        Binding(
            "escape",
            "leave",
            "Panel keys (space p m n …)",
            id="troupe.input.leave",
            tooltip="Give the keys back to the panel: space, p, m, n, e, t work there",
        ),
    ]

    @dataclass
    class Leave(Message):
        """The moderator pressed escape."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(
            placeholder=PLACEHOLDER,
            suggester=CommandSuggester(names),
            id="command",
            compact=True,
            select_on_focus=False,
        )
        self.history: list[str] = []
        self._cursor = 0
        self._draft = ""
        self.typed_at = float("-inf")
        """``time.monotonic()`` of the latest key that edited the line (or moved in it)."""

    def on_key(self, event: events.Key) -> None:
        # Runs before Input's own key handling (which inserts the character); only records.
        if event.key not in NOT_TYPING_KEYS:
            self.typed_at = time.monotonic()

    def on_paste(self) -> None:
        self.typed_at = time.monotonic()

    def is_composing(self) -> bool:
        """Whether the moderator is typing a line: there is a draft, or a key went in just now."""
        return bool(self.value.strip()) or time.monotonic() - self.typed_at < TYPING_PAUSE_S

    def remember(self, line: str) -> None:
        if line and (not self.history or self.history[-1] != line):
            self.history.append(line)
        self._cursor = len(self.history)
        self._draft = ""

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._cursor == len(self.history):
            self._draft = self.value
        self._cursor = max(0, min(len(self.history), self._cursor + step))
        self.value = self._draft if self._cursor == len(self.history) else self.history[self._cursor]
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        if self._suggestion and len(self._suggestion) > len(self.value):
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def action_leave(self) -> None:
        self.post_message(self.Leave())


class ControlBar(Horizontal):
    """The prompt, the input and a status label (auto-run, turns in flight)."""

    @dataclass
    class Entered(Message):
        """A line was submitted and parsed."""

        line: str
        parsed: Parsed

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(id="control-bar")
        self.names = list(names)
        self._status = ""
        self.mode = "input"

    def compose(self) -> ComposeResult:
        yield Static(MODES["input"], id="mode")
        yield Static("›", id="prompt")
        yield CommandInput(self.names)
        yield Static("", id="run-status")

    @property
    def input(self) -> CommandInput:
        return self.query_one(CommandInput)

    def set_mode(self, mode: str) -> None:
        """Show ``"input"`` (typing goes to the control bar) or ``"keys"`` (keys act on the panel)."""
        label = self.query_one("#mode", Static)
        label.update(MODES[mode])
        label.set_class(mode == "keys", "-keys")
        label.tooltip = MODE_TIPS[mode]
        self.mode = mode

    def set_status(self, text: str) -> None:
        if text != self._status:  # called on every flush: repaint only on change
            self._status = text
            self.query_one("#run-status", Static).update(plain(text))  # may quote the moderator: data

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        line = event.value
        if not line.strip():
            return
        try:
            parsed = parse_line(line, self.names)
        except CommandError as exc:
            self.app.notify(str(exc), title="Command", severity="warning")
            return
        self.input.remember(line)
        self.input.value = ""
        self.post_message(self.Entered(line, parsed))
