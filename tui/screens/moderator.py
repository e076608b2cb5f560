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
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work

from troupe.core.poll_stats import PollResult, answers_by, collect_polls
from troupe.core.polls import PollSpec
from troupe.sessions.guide import StimulusSpec

from ..verbs import BY_NAME, VERBS, Verb
from .confirm import ConfirmDialog
from .export import ExportDialog, ExportRequest, export_problem
from .help import HelpScreen
from .highlights import HighlightsScreen
from .persona_detail import PersonaDetail, PersonaDetailScreen
from .poll import PollDialog
from .poll_results import PollResultsScreen
from .stimulus import StimulusDialog

if TYPE_CHECKING:
    from ..palette import SpeakerPalette
    from ..session_api import ModeratedSession
    from ..widgets.control_bar import ControlBar
    from ..widgets.feed import Feed
    from ..widgets.find_bar import FindBar
    from ..widgets.guide_sidebar import GuideSidebar
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
        feed: Feed
        find_bar: FindBar
        sidebar: GuideSidebar
        show_guide: bool
        find_from_feed: bool
        app: Any

        def flush(self) -> None: ...
        def _refresh_state(self) -> None: ...
        def _relayout(self) -> None: ...
        def _update_status(self) -> None: ...
        def redraw_feed(self) -> None: ...
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
        polls = [p for p in collect_polls(self.session.events) if p.poll_id == poll_id]
        if not polls:
            return
        if self.app.screen is self and not self.control_bar.input.is_composing():
            self.app.push_screen(self._results_screen(polls))
        else:
            self.poll_closed_notice(polls[0])

    def poll_closed_notice(self, poll: PollResult) -> None:
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
            f"Events 1–{at} copied to {target}; going on there (the original stays as it was)",
            title="Branched",
            timeout=12,
            markup=False,
        )
        backend = self.session.backend

        async def opener(cfg: Any) -> Any:
            from troupe.sessions.opening import reopen_session

            return await reopen_session(target, backend, clock=cfg.clock)

        # The app's worker, not this screen's: the switch closes this screen and its workers.
        self.app.run_worker(
            self.app.switch_session(opener, f"Opening the branch {target.name}…"),  # type: ignore[attr-defined]
            group="switch",
            exit_on_error=False,
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
            export_run, self.session.run_dir, request.fmt, out=request.path, force=request.force, audit=False
        )
        self.session.record_export(request.fmt, path)  # an `exported` event (exports.jsonl once ended)
        # Folder and file on lines of their own, each cut from the left to fit a notice, so a
        # path never wraps mid-word (the full path is in the log's `exported` event).
        self.notify(
            f"{fit_left(str(path.parent) + '/', NOTICE_WIDTH)}\n{fit_left(path.name, NOTICE_WIDTH)}",
            title=f"Exported {request.fmt}",
            timeout=8,
        )

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

    def action_devil_selected(self) -> None:
        name = self._selected()
        if name is not None:
            self.run_verb("devil", name)

    def action_hold_selected(self) -> None:
        name = self._selected()
        if name is not None:
            self.run_verb("hold", name)

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

    def round_running(self) -> bool:
        """Whether a verb that makes personas talk is in flight (or auto-run is on)."""
        return self._queued > 0 or self.auto

    def remaining_beats(self) -> int:
        """Beats of the current section still to run (what ``n`` would skip)."""
        state = self.session.state
        plan = getattr(self.session, "plan", None)
        if plan is None or state.section_index < 0:
            return 0
        return sum(1 for b in plan[state.beats_done :] if b.section == state.section_index and b.kind != "close")

    def action_next_section(self) -> None:
        """Next section; asks first when the current one still has beats to run."""
        left = self.remaining_beats()
        if not left or self.session.state.ended:
            self.next_section()
            return
        self.app.push_screen(
            ConfirmDialog(
                "Skip to the next section?",
                f"“{self.session.state.section_title}” still has {left} beat{'s' if left != 1 else ''} "
                "to run (rounds, stimuli, polls). Skipping them cannot be undone.",
                "Next section",
            ),
            lambda yes: self.next_section() if yes else None,
        )

    def action_end(self) -> None:
        """End the session, after a confirmation (an ended run can be exported or branched)."""
        if self.session.state.ended:
            self.notify("The session has already ended.", title="Session ended")
            return
        self.app.push_screen(
            ConfirmDialog(
                "End the session?",
                "Nobody can speak in this run after it ends; it stays in its folder to export, "
                "or to branch with troupe branch.",
                "End session",
            ),
            lambda yes: self.end_session() if yes else None,
        )

    def action_stimulus(self) -> None:
        source = getattr(self.session.guide, "source", None)  # image paths may be the guide's own
        base = Path(source).parent if source else None
        self.app.push_screen(StimulusDialog(base=base), self._stimulus_chosen)

    def _stimulus_chosen(self, spec: StimulusSpec | None) -> None:
        if spec is not None:
            self.show_stimulus(spec)

    def action_poll(self, question: str = "") -> None:
        taken = {p.poll_id for p in collect_polls(self.session.events)}
        n = 1
        while f"live-{n}" in taken:
            n += 1
        self.app.push_screen(PollDialog(f"live-{n}", question), self._poll_chosen)

    def _poll_chosen(self, spec: PollSpec | None) -> None:
        if spec is not None:
            self.run_poll(spec)

    def action_results(self) -> None:
        self.app.push_screen(self._results_screen(collect_polls(self.session.events)[::-1]))

    def _results_screen(self, polls: list[PollResult]) -> PollResultsScreen:
        revealed = frozenset(e.poll_id for e in self.session.events if e.type == "poll_revealed")  # type: ignore[attr-defined]
        return PollResultsScreen(polls, self.palette, revealed=revealed, discuss=self.discuss_results)

    @work(exit_on_error=False, group="turns", description="discussing the poll results")
    async def discuss_results(self, poll_id: str | None = None) -> None:
        """A round discussing a revealed poll's results (``Session.discuss_results``)."""
        async with self._turn():
            await self.session.discuss_results(poll_id)

    def discuss_latest(self) -> None:
        if not any(e.type == "poll_revealed" for e in self.session.events):
            self.notify(
                "No poll's results have been revealed to the panel yet (a private-first poll reveals them).",
                title="Discuss the results",
                severity="warning",
            )
            return
        self.discuss_results(None)

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
        from troupe.core.dynamics import airtime

        state = self.session.state
        agent = state.agents[name]
        row = next((r for r in airtime(self.session.events).rows if r.agent == name), None)
        self.app.push_screen(
            PersonaDetailScreen(
                PersonaDetail(
                    card=self.session.cards[name],
                    colour=self.palette.colour(name),
                    memory_summary=self.session.memory_summary(name),
                    answers=answers_by(self.session.events, name),
                    turns=row.turns if row else 0,
                    words=row.words if row else 0,
                    share=row.share if row else 0.0,
                    paused=agent.paused,
                    muted=agent.muted,
                )
            )
        )

    # -- the verbs table (tui/verbs.py): keys, slash commands and the palette run these ----

    def run_verb(self, name: str, argument: str = "", rest: str = "") -> None:
        """Run verb ``name`` of :data:`~troupe.tui.verbs.VERBS` with its (parsed) argument, and
        for verbs that keep it (``keeps_rest``) what follows the persona's name."""
        if BY_NAME[name].keeps_rest:
            getattr(self, f"verb_{name}")(argument, rest)
        else:
            getattr(self, f"verb_{name}")(argument)

    def action_verb(self, name: str) -> None:
        self.run_verb(name)

    def verb_advance(self, _: str) -> None:
        self.action_advance()

    def verb_round(self, _: str) -> None:
        self.extra_round()

    def verb_auto(self, _: str) -> None:
        self.action_auto()

    def verb_next(self, _: str) -> None:
        self.action_next_section()

    def verb_pause(self, name: str) -> None:
        self._set_paused(name or None, True)

    def verb_resume(self, name: str) -> None:
        self._set_paused(name or None, False)

    def verb_mute(self, name: str) -> None:
        self._set_muted(name, True)

    def verb_unmute(self, name: str) -> None:
        self._set_muted(name, False)

    def verb_stimulus(self, text: str) -> None:
        if text:
            self.show_stimulus(StimulusSpec(kind="text", text=text))
        else:
            self.action_stimulus()

    def verb_poll(self, question: str) -> None:
        self.action_poll(question)

    def verb_results(self, _: str) -> None:
        self.action_results()

    def verb_discuss(self, _: str) -> None:
        self.discuss_latest()

    def verb_details(self, name: str) -> None:
        self.open_details(name)

    def verb_thoughts(self, _: str) -> None:
        self.action_thoughts()

    def verb_export(self, fmt: str) -> None:
        if fmt:
            self.export(ExportRequest(fmt.casefold().lstrip("."), None))
        else:
            self.action_export()

    def verb_quiet(self, count: str) -> None:
        self.dynamics_move("quiet", count)

    def verb_devil(self, name: str, position: str = "") -> None:
        self.dynamics_move("devil", name, position)

    def verb_hold(self, name: str, rounds: str = "") -> None:
        self.dynamics_move("hold", name, rounds)

    def verb_dynamics(self, _: str) -> None:
        self.show_dynamics()

    def verb_readouts(self, _: str) -> None:
        from ..widgets.dynamics_panel import DynamicsPanel

        self.query_one(DynamicsPanel).toggle(self.session.events)

    def verb_branch(self, seq: str) -> None:
        self.branch_here(seq)

    def verb_star(self, argument: str) -> None:
        """``/star [SEQ] [tag]``; without a SEQ (and from ``*``): the feed's selected entry while
        the feed has focus, else the selected persona's latest line, else the room's latest."""
        first, _, tag = argument.strip().partition(" ")
        if first.isdigit():
            target: int | None = int(first)
        else:
            target, tag = self._feed_selection() or self._latest_line(), argument.strip()
        if target is None:
            self.notify("Nothing to star yet: nobody has spoken.", title="Star", severity="warning")
            return
        if self._log_moderator_mark(lambda: self.session.highlight(target, tag or None), "Star"):
            self.notify(f"#{target} starred" + (f" [{tag.strip()}]" if tag.strip() else ""), timeout=3, markup=False)

    def _latest_line(self) -> int | None:
        """The seq of the selected persona's latest ``say`` (else anyone's): what ``*`` stars."""
        name = self._selected()
        says = [e for e in self.session.events if e.type == "say"]
        mine = [e for e in says if getattr(e, "agent", None) == name]
        latest = (mine or says)[-1:]
        return latest[0].seq if latest else None

    def _feed_selection(self) -> int | None:
        """The feed's selected entry, when the feed has focus (what ``*`` and ``f`` act on there)."""
        feed = self.feed
        if feed.has_focus and feed.selected is not None and feed.line_y(feed.selected) is not None:
            return feed.selected
        return None

    def verb_feed(self, _: str) -> None:
        self.set_focus(self.feed)

    def action_leave_feed(self) -> None:
        self.set_focus(self.grid.selected or self.control_bar.input)

    def verb_filter(self, name: str) -> None:
        """``/filter Name``: the feed shows only that persona's entries and what they were asked
        (``feed.in_view``); ``/filter``: everyone again. A view: nothing is logged."""
        only = name or None
        if only == self.feed.only:
            return
        self.feed.set_view(only=only)
        self.redraw_feed()
        self.notify(
            f"The feed shows {only}'s entries and what they were asked; f or /filter shows everyone."
            if only
            else "The feed shows everyone again.",
            title="Filter",
            timeout=4,
            markup=False,
        )

    def action_filter_selected(self) -> None:
        """``f``: filter the feed to the speaker of the feed's selected entry (the feed has
        focus) or to the selected persona; ``f`` again (on that persona, or an entry that is
        nobody's) shows everyone."""
        seq = self._feed_selection()
        if seq is None:
            name = self._selected()
        else:
            event = next((e for e in reversed(self.session.events) if e.seq == seq), None)
            name = getattr(event, "agent", None)
            name = name if name in self.names else None
        if self.feed.only is not None and name in (None, self.feed.only):
            self.verb_filter("")
        elif name is not None:
            self.verb_filter(name)
        else:
            self.notify("That entry is no persona's: select one of their lines.", title="Filter", timeout=4)

    def verb_latest(self, _: str) -> None:
        self.flush()
        self.feed.latest()

    def verb_timestamps(self, _: str) -> None:
        self.feed.set_view(only=self.feed.only, show_times=not self.feed.show_times)
        self.redraw_feed()

    def verb_highlights(self, _: str) -> None:
        from troupe.sessions.transcript import starred

        self.app.push_screen(HighlightsScreen(starred(self.session.events)), self._jump_to)

    def _jump_to(self, seq: int | None) -> None:
        if seq is None:
            return
        self.flush()
        if not self.feed.jump_to(seq):
            hidden = " (the feed is filtered: /filter shows everyone)" if self.feed.only else ""
            self.notify(f"#{seq} is not shown in the feed{hidden}.", title="Highlights", severity="warning")

    def verb_guide(self, _: str) -> None:
        self.show_guide = not self.show_guide
        self._relayout()
        if self.show_guide and not self.sidebar.display:
            self.notify("The guide sidebar needs a wider terminal (120 columns or more).", title="Guide", timeout=4)

    def verb_probe(self, number: str) -> None:
        from troupe.sessions.guide_status import guide_status

        events = self.session.events
        now = datetime.fromisoformat(events[-1].ts.replace("Z", "+00:00")) if events else datetime.now(timezone.utc)
        left = guide_status(self.session.guide, events, now).probes_left
        index = int(number) - 1 if number.strip().isdigit() else 0
        if not 0 <= index < len(left):
            self.notify("No such unused probe in this section.", title="Probe", severity="warning")
            return
        self.fire_probe(left[index])

    @work(exit_on_error=False, group="turns", description="firing a probe")
    async def fire_probe(self, text: str) -> None:
        async with self._turn():
            await self.session.probe(text)

    def verb_find(self, text: str) -> None:
        self.find_from_feed = self.feed.has_focus  # escape goes back there
        self.find_bar.open(text)

    def verb_note(self, text: str) -> None:
        if self._log_moderator_mark(lambda: self.session.note(text), "Note"):
            self.notify("Noted (private: the panel never sees it).", timeout=3)

    def _log_moderator_mark(self, record: Callable[[], object], title: str) -> bool:
        """Log a highlight or a note; a refusal (no such seq, session ended) is a notice."""
        from troupe.core.errors import TroupeError

        try:
            record()
        except TroupeError as exc:
            self.notify(exc.message, title=title, severity="error", markup=False)
            return False
        self.flush()
        return True

    def verb_help(self, _: str) -> None:
        self.action_help()

    def verb_end(self, _: str) -> None:
        self.action_end()

    def action_details_selected(self) -> None:
        name = self._selected()
        if name is not None:
            self.open_details(name)

    def palette_actions(self) -> list[PaletteAction]:
        """Every moderator action, for the command palette (ctrl+p), from the verbs table.

        Toggles are listed as the action that applies now (``Pause Tom Becker``, or
        ``Resume Tom Becker (paused)``): the palette asks for this list each time it opens
        or searches, so the titles follow the session's state.
        """
        state = self.session.state
        actions: list[PaletteAction] = []
        for verb in VERBS:
            if not verb.palette or verb.per_persona:
                continue
            actions.append(
                PaletteAction(verb.palette_title or verb.title, _hint(verb), partial(self.run_verb, verb.name))
            )
        session_toggle = BY_NAME["resume" if state.paused else "pause"]
        actions.append(
            PaletteAction(
                "Resume the session (paused)" if state.paused else "Pause the session",
                _hint(session_toggle),
                partial(self.run_verb, session_toggle.name, ""),
            )
        )
        for name in self.names:
            agent = state.agents.get(name)
            paused, muted = bool(agent and agent.paused), bool(agent and agent.muted)
            applies = {"pause": not paused, "resume": paused, "mute": not muted, "unmute": muted}
            for verb in VERBS:
                if verb.per_persona and applies.get(verb.name, True):
                    # the action that applies now, and the state it changes (the entry runs exactly that)
                    title = (verb.persona_title or f"{verb.title} {{name}}").format(name=name)
                    actions.append(PaletteAction(title, _hint(verb), partial(self.run_verb, verb.name, name)))
            actions.append(
                PaletteAction(
                    f"Ask {name}…", "Type the question in the control bar", lambda n=name: self._prefill(f"@{n} ")
                )
            )
        return actions

    def _prefill(self, text: str) -> None:
        command = self.control_bar.input
        command.value = text
        command.cursor_position = len(text)
        self.set_focus(command)


def _hint(verb: Verb) -> str:
    """The palette's help line: what the verb does, and its key and command."""
    ways = ", ".join(w for w in (verb.shown_key, verb.syntax) if w)
    text = verb.description[:1].upper() + verb.description[1:]
    return f"{text} ({ways})" if ways else text


NOTICE_WIDTH = 44
"""Cells of text a notice line holds (Textual's toasts are about 50 wide, less padding)."""


def fit_left(text: str, width: int) -> str:
    """``text`` cut from the left to ``width`` cells with a leading ``…`` (a path's end matters)."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1 :]
