"""The help screen: every key of the session screen and every slash command."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..verbs import FOOTER_ORDER, GLOBAL_KEYS, VERBS
from ..widgets.control_bar import COMPOSER_KEYS

TYPING: list[tuple[str, str]] = [
    ("text", "speak to the whole room"),
    ("@Name text", "ask one persona; only they answer"),
    *COMPOSER_KEYS,
]


def help_renderable() -> Table:
    """Keys and commands, read from the verbs table (``tui/verbs.py``).

    Every cell is a :class:`~rich.text.Text`: a string in a Rich table is markup, and
    ``/export [md|json|csv|html]`` would lose its brackets.
    """
    out = Table.grid(padding=(0, 2))
    out.add_column(no_wrap=True, style="bold #e5c07b")
    out.add_column()
    out.add_row(Text(""), Text("Keys (in KEYS mode: escape leaves the input)", style="bold underline"))
    for verb in sorted(
        (v for v in VERBS if v.key), key=lambda v: FOOTER_ORDER.index(v.name) if v.name in FOOTER_ORDER else 99
    ):
        if verb.key:
            out.add_row(Text(verb.shown_key), Text(verb.description))
    for key, text in GLOBAL_KEYS:
        out.add_row(Text(key), Text(text))
    out.add_row(Text(""), Text(""))
    out.add_row(Text(""), Text("In the input (INPUT mode)", style="bold underline"))
    for key, text in TYPING:
        out.add_row(Text(key), Text(text))
    out.add_row(Text(""), Text(""))
    out.add_row(Text(""), Text("Commands", style="bold underline"))
    for verb in VERBS:
        if verb.command:
            out.add_row(Text(verb.syntax), Text(verb.description))
    return out


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="troupe.help.close", tooltip="Back")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help") as box:
            box.border_title = "Troupe — moderator help"
            box.border_subtitle = "esc close"
            with VerticalScroll():
                yield Static(help_renderable())
