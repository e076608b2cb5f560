"""The stimulus dialog: plain text, a concept card (title + body) or an image (path + description).

It shows only the fields the chosen kind needs and returns a validated
:class:`~troupe.sessions.guide.StimulusSpec` (the same model guides use), so a stimulus shown
live is exactly like one planned in a guide. Invalid input stays in the dialog with the
reason shown and the field to fix focused; nothing is sent until it validates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, Select, TextArea

from troupe.sessions.guide import StimulusSpec

from .form import DialogProblem, FormDialog, validation_problem

KINDS = [("Text", "text"), ("Concept card", "concept"), ("Image", "image")]


@dataclass(frozen=True)
class KindForm:
    """What the dialog asks for one kind of stimulus."""

    title: bool
    """Ask for a title (concept cards)."""
    path: bool
    """Ask for an image file (images)."""
    text_label: str
    empty_text: str
    """The message when the text is left empty."""


FORMS: dict[str, KindForm] = {
    "text": KindForm(False, False, "Text shown to the panel", "Write the text to show the panel."),
    "concept": KindForm(True, False, "Card body", "Write the concept card's body."),
    "image": KindForm(
        False,
        True,
        "Description (what models that cannot see images are told)",
        "Describe the image: models that cannot see it get only this description.",
    ),
}


def find_image(typed: str, base: Path | None) -> Path | None:
    """The image file ``typed`` names: as given (absolute, or from the current folder), else
    relative to ``base`` (the guide's folder, as a guide's own stimuli are); None if neither
    is a file."""
    try:
        p = Path(typed).expanduser()
        candidates = [p] if p.is_absolute() or base is None else [p, base / p]
        return next((c for c in candidates if c.is_file()), None)
    except (OSError, ValueError):  # a name too long for the file system, a NUL in it: no such file
        return None


def _is_dir(typed: str) -> bool:
    try:
        return Path(typed).expanduser().is_dir()
    except (OSError, ValueError):
        return False


class StimulusDialog(FormDialog[StimulusSpec]):
    """Compose a stimulus; dismisses with the spec, or ``None`` when cancelled.

    ``base`` is the folder image paths may also be relative to (the guide's).
    """

    FOCUS = {"title": "#stimulus-title", "path": "#stimulus-path", "text": "#stimulus-text"}

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="troupe.dialog.cancel", tooltip="Close without showing anything"),
        Binding("ctrl+s", "submit", "Show", id="troupe.stimulus.submit", tooltip="Show the stimulus to the panel"),
    ]

    def __init__(self, text: str = "", *, kind: str = "text", base: Path | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.initial_text = text
        self.initial_kind = kind if kind in FORMS else "text"
        self.base = base

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="stimulus-dialog") as box:
            box.border_title = "Show a stimulus"
            box.border_subtitle = "ctrl+s show · esc cancel"
            yield Label("Kind")
            yield Select(KINDS, value=self.initial_kind, allow_blank=False, id="stimulus-kind", compact=True)
            with Vertical(id="stimulus-title-field", classes="dialog-field"):
                yield Label("Title")
                yield Input(placeholder="Concept A — Gazpacho Go", id="stimulus-title", compact=True)
            with Vertical(id="stimulus-path-field", classes="dialog-field"):
                yield Label("Image file (from the current folder, or the guide's)")
                yield Input(placeholder="stimuli/bottle.png", id="stimulus-path", compact=True)
            yield Label(FORMS[self.initial_kind].text_label, id="stimulus-text-label")
            yield TextArea(self.initial_text, id="stimulus-text", soft_wrap=True, compact=True)
            yield from self.form_footer("Show")

    def on_mount(self) -> None:
        self._show_fields(self.initial_kind)
        self.query_one("#stimulus-text", TextArea).focus()

    @property
    def kind(self) -> str:
        return str(self.query_one("#stimulus-kind", Select).value)

    @on(Select.Changed, "#stimulus-kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        kind = str(event.value)
        self._show_fields(kind)
        self.show_problem()
        # chosen with the select: back to typing, in the first field the kind needs (the select
        # would swallow the keys); a change made while typing elsewhere leaves the focus there
        if self.focused is None or isinstance(self.focused, Select):
            form = FORMS[kind]
            first = "#stimulus-path" if form.path else "#stimulus-title" if form.title else "#stimulus-text"
            self.query_one(first).focus()

    def _show_fields(self, kind: str) -> None:
        form = FORMS[kind]
        self.query_one("#stimulus-title-field").display = form.title
        self.query_one("#stimulus-path-field").display = form.path
        self.query_one("#stimulus-text-label", Label).update(form.text_label)

    def build(self) -> StimulusSpec:
        """The spec for the fields the chosen kind uses; raises :class:`DialogProblem`."""
        kind = self.kind
        form = FORMS[kind]
        title = self.query_one("#stimulus-title", Input).value.strip() if form.title else ""
        typed = self.query_one("#stimulus-path", Input).value.strip() if form.path else ""
        text = self.query_one("#stimulus-text", TextArea).text.strip()
        if form.title and not title:
            raise DialogProblem("A concept card needs a title.", "title")
        path: str | None = None
        if form.path:
            if not typed:
                raise DialogProblem("Give the path of the image file to show.", "path")
            found = find_image(typed, self.base)
            if found is None:
                folder = _is_dir(typed)
                raise DialogProblem(
                    f"{typed} is a folder, not an image file." if folder else f"Image file not found: {typed}", "path"
                )
            # kept as typed when it is the guide's own (guides write it so); else made absolute,
            # so that the run names the file whatever folder it is later read from
            inside_guide = self.base is not None and found == self.base / Path(typed).expanduser()
            path = typed if inside_guide else str(found.resolve())
        if not text:
            raise DialogProblem(form.empty_text, "text")
        try:
            return StimulusSpec(kind=kind, title=title or None, text=text, path=path)  # type: ignore[arg-type]
        except ValidationError as exc:
            raise validation_problem(exc) from None
