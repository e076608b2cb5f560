"""What the dialogs share: a refused input, said in the dialog, with the field to fix.

The stimulus and poll dialogs build the same models guides use (``StimulusSpec``,
``PollSpec``); whatever those refuse, and what the dialogs check first (an empty question, a
missing image file), becomes a :class:`DialogProblem`: a one-line message shown inside the
dialog, and the field that gets the focus so the moderator can fix it at once.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError


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
    err = exc.errors(include_url=False)[0]
    cause: Any = (err.get("ctx") or {}).get("error")
    loc = tuple(getattr(cause, "loc", None) or err["loc"])
    field = str(loc[0]) if loc else None
    message = str(cause) if cause is not None else err["msg"]
    message = message.removeprefix("Value error, ")
    if cause is None and field:  # a field's own constraint: "question: String should have…"
        message = f"{field}: {message}"
    return DialogProblem(message[:1].upper() + message[1:], field)
