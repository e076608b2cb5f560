"""A small confirmation dialog for the verbs that cannot be undone (next section, end, quit).

The safe answer has the focus: a moderator who pressed ``n`` while meaning to type "now"
and goes on typing ("o", "w", enter) lands on *Cancel*. Confirming takes ``y``, a click, or
moving to the confirm button first. Dismisses with ``True`` (go ahead) or ``False``.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..text import plain


class ConfirmDialog(ModalScreen[bool]):
    """``ConfirmDialog(title, message, confirm="Next section")``; the message is plain text."""

    BINDINGS = [
        Binding("escape,n", "answer(False)", "Cancel", id="troupe.confirm.cancel", tooltip="Do nothing"),
        Binding("y", "answer(True)", "Yes", id="troupe.confirm.yes", tooltip="Go ahead"),
        Binding("left,right", "app.focus_next", "Switch", show=False),
    ]

    def __init__(self, title: str, message: str, confirm: str = "Yes", *, id: str | None = None) -> None:
        super().__init__(id=id, classes="dialog-screen")
        self.title_text = title
        self.message = message
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="confirm-dialog") as box:
            box.border_title = plain(self.title_text)
            box.border_subtitle = "y yes · esc no"
            yield Static(plain(self.message), id="confirm-message")
            with Horizontal(classes="dialog-buttons"):
                yield Button(plain(f"{self.confirm} (y)"), variant="warning", id="confirm-yes", compact=True)
                yield Button("Cancel (esc)", id="confirm-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)
