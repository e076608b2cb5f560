"""The highlights dialog: what the moderator starred, each one a jump into the feed.

The list comes from :func:`troupe.sessions.transcript.starred` — the same quotes, speakers
and tags the exports' "Highlights" section shows. Every text is data (``plain_text``).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from troupe.sessions.transcript import StarredQuote

from ..text import one_line


def highlight_line(h: StarredQuote) -> Text:
    """``#12 Tom Becker [price]: “It costs too much”`` on one line."""
    out = Text(f"#{h.target:<5}", style="dim")
    out.append(one_line(h.speaker), style="bold")
    if h.tag:
        out.append(f" [{one_line(h.tag)}]", style="#e5c07b")
    out.append(": “" + one_line(" ".join(h.text.split())) + "”")
    return out


class HighlightsScreen(ModalScreen[int | None]):
    """Lists the highlights; enter (or a click) closes it and returns the starred seq."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="troupe.highlights.close", tooltip="Back to the session")]

    def __init__(self, highlights: list[StarredQuote]) -> None:
        super().__init__(classes="dialog-screen")
        self.highlights = highlights

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="highlights") as box:
            box.border_title = f"Highlights ({len(self.highlights)})"
            box.border_subtitle = "enter jump to it in the feed · esc close"
            if not self.highlights:
                yield Static(
                    "Nothing starred yet. * stars the selected persona's latest line; /star SEQ [tag] any entry."
                )
            else:
                yield OptionList(*(Option(highlight_line(h), id=f"h{h.seq}") for h in self.highlights))

    def on_mount(self) -> None:
        for options in self.query(OptionList):
            options.focus()

    def on_option_list_option_selected(self, message: OptionList.OptionSelected) -> None:
        self.dismiss(self.highlights[message.option_index].target)
