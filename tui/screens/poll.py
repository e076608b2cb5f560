"""The poll dialog: question, kind, options, private-first.

It returns a validated :class:`~troupe.core.polls.PollSpec`; the id is chosen by the screen
that runs the poll (unique within the run), so the moderator never has to invent one.
"""

from __future__ import annotations

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from troupe.core.polls import PollSpec

from .stimulus import validation_message

KINDS = [
    ("Agree/disagree (5 points)", "likert5"),
    ("Agree/disagree (7 points)", "likert7"),
    ("One choice", "single"),
    ("Several choices", "multi"),
    ("A number", "number"),
    ("Free text", "text"),
]


class PollDialog(ModalScreen[PollSpec | None]):
    """Compose a poll; dismisses with the spec, or ``None`` when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="troupe.dialog.cancel", tooltip="Close without polling"),
        Binding("ctrl+s", "submit", "Ask", id="troupe.poll.submit", tooltip="Ask the panel"),
    ]

    def __init__(self, poll_id: str, question: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.poll_id = poll_id
        self.initial_question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="poll-dialog") as box:
            box.border_title = "Poll the panel"
            box.border_subtitle = "enter/ctrl+s ask · esc cancel"
            yield Label("Question")
            yield Input(self.initial_question, placeholder="I would buy it at €2.49.", id="poll-question", compact=True)
            yield Label("Kind")
            yield Select(KINDS, value="likert5", allow_blank=False, id="poll-kind", compact=True)
            yield Label("Options, comma-separated (one/several choices)")
            yield Input(placeholder="Concept A, Concept B, Neither", id="poll-options", compact=True)
            yield Checkbox("Private first: everyone answers alone before anyone hears anyone", True,
                           id="poll-private", compact=True)
            yield Static("", id="dialog-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Ask", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#poll-question", Input).focus()

    def build(self) -> PollSpec:
        options_text = self.query_one("#poll-options", Input).value
        kind = self.query_one("#poll-kind", Select).value
        options = [o.strip() for o in options_text.split(",") if o.strip()] or None
        if kind not in ("single", "multi"):
            options = None
        return PollSpec(
            id=self.poll_id,
            question=self.query_one("#poll-question", Input).value.strip(),
            kind=kind,  # type: ignore[arg-type]
            options=options,
            private_first=self.query_one("#poll-private", Checkbox).value,
        )

    @on(Input.Submitted)
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
