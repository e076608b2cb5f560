"""The room: who is seated, who hears what, pause and mute, and the logging of turns.

Everything that happens goes through :meth:`Room.record` (one event) or :meth:`Room.commit`
(a turn's events together): the event is appended to the log, and once it is durable the log
tells its subscribers — the room's :meth:`Room.apply` first, which routes it to the agents that
can perceive it and updates the room's flags. Replaying a log is calling :meth:`Room.apply` on
each event, so a resumed room is the same room. With a :class:`GroupCommitLog`, the turns of a
parallel round share fsyncs that run off the event loop.

Visibility (who perceives what):

* the moderator's speech, section changes, poll questions and revealed results: everyone;
* a stimulus: everyone, or only those in its ``to`` list;
* a ``say``: the speaker, and the others if it was addressed to everyone or to them
  (``overhear=True`` lets everyone hear side remarks too); a muted agent's ``say`` is logged
  with ``muted=true`` and nobody else hears it;
* ``think``, ``pass`` and unrevealed poll answers: only the agent itself.

Paused agents stay seated and keep listening; they just take no turns. A session pause stops
new turns from starting; turns already in flight finish and are logged. A turn's events are
written in one synchronous burst after its LLM call returns, so cancelling a turn (pause, stop)
can only drop it whole — never leave half of it in the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import BaseModel

from .agent import Agent, AnswerOutcome, Situation, TurnOutcome, heard_line
from .errors import BackendError, InvalidOutputError, is_fatal
from .events import Event, Say
from .group_commit import Item
from .llm.protocol import CallUsage, ChatBackend, ChatRequest
from .llm.stream import PartialTextExtractor
from .log import EventLog
from .memory import MemoryItem, MemoryNote, PendingConsolidation, SharedLines
from .names import resolve_name
from .prompt import Prompt
from .recall import EmbeddingStore

if TYPE_CHECKING:
    from .turn_check import TurnCheck

log = logging.getLogger(__name__)

ActivityStatus = Literal["idle", "thinking", "speaking", "paused", "muted", "error"]


@dataclass(frozen=True, slots=True)
class AgentActivity:
    """A transient, unlogged status update (what a persona pane shows while a turn runs)."""

    agent: str
    status: ActivityStatus
    partial_text: str | None = None


ActivityListener = Callable[[AgentActivity], None]


class PreparedTurn(NamedTuple):
    """A turn's prompt and request, built before the turn runs (see :meth:`Room.prepare_round`)."""

    prompt: Prompt
    request: ChatRequest


class SeatingOrder:
    """Writes the results of concurrent turns to the log in seating order.

    Turns of a parallel round (and private poll answers) run at once and finish in any order;
    if each were logged as it finished, every agent would remember the round in a different,
    timing-dependent order, and the next prompts — hence a record/replay cache — would not be
    reproducible. Each turn still runs and streams at once; only its write waits until every
    earlier-seated agent of the round has written or dropped out (it waits for their writes,
    never for their fsyncs). A crash meanwhile loses only turns that were in flight anyway.
    """

    def __init__(self, names: Sequence[str]) -> None:
        loop = asyncio.get_running_loop()
        self._names = list(names)
        self._written: dict[str, asyncio.Future[None]] = {n: loop.create_future() for n in self._names}
        self._before = dict(zip(self._names[1:], self._names))
        """Name → the name seated just before it (a lookup, not a scan of a 200-persona list)."""

    async def wait(self, name: str) -> None:
        """Until the agent seated just before ``name`` has written (or dropped out)."""
        before = self._before.get(name)
        if before is not None:
            await asyncio.shield(self._written[before])

    def release(self, name: str) -> None:
        """``name`` has written, or will not write: the next agent may go."""
        future = self._written.get(name)
        if future is not None and not future.done():
            future.set_result(None)

    def releaser(self, name: str) -> Callable[[], None]:
        return lambda: self.release(name)


