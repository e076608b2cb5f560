"""The help screen: every key of the session screen and every slash command."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..command_line import COMMANDS

KEYS: list[tuple[str, str]] = [
    ("space", "next round (advance the guide one beat); stops auto-run when it is on"),
    ("a", "toggle auto-run"),
    ("p", "pause / resume the selected persona"),
    ("m", "mute / unmute the selected persona"),
    ("n", "next section"),
    ("s", "show a stimulus"),
    ("o", "poll the panel"),
    ("r", "poll results"),
    ("e", "export the transcript"),
    ("t", "show / hide private thoughts"),
    ("enter", "details of the selected persona"),
    ("arrows", "move the selection between personas"),
    ("/ or i", "type in the control bar (escape leaves it)"),
    ("?", "this help"),
    ("ctrl+p", "command palette: every moderator action"),
    ("ctrl+q", "quit (the run stays resumable: troupe resume RUN_DIR)"),
]

TYPING: list[tuple[str, str]] = [
    ("text", "speak to the whole room"),
    ("@Name text", "ask one persona; only they answer"),
    ("↑ ↓", "previous lines"),
    ("→ or tab", "accept the completion of a /command or a @Name"),
]


def help_renderable() -> Table:
    out = Table.grid(padding=(0, 2))
    out.add_column(no_wrap=True, style="bold #e5c07b")
    out.add_column()
    out.add_row("", Text("Keys (outside the input; escape gets you there)", style="bold underline"))
    for key, text in KEYS:
        out.add_row(key, text)
    out.add_row("", "")
    out.add_row("", Text("In the input", style="bold underline"))
    for key, text in TYPING:
        out.add_row(key, text)
    out.add_row("", "")
    out.add_row("", Text("Commands", style="bold underline"))
    for verb, text in COMMANDS.items():
        out.add_row(f"/{verb}", text)
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="troupe.help.close", tooltip="Back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help") as box:
            box.border_title = "Troupe — moderator help"
            box.border_subtitle = "esc close"
            with VerticalScroll():
                yield Static(help_renderable())
