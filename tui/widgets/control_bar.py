"""The moderator's control bar: a composer that grows to a few lines, with completion and history.

Plain text speaks to the room, ``@Name …`` asks one persona, ``/…`` runs a command (see
``command_line.py``). The composer owns every printable key while focused, so the screen's
one-key bindings (space, p, m…) never fire mid-sentence; ``escape`` hands focus back to the
persona grid where those keys work, and ``/`` or ``i`` there comes back here.

``enter`` sends; ``ctrl+j`` starts a new line (terminals send the same code for enter and
shift+enter, but every terminal sends ctrl+j apart; shift+enter and alt+enter also start one
where the terminal reports them). A paste keeps its line breaks. The box grows with its text
up to :data:`MAX_LINES` lines, then scrolls. ``↑`` on the first line and ``↓`` on the last walk
the lines sent before; elsewhere they move the cursor between lines.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Static, TextArea

from ..command_line import CommandError, CommandSuggester, Parsed, parse_line
from ..text import plain, visible

PLACEHOLDER = "speak to the room · @Name ask one · /command (try /help) · esc: keys · ctrl+j: new line"
MAX_LINES = 5
"""The composer grows with its text up to this many lines, then scrolls (``troupe.tcss``)."""
NEWLINE_KEYS = "ctrl+j,shift+enter,alt+enter"
"""Keys that start a new line in the composer (ctrl+j is the one every terminal sends apart)."""
TYPING_PAUSE_S = 2.0
"""A key typed into the input this recently means the moderator is still typing, even if the
line is empty (just sent, or erased to start again): nothing modal should open on them."""
MODES = {"input": "INPUT", "keys": "KEYS"}
"""The mode indicator's words: what a key does now (type into the bar, or act on the panel)."""
MODE_TIPS = {
    "input": "Typing goes to the control bar. esc: panel keys (space, p, m, n…)",
    "keys": "Keys act on the panel (space, p, m, n…). i or /: type again",
}
COMPOSER_KEYS: tuple[tuple[str, str], ...] = (
    ("enter", "send (a /command runs)"),
    ("ctrl+j", "a new line (shift+enter or alt+enter too, where the terminal tells them from enter)"),
    ("↑ ↓", "previous lines, from the first line (↑) or the last (↓); elsewhere they move between lines"),
    ("→ or tab", "accept the completion of a /command or a @Name"),
)
"""The composer's keys as the help lists them (the bindings below are what they say)."""
NOT_TYPING_KEYS = frozenset({"enter", "escape"})
"""Keys that end typing (send the line, leave the input) rather than compose a line."""


_KEPT = "".join(chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029) if chr(c) not in "\n\t")
"""Characters a TextArea would take for line breaks (``\\r``, ``\\x0b``, ``\\x85``…) or draw raw:
the composer keeps each as a private-use stand-in, so the text sent is the text given."""
_STAND_IN = {ord(c): 0x100000 + i for i, c in enumerate(_KEPT)}
_RESTORE = {v: k for k, v in _STAND_IN.items()}
_SHOWN = {v: visible(chr(k)) if visible(chr(k)) != chr(k) else "\u2424" for k, v in _STAND_IN.items()}
"""How a stand-in is drawn: the control picture :func:`visible` draws (``␍``), ``␤`` for U+2028/9."""


