"""Poll specifications (the questions). Running and aggregating polls is in ``poll_run.py``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .validation import LocatedValueError

PollKind = Literal["likert5", "likert7", "single", "multi", "number", "text"]

LIKERT_LABELS: dict[str, list[str]] = {
    "likert5": ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"],
    "likert7": [
        "Strongly disagree",
        "Disagree",
        "Somewhat disagree",
        "Neutral",
        "Somewhat agree",
        "Agree",
        "Strongly agree",
    ],
}


class PollSpec(BaseModel):
    """One poll question, as written in a guide or built by the moderator."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique within the session, e.g. 'intent'.")
    question: str = Field(min_length=1)
    kind: PollKind = "likert5"
    options: list[str] | None = None
    """Choices for single/multi; labels for Likert (defaults to the standard labels)."""
    max_choices: int | None = Field(default=None, ge=1)
    """For ``multi`` polls: at most this many options ("choose up to two")."""
    min: float | None = None
    """Bounds for ``number`` polls."""
    max: float | None = None
    private_first: bool = True
    """Collect every answer in isolation before anyone hears anyone."""
    reveal: bool = True
    """After a private-first poll, tell the room the answers (to discuss them)."""
    discuss: bool = False
    """In a guide: once the results are revealed, a round in which the panel discusses them
    (a ``moderator`` line with ``source="discuss_results"``, then one round)."""

    @model_validator(mode="after")
    def _check(self) -> PollSpec:
        if self.discuss and not (self.private_first and self.reveal):
            raise LocatedValueError(
                ("discuss",), "a poll is discussed after its results are revealed: it needs private_first and reveal"
            )
        if self.kind in ("single", "multi"):
            if not self.options:
                raise LocatedValueError(("options",), f"a {self.kind} poll needs options")
            if len(self.options) < 2:
                raise LocatedValueError(("options",), f"a {self.kind} poll needs at least two options")
        elif self.kind in LIKERT_LABELS:
            n = len(LIKERT_LABELS[self.kind])
            if self.options is None:
                self.options = list(LIKERT_LABELS[self.kind])
            elif len(self.options) != n:
                raise LocatedValueError(
                    ("options",), f"a {self.kind} poll needs exactly {n} labels, got {len(self.options)}"
                )
        elif self.options is not None:
            raise LocatedValueError(
                ("options",), f"a {self.kind} poll takes no options (they are for single, multi and Likert polls)"
            )
        seen: set[str] = set()
        for i, option in enumerate(self.options or ()):
            key = option.strip().casefold()
            if not key:
                raise LocatedValueError(("options", i), "an option cannot be empty")
            if key in seen:
                raise LocatedValueError(("options", i), f"{option!r} is listed twice")
            seen.add(key)
        if self.max_choices is not None:
            if self.kind != "multi":
                raise LocatedValueError(("max_choices",), "max_choices applies to multi polls only")
            if self.max_choices > len(self.options or ()):
                raise LocatedValueError(
                    ("max_choices",),
                    f"max_choices is {self.max_choices} but there are only {len(self.options or ())} options",
                )
        if self.kind != "number":
            for bound in ("min", "max"):
                if getattr(self, bound) is not None:
                    raise LocatedValueError((bound,), f"{bound} applies to number polls only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise LocatedValueError(("min",), "min is greater than max")
        return self
