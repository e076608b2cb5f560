"""The Troupe Textual application: the home screen or a session, and quitting cleanly.

The app owns the session's lifetime: it opens it (``Session.start``/``resume``, given as an
*opener* coroutine so the same app serves ``troupe``, ``troupe run``, ``troupe demo`` and
``troupe resume``) in a worker while a loading screen shows, pushes the session screen,
and on quit cancels the turns in flight and closes the session and its backend. Every event that was
appended is already on disk by then, so ``troupe resume`` continues where it stopped.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Center, Middle
from textual.widgets import Label, LoadingIndicator
from textual.worker import Worker

from .config import TuiConfig
from .palette_provider import ModeratorCommands
from .screens.base import WorkerScreen, notify_error
from .screens.confirm import ConfirmDialog
from .screens.session import SessionScreen
from .session_api import ModeratedSession
from .text import plain, visible

CANCEL_GRACE_S = 2.0
"""How long quitting waits for cancelled turns to unwind."""

MAX_NOTICES = 3
"""Notices shown at once; an older one goes when a newer one would be the fourth."""

SessionOpener = Callable[[TuiConfig], Awaitable[ModeratedSession]]
"""Starts or resumes a session; called once, inside the app's event loop."""


class OpeningScreen(WorkerScreen[None]):
    """Shown while a session starts (loading a local model can take seconds)."""

    def __init__(self, what: str) -> None:
        super().__init__(id="opening")
        self.what = what

    def compose(self) -> ComposeResult:
        with Middle(), Center():
            yield Label(plain(self.what), id="opening-label")
            yield LoadingIndicator()


class TroupeApp(App[int]):
    """``TroupeApp(config, opener=...)`` opens a session; without an opener, the home screen."""

    CSS_PATH = "troupe.tcss"
    TITLE = "Troupe"
    COMMANDS = App.COMMANDS | {ModeratorCommands}
    BINDINGS = [
        Binding(
            "ctrl+q",
            "quit",
            "Quit",
            id="troupe.quit",
            priority=True,
            tooltip="Quit. The run stays in its folder; troupe resume RUN_DIR continues it",
        ),
    ]

    def __init__(
        self,
        config: TuiConfig | None = None,
        *,
        opener: SessionOpener | None = None,
        opening_label: str = "Starting the session…",
    ) -> None:
        super().__init__()
        self.config = config or TuiConfig()
        self.opener = opener
        self.opening_label = opening_label
        self.session: ModeratedSession | None = None
        self._closed = False

    def on_mount(self) -> None:
        if self.opener is not None:
            self.open_session(self.opener, self.opening_label, standalone=True)
        else:
            from .screens.home import HomeScreen

            self.push_screen(HomeScreen(self.config))

    def open_session(self, opener: SessionOpener, label: str, *, standalone: bool = False) -> None:
        """Open a session behind a loading screen; on failure, a notice (or exit 1 if standalone)."""
        self.push_screen(OpeningScreen(label))
        self._open(opener, standalone)

    @work(exit_on_error=False, group="open", exclusive=True, description="opening the session")
    async def _open(self, opener: SessionOpener, standalone: bool) -> None:
        try:
            session = await opener(self.config)
        except Exception as exc:  # one readable notice (or exit code 1), never a traceback
            if standalone:
                from .screens.base import describe_error

                title, message = describe_error(exc)
                self.exit(1, return_code=getattr(exc, "exit_code", 1), message=f"troupe: {message}")
                return
            self.pop_screen()
            notify_error(self, exc, "opening the session")
            return
        self.session = session
        await self.switch_screen(SessionScreen(session, self.config))

    async def switch_session(self, opener: SessionOpener, label: str) -> None:
        """Leave the session on screen — closed, resumable, its backend kept — and open another
        in its place (a branch made from the room goes on in the same window)."""
        await self.close_session(keep_backend=True)
        self._closed = False
        self.session = None
        await self.switch_screen(OpeningScreen(label))
        self._open(opener, False)

    async def close_session(self, *, keep_backend: bool = False) -> None:
        """Stop turns in flight and close the session (its log is already complete on disk)."""
        if self._closed:
            return
        self._closed = True
        running: list[Worker[Any]] = []
        for screen in self.screen_stack:
            if isinstance(screen, SessionScreen):
                screen.auto = False
                running += self.workers.cancel_node(screen)
        running += self.workers.cancel_group(self, "open")
        if running:  # let cancelled turns unwind before the log closes under them
            await asyncio.wait([asyncio.ensure_future(_settle(w)) for w in running], timeout=CANCEL_GRACE_S)
        if self.session is not None:
            # The backend is closed here too: it lives on this app's event loop, which is gone
            # once the app exits, so nobody could close it later.
            backend_close = None if keep_backend else getattr(self.session.backend, "aclose", None)
            for close in (self.session.aclose, backend_close):
                if close is None:
                    continue
                try:
                    await close()
                except Exception as exc:  # closing must not turn a clean quit into a crash
                    notify_error(self, exc, "closing the session")

    async def action_quit(self) -> None:
        """Quit; while a round runs, ask first (ctrl+q again, or y, confirms)."""
        screen = next((s for s in self.screen_stack if isinstance(s, SessionScreen)), None)
        asking = isinstance(self.screen, ConfirmDialog) and self.screen.id == "confirm-quit"
        if screen is not None and screen.round_running() and not asking:
            dialog = ConfirmDialog(
                "Quit while a round runs?",
                "The turns in flight are stopped and not logged; everything already said is kept, "
                "and troupe resume redoes the rest.",
                "Quit",
                id="confirm-quit",
            )
            self.push_screen(dialog, self._quit_confirmed)
            return
        await self._quit()

    async def _quit_confirmed(self, yes: bool | None) -> None:
        if yes:
            await self._quit()

    async def _quit(self) -> None:
        await self.close_session()
        self.exit(0)

    def exit_message(self) -> str | None:
        """What the terminal says after the app is gone: where the run is and how to go on."""
        if self.session is None:
            return None
        run_dir = shlex.quote(str(self.session.run_dir))
        if self.session.state.ended:
            return (
                f"The run is in {run_dir} (ended).\n"
                f"Export it:  troupe export {run_dir} --format md\n"
                f"Branch it:  troupe branch {run_dir} --at SEQ"
            )
        return f"The run is in {run_dir}.\nContinue it:  troupe resume {run_dir}"

    def notify(self, message: str, *, title: str = "", markup: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
        """Every notice is plain text: what it quotes (names, paths, a persona's words, an error
        message) is data, never markup, so ``[/b]`` in it is shown, not parsed (and never crashes).
        Widgets' ``notify`` passes ``markup=True`` by default; it is ignored on purpose."""
        # Notices never pile up over the feed and the dialogs: the newest few stay (this one is
        # added when its message is handled, so make room for it now).
        while len(self._notifications) >= MAX_NOTICES:
            self._unnotify(next(iter(self._notifications)))
        super().notify(visible(message), title=visible(title), markup=False, **kwargs)

    def report(self, error: BaseException, doing: str | None = None) -> None:
        notify_error(self, error, doing)


async def _settle(worker: Worker[Any]) -> None:
    try:
        await worker.wait()
    except Exception:  # WorkerCancelled / WorkerFailed: what matters is that it stopped
        pass


def run_app(app: TroupeApp) -> int:
    """Run ``app`` in the terminal and return its exit code."""
    result: Any = app.run()
    message = app.exit_message()
    if message:
        print(message, file=sys.stderr)
    return int(app.return_code if app.return_code is not None else (result or 0))