class CommandInput(TextArea):
    """A :class:`TextArea` where enter sends; with history and tab to accept a completion.

    It keeps the small surface of the one-line input it replaced: :attr:`value` (the text),
    :attr:`cursor_position` (an offset in it) and :meth:`insert_text_at_cursor`.
    """

    BINDINGS = [
        Binding("up", "history(-1)", "Previous line", show=False),
        Binding("down", "history(1)", "Next line", show=False),
        Binding("tab", "complete", "Complete", show=False),
        Binding(
            NEWLINE_KEYS,
            "newline",
            "New line",
            key_display="^j",
            id="troupe.input.newline",
            tooltip="Start a new line (enter sends); a paste keeps its line breaks",
        ),
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

    @dataclass
    class Submitted(Message):
        """The moderator pressed enter; ``value`` is the whole text, line breaks and all."""

        input: CommandInput
        value: str

    def __init__(self, names: Sequence[str]) -> None:
        self.suggester = CommandSuggester(names)
        self.completion = ""
        """What accepting the suggestion makes of the text (``@ai`` → ``@Aiko Sato``), or ''."""
        super().__init__(
            placeholder=PLACEHOLDER,
            id="command",
            compact=True,
            highlight_cursor_line=False,
            soft_wrap=True,
            tab_behavior="focus",
        )
        self.styles.max_height = MAX_LINES
        self.sent: list[str] = []
        """The lines sent, oldest first (↑ walks them)."""
        self._cursor = 0
        self._draft = ""
        self.typed_at = float("-inf")
        """``time.monotonic()`` of the latest key that edited the text (or moved in it)."""
        self.sending: str | None = None
        """The text of a send the control bar has not handled yet: an enter queued behind the
        first (a double tap, a burst) must not send it twice."""

    # -- the one-line input's surface ------------------------------------------------

    @property
    def value(self) -> str:
        return self.text.translate(_RESTORE)

    @value.setter
    def value(self, text: str) -> None:
        self.load_text(text.translate(_STAND_IN))
        self.move_cursor(self.document.end)

    @property
    def cursor_position(self) -> int:
        """The cursor as an offset in :attr:`value`."""
        row, column = self.cursor_location
        lines = self.text.split("\n")
        return sum(len(line) + 1 for line in lines[:row]) + column

    @cursor_position.setter
    def cursor_position(self, offset: int) -> None:
        before = self.text[: max(0, offset)].split("\n")
        self.move_cursor((len(before) - 1, len(before[-1])))

    def insert_text_at_cursor(self, text: str) -> None:
        result = self.replace(text.translate(_STAND_IN), *self.selection, maintain_selection_offset=False)
        self.move_cursor(result.end_location)

    def paste(self, text: str) -> None:
        """Insert a paste: its line breaks kept (a Windows ``\\r\\n`` is one)."""
        self.typed_at = time.monotonic()
        self.insert_text_at_cursor(text.replace("\r\n", "\n"))

    def get_line(self, line_index: int) -> Text:
        """A line as drawn: a control character is its visible symbol (text is data)."""
        return Text(self.document.get_line(line_index).translate(_SHOWN), end="", no_wrap=True)

    # -- keys ------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        # Runs before TextArea's own key handling (which inserts the character, and a line
        # break for enter): enter sends instead; everything else only records the time.
        if event.key not in NOT_TYPING_KEYS:
            self.typed_at = time.monotonic()
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            value = self.value
            if value != self.sending:
                self.sending = value
                self.post_message(self.Submitted(self, value))
        elif event.key in NEWLINE_KEYS.split(","):
            # Here, in order with the characters around it, not as a binding's action (which
            # runs later): keys that arrive in one burst (a fast typist, a paste the terminal
            # does not bracket) would otherwise put the line break after the next characters.
            event.stop()
            event.prevent_default()
            self.action_newline()

    async def _on_paste(self, event: events.Paste) -> None:
        # Instead of TextArea's own paste (which would split lines at \r, \x0b, \x85…); and
        # the paste must not reach the screen, which would paste it again.
        event.stop()
        event.prevent_default()
        self.paste(event.text)

    def is_composing(self) -> bool:
        """Whether the moderator is typing a line: there is a draft, or a key went in just now."""
        return bool(self.value.strip()) or time.monotonic() - self.typed_at < TYPING_PAUSE_S

    def remember(self, line: str) -> None:
        if line and (not self.sent or self.sent[-1] != line):
            self.sent.append(line)
        self._cursor = len(self.sent)
        self._draft = ""

    def action_history(self, step: int) -> None:
        """↑ on the first line (↓ on the last) walks the lines sent; elsewhere moves the cursor."""
        location = self.cursor_location
        if step < 0 and not self.navigator.is_first_wrapped_line(location):
            self.action_cursor_up()
            return
        if step > 0 and not self.navigator.is_last_wrapped_line(location):
            self.action_cursor_down()
            return
        if not self.sent:
            return
        if self._cursor == len(self.sent):
            self._draft = self.value
        self._cursor = max(0, min(len(self.sent), self._cursor + step))
        self.value = self._draft if self._cursor == len(self.sent) else self.sent[self._cursor]

    def action_newline(self) -> None:
        self.typed_at = time.monotonic()
        self.insert_text_at_cursor("\n")

    def watch_selection(self) -> None:
        self.update_suggestion()  # a completion shows only with the cursor at the end

    def update_suggestion(self) -> None:
        """Complete a ``/command`` or ``@Name`` typed on one line, with the cursor at its end."""
        text = self.value
        completion = ""
        if "\n" not in text and self.selection.is_empty and self.cursor_location == self.document.end:
            completion = self.suggester.complete(text) or ""
        self.completion = completion if len(completion) > len(text) else ""
        self.suggestion = self.completion[len(text) :]

    def action_complete(self) -> None:
        if self.completion:
            self.value = self.completion
        else:
            self.screen.focus_next()

    def action_cursor_right(self, select: bool = False) -> None:
        if self.completion and not select:  # → accepts the completion too (with its capitals)
            self.value = self.completion
        else:
            super().action_cursor_right(select)

    def action_leave(self) -> None:
        self.post_message(self.Leave())


class ControlBar(Horizontal):
    """The prompt, the composer and a status label (auto-run, turns in flight)."""

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

    def on_command_input_submitted(self, event: CommandInput.Submitted) -> None:
        event.stop()
        self.input.sending = None
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
