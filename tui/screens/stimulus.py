"""The stimulus dialog: plain text, a concept card (title + body) or an image (path + description).

It returns a validated :class:`~troupe.sessions.guide.StimulusSpec` (the same model guides
use), so a stimulus shown live is exactly like one planned in a guide. Invalid input stays
in the dialog with the reason shown; nothing is sent until it validates.
"""

from __future__ import annotations

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from troupe.sessions.guide import StimulusSpec

KINDS = [("Text", "text"), ("Concept card", "concept"), ("Image", "image")]


def validation_message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(p) for p in err["loc"])
    return f"{where}: {err['msg']}" if where else err["msg"].removeprefix("Value error, ")


class StimulusDialog(ModalScreen[StimulusSpec | None]):
    """Compose a stimulus; dismisses with the spec, or ``None`` when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="troupe.dialog.cancel", tooltip="Close without showing anything"),
        Binding("ctrl+s", "submit", "Show", id="troupe.stimulus.submit", tooltip="Show the stimulus to the panel"),
    ]

    def __init__(self, text: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.initial_text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="stimulus-dialog") as box:
            box.border_title = "Show a stimulus"
            box.border_subtitle = "ctrl+s show · esc cancel"
            yield Label("Kind")
            yield Select(KINDS, value="text", allow_blank=False, id="stimulus-kind", compact=True)
            yield Label("Title (concept cards)")
            yield Input(placeholder="Concept A — Gazpacho Go", id="stimulus-title", compact=True)
            yield Label("Text, card body or image description")
            yield TextArea(self.initial_text, id="stimulus-text", soft_wrap=True, compact=True)
            yield Label("Image file (images)")
            yield Input(placeholder="stimuli/bottle.png", id="stimulus-path", compact=True)
            yield Static("", id="dialog-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Show", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#stimulus-text", TextArea).focus()

    def build(self) -> StimulusSpec:
        """The spec for what is in the fields (raises ``ValidationError``)."""
        kind = self.query_one("#stimulus-kind", Select).value
        title = self.query_one("#stimulus-title", Input).value.strip() or None
        path = self.query_one("#stimulus-path", Input).value.strip() or None
        text = self.query_one("#stimulus-text", TextArea).text.strip()
        return StimulusSpec(kind=kind, title=title, text=text, path=path)  # type: ignore[arg-type]

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        try:
            spec = self.build()
        except ValidationError as exc:
            self.query_one("#dialog-error", Static).update(validation_message(exc))
            return
        self.dismiss(spec)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
