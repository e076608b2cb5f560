"""What the dialogs share: a refused input, said in the dialog, with the field to fix.

The stimulus and poll dialogs build the same models guides use (``StimulusSpec``,
``PollSpec``); whatever those refuse, and what the dialogs check first (an empty question, a
missing image file), becomes a :class:`DialogProblem`: a one-line message shown inside the
dialog, and the field that gets the focus so the moderator can fix it at once.
:class:`FormDialog` is the modal they (and the export dialog) are built on: an error line,
Submit/Cancel buttons, ``ctrl+s``/``esc``, and ``build()`` turning the fields into a result.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from troupe.core.validation import problems

from ..text import plain

ResultT = TypeVar("ResultT")


class DialogProblem(ValueError):
    """Input a dialog refuses: ``message`` is shown in the dialog, ``field`` gets the focus."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def validation_problem(exc: ValidationError) -> DialogProblem:
    """The model's first error as a :class:`DialogProblem` (its message, as the model words it).

    A model validator that raises ``LocatedValueError`` (``core/validation.py``) is reported by
    pydantic at the model itself; the exception's ``loc`` still names the field, so that is used.
    """
    first = problems(exc)[0]
    field = str(first.loc[0]) if first.loc else None
    message = first.message
    if not first.located and field:  # a field's own constraint: "question: String should have…"
        message = f"{field}: {message}"
    return DialogProblem(message[:1].upper() + message[1:], field)


class FormDialog(ModalScreen[ResultT | None], Generic[ResultT]):
    """A modal form: :meth:`build` makes the result or raises :class:`DialogProblem`.

    Subclasses compose their fields, then ``yield from self.form_footer("Label")``; they bind
    ``ctrl+s`` to ``submit`` and ``escape`` to ``cancel``. ``FOCUS`` maps a problem's field to
    the widget that gets the focus.
    """

    FOCUS: ClassVar[dict[str, str]] = {}

    def build(self) -> ResultT:
        raise NotImplementedError

    def form_footer(self, submit_label: str, error: str = "") -> ComposeResult:
        """The error line and the Submit / Cancel buttons."""
        yield Static(plain(error), id="dialog-error", classes="dialog-error")
        with Horizontal(classes="dialog-buttons"):
            yield Button(submit_label, variant="primary", id="submit", compact=True)
            yield Button("Cancel", id="cancel", compact=True)

    def show_problem(self, message: str = "") -> None:
        self.query_one("#dialog-error", Static).update(plain(message))  # it may quote input: text, not markup

    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        try:
            result = self.build()
        except DialogProblem as problem:
            self.show_problem(problem.message)
            target = self.FOCUS.get(problem.field or "")
            if target:
                self.query_one(target).focus()
            return
        question = self.confirmation(result)
        if question is None:
            self.dismiss(result)
        else:
            self.app.push_screen(question, lambda yes: self.dismiss(self.confirmed(result)) if yes else None)

    def confirmation(self, result: ResultT) -> ModalScreen[bool] | None:
        """A question to ask before closing with ``result`` (e.g. "overwrite?"), or None."""
        return None

    def confirmed(self, result: ResultT) -> ResultT:
        """The result once the question was answered yes."""
        return result

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
