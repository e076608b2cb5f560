"""The export dialog: pick a format and, optionally, a path.

Writing is done by ``troupe.sessions.export.export_run`` (the same code as ``troupe export``),
which refuses to overwrite without *force* and refuses paths outside the run folder or the
current directory. The dialog checks both before it closes (:func:`export_problem`), so the
moderator fixes the path or ticks "Overwrite" right there instead of reading a notice that
talks about command-line flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Label, Select

from troupe.core.errors import TroupeError

from .form import DialogProblem, FormDialog

FORMATS = [("Markdown (.md)", "md"), ("JSON (.json)", "json"), ("CSV (.csv)", "csv"), ("HTML (.html)", "html")]


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path | None
    """``None``: the default, ``RUN_DIR/transcript.<ext>``."""
    force: bool = False


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
    if target.exists() and not request.force:
        return f"{target} already exists: tick “Overwrite”, or choose another path."
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
        problem = export_problem(self.run_dir, request)
        if problem is not None:
            raise DialogProblem(problem)
        return request

    @on(Input.Submitted)
    def _enter(self) -> None:
        self.action_submit()