HELD_TYPES = frozenset(
    {"say", "think", "pass", "moderator", "stimulus", "section_started", "poll_asked", "poll_revealed", "poll_answer"}
)
"""What agents perceive (and so what :meth:`Room.replay` holds back inside a cut parallel round)."""


def _open_parallel_round(events: Sequence[Event]) -> int | None:
    """``seq`` of the ``round_started`` of a parallel round the log ends inside, else None."""
    for event in reversed(events):
        if event.type == "round_ended":
            return None
        if event.type == "round_started":
            return event.seq if getattr(event, "policy", None) == "parallel" else None
    return None


CONSOLIDATION_APPLIES_AFTER_TURNS = 2
"""A finished memory consolidation takes effect at the agent's second turn after its launch."""


class Room:
    """Seated agents, visibility rules, flags, and the recording of turns. See the module doc."""

    def __init__(
        self,
        log: EventLog,
        agents: Sequence[Agent],
        backend: ChatBackend,
        *,
        max_concurrency: int = 64,
        overhear: bool = False,
        consolidation_concurrency: int = 4,
        stop_on_backend_error: bool = False,
        embeddings: EmbeddingStore | None = None,
    ) -> None:
        self.log = log
        self.stop_on_backend_error = stop_on_backend_error
        """Halt on every backend failure that outlived the backend's retries (server errors,
        rate limits, timeouts), not only on fatal ones: for unattended runs, where a turn
        logged as failed would be lost for good, while a halted run resumes and redoes it."""
        self.backend = backend
        self.agents: dict[str, Agent] = {a.name: a for a in agents}
        self.lines = SharedLines()
        """Lines every listener remembers alike (a ``say`` to the room), stored once: N
        personas hear N lines a round, and N² memory items would make a big room's rounds slow."""
        for agent in self.agents.values():
            agent.memory.share(self.lines)
        self.overhear = overhear
        self.paused: set[str] = set()
        self.muted: set[str] = set()
        self.held: dict[str, int] = {}
        """Agents sitting out rounds (``agent_held``) → rounds left; rebuilt from the log."""
        self.session_paused = False
        self.stopping = False
        self.current: tuple[int, str] | None = None
        """``(seq, text)`` of the latest moderator question or stimulus."""
        self._running = asyncio.Event()
        self._running.set()
        self._turn_sem = asyncio.Semaphore(max(1, max_concurrency))
        self._held: list[Event] | None = None
        """Events of a cut parallel round, held back by :meth:`replay`."""
        self._consolidation_sem = asyncio.Semaphore(max(1, consolidation_concurrency))
        self._turn_tasks: set[asyncio.Task[Any]] = set()
        self._consolidations: dict[str, asyncio.Task[None]] = {}
        self._consolidated: dict[str, tuple[str, int, int]] = {}
        """Finished consolidations not yet applied: agent → (summary, upto_seq, launch turn)."""
        self._replaying = False
        self._unapplied: dict[str, tuple[PendingConsolidation, int]] = {}
        """During :meth:`replay`: consolidations the live run launched and had not yet applied
        where the log ends (agent → request, launch turn); :meth:`replay` launches them again."""
        self._to_relaunch: dict[str, tuple[PendingConsolidation, int]] = {}
        self._relaunched: dict[str, int] = {}
        """Agents whose consolidation was launched again on resume → its launch turn."""
        self._listeners: list[ActivityListener] = []
        self._text_listeners = 0
        self.embeddings = embeddings
        """The session's shared embedding store (``retrieval="embeddings"``), else None. Its
        calls run in the background; the room logs them (``llm_call``, purpose ``embed``)."""
        if embeddings is not None:
            embeddings.on_calls = self._embedded
            embeddings.on_error = self._embedding_failed
        # Subscribed first (build the room before anyone else subscribes), so that agents have
        # perceived an event by the time other subscribers (the UI) hear of it.
        self._unsubscribe = log.subscribe(self.apply)
        self.names: list[str] = list(self.agents)
        """Seating order."""
        self.turn_check: TurnCheck | None = None
        """The optional per-turn persona check (``core/turn_check.py``), set by the session."""

    # -- recording and routing --------------------------------------------------------------

    def record(self, type: str, **fields: Any) -> Event:
        """Append one event; it is durable and routed when this returns."""
        return self.log.append(type, **fields)

    def record_soon(self, type: str, **fields: Any) -> Event:
        """Append one event without waiting for its fsync (it is routed once durable)."""
        return self.log.append_soon(type, **fields)

    async def commit(self, items: Sequence[Item], *, on_written: Callable[[], None] | None = None) -> list[Event]:
        """Append several events written together (one turn); durable and routed on return.

        The events are written at once (their ``seq`` fixed, never half a turn); with the
        group-commit log the wait for durability is shared with other turns.
        ``on_written`` runs once they are written, before that wait.
        """
        return await self.log.append_many(items, on_written=on_written)

    def replay(self, events: Sequence[Event]) -> None:
        """Rebuild the room (agents' memories, minds, flags) from logged events.

        A log cut inside a ``parallel`` round holds back what the round's logged turns make
        agents perceive: live, every prompt of a parallel round is built from the room as it
        stood when the round began, so the turns still to take must not hear the turns already
        taken. The held events are perceived, in log order, just before the next new event.
        """
        open_round = _open_parallel_round(events)
        self._replaying = True
        try:
            for event in events:
                if self._held is not None and event.type in HELD_TYPES:
                    self._held.append(event)
                    continue
                self._apply(event)
                if open_round is not None and event.seq == open_round:
                    self._held = []
        finally:
            self._replaying = False
        self._relaunch()

    def apply(self, event: Event) -> None:
        """Update flags and let each agent that can see ``event`` perceive it."""
        if self._held is not None:  # a new event: what the replay held back comes first
            held, self._held = self._held, None
            for old in held:
                self._apply(old)
        self._apply(event)

    def _apply(self, event: Event) -> None:
        t = event.type
        data = event.__dict__
        name: str = data.get("agent") or ""
        if t == "say":
            speaker = self.agents.get(name)
            if speaker is not None:
                speaker.perceive(event)
            if not data.get("muted"):
                to = data.get("to")
                addressee = self.agents.get(to) if to and to != name else None
                if addressee is not None:
                    addressee.perceive(event, to_me=True)
                if isinstance(event, Say) and (to is None or self.overhear):  # the others: one line, stored once
                    skip = [a.memory for a in (speaker, addressee) if a is not None]
                    self.lines.add(MemoryItem(event.seq, t, heard_line(event)), skip=skip)
            self._after_turn(name)
        elif t in ("think", "pass"):
            if name in self.agents:
                self.agents[name].perceive(event)
            self._after_turn(name)
        elif t == "error" and data.get("round_key") and name:  # a failed turn
            self._after_turn(name)
        elif t == "error" and data.get("purpose") == "consolidate" and self._replaying:
            self._unapplied.pop(name, None)  # the call failed: live, the next turn launched it again
        elif t in ("moderator", "stimulus"):
            targets: list[str] = data.get("to") or []
            self.current = (event.seq, data.get("text", ""))
            for agent in self.agents.values():
                if t == "stimulus" and targets and agent.name not in targets:
                    continue
                agent.perceive(event, to_me=agent.name in targets)
        elif t in ("section_started", "poll_asked", "poll_revealed"):
            for agent in self.agents.values():
                agent.perceive(event)
        elif t == "poll_answer":
            if data.get("revealed"):
                for agent in self.agents.values():
                    agent.perceive(event)
            elif name in self.agents:  # a private answer: only its author (no scan of the panel)
                self.agents[name].perceive(event)
        elif t == "memory_consolidated":
            if name in self.agents:
                self.agents[name].apply_summary(data["summary"], data["upto_seq"])
            if self._replaying:
                self._unapplied.pop(name, None)
        elif t == "agent_paused":
            self.paused.add(name)
            self._activity(name, "paused")
        elif t == "agent_resumed":
            self.paused.discard(name)
            self._activity(name, "muted" if name in self.muted else "idle")
        elif t == "agent_muted":
            self.muted.add(name)
            self._activity(name, "muted")
        elif t == "agent_unmuted":
            self.muted.discard(name)
            self._activity(name, "paused" if name in self.paused else "idle")
        elif t == "agent_held":
            self.held[name] = int(data.get("rounds") or 0)
            if self.held[name] <= 0:
                del self.held[name]
        elif t == "round_ended" and self.held:
            self.held = {n: k - 1 for n, k in self.held.items() if k > 1}
        elif t == "session_paused":
            self.session_paused = True
            self._running.clear()
        elif t == "session_resumed":
            self.session_paused = False
            self._running.set()

    # -- participants ---------------------------------------------------------------------

    def resolve(self, name: str | None) -> str | None:
        """A seated agent's exact name from a full or first name, any case; else None
        (the one rule of :mod:`troupe.core.names`: a shared first name names nobody)."""
        return resolve_name((name or "").strip().lstrip("@"), self.names)

    def situation(self, hint: str | None = None) -> Situation:
        """The latest moderator question or stimulus, as what a turn responds to."""
        if self.current is None:
            return Situation(hint=hint)
        seq, text = self.current
        return Situation(current=text, current_seq=seq, hint=hint)

    def active(self) -> list[Agent]:
        """Agents that may take turns now (seating order, paused and held ones left out)."""
        return [a for a in self.agents.values() if a.name not in self.paused and a.name not in self.held]

    # -- session pause / stop --------------------------------------------------------------

    async def wait_running(self) -> None:
        """Return once the session is not paused (or is stopping)."""
        while not self._running.is_set() and not self.stopping:
            await self._running.wait()

    def stop(self) -> None:
        """Stop: no new turns; cancel the ones in flight (nothing half-recorded)."""
        self.stopping = True
        self._running.set()
        for task in list(self._turn_tasks):
            task.cancel()

    def restart(self) -> None:
        """Allow turns again after a :meth:`stop` (e.g. retrying once the server is back)."""
        self.stopping = False
        if not self.session_paused:
            self._running.set()
        else:
            self._running.clear()

    # -- turns ----------------------------------------------------------------------------

    def halts(self, exc: BaseException) -> bool:
        """Whether a backend error stops the session (logged once, propagated) rather than
        failing one turn: always for :func:`is_fatal` errors; with ``stop_on_backend_error``
        also for retryable ones the backend gave up on. Invalid output never halts."""
        if is_fatal(exc):
            return True
        return (
            self.stop_on_backend_error
            and isinstance(exc, BackendError)
            and not isinstance(exc, InvalidOutputError)
            and exc.retryable
        )

    async def prepare_round(self, agents: Sequence[Agent], situation: Situation) -> dict[str, PreparedTurn]:
        """Build the turn requests of a parallel round, all from the room as it stands now.

        Called before any of the round's turns runs, so that every prompt sees the same history
        whatever ``max_concurrency`` (later waves never hear earlier waves). Finished memory
        consolidations are applied first, in seating order — each only changes its own agent —
        then every prompt is built; nothing the agents perceive is logged in between. Agents
        paused (or a stopping room) get no entry.
        """
        await self.wait_running()
        if self.stopping:
            return {}
        self._start_relaunches()
        todo = [a for a in agents if a.name not in self.paused]
        for agent in todo:
            await self._apply_consolidation(agent)
        built = await asyncio.gather(*(agent.prepare(situation) for agent in todo))
        return {agent.name: PreparedTurn(prompt, request) for agent, (prompt, request) in zip(todo, built, strict=True)}

    def spawn_turn(
        self,
        agent: Agent,
        situation: Situation,
        key: str,
        *,
        order: SeatingOrder | None = None,
        prepared: PreparedTurn | None = None,
    ) -> asyncio.Task[Event | None]:
        """Start a turn as a task the room can cancel on stop."""
        task = asyncio.ensure_future(self.take_turn(agent, situation, key, order=order, prepared=prepared))
        self._turn_tasks.add(task)
        task.add_done_callback(self._turn_tasks.discard)
        return task

    async def take_turn(
        self,
        agent: Agent,
        situation: Situation,
        key: str,
        *,
        order: SeatingOrder | None = None,
        prepared: PreparedTurn | None = None,
    ) -> Event | None:
        """One turn of ``agent``: one LLM call, then its events, logged in one burst.

        Returns the ``say``/``think``/``pass`` (or ``error``) event, or None when the turn was
        skipped (agent paused, session stopping). A backend error that halts (server down, key
        refused — :meth:`halts`) is logged once, stops the room and propagates. With ``order``
        (a parallel round), the turn's events are written in seating order, not finishing
        order — see :class:`SeatingOrder`. With ``prepared`` (from :meth:`prepare_round`) the
        turn sends that request instead of building one when its call starts.
        """
        try:
            return await self._take_turn(agent, situation, key, order, prepared)
        finally:
            if order is not None:
                order.release(agent.name)

    async def _take_turn(
        self,
        agent: Agent,
        situation: Situation,
        key: str,
        order: SeatingOrder | None,
        prepared: PreparedTurn | None = None,
    ) -> Event | None:
        await self.wait_running()
        if self.stopping or agent.name in self.paused:
            return None
        if prepared is None:
            self._start_relaunches()
            await self._apply_consolidation(agent)
        status: ActivityStatus = self._rest_status(agent.name)
        try:
            async with self._turn_sem:  # held for the LLM call only, not for the fsync after it
                await self.wait_running()
                if self.stopping or agent.name in self.paused:
                    return None
                self._activity(agent.name, "thinking")
                outcome = await self._call(agent, situation, prepared)
                checked: list[Item] = []
                if outcome is not None and self.turn_check is not None and agent.name not in self.paused:
                    outcome, checked = await self._check(agent, outcome, situation)
            if outcome is None:
                return None
            if outcome.error is not None and self.halts(outcome.error):
                raise outcome.error
            # Written at once (never half a turn), then durable and routed.
            if order is not None:
                await order.wait(agent.name)
            items = self._turn_items(agent, outcome, situation, key, checked)  # after the wait: reads room state
            events = await self.commit(items, on_written=order.releaser(agent.name) if order else None)
        except BackendError as exc:
            if not self.halts(exc):
                raise
            # The server is gone (or the key refused): log it once, stop the other turns, let
            # the session halt. No round_key: the turn was not taken; resume redoes it.
            status = "error"
            if not self.stopping:
                self.record("error", agent=agent.name, kind=exc.kind, message=str(exc), recovered=False, purpose="turn")
                self.stop()
            raise
        finally:
            self._activity(agent.name, status)
        event = events[-1]
        if event.type == "error":
            self._activity(agent.name, "error")
        return event

    async def _call(self, agent: Agent, situation: Situation, prepared: PreparedTurn | None) -> TurnOutcome | None:
        on_delta = self._streamer(agent.name) if self._text_listeners else None
        if prepared is None:
            prompt, request = await agent.prepare(situation)
        else:
            prompt, request = prepared
        if self.stopping:
            return None
        return await agent.call(self.backend, prompt, request, on_delta=on_delta)

    async def _check(self, agent: Agent, outcome: TurnOutcome, situation: Situation) -> tuple[TurnOutcome, list[Item]]:
        """The per-turn check (``core/turn_check.py``): the outcome to log, and its events."""
        assert self.turn_check is not None
        if not self.turn_check.applies(outcome, situation):
            return outcome, []
        self._activity(agent.name, "thinking")  # the draft leaves the pane while it is judged
        on_delta = self._streamer(agent.name) if self._text_listeners else None
        return await self.turn_check.review(
            agent, outcome, situation, backend=self.backend, events=self.log.events, on_delta=on_delta
        )

    async def consult(
        self,
        agent: Agent,
        prompt_for: Callable[[Agent], Awaitable[Prompt]],
        output_model: type[BaseModel],
        purpose: str,
    ) -> AnswerOutcome | None:
        """One structured call for ``agent`` outside a discussion turn (a poll answer).

        Same gating as a turn (session pause, agent pause, stop, ``max_concurrency``); the
        caller logs the outcome. Returns None when skipped.
        """
        await self.wait_running()
        if self.stopping or agent.name in self.paused:
            return None
        async with self._turn_sem:
            await self.wait_running()
            if self.stopping or agent.name in self.paused:
                return None
            self._activity(agent.name, "thinking")
            try:
                prompt = await prompt_for(agent)
                await asyncio.sleep(0)  # as in take_turn: everyone's prompt from the same state
                if self.stopping:
                    return None
                outcome = await agent.answer(self.backend, prompt, output_model, purpose=purpose)
                if outcome.error is not None and self.halts(outcome.error):
                    raise outcome.error
            except BackendError as exc:
                if not self.halts(exc):
                    raise
                if not self.stopping:
                    self.record(
                        "error", agent=agent.name, kind=exc.kind, message=str(exc), recovered=False, purpose=purpose
                    )
                    self.stop()
                raise
            finally:
                self._activity(agent.name, self._rest_status(agent.name))
        return outcome

    def _turn_items(
        self, agent: Agent, outcome: TurnOutcome, situation: Situation, key: str, checked: Sequence[Item] = ()
    ) -> list[Item]:
        """A finished turn as events: its ``llm_call`` events, the check's events (``checked``),
        then the action or the error."""
        items = call_items(agent.name, "turn", outcome.calls) + list(checked)
        if outcome.error is not None or outcome.action is None:
            err = outcome.error
            items.append(
                (
                    "error",
                    dict(
                        agent=agent.name,
                        kind=getattr(err, "kind", "invalid_output"),
                        message=str(err) if err else "no parsed output",
                        recovered=False,
                        purpose="turn",
                        round_key=key,
                    ),
                )
            )
            return items
        action = outcome.action
        turn = agent.turns + 1
        text = action.text.strip()
        if agent.name in self.paused:
            # Paused while its call was in flight: the answer is withdrawn — logged (nothing is
            # lost), counted as the round's turn, and heard by nobody (not even in memory).
            items.append(
                (
                    "turn_withdrawn",
                    dict(agent=agent.name, action=action.action, text=text, reason="paused", round_key=key),
                )
            )
        elif action.action == "say" and text:
            to = self.resolve(action.to)
            to = None if to == agent.name else to
            reply_to = self.agents[to].last_say_seq if to else None
            items.append(
                (
                    "say",
                    dict(
                        agent=agent.name,
                        text=text,
                        turn=turn,
                        reply_to=reply_to or situation.current_seq,
                        to=to,
                        feeling=action.feeling,
                        muted=agent.name in self.muted,
                        round_key=key,
                        **({"role": situation.role} if situation.role else {}),
                    ),
                )
            )
        elif action.action == "think" and text:
            items.append(("think", dict(agent=agent.name, text=text, turn=turn, feeling=action.feeling, round_key=key)))
        else:
            items.append(("pass", dict(agent=agent.name, turn=turn, round_key=key)))
        return items

    # -- activity (transient) ---------------------------------------------------------------

    def add_listener(self, listener: ActivityListener, *, wants_text: bool = True) -> Callable[[], None]:
        """Receive :class:`AgentActivity` updates. Turns stream (``on_delta``) only while some
        listener ``wants_text`` — headless runs skip the partial-JSON parsing entirely."""
        self._listeners.append(listener)
        if wants_text:
            self._text_listeners += 1

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)
                if wants_text:
                    self._text_listeners -= 1

        return remove

    def _activity(self, agent: str | None, status: ActivityStatus, partial: str | None = None) -> None:
        if agent is None or not self._listeners:
            return
        update = AgentActivity(agent, status, partial)
        for listener in list(self._listeners):
            try:
                listener(update)
            except Exception:  # a broken listener must never break a turn
                log.exception("activity listener failed")

    def _rest_status(self, name: str) -> ActivityStatus:
        return "paused" if name in self.paused else "muted" if name in self.muted else "idle"

    def _streamer(self, name: str) -> Callable[[str], None]:
        text = PartialTextExtractor("text")
        action = PartialTextExtractor("action")
        shown = [""]
        status: list[ActivityStatus] = []

        def on_delta(delta: str) -> None:
            if name in self.paused:  # paused mid-answer: its words stop reaching the screen
                return
            partial = text.feed(delta)
            if not status:  # "action" comes first in the schema; read it once
                kind = action.feed(delta)
                if kind in ("say", "think", "pass"):
                    status.append("thinking" if kind == "think" else "speaking")
            if partial and partial != shown[0]:  # grows as it streams; restarts after a repair
                shown[0] = partial
                self._activity(name, status[0] if status else "speaking", partial)

        return on_delta

    # -- memory consolidation (off the critical path) --------------------------------------

    def _after_turn(self, name: str) -> None:
        """An agent's own turn was just perceived: the one point where a consolidation may be
        launched — a fixed place in the log, so a replay of the log makes the same decisions
        (and rebuilds the same request) as the live run did."""
        agent = self.agents.get(name)
        if agent is None:
            return
        if not self._replaying:
            self._maybe_consolidate(agent)
        elif name not in self._unapplied and agent.memory.wants_consolidation():
            pending = agent.memory.consolidation_request(agent.name, card=agent.card_dict)
            if pending is not None:
                self._unapplied[name] = (pending, agent.turns)

    def _relaunch(self) -> None:
        """After a replay: the consolidations the log ends without (lost in flight, or finished
        but not yet applied) are sent again, with the requests the live run sent — once the
        resumed session takes a turn or drains (a session reopened only to look sends none)."""
        self._to_relaunch, self._unapplied = self._unapplied, {}

    def _start_relaunches(self) -> None:
        to_relaunch, self._to_relaunch = self._to_relaunch, {}
        for name, (pending, launched_at) in to_relaunch.items():
            self._relaunched[name] = launched_at
            self._launch(self.agents[name], pending, launched_at)

    def _maybe_consolidate(self, agent: Agent) -> None:
        if (
            self.stopping
            or agent.name in self._consolidations
            or agent.name in self._consolidated
            or not agent.memory.wants_consolidation()
        ):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # applied outside the engine (a plain log replay): nothing to launch
            return
        pending = agent.memory.consolidation_request(agent.name, card=agent.card_dict)
        if pending is None:
            return
        self._launch(agent, pending, agent.turns)

    def _launch(self, agent: Agent, pending: PendingConsolidation, launched_at: int) -> None:
        task = asyncio.ensure_future(self._consolidate(agent, pending, launched_at))
        self._consolidations[agent.name] = task
        name = agent.name

        def forget(_task: asyncio.Future[None]) -> None:
            self._consolidations.pop(name, None)

        task.add_done_callback(forget)

    async def _consolidate(self, agent: Agent, pending: PendingConsolidation, launched_at: int) -> None:
        async with self._consolidation_sem:
            if self.stopping:
                return
            try:
                response = await self.backend.complete(pending.request)
            except BackendError as exc:
                # The summary stays as it was; the pending items are retried next time.
                calls = exc.calls if isinstance(exc, InvalidOutputError) else []
                items = call_items(agent.name, "consolidate", calls)
                if not self.stopping:
                    items.append(
                        (
                            "error",
                            dict(
                                agent=agent.name, kind=exc.kind, message=str(exc), recovered=True, purpose="consolidate"
                            ),
                        )
                    )
                await self.commit(items)
                return
        note = response.parsed
        summary = note.summary if isinstance(note, MemoryNote) else response.text
        # The call is accounted for now; the notes wait for a fixed point in the agent's turns
        # (see _apply_consolidation), so prompts do not depend on how fast the call was.
        self._consolidated[agent.name] = (summary.strip(), pending.upto_seq, launched_at)
        await self.commit(call_items(agent.name, "consolidate", response.calls))

    async def _apply_consolidation(self, agent: Agent) -> None:
        """Log (and so apply) an agent's finished consolidation at the start of its turn.

        Notes take effect at the agent's second turn after the call was launched — a fixed
        point in the conversation, so the same run replayed through the record/replay cache
        builds the same prompts. The call has had two turns' time to finish, so it is nearly
        always ready; if not, the turn goes on without it (a turn never waits for the
        consolidation call) and the notes apply at the first later turn.
        """
        launched_again = self._relaunched.get(agent.name)
        task = self._consolidations.get(agent.name)
        if launched_again is not None and agent.turns - launched_again >= CONSOLIDATION_APPLIES_AFTER_TURNS:
            # Launched again on resume: live, its notes were due now, so this turn waits for them.
            del self._relaunched[agent.name]
            if task is not None:
                await asyncio.wait([task])
        ready = self._consolidated.get(agent.name)
        if ready is None or agent.turns - ready[2] < CONSOLIDATION_APPLIES_AFTER_TURNS:
            return
        del self._consolidated[agent.name]
        summary, upto_seq, _ = ready
        # Applied when routed, after every earlier event — exactly as a replay of the log
        # applies it. The wait is one shared fsync, on at most one turn in five.
        await self.commit([("memory_consolidated", dict(agent=agent.name, summary=summary, upto_seq=upto_seq))])

    async def _flush_consolidations(self) -> None:
        """Log every finished consolidation still waiting (the session is ending or pausing for
        good), so a resumed run starts from the latest notes."""
        items = [
            ("memory_consolidated", dict(agent=name, summary=summary, upto_seq=upto_seq))
            for name, (summary, upto_seq, _) in sorted(self._consolidated.items())
        ]
        self._consolidated.clear()
        if items:
            await self.commit(items)

    # -- embeddings (off the critical path) ------------------------------------------------

    def _embedded(self, calls: list[CallUsage]) -> None:
        for type, fields in call_items(None, "embed", calls):
            self.record_soon(type, **fields)

    def _embedding_failed(self, exc: BackendError) -> None:
        self.record_soon(
            "error",
            agent=None,
            kind=exc.kind,
            recovered=True,
            purpose="embed",
            message=f"{exc}; memories are recalled by keywords (lexical) from now on",
        )

    @property
    def consolidations_in_flight(self) -> int:
        return len(self._consolidations)

    async def drain(self, timeout: float | None = None) -> None:
        """Let consolidations and embeddings in flight finish (up to ``timeout`` seconds), then
        cancel the rest."""
        if self.embeddings is not None:
            await self.embeddings.drain(timeout)
        if not self.stopping:
            self._start_relaunches()
        tasks = list(self._consolidations.values())
        if tasks:
            done, rest = await asyncio.wait(tasks, timeout=timeout)
            for task in rest:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._flush_consolidations()

    async def cancel_all(self) -> None:
        """Cancel every turn, consolidation and embedding task and wait until they are gone."""
        self.stop()
        tasks = list(self._turn_tasks) + list(self._consolidations.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.embeddings is not None:
            await self.embeddings.aclose()


def call_items(agent: str | None, purpose: str, calls: Sequence[CallUsage]) -> list[Item]:
    """One ``llm_call`` event per real backend call (repairs included)."""
    return [
        (
            "llm_call",
            dict(
                agent=agent,
                purpose=purpose,
                prompt_tokens=call.prompt_tokens,
                completion_tokens=call.completion_tokens,
                latency_ms=round(call.latency_ms, 1),
                cached=call.cached,
                cost_usd=call.cost_usd,
                model=call.model,
            ),
        )
        for call in calls
    ]


__all__ = ["call_items", "ActivityListener", "ActivityStatus", "AgentActivity", "PreparedTurn", "Room"]
