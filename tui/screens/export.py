"""The export dialog: pick a format and, optionally, a path.

Writing is done by ``troupe.sessions.export.export_run`` (the same code as ``troupe export``),
which refuses to overwrite without *force* and refuses paths outside the run folder or the
current directory; its errors come back as notices.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select

FORMATS = [("Markdown (.md)", "md"), ("JSON (.json)", "json"), ("CSV (.csv)", "csv"), ("HTML (.html)", "html")]


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    path: Path | None
    """``None``: the default, ``RUN_DIR/transcript.<ext>``."""
    force: bool = False


class ExportDialog(ModalScreen[ExportRequest | None]):
    """Choose what to export; dismisses with an :class:`ExportRequest` or ``None``."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="troupe.dialog.cancel", tooltip="Close without exporting"),
        Binding("ctrl+s", "submit", "Export", id="troupe.export.submit", tooltip="Write the file"),
    ]

    def __init__(self, run_dir: Path, fmt: str = "md") -> None:
        super().__init__(classes="dialog-screen")
        self.run_dir = run_dir
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="export-dialog") as box:
            box.border_title = "Export the transcript"
            box.border_subtitle = "enter/ctrl+s export · esc cancel"
            yield Label("Format")
            yield Select(FORMATS, value=self.fmt, allow_blank=False, id="export-format", compact=True)
            yield Label("Path (empty: in the run folder)")
            yield Input(placeholder=str(self.run_dir / f"transcript.{self.fmt}"), id="export-path", compact=True)
            yield Checkbox("Overwrite an existing file", False, id="export-force", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Export", variant="primary", id="submit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#export-format", Select).focus()

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        self.query_one("#export-path", Input).placeholder = str(self.run_dir / f"transcript.{event.value}")

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit")
    def action_submit(self) -> None:
        path = self.query_one("#export-path", Input).value.strip()
        self.dismiss(ExportRequest(
            fmt=str(self.query_one("#export-format", Select).value),
            path=Path(path).expanduser() if path else None,
            force=self.query_one("#export-force", Checkbox).value,
        ))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
