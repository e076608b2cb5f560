"""The export dialog: pick a format and, optionally, a path.

Writing is done by ``troupe.sessions.export.export_run`` (the same code as ``troupe export``),
which writes where the moderator says and refuses only to overwrite without *force*. The
dialog checks before it closes (:func:`export_problem`), so the moderator fixes the path right
there, and replacing an existing file asks for a confirmation (or the "Overwrite" tick).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Label, Select

from troupe.core.errors import TroupeError

from .confirm import ConfirmDialog
from .form import DialogProblem, FormDialog

FORMATS = [("Markdown (.md)", "md"), ("JSON (.json)", "json"), ("CSV (.csv)", "csv"), ("HTML (.html)", "html")]


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path | None
    """``None``: the default, ``RUN_DIR/transcript.<ext>``."""
    force: bool = False


def existing_target(run_dir: Path, request: ExportRequest) -> Path | None:
    """The file ``request`` would replace, or None (a new file, or a path that is refused)."""
    from troupe.sessions.export import FORMATS
    from troupe.sessions.export.common import resolve_output

    if request.fmt not in FORMATS:
        return None
    try:
        target = resolve_output(run_dir, request.path, f"transcript.{FORMATS[request.fmt]}")
    except (TroupeError, OSError, ValueError):
        return None
    return target if target.exists() else None


def export_problem(run_dir: Path, request: ExportRequest) -> str | None:
    """Why ``request`` would be refused (a path outside the allowed folders, an existing file
    without *force*), in the dialog's words; ``None`` if it can go ahead."""
    from troupe.sessions.export import FORMATS
    from troupe.sessions.export.common import resolve_output

    if request.fmt not in FORMATS:
        return f"unknown format “{request.fmt}” (choose from {', '.join(FORMATS)})"
    try:
        target = resolve_output(run_dir, request.path, f"transcript.{FORMATS[request.fmt]}")
    except TroupeError as exc:
        return exc.message
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it
        return f"cannot write there: {exc}"
    if not target.parent.is_dir():
        return f"the folder {target.parent} does not exist"
    if target.exists() and not request.force:
        return f"{target} already exists: tick “Overwrite” (or export again and confirm), or choose another path."
    return None


class ExportDialog(FormDialog[ExportRequest]):
    """Choose what to export; dismisses with an :class:`ExportRequest` or ``None``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="troupe.dialog.cancel", tooltip="Close without exporting"),
        Binding("ctrl+s", "submit", "Export", id="troupe.export.submit", tooltip="Write the file"),
    ]

    def __init__(self, run_dir: Path, fmt: str = "md", path: Path | None = None, error: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.run_dir = run_dir
        self.fmt = fmt
        self.initial_path = str(path) if path else ""
        self.initial_error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog") as box:
            box.border_title = "Export the transcript"
            box.border_subtitle = "ctrl+s export · esc cancel"
            yield Label("Format")
            yield Select(FORMATS, value=self.fmt, allow_blank=False, id="export-format", compact=True)
            yield Label("Path (empty: in the run folder; enter exports)")
            yield Input(
                self.initial_path,
                placeholder=str(self.run_dir / f"transcript.{self.fmt}"),
                id="export-path",
                compact=True,
            )
            yield Checkbox("Overwrite an existing file", False, id="export-force", compact=True)
            yield from self.form_footer("Export", self.initial_error)

    def on_mount(self) -> None:
        # reopened because of a problem: start where it is fixed (tick Overwrite, or edit the path)
        start = "#export-force" if self.initial_error else "#export-format"
        self.query_one(start).focus()

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        self.query_one("#export-path", Input).placeholder = str(self.run_dir / f"transcript.{event.value}")

    def build(self) -> ExportRequest:
        path = self.query_one("#export-path", Input).value.strip()
        request = ExportRequest(
            fmt=str(self.query_one("#export-format", Select).value),
            path=Path(path).expanduser() if path else None,
            force=self.query_one("#export-force", Checkbox).value,
        )
        problem = export_problem(self.run_dir, replace(request, force=True))  # replacing: confirmed
        if problem is not None:
            raise DialogProblem(problem)
        return request

    def confirmation(self, result: ExportRequest) -> ConfirmDialog | None:
        """Replacing a file asks first (unless "Overwrite" is ticked)."""
        target = existing_target(self.run_dir, result)
        if target is None or result.force:
            return None
        return ConfirmDialog("Overwrite the file?", f"{target} already exists. Replace it?", "Overwrite")

    def confirmed(self, result: ExportRequest) -> ExportRequest:
        return replace(result, force=True)

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()
