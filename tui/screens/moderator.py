"""The moderator's verbs on the session screen: turns in workers, keys, dialogs, the palette.

A mixin of :class:`~troupe.tui.screens.session.SessionScreen`, kept apart from the drawing
code so each file has one job: this one *acts on* the session, the screen *shows* it.
Every verb that makes personas talk runs in an async worker declared with
``exit_on_error=False``, a group and a description; failures become notices through
:class:`~troupe.tui.screens.base.WorkerScreen`. The controller orders the rounds.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from troupe.core.poll_stats import PollResult as PollView
from troupe.core.poll_stats import answers_by
from troupe.core.poll_stats import collect_polls as poll_views
from troupe.core.polls import PollSpec
from troupe.sessions.guide import StimulusSpec

from .export import ExportDialog, ExportRequest, export_problem
from .help import HelpScreen
from .persona_detail import PersonaDetail, PersonaDetailScreen
from .poll import PollDialog
from .poll_results import PollResultsScreen
from .stimulus import StimulusDialog

if TYPE_CHECKING:
    from ..palette import SpeakerPalette
    from ..session_api import ModeratedSession
    from ..widgets.control_bar import ControlBar
    from ..widgets.persona_grid import PersonaGrid


@dataclass(frozen=True)
class PaletteAction:
    """One moderator action offered by the command palette."""

    title: str
    help: str
    run: Callable[[], Any]


class ModeratorVerbs:
    """What the moderator can do; mixed into the session screen (a Textual ``Screen``)."""

    if TYPE_CHECKING:  # provided by SessionScreen
        session: ModeratedSession
        palette: SpeakerPalette
        names: list[str]
        auto: bool
        show_thoughts: bool
        _queued: int
        _asked_polls: set[str]
        grid: PersonaGrid
        control_bar: ControlBar
        app: Any

        def flush(self) -> None: ...
        def _refresh_state(self) -> None: ...
        def _update_status(self) -> None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(self, *args: Any, **kwargs: Any) -> Any: ...
        def set_focus(self, widget: Any, scroll_visible: bool = True) -> None: ...

    # -- turns -------------------------------------------------------------------------

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """Count a verb in flight (shown in the control bar); the controller orders them."""
        if self.session.state.paused and not self.session.state.ended:
            # the controller holds it until the session resumes: say so, or it looks stuck
            self.notify(
                "The session is paused: this waits until you resume it (/resume).",
                title="Session paused",
                severity="warning",
                timeout=4,
            )
        self._queued += 1
        try:
            yield
        finally:
            self._queued -= 1

    @work(exit_on_error=False, group="turns", description="speaking to the room")
    async def speak(self, text: str) -> None:
        async with self._turn():
            await self.session.say(text)

    @work(exit_on_error=False, group="turns", description="asking one persona")
    async def ask(self, name: str, text: str) -> None:
        async with self._turn():
            await self.session.ask(name, text)

    @work(exit_on_error=False, group="turns", description="showing a stimulus")
    async def show_stimulus(self, spec: StimulusSpec) -> None:
        async with self._turn():
            await self.session.show(spec)

    @work(exit_on_error=False, group="turns", description="polling the panel")
    async def run_poll(self, spec: PollSpec) -> None:
        """Run a poll asked from the poll dialog, then offer its results (:meth:`offer_results`)."""
        self._asked_polls.add(spec.id)
        try:
            async with self._turn():
                result = await self.session.poll(spec)
            self.flush()  # draws the poll; its "poll closed" notice, if any, is offer_results' to give
        finally:
            self._asked_polls.discard(spec.id)
        self.offer_results(getattr(result, "poll_id", spec.id))

    def asked_here(self, poll_id: str) -> bool:
        """Whether ``poll_id`` is a poll from the dialog still running (the session may have
        suffixed its id with ``-2``… if the guide uses it too)."""
        return any(poll_id == p or poll_id.startswith(f"{p}-") for p in self._asked_polls)

    def offer_results(self, poll_id: str) -> None:
        """After a poll the moderator asked: open its results, unless that would get in the way.

        The results screen is modal: opened while the moderator types a follow-up in the
        control bar, or works in another dialog, it would take the keys being typed. Then,
        as after the guide's own polls, a notice says how to open them (r, or /results).
        """
        polls = [p for p in poll_views(self.session.events) if p.poll_id == poll_id]
        if not polls:
            return
        if self.app.screen is self and not self.control_bar.input.is_composing():
            self.app.push_screen(PollResultsScreen(polls, self.palette))
        else:
            self.poll_closed_notice(polls[0])

    def poll_closed_notice(self, poll: PollView) -> None:
        n = poll.closed.n if poll.closed is not None else len(poll.answers)
        self.notify(
            f"{poll.question}\nr shows the results (/results while typing)",
            title=f"Poll closed ({n} answers)",
            timeout=8,
            markup=False,
        )

    @work(exit_on_error=False, group="turns", description="advancing the guide")
    async def step(self) -> None:
        async with self._turn():
            more = await self.session.step()
        if not more:
            self.notify("The guide is finished: keep talking, or /end the session.", title="Guide finished")

    @work(exit_on_error=False, group="turns", description="running one more round")
    async def extra_round(self) -> None:
        async with self._turn():
            await self.session.run_round()

    # -- moves against dominance and conformity (docs/dynamics.md) ---------------------------

    def dynamics_move(self, verb: str, name: str, rest: str = "") -> None:
        """``/quiet [N]``, ``/devil Name [position]``, ``/hold Name [N]``."""
        if verb == "hold":
            rounds = int(rest) if rest.isdigit() else 2
            self.session.hold_back(name, rounds)
            self.notify(f"{name} sits out the next {rounds} round{'' if rounds == 1 else 's'}.", markup=False)
            self.flush()
        elif verb == "devil":
            self.devils_advocate(name, rest or None)
        else:
            count = name or rest
            self.call_on_quiet(int(count) if count.isdigit() else None)

    def show_dynamics(self) -> str:
        """``/dynamics``: the readouts of the log so far (``core/dynamics.py``) as a notice."""
        from troupe.core.dynamics import compute
        from troupe.sessions.dynamics_render import dynamics_summary

        text = dynamics_summary(compute(self.session.events))
        self.notify(text, title="Group dynamics", timeout=15, markup=False)
        return text

    def branch_here(self, seq: str = "") -> Path | None:
        """``/branch [SEQ]``: a new run folder made of events 1..SEQ (default: the latest event)
        via :func:`troupe.sessions.run.branch_run`. Resumed, it rebuilds its prefix from the log
        (no LLM call) and shares the LLM cache, so only what comes after costs calls."""
        from troupe.core.errors import TroupeError
        from troupe.sessions.run import branch_run

        at = int(seq) if seq.strip().isdigit() else self.session.log.last_seq
        try:
            target = branch_run(self.session.run_dir, at)
        except TroupeError as exc:
            self.notify(str(exc), title="Branch", severity="error", markup=False)
            return None
        self.notify(
            f"Events 1–{at} copied to {target}\ncontinue it with: troupe resume {target}",
            title="Branched",
            timeout=12,
            markup=False,
        )
        return target

    @work(exit_on_error=False, group="turns", description="calling on the quiet ones")
    async def call_on_quiet(self, k: int | None = None) -> None:
        async with self._turn():
            await self.session.call_on_quiet(k)

    @work(exit_on_error=False, group="turns", description="playing devil's advocate")
    async def devils_advocate(self, name: str, position: str | None = None) -> None:
        async with self._turn():
            await self.session.devils_advocate(name, position)

    @work(exit_on_error=False, group="turns", description="moving to the next section")
    async def next_section(self) -> None:
        async with self._turn():
            more = await self.session.next_section()
        if not more:
            self.notify("That was the last section.", title="Guide finished")

    @work(exit_on_error=False, group="turns", description="ending the session")
    async def end_session(self) -> None:
        self.auto = False
        async with self._turn():
            await self.session.end("moderator")

    @work(exit_on_error=False, group="auto", exclusive=True, description="auto-running the guide")
    async def auto_run(self) -> None:
        """Keep stepping the guide until it ends, auto is turned off, or something fails."""
        while self.auto:
            state = self.session.state
            if state.ended:
                break
            if state.paused:
                await asyncio.sleep(0.2)
                continue
            async with self._turn():
                more = await self.session.step()
            if not more:
                self.notify("The guide is finished: keep talking, or /end the session.", title="Guide finished")
                break
            await asyncio.sleep(0)
        self.auto = False
        self._refresh_state()

    @work(exit_on_error=False, group="export", description="exporting")
    async def export(self, request: ExportRequest) -> None:
        try:
            from troupe.sessions.export import export_run
        except ImportError:
            self.notify("Exports are not available in this installation.", title="Export", severity="warning")
            return
        problem = export_problem(self.session.run_dir, request)
        if problem is not None:  # e.g. /export md a second time: fix it in the dialog
            self.app.push_screen(
                ExportDialog(
                    self.session.run_dir,
                    request.fmt if request.fmt in ("md", "json", "csv", "html") else "md",
                    request.path,
                    error=problem,
                ),
                self._export_chosen,
            )
            return
        path = await asyncio.to_thread(
            export_run, self.session.run_dir, request.fmt, out=request.path, force=request.force
        )
        self.notify(str(path), title=f"Exported {request.fmt}")

    # -- actions (keys, palette) ------------------------------------------------------

    def action_advance(self) -> None:
        if self.auto:
            self.action_auto()
        else:
            self.step()

    def action_auto(self) -> None:
        self.auto = not self.auto
        if self.auto:
            self.auto_run()
        self.notify("Auto-run on: the guide advances by itself." if self.auto else "Auto-run off.", timeout=2)
        self._refresh_state()
        self._update_status()

    def _selected(self) -> str | None:
        return self.grid.selected.persona if self.grid.selected else None

    def action_pause_selected(self) -> None:
        name = self._selected()
        if name is not None:
            self._set_paused(name, not self.session.state.agents[name].paused)

    def action_mute_selected(self) -> None:
        name = self._selected()
        if name is not None:
            self._set_muted(name, not self.session.state.agents[name].muted)

    def _set_paused(self, name: str | None, paused: bool) -> None:
        if name is None:
            (self.session.pause if paused else self.session.resume)()
        else:
            (self.session.pause_agent if paused else self.session.resume_agent)(name)
        self.flush()

    def _set_muted(self, name: str, muted: bool) -> None:
        (self.session.mute_agent if muted else self.session.unmute_agent)(name)
        self.flush()

    def action_next_section(self) -> None:
        self.next_section()

    def action_stimulus(self) -> None:
        source = getattr(self.session.guide, "source", None)  # image paths may be the guide's own
        base = Path(source).parent if source else None
        self.app.push_screen(StimulusDialog(base=base), self._stimulus_chosen)

    def _stimulus_chosen(self, spec: StimulusSpec | None) -> None:
        if spec is not None:
            self.show_stimulus(spec)

    def action_poll(self, question: str = "") -> None:
        taken = {p.poll_id for p in poll_views(self.session.events)}
        n = 1
        while f"live-{n}" in taken:
            n += 1
        self.app.push_screen(PollDialog(f"live-{n}", question), self._poll_chosen)

    def _poll_chosen(self, spec: PollSpec | None) -> None:
        if spec is not None:
            self.run_poll(spec)

    def action_results(self) -> None:
        self.app.push_screen(PollResultsScreen(poll_views(self.session.events)[::-1], self.palette))

    def action_export(self) -> None:
        self.app.push_screen(ExportDialog(self.session.run_dir), self._export_chosen)

    def _export_chosen(self, request: ExportRequest | None) -> None:
        if request is not None:
            self.export(request)

    def action_thoughts(self) -> None:
        self.show_thoughts = not self.show_thoughts
        for pane in self.grid.panes:
            pane.set_show_thoughts(self.show_thoughts)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def action_focus_input(self, prefix: str = "") -> None:
        command = self.control_bar.input
        # At once, not via ``focus()`` (which waits for the message queue): keys typed right
        # after ``i`` or ``/`` (fast typing, a paste) must land in the input, not run as keys.
        self.set_focus(command)
        if prefix and not command.value:
            command.value = prefix
            command.cursor_position = len(prefix)

    def open_details(self, name: str) -> None:
        state = self.session.state
        agent = state.agents[name]
        self.app.push_screen(
            PersonaDetailScreen(
                PersonaDetail(
                    card=self.session.cards[name],
                    colour=self.palette.colour(name),
                    memory_summary=self.session.memory_summary(name),
                    answers=answers_by(self.session.events, name),
                    turns=agent.turns,
                    airtime_chars=agent.airtime_chars,
                    room_airtime_chars=sum(a.airtime_chars for a in state.agents.values()),
                    paused=agent.paused,
                    muted=agent.muted,
                )
            )
        )

    def palette_actions(self) -> list[PaletteAction]:
        """Every moderator action, for the command palette (ctrl+p).

        Toggles are listed as the action that applies now (``Pause Tom Becker``, or
        ``Resume Tom Becker (paused)``): the palette asks for this list each time it opens
        or searches, so the titles follow the session's state.
        """
        state = self.session.state
        actions = [
            PaletteAction("Next round", "Advance the guide by one beat (space)", self.action_advance),
            PaletteAction("Toggle auto-run", "Keep advancing the guide by itself (a)", self.action_auto),
            PaletteAction("One more round", "Another round of the current section (/round)", self.extra_round),
            PaletteAction("Next section", "Skip to the next section of the guide (n)", self.action_next_section),
            PaletteAction("Show a stimulus…", "Text, a concept card or an image (s)", self.action_stimulus),
            PaletteAction("Poll the panel…", "Ask a poll question (o)", self.action_poll),
            PaletteAction("Poll results", "Charts of the polls so far (r, /results)", self.action_results),
            PaletteAction(
                "Resume the session (paused)", "Turns start again (/resume)", lambda: self._set_paused(None, False)
            )
            if state.paused
            else PaletteAction(
                "Pause the session", "No new turns until resumed (/pause)", lambda: self._set_paused(None, True)
            ),
            PaletteAction("Export…", "Write the transcript as md, json, csv or html (e)", self.action_export),
            PaletteAction("Toggle private thoughts", "Show or hide what personas think (t)", self.action_thoughts),
            PaletteAction("End the session", "Close the session; the run stays in its folder (/end)", self.end_session),
            PaletteAction("Help", "Keys and commands (?)", self.action_help),
        ]
        for name in self.names:
            agent = state.agents.get(name)
            paused, muted = bool(agent and agent.paused), bool(agent and agent.muted)
            actions += [
                # the action that applies now, and the state it changes (the entry runs exactly that)
                PaletteAction(
                    f"Resume {name} (paused)",
                    "They take turns again (p, /resume)",
                    lambda n=name: self._set_paused(n, False),
                )
                if paused
                else PaletteAction(
                    f"Pause {name}",
                    "A paused persona takes no turns (p, /pause)",
                    lambda n=name: self._set_paused(n, True),
                ),
                PaletteAction(
                    f"Unmute {name} (muted)",
                    "The room hears them again (m, /unmute)",
                    lambda n=name: self._set_muted(n, False),
                )
                if muted
                else PaletteAction(
                    f"Mute {name}",
                    "A muted persona still talks, but nobody hears it (m, /mute)",
                    lambda n=name: self._set_muted(n, True),
                ),
                PaletteAction(
                    f"Details of {name}",
                    "Card, memory summary, private answers, airtime",
                    lambda n=name: self.open_details(n),
                ),
                PaletteAction(
                    f"Ask {name}…", "Type the question in the control bar", lambda n=name: self._prefill(f"@{n} ")
                ),
            ]
        return actions

    def _prefill(self, text: str) -> None:
        command = self.control_bar.input
        command.value = text
        command.cursor_position = len(text)
        self.set_focus(command)
