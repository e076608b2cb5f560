"""The poll dialog: question, kind, and what that kind takes; private-first.

Each kind shows only its own fields: options for one/several choices (and "up to N" for
several), optional custom labels for the Likert scales (exactly 5 or 7; empty means the
standard labels), an optional range for numbers, nothing more for free text. It returns a
validated :class:`~troupe.core.polls.PollSpec`; whatever the spec refuses is said inside
the dialog, with the field to fix focused. The id is chosen by the screen that runs the
poll (unique within the run), so the moderator never has to invent one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Select, Static

from troupe.core.polls import LIKERT_LABELS, PollSpec

from .form import DialogProblem, FormDialog, validation_problem

KINDS = [
    ("Agree/disagree (5 points)", "likert5"),
    ("Agree/disagree (7 points)", "likert7"),
    ("One choice", "single"),
    ("Several choices", "multi"),
    ("A number", "number"),
    ("Free text", "text"),
]


@dataclass(frozen=True)
class KindForm:
    """What the dialog asks for one kind of poll."""

    options_label: str | None
    """The options field's label; ``None``: the kind takes no options (field hidden)."""
    options_placeholder: str = ""
    up_to: bool = False
    """Ask how many options each persona may choose (``max_choices``)."""
    range: bool = False
    """Ask for the lowest and highest number allowed."""
    note: str = ""


def _likert(kind: str) -> KindForm:
    n = len(LIKERT_LABELS[kind])
    return KindForm(
        f"Labels (optional): exactly {n}, comma-separated, most negative first",
        ", ".join(LIKERT_LABELS[kind]),
        note=f"Left empty, the standard {n} labels are used (shown greyed above).",
    )


FORMS: dict[str, KindForm] = {
    "likert5": _likert("likert5"),
    "likert7": _likert("likert7"),
    "single": KindForm("Options, comma-separated (at least two)", "Concept A, Concept B, Neither"),
    "multi": KindForm("Options, comma-separated (at least two)", "Price, Taste, Packaging, Health", up_to=True),
    "number": KindForm(None, range=True, note="Each persona answers with one number."),
    "text": KindForm(None, note="Each persona answers in a sentence of their own."),
}

FIELDS = {
    "question": "#poll-question",
    "options": "#poll-options",
    "max_choices": "#poll-up-to",
    "min": "#poll-min",
    "max": "#poll-max",
}
"""PollSpec field → the input that sets it (focused when the spec refuses that field)."""


def _number(text: str, what: str, field: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise DialogProblem(f"{what} must be a number (or left empty).", field) from None


class PollDialog(FormDialog[PollSpec]):
    """Compose a poll; dismisses with the spec, or ``None`` when cancelled."""

    FOCUS = FIELDS

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
            with Vertical(id="poll-options-field", classes="dialog-field"):
                yield Label("", id="poll-options-label")
                yield Input(id="poll-options", compact=True)
            with Vertical(id="poll-up-to-field", classes="dialog-field"):
                yield Label("Up to how many each may choose (optional; empty: any number)")
                yield Input(type="integer", placeholder="2", id="poll-up-to", compact=True)
            with Vertical(id="poll-range-field", classes="dialog-field"):
                yield Label("Lowest and highest allowed (optional)")
                with Horizontal(classes="dialog-row"):
                    yield Input(type="number", placeholder="min, e.g. 0", id="poll-min", compact=True)
                    yield Input(type="number", placeholder="max, e.g. 10", id="poll-max", compact=True)
            yield Static("", id="poll-kind-note", classes="dialog-note")
            yield Checkbox(
                "Private first: everyone answers alone before anyone hears anyone",
                True,
                id="poll-private",
                compact=True,
            )
            yield from self.form_footer("Ask")

    def on_mount(self) -> None:
        self._show_fields(self.kind)
        self.query_one("#poll-question", Input).focus()

    @property
    def kind(self) -> str:
        return str(self.query_one("#poll-kind", Select).value)

    @on(Select.Changed, "#poll-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        self._show_fields(str(event.value))
        self.show_problem()

    def _show_fields(self, kind: str) -> None:
        form = FORMS[kind]
        self.query_one("#poll-options-field").display = form.options_label is not None
        self.query_one("#poll-options-label", Label).update(form.options_label or "")
        self.query_one("#poll-options", Input).placeholder = form.options_placeholder
        self.query_one("#poll-up-to-field").display = form.up_to
        self.query_one("#poll-range-field").display = form.range
        note = self.query_one("#poll-kind-note", Static)
        note.update(form.note)
        note.display = bool(form.note)

    def build(self) -> PollSpec:
        """The spec for the fields the chosen kind uses; raises :class:`DialogProblem`."""
        kind = self.kind
        form = FORMS[kind]
        question = self.query_one("#poll-question", Input).value.strip()
        if not question:
            raise DialogProblem("Write the question to ask.", "question")
        options: list[str] | None = None
        if form.options_label is not None:
            typed = self.query_one("#poll-options", Input).value
            options = [o.strip() for o in typed.split(",") if o.strip()] or None
            if options is None and kind in ("single", "multi"):
                raise DialogProblem("List the options to choose from, comma-separated (at least two).", "options")
        max_choices: int | None = None
        if form.up_to and (typed := self.query_one("#poll-up-to", Input).value.strip()):
            try:
                max_choices = int(typed)
            except ValueError:
                raise DialogProblem("“Up to” must be a whole number (or left empty).", "max_choices") from None
            if max_choices < 1:
                raise DialogProblem("“Up to” must be at least 1 (or left empty).", "max_choices")
            if options is not None and max_choices > len(options):
                raise DialogProblem(
                    f"“Up to” is {max_choices}, but there are only {len(options)} options.", "max_choices"
                )
        low = high = None
        if form.range:
            low = _number(self.query_one("#poll-min", Input).value, "The lowest value", "min")
            high = _number(self.query_one("#poll-max", Input).value, "The highest value", "max")
        try:
            return PollSpec(
                id=self.poll_id,
                question=question,
                kind=kind,  # type: ignore[arg-type]
                options=options,
                max_choices=max_choices,
                min=low,
                max=high,
                private_first=self.query_one("#poll-private", Checkbox).value,
            )
        except ValidationError as exc:
            raise validation_problem(exc) from None

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()
