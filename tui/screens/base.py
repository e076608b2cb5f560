"""The one place where worker errors become notices (the harlequin pattern).

Every turn, poll, export and session open runs in a worker declared with
``exit_on_error=False``; when one fails, Textual posts ``Worker.StateChanged`` to the node
that ran it. Screens derive from :class:`WorkerScreen` so those failures all go through
:func:`notify_error`: a notice titled by the error (``TroupeError.title``), never a crash.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from textual import on
from textual.app import App
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from troupe.core.errors import TroupeError

log = logging.getLogger(__name__)
ResultT = TypeVar("ResultT")


def describe_error(error: BaseException) -> tuple[str, str]:
    """A title and a one-line message for any exception (known errors keep their title)."""
    if isinstance(error, TroupeError):
        return error.title, error.message
    message = str(error) or error.__class__.__name__
    return f"Unexpected {error.__class__.__name__}", message


def notify_error(app: App[Any], error: BaseException, doing: str | None = None) -> None:
    title, message = describe_error(error)
    if not isinstance(error, TroupeError):
        log.error("worker failed while %s", doing or "working", exc_info=error)
    app.notify(f"{doing}: {message}" if doing else message, title=title, severity="error", timeout=8)


class WorkerScreen(Screen[ResultT]):
    """A screen whose failed workers become error notices."""

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            if not self.already_reported(event.worker.error):
                notify_error(self.app, event.worker.error, event.worker.description or event.worker.name)
            self.worker_failed(event.worker)

    def worker_failed(self, worker: Worker[Any]) -> None:
        """Hook for screens that must undo something when a worker fails (e.g. auto-run)."""

    def already_reported(self, error: BaseException) -> bool:
        """Hook for screens that show this failure another way (one notice per failure)."""
        return False


class WorkerModal(ModalScreen[ResultT]):
    """A modal screen whose failed workers become error notices."""

    @on(Worker.StateChanged)
    def _report_worker_error(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            notify_error(self.app, event.worker.error, event.worker.description or event.worker.name)
