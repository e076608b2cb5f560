"""The Session controller: runs a guide and turns every moderator command into events.

The TUI and the CLI drive sessions only through this class (see ``docs/architecture.md``).
All state lives in the event log; the controller's in-memory state (the room's agents, the
position in the guide, :attr:`Session.state`) is rebuilt from it by :meth:`Session.reopen`.

Concurrency: guide beats and moderator commands that make LLM calls (``step``, ``say``,
``ask``, ``show``, ``poll``, ``run_round``, ``next_section``) are serialised by one lock, so a
command issued while a round runs waits for that round. ``pause``/``resume``/``pause_agent``/
``mute_agent``… are immediate: they log an event that takes effect on the next turn to start.
``end`` cancels turns in flight (they are dropped whole, never half-logged) and logs
``session_ended``.

A backend that is down (:class:`BackendUnavailableError`) halts the session: one ``error``
event, the turns in flight are cancelled, the error propagates to the caller, and the log is
left without ``session_ended`` so that ``troupe resume`` (or calling :meth:`step` again once the
server is back) goes on from where it stopped.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from troupe.core import budget as budgets
from troupe.core import dynamics
from troupe.core.agent import Agent, AgentConfig, Situation
from troupe.core.card import PersonaCard
from troupe.core.clock import Clock
from troupe.core.config import RETRIEVALS
from troupe.core.errors import BadInputError, BadRunError, RunStateError
from troupe.core.events import Event, PollRevealed, SessionStarted
from troupe.core.group_commit import GroupCommitLog
from troupe.core.llm.protocol import ChatBackend, embedding_backend, prompt_limits
from troupe.core.log import EventLog
from troupe.core.names import leading_mentions, why_unresolved
from troupe.core.policies import RoundSpec, get_policy
from troupe.core.poll_run import PollResult, run_poll
from troupe.core.poll_stats import CHOICE_KINDS, SCALE_KINDS, collect_polls
from troupe.core.polls import PollSpec
from troupe.core.prompt import PromptBudget
from troupe.core.recall import EmbeddingRecall, EmbeddingStore
from troupe.core.room import ActivityListener, AgentActivity, Room
from troupe.core.turn_check import TurnCheck, TurnCheckSettings

from .guide import Guide, Section, StimulusSpec, parse_guide
from .observers import read_inbox
from .plan import Beat, Unanswered, beat_of, plan_guide, poll_progress, round_progress, unanswered
from .run import EVENTS_FILE, already_ended, update_meta, write_meta
from .state import AgentState, SessionState, StateTracker
from .turn_check import JudgeTurnCheck

log = logging.getLogger(__name__)


class Session:
    """A running session. Build with :meth:`start`, or :meth:`reopen` for an existing run."""

    def __init__(
        self,
        *,
        run_dir: Path,
        log: EventLog,
        guide: Guide,
        cards: Sequence[PersonaCard],
        backend: ChatBackend,
        seed: int,
        rounds_cap: int | None,
        max_concurrency: int,
        overhear: bool,
        budget: int | None,
        retrieval: str = "lexical",
        embedding_model: str | None = None,
        stop_on_backend_error: bool = False,
        turn_check: TurnCheckSettings | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.log = log
        self.guide = guide
        self.backend = backend
        self.seed = seed
        self.rounds_cap = rounds_cap
        self.cards: dict[str, PersonaCard] = {c.name: c for c in cards}
        limits = prompt_limits(backend)  # what this backend's model can take: a capability, not a name
        total = budget or limits.budget or PromptBudget().total
        defaults = guide.defaults
        config = AgentConfig(
            budget=_budget(total),
            temperature=defaults.temperature,
            max_tokens=defaults.max_tokens,
            model=defaults.model,
            seed=seed,
            short_prompt=limits.short_card,
        )
        names = list(self.cards)
        self.embeddings = _embedding_store(backend, retrieval, embedding_model)
        """The session-wide vectors behind ``retrieval="embeddings"`` (None: lexical)."""
        self.retrieval = "embeddings" if self.embeddings is not None else "lexical"
        """The retrieval in effect (``lexical`` when the backend cannot embed)."""
        store = self.embeddings
        fresh = 2 * (len(names) + 1)  # ~two rounds of items: each persona's line and the moderator's
        self.room = Room(
            log,
            [
                Agent(c, panel=names, config=config, recall=EmbeddingRecall(store, fresh=fresh) if store else None)
                for c in cards
            ],
            backend,
            max_concurrency=max_concurrency,
            overhear=overhear,
            stop_on_backend_error=stop_on_backend_error,
            embeddings=store,
        )
        self.turn_check = turn_check
        """The per-turn persona check in effect (None: off); recorded, and kept on resume."""
        if turn_check is not None:
            self.room.turn_check = TurnCheck(JudgeTurnCheck(), turn_check, model=defaults.model)
        self.plan: list[Beat] = plan_guide(guide, seed=seed, rounds_cap=rounds_cap)
        self._beat_index = {b.key: i for i, b in enumerate(self.plan)}
        self._cursor = 0
        self._owed: list[Unanswered] = []
        """Moderator lines a reopened run still owes an answer (answered by the next step)."""
        self._tracker = StateTracker(section_count=len(guide.sections))
        self._tracker.state.beats_total = len(self.plan)
        self._lock = asyncio.Lock()
        self._ended = False
        self._ending = False
        self.queued: list[str] = []
        """Moderator lines typed while a round runs, oldest first: each is logged (and heard)
        when the round before it is over."""
        self._adhoc = 0
        self._inbox_at = 0
        """How far the observers' inbox has been read (the latest ``observer_note``'s ``inbox_end``)."""
        self._poll_ids: set[str] = set()
        spec = guide.defaults.budget
        self.limits = budgets.Limits(spec.max_cost, spec.max_tokens, spec.max_minutes) if spec else budgets.Limits()
        """Budget limits in force: the guide's ``[defaults.budget]``, replaced by the latest
        ``budget_set`` event (see :meth:`set_limits`)."""
        self._unsubscribe = [
            log.subscribe(self._observe),
            self.room.add_listener(self._tracker.on_activity, wants_text=False),
        ]

    # -- construction ---------------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        guide: Guide,
        cards: Sequence[PersonaCard] | Mapping[str, PersonaCard],
        backend: ChatBackend,
        run_dir: str | Path,
        *,
        seed: int = 0,
        rounds_cap: int | None = None,
        clock: Clock | None = None,
        max_concurrency: int | None = None,
        overhear: bool = False,
        budget: int | None = None,
        retrieval: str = "lexical",
        embedding_model: str | None = None,
        stop_on_backend_error: bool = False,
        turn_check: TurnCheckSettings | None = None,
    ) -> Session:
        """Seat ``cards``, open ``run_dir/events.jsonl`` and log ``session_started``.

        The event carries the full guide and every card, so the run directory alone is enough
        to resume, branch or export it. Nothing else happens until :meth:`step` (or a command).
        ``retrieval="embeddings"`` recalls older memories through the backend's embeddings
        (``embedding_model``, default the backend's) blended with BM25, instead of BM25 alone;
        a backend that cannot embed (``local``) falls back to lexical with a warning. The
        retrieval in effect and the embedding model are recorded, and a resumed run uses them.
        ``stop_on_backend_error=True`` (unattended runs) halts the session on any backend
        failure that survived the backend's retries (5xx, 429, timeout), not only on an outage,
        so that no turn is silently lost; see :class:`~troupe.core.room.Room`. ``turn_check``
        turns on the per-turn persona check (``core/turn_check.py``); it is recorded too.
        """
        card_list = list(cards.values()) if isinstance(cards, Mapping) else list(cards)
        if not card_list:
            raise BadInputError("no personas to seat: the guide's panel is empty and none were given")
        names = [c.name for c in card_list]
        if len(set(names)) != len(names):
            raise BadInputError(
                f"two personas share a name: {', '.join(sorted({n for n in names if names.count(n) > 1}))}"
            )
        _check_retrieval(retrieval)  # fail before anything is written
        run = Path(run_dir)
        path = run / EVENTS_FILE
        if path.exists() and path.stat().st_size > 0:
            raise RunStateError(f"{run}: already holds a run; use `troupe resume {run}` or another --out")
        log = GroupCommitLog(path, clock=clock)
        concurrency = max_concurrency or guide.defaults.max_concurrency
        session = cls(
            run_dir=run,
            log=log,
            guide=guide,
            cards=card_list,
            backend=backend,
            seed=seed,
            rounds_cap=rounds_cap,
            max_concurrency=concurrency,
            overhear=overhear,
            budget=budget,
            retrieval=retrieval,
            embedding_model=embedding_model,
            stop_on_backend_error=stop_on_backend_error,
            turn_check=turn_check,
        )
        model = guide.defaults.model or getattr(backend, "model", None)
        session.room.record(
            "session_started",
            title=guide.title,
            spec=str(guide.source) if guide.source else None,
            personas=names,
            backend=getattr(backend, "name", "unknown"),
            model=model,
            seed=seed,
            guide=guide.model_dump(mode="json"),
            persona_cards={c.name: c.to_dict() for c in card_list},
            rounds_cap=rounds_cap,
            max_concurrency=concurrency,
            overhear=overhear,
            budget=budget,
            retrieval=session.retrieval,
            **({"embedding_model": session.embeddings.model} if session.embeddings is not None else {}),
            **({"turn_check": turn_check.to_json()} if turn_check is not None else {}),
        )
        write_meta(
            run,
            title=guide.title,
            backend=getattr(backend, "name", None),
            model=model,
            personas=names,
            seed=seed,
            started_at=log.events[0].ts,
        )
        return session

    @classmethod
    async def reopen(
        cls,
        run_dir: str | Path,
        backend: ChatBackend,
        *,
        clock: Clock | None = None,
        stop_on_backend_error: bool = False,
    ) -> Session:
        """Reopen a stopped or crashed run: rebuild everything from its events.

        Agents' memories and states of mind, pause/mute flags and the position in the guide are
        replayed from the log — no LLM call. :class:`RunStateError` if the run is finished or
        its log does not start with a self-contained ``session_started``.
        """
        run = Path(run_dir)
        path = run / EVENTS_FILE
        if not path.exists():
            raise BadRunError("no events.jsonl here (not a run directory)", path=str(run))
        log = GroupCommitLog(path, clock=clock)
        events = log.events
        first = events[0] if events else None
        if not isinstance(first, SessionStarted) or first.guide is None or first.persona_cards is None:
            log.close()
            raise BadRunError("the first event is not a self-contained session_started", path=str(path))
        if any(e.type == "session_ended" for e in events):
            log.close()
            raise already_ended(run)
        extra = first.__pydantic_extra__ or {}
        try:
            guide = parse_guide(first.guide, first.spec)
            cards = [PersonaCard.from_dict(first.persona_cards[name]) for name in first.personas]
        except (BadInputError, KeyError, TypeError) as exc:
            log.close()
            raise BadRunError(f"session_started cannot be read back: {exc}", path=str(path)) from None
        session = cls(
            run_dir=run,
            log=log,
            guide=guide,
            cards=cards,
            backend=backend,
            seed=first.seed or 0,
            rounds_cap=extra.get("rounds_cap"),
            max_concurrency=int(extra.get("max_concurrency") or guide.defaults.max_concurrency),
            overhear=bool(extra.get("overhear", False)),
            budget=extra.get("budget"),
            retrieval=str(extra.get("retrieval") or "lexical"),
            # the recorded embedding model, unless the run is resumed on another kind of backend
            embedding_model=extra.get("embedding_model") if getattr(backend, "name", None) == first.backend else None,
            stop_on_backend_error=stop_on_backend_error,
            turn_check=TurnCheckSettings.from_json(extra.get("turn_check")),
        )
        for event in events:
            session._observe(event)
        session.room.replay(events)
        session._owed = unanswered(events)
        return session

    # -- observation ------------------------------------------------------------------------

    @property
    def events(self) -> list[Event]:
        return self.log.events

    @property
    def state(self) -> SessionState:
        """A snapshot copy of the session's state."""
        return self._tracker.snapshot()

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def finished(self) -> bool:
        """True when every beat of the guide is done (and every moderator line answered)."""
        return self._cursor >= len(self.plan) and not self._owed

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """``callback(event)`` after each durable append; returns an unsubscribe function."""
        return self.log.subscribe(callback)

    def subscribe_activity(self, callback: ActivityListener) -> Callable[[], None]:
        """``callback(AgentActivity)`` for transient statuses and streaming text (not logged)."""
        return self.room.add_listener(callback)

    def memory_summary(self, name: str) -> str:
        """The persona's latest consolidated memory notes ("" before the first)."""
        return self.room.agents[self._name(name)].memory.notes

    def agent(self, name: str) -> Agent:
        """The seated agent (for inspection: memory, state of mind)."""
        return self.room.agents[self._name(name)]

    def _observe(self, event: Event) -> None:
        self._tracker.apply(event)
        key = beat_of(event)
        if key is not None and key in self._beat_index:
            self._cursor = max(self._cursor, self._beat_index[key] + 1)
            self._tracker.state.beats_done = self._cursor
        if event.type == "session_ended":
            self._ended = self._ending = True
        elif event.type == "poll_asked":
            self._poll_ids.add(event.poll_id)  # type: ignore[attr-defined]
        elif event.type == "round_started" and getattr(event, "adhoc", False):
            self._adhoc += 1
        elif event.type == "observer_note":
            self._inbox_at = max(self._inbox_at, int(getattr(event, "inbox_end", 0) or 0))
        elif event.type == "budget_set":
            g = event.__dict__
            self.limits = budgets.Limits(g.get("max_cost"), g.get("max_tokens"), g.get("max_minutes"))

    # -- the guide --------------------------------------------------------------------------

    async def step(self) -> bool:
        """Run the next beat of the guide (opening a section, a stimulus, a round, a poll…).

        Returns True when a beat ran, False when the guide is finished or the session ended
        meanwhile; :class:`RunStateError` if it had ended before. Waits while the session is paused.
        """
        self._check_open()
        await self.room.wait_running()  # a paused session holds no lock while it waits
        async with self._lock:
            if self._ending or (self._cursor >= len(self.plan) and not self._owed):
                return False
            await self.room.wait_running()
            if self._ending:
                return False
            self.room.restart()
            self._check_budget(self._next_units())
            if self._owed:
                await self._answer(self._owed[0])
                self._owed.pop(0)
                return True
            beat = self.plan[self._cursor]
            await self._run_beat(beat)
            return True

    async def run_to_end(self, *, on_beat: Callable[[Beat], None] | None = None) -> None:
        """Step until the guide is finished, then log ``session_ended`` (reason ``completed``).

        A session left paused (e.g. a resumed run) is un-paused first. ``on_beat`` is called
        after each beat (progress displays).
        """
        if self._ended:
            return
        if self.room.session_paused:
            self.resume()
        while not self._ending:
            beat = self.plan[self._cursor] if self._cursor < len(self.plan) else None
            if not await self.step():
                break
            if on_beat is not None and beat is not None:
                on_beat(beat)
        if not self._ended:
            await self.room.drain(timeout=30.0)
            await self.end("completed")

    async def _run_beat(self, beat: Beat) -> None:
        section = self.guide.sections[beat.section]
        record = self.room.record
        if beat.kind == "open":
            if self._tracker.state.section_index != beat.section:
                record(
                    "section_started",
                    index=beat.section,
                    title=section.title,
                    rules=section.rules,
                    policy=self.guide.policy_for(section),
                    **({} if section.prompt else {"beat": beat.key}),
                )
            if section.prompt:
                record("moderator", text=section.prompt.strip(), to=None, source="guide", beat=beat.key)
        elif beat.kind == "stimulus":
            s = beat.stimulus
            assert s is not None
            record(
                "stimulus",
                source="guide",
                kind=s.kind,
                text=s.text.strip(),
                to=None,
                title=s.title,
                path=s.path,
                beat=beat.key,
            )
        elif beat.kind == "round":
            r = beat.round or 0
            policy = self.guide.policy_for(section)
            hint = (
                None
                if r == 0
                else (
                    f"Follow-up {r}: say more about it — an example, a reason, a doubt."
                    if policy == "directed"
                    else f"Round {r + 1} on this: react to what the others said, or add something new."
                )
            )
            await self._round(
                policy,
                key=beat.key,
                hint=hint,
                index=r,
                section=beat.section,
                block=beat.block,
                round_no=r,
                beat=beat.key,
            )
        elif beat.kind == "poll":
            assert beat.poll is not None
            await self._poll(beat.poll, beat=beat.key)
        elif beat.kind == "discuss":
            assert beat.poll is not None
            revealed = [e for e in self.events if isinstance(e, PollRevealed) and e.poll_id == beat.poll.id]
            if revealed:  # (a poll nobody could answer reveals nothing: there is nothing to discuss)
                record(
                    "moderator",
                    text=discussion_prompt(revealed[-1]),
                    to=None,
                    source="discuss_results",
                    poll_id=beat.poll.id,
                    beat=beat.key,
                )
        elif beat.kind == "close":
            record("section_ended", index=beat.section, skipped=False, beat=beat.key)

    async def _answer(self, owed: Unanswered) -> None:
        """Answer a moderator line or stimulus left unanswered when the run stopped."""
        event = owed.event
        names = owed.to
        policy = owed.policy or ("directed" if names and event.type == "moderator" else self._current_policy())
        situation = Situation(current=getattr(event, "text", ""), current_seq=event.seq)
        await self._round(
            policy,
            key=owed.key or self._adhoc_key(),
            to=names,
            situation=situation,
            reply_to=event.seq,
            resume=owed.key is not None,
        )

    async def _round(
        self,
        policy: str,
        *,
        key: str,
        hint: str | None = None,
        to: Sequence[str] | None = None,
        index: int = 0,
        section: int | None = None,
        block: int | None = None,
        round_no: int | None = None,
        beat: str | None = None,
        situation: Situation | None = None,
        reply_to: int | None = None,
        resume: bool = False,
    ) -> list[Event]:
        progress = round_progress(self.log.events, key) if beat or resume else None
        if progress is None or not progress.started:  # bookkeeping: no need to wait for its fsync
            self.room.record_soon(
                "round_started",
                key=key,
                policy=policy,
                section=section,
                block=block,
                round=round_no,
                adhoc=beat is None,
                to=list(to) if to else None,
                reply_to=reply_to,
            )
        spec = RoundSpec(
            key=key,
            situation=situation or self.room.situation(hint),
            to=list(to) if to else None,
            done=frozenset(progress.done) if progress else frozenset(),
            index=index,
            seed=self.seed,
        )
        events = await get_policy(policy)(self.room, spec)
        if not self.room.stopping:
            await self.room.commit([("round_ended", {"key": key, **({"beat": beat} if beat else {})})])
        return events

    async def _poll(self, spec: PollSpec, *, beat: str | None = None, poll_id: str | None = None) -> PollResult:
        pid = poll_id or spec.id
        progress = poll_progress(self.log.events, pid) if beat else None
        extra = {"beat": beat} if beat else {}
        if progress is not None and progress.asked:
            return await run_poll(
                self.room,
                spec,
                poll_id=pid,
                answered=progress.answers,
                asked=True,
                revealed=progress.revealed,
                done=progress.failed,
                sampling=self.guide.defaults.poll_sampling,
                **extra,
            )
        return await run_poll(self.room, spec, poll_id=pid, sampling=self.guide.defaults.poll_sampling, **extra)

    def _current_section(self) -> Section | None:
        index = self._tracker.state.section_index
        return self.guide.sections[index] if 0 <= index < len(self.guide.sections) else None

    def _current_policy(self) -> str:
        section = self._current_section()
        return self.guide.policy_for(section) if section else self.guide.defaults.policy

    # -- moderator commands ---------------------------------------------------------------

    async def probe(self, text: str) -> list[Event]:
        """Fire one of the guide's probes: a ``moderator`` line with ``source="probe"``, to the
        room, answered like :meth:`say` (the guide sidebar offers the section's unused ones)."""
        return await self.say(text, source="probe")

    async def say(
        self, text: str, to: Sequence[str] | str | None = None, *, source: Literal["moderator", "probe"] = "moderator"
    ) -> list[Event]:
        """The moderator speaks; the addressed personas (or everyone) respond.

        ``to`` may be names or first names; without it, leading ``@Name`` mentions in ``text``
        address those personas (``"@Tom what would change your mind?"``). Addressed personas
        answer one by one; otherwise the current section's policy runs one round.
        """
        names = self._names(to) if to else None
        if not names:
            names, text = self._mentions(text)
            if not names and text.lstrip().startswith("@"):  # never broadcast a line meant for one
                word = text.lstrip()[1:].split(" ", 1)[0]
                raise BadInputError(f"{why_unresolved(word, list(self.cards))} (seated: {', '.join(self.cards)})")
        text = text.strip()
        if not text:
            raise BadInputError("the moderator's message is empty")
        self._check_open()
        # Typed while a round runs, the line waits (``queued``) and is logged when the panel
        # hears it — after that round's answers — so every transcript is in the order things
        # happened.
        self.queued.append(text)
        try:
            async with self._lock:
                self._check_open()
                self.queued.remove(text)
                said = self.room.record("moderator", text=text, to=names or None, source=source)
                situation = Situation(current=text, current_seq=said.seq)
                self.room.restart()
                policy = "directed" if names else self._current_policy()
                return await self._round(
                    policy, key=self._adhoc_key(), to=names or None, situation=situation, reply_to=said.seq
                )
        finally:
            if text in self.queued:  # cancelled, or refused (the session ended) before it was heard
                self.queued.remove(text)

    async def ask(self, name: str, text: str) -> list[Event]:
        """Directed: only ``name`` answers."""
        return await self.say(text, to=[name])

    async def show(self, stimulus: StimulusSpec, to: Sequence[str] | None = None) -> list[Event]:
        """Show a stimulus (``source=moderator``) to everyone or to ``to``, then run a round."""
        names = self._names(to) if to else None
        async with self._lock:
            self._check_open()
            self.room.restart()
            shown = self.room.record(
                "stimulus",
                source="moderator",
                kind=stimulus.kind,
                text=stimulus.text.strip(),
                to=names or None,
                title=stimulus.title,
                path=self._keep_image(stimulus),
            )
            policy = self._current_policy() if not names or self._current_policy() != "directed" else "directed"
            return await self._round(policy, key=self._adhoc_key(), to=names, reply_to=shown.seq)

    async def poll(self, spec: PollSpec) -> PollResult:
        """Run a poll now (an id already used in this run gets a ``-2``, ``-3``… suffix)."""
        async with self._lock:
            self._check_open()
            self.room.restart()
            pid, k = spec.id, 2
            while pid in self._poll_ids or any(p.id == pid for s in self.guide.sections for p in s.polls):
                pid, k = f"{spec.id}-{k}", k + 1
            return await self._poll(spec, poll_id=pid)

    def _keep_image(self, stimulus: StimulusSpec) -> str | None:
        """An image stimulus's file, copied into ``RUN_DIR/stimuli/`` (the run keeps what it was
        shown; the HTML export embeds it); the path logged is relative to the run folder. A path
        that names no file (or is already in the run) is logged as given."""
        if stimulus.kind != "image" or not stimulus.path:
            return stimulus.path
        given = Path(stimulus.path).expanduser()
        source = getattr(self.guide, "source", None)
        candidates = [given] if given.is_absolute() else [Path.cwd() / given]
        if source and not given.is_absolute():
            candidates.insert(0, Path(source).parent / given)
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            return stimulus.path
        run = self.run_dir.resolve()
        if found.resolve().is_relative_to(run):
            return str(found.resolve().relative_to(run))
        folder = self.run_dir / "stimuli"
        folder.mkdir(exist_ok=True)
        target, n = folder / found.name, 2
        while target.exists():
            target, n = folder / f"{found.stem}-{n}{found.suffix}", n + 1
        shutil.copyfile(found, target)
        return str(target.relative_to(self.run_dir))

    def record_export(self, fmt: str, path: str | Path) -> None:
        """Record that an export of this run was written (the audit trail of what left it).

        While the session is open: an ``exported`` event (``format``, ``path``). Once it has
        ended nothing more may be appended to the log, so the export goes to
        ``RUN_DIR/exports.jsonl`` instead (``sessions/export/common.py``), as ``troupe export``'s do.
        """
        if self._ending or self._ended:
            from .export.common import record_export

            record_export(self.run_dir, fmt, Path(path))
            return
        self.room.record("exported", format=fmt, path=str(path))

    def highlight(self, target: int, tag: str | None = None) -> Event:
        """Star the event ``target`` (a ``seq`` of this log): a ``highlight`` event, for the
        moderator and the exports only (the room routes it to nobody)."""
        self._check_open()
        if not 1 <= target <= self.log.last_seq:
            raise BadInputError(f"no event {target} in this run (1–{self.log.last_seq})")
        return self.room.record("highlight", target=target, tag=(tag or "").strip() or None)

    def note(self, text: str) -> Event:
        """The moderator's private note: a ``note`` event that never reaches any persona."""
        self._check_open()
        if not text.strip():
            raise BadInputError("a note needs some text: /note TEXT")
        return self.room.record("note", text=text.strip())

    def observer_note(self, text: str, observer: str = "observer", *, inbox_end: int | None = None) -> Event:
        """A note passed in by a ``troupe watch`` observer, logged as ``observer_note``."""
        self._check_open()
        fields = {} if inbox_end is None else {"inbox_end": inbox_end}
        return self.room.record("observer_note", text=text.strip(), observer=observer.strip() or "observer", **fields)

    def pick_up_observer_notes(self) -> list[Event]:
        """Log the notes observers put in the run's inbox since the last look
        (``sessions/observers.py``); nothing once the session has ended."""
        if self._ending or self._ended:
            return []
        return [
            self.observer_note(n.text, n.observer, inbox_end=n.end) for n in read_inbox(self.run_dir, self._inbox_at)
        ]

    async def discuss_results(self, poll_id: str | None = None) -> list[Event]:
        """A round in which the panel discusses a revealed poll's results (the latest by default).

        Logged as a ``moderator`` event with ``source="discuss_results"`` and ``poll_id`` (the
        question the room hears), followed by one round of the current section's policy that
        replies to it. Refused (``BadInputError``) when no such poll has been revealed.
        """
        revealed = [e for e in self.events if isinstance(e, PollRevealed)]
        if poll_id is not None:
            revealed = [e for e in revealed if e.poll_id == poll_id]
        if not revealed:
            raise BadInputError(
                f"poll {poll_id} has not been revealed" if poll_id else "no poll's results have been revealed yet"
            )
        poll = revealed[-1]
        text = discussion_prompt(poll)
        async with self._lock:
            self._check_open()
            self.room.restart()
            said = self.room.record("moderator", text=text, to=None, source="discuss_results", poll_id=poll.poll_id)
            situation = Situation(current=text, current_seq=said.seq)
            return await self._round(
                self._current_policy(), key=self._adhoc_key(), situation=situation, reply_to=said.seq
            )

    async def run_round(self) -> list[Event]:
        """One extra round of the current section's policy, on the latest question."""
        async with self._lock:
            self._check_open()
            self.room.restart()
            hint = "Another round: react to what the others said, or add something new."
            return await self._round(self._current_policy(), key=self._adhoc_key(), hint=hint, index=self._adhoc)

    async def next_section(self) -> bool:
        """Skip the rest of this section and open the next; False if there is no next section."""
        async with self._lock:
            self._check_open()
            self.room.restart()
            current = self._tracker.state.section_index
            if (
                current >= 0
                and f"s{current}.close" in self._beat_index
                and self._cursor <= self._beat_index[f"s{current}.close"]
            ):
                self.room.record("section_ended", index=current, skipped=True, beat=f"s{current}.close")
            if self._cursor >= len(self.plan):
                return False
            beat = self.plan[self._cursor]
            if beat.kind == "open":
                await self._run_beat(beat)
            return True

    def pause_agent(self, name: str) -> None:
        """The persona takes no turns (it keeps listening) until :meth:`resume_agent`. A turn
        in flight is withdrawn: logged as ``turn_withdrawn`` and heard by nobody."""
        self._check_open()
        n = self._name(name)
        if n not in self.room.paused:
            self.room.record("agent_paused", agent=n)

    def resume_agent(self, name: str) -> None:
        self._check_open()
        n = self._name(name)
        if n in self.room.paused:
            self.room.record("agent_resumed", agent=n)

    def mute_agent(self, name: str) -> None:
        """The persona keeps taking turns, but nobody hears it (its words are still logged); a
        turn in flight when it is muted is logged muted."""
        self._check_open()
        n = self._name(name)
        if n not in self.room.muted:
            self.room.record("agent_muted", agent=n)

    def unmute_agent(self, name: str) -> None:
        self._check_open()
        n = self._name(name)
        if n in self.room.muted:
            self.room.record("agent_unmuted", agent=n)

    # -- budgets (core/budget.py) ------------------------------------------------------------

    def set_limits(self, limits: budgets.Limits) -> None:
        """Put budget limits in force (logged as ``budget_set``; a reopened run keeps them)."""
        if limits != self.limits:
            self._check_open()
            self.room.record(
                "budget_set", max_cost=limits.max_cost, max_tokens=limits.max_tokens, max_minutes=limits.max_minutes
            )

    def _units(self, beat: Beat) -> int:
        """Turns/answers a beat asks for: a round or a poll → one per active persona."""
        return len(self.room.active()) if beat.kind in ("round", "poll") else 0

    def _next_units(self) -> int:
        if self._owed:
            owed = self._owed[0].to
            return len(owed) if owed else len(self.room.active())
        return self._units(self.plan[self._cursor]) if self._cursor < len(self.plan) else 0

    def projection(self) -> budgets.Projection:
        """Cost, tokens and active time of the rest of the guide, at the run's rate so far."""
        units = sum(self._units(b) for b in self.plan[self._cursor :])
        units += sum(len(o.to) if o.to else len(self.room.active()) for o in self._owed)
        return budgets.project(budgets.usage_of(self.log.events), units)

    def _check_budget(self, units: int) -> None:
        """Pause *before* a step that would pass a limit: log ``budget_reached`` and
        ``session_paused``, then raise :class:`~troupe.core.budget.BudgetReachedError`."""
        if not self.limits.any or units <= 0:
            return
        hit = budgets.breach(self.limits, budgets.usage_of(self.log.events), units)
        if hit is None:
            return
        self.room.record("budget_reached", limit=hit.limit, value=hit.value, spent=hit.spent, projected=hit.projected)
        if not self.room.session_paused:
            self.room.record("session_paused")
        raise budgets.BudgetReachedError(
            f"paused before passing the budget ({hit.describe()}); the run is saved: continue with "
            f"`troupe resume {self.run_dir} --headless --{hit.limit.replace('_', '-')} <higher>`",
            hit,
        )

    # -- moves against dominance and conformity (docs/dynamics.md) -------------------------

    async def call_on_quiet(self, k: int | None = None) -> list[Event]:
        """The next round goes to the ``k`` active personas with the least airtime (words said,
        from the log; default: half the active panel, at least one), one after the other."""
        async with self._lock:
            self._check_open()
            self.room.restart()
            active = [a.name for a in self.room.active()]
            if not active:
                raise BadInputError("nobody can take a turn (everyone is paused or held back)")
            count = max(1, len(active) // 2) if k is None else k
            if count < 1:
                raise BadInputError("call on at least one persona")
            quiet = dynamics.airtime(self.log.events).quietest(active, count)
            key = self._adhoc_key()
            self.room.record("quiet_called", agents=quiet, round_key=key)
            hint = "The moderator turns to you: you have said little so far, and your view matters here."
            return await self._round("directed", key=key, to=quiet, hint=hint, index=self._adhoc)

    async def devils_advocate(self, name: str, position: str | None = None) -> list[Event]:
        """``name`` argues the minority view for one turn; its ``say`` is logged with
        ``role="devils_advocate"``. Without ``position``: the minority answer of the latest poll
        (:func:`minority_view`), else a view against what the room seems to agree on."""
        n = self._name(name)
        async with self._lock:
            self._check_open()
            self.room.restart()
            poll_id: str | None = None
            if position is None:
                poll_id, position = minority_view(self.log.events)
            position = position.strip()
            if not position:
                raise BadInputError("the devil's advocate needs a position to argue")
            key = self._adhoc_key()
            self.room.record("devils_advocate", agent=n, position=position, poll_id=poll_id, round_key=key)
            base = self.room.situation()
            hint = (
                f"Devil's advocate: for this one turn the moderator asks you to argue, as convincingly as you can, "
                f"for this view — even if it is not yours: {position}"
            )
            situation = Situation(current=base.current, current_seq=base.current_seq, hint=hint, role="devils_advocate")
            return await self._round("directed", key=key, to=[n], situation=situation, index=self._adhoc)

    def hold_back(self, name: str, rounds: int = 2) -> None:
        """``name`` sits out the next ``rounds`` rounds (a direct question still reaches it)."""
        n = self._name(name)
        if rounds < 0:
            raise BadInputError("hold back for 0 or more rounds")
        self._check_open()
        self.room.record("agent_held", agent=n, rounds=rounds)

    def pause(self) -> None:
        """No new turns start until :meth:`resume`; turns in flight finish and are logged."""
        self._check_open()
        if not self.room.session_paused:
            self.room.record("session_paused")

    def resume(self) -> None:
        """Let turns start again after :meth:`pause`. (To reopen a stopped run from its
        directory, use the class method :meth:`reopen`.)"""
        self._check_open()
        if self.room.session_paused:
            self.room.record("session_resumed")

    async def end(self, reason: str = "moderator") -> None:
        """Stop now: cancel turns in flight (dropped whole), log ``session_ended``."""
        if self._ending:
            return
        self._ending = True
        await self.room.cancel_all()
        async with self._lock:
            if not self._ended:
                self.room.record("session_ended", reason=reason)
                update_meta(self.run_dir, ended=reason, events=self.log.last_seq)

    async def aclose(self) -> None:
        """Release the session (cancel background work, close the log). The backend stays
        open: whoever made it closes it. A run closed without :meth:`end` can be resumed."""
        await self.room.cancel_all()
        if not self.log.closed:
            await self.log.drain()
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self.log.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- helpers ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        """Every verb refuses, the same way, once the session has ended: nothing is ever
        appended after ``session_ended``."""
        if self._ending:
            raise RunStateError(
                f"the session has ended; to go on differently, branch it: troupe branch {self.run_dir} "
                f"--at {self.log.last_seq}"
            )

    def _adhoc_key(self) -> str:
        return f"m{self._adhoc + 1}"

    def _name(self, name: str) -> str:
        resolved = self.room.resolve(name)
        if resolved is None:
            raise BadInputError(f"{why_unresolved(name, list(self.cards))} (seated: {', '.join(self.cards)})")
        return resolved

    def _names(self, names: Sequence[str] | str) -> list[str]:
        items = [names] if isinstance(names, str) else list(names)
        return [self._name(n) for n in items]

    def _mentions(self, text: str) -> tuple[list[str], str]:
        """Leading ``@Name`` mentions → names, rest (:func:`troupe.core.names.leading_mentions`)."""
        return leading_mentions(text, list(self.cards))


def minority_view(events: Sequence[Event]) -> tuple[str | None, str]:
    """``(poll_id, position)``: the minority answer of the latest poll with answers, read with
    ``core/poll_stats``. Choice polls: the least chosen option that someone chose, ties by option
    order (every option chosen equally: the last); scales: the end of the scale opposite the
    mean. No such poll: ``(None, a view against the room's)``."""
    for poll in reversed(collect_polls(events)):
        if not poll.answers:
            continue
        if poll.kind in CHOICE_KINDS:
            chosen = {k: v for k, v in poll.counts.items() if v}
            if len(chosen) < 2:
                unchosen = [o for o in poll.options if o not in chosen]
                if not unchosen:
                    continue
                return poll.poll_id, f"{poll.question} — {unchosen[0]}"
            least = min(chosen.values())
            option = next(o for o in chosen if chosen[o] == least)
            return poll.poll_id, f"{poll.question} — {option}"
        if poll.kind in SCALE_KINDS and poll.mean is not None and poll.options:
            lo, hi = poll.options[0], poll.options[-1]
            mid = (1 + len(poll.options)) / 2
            return poll.poll_id, f"{poll.question} — {lo if poll.mean >= mid else hi}"
    return None, "the opposite of what most of the group has said so far"


def _check_retrieval(retrieval: str) -> None:
    if retrieval not in RETRIEVALS:
        raise BadInputError(f"unknown retrieval {retrieval!r} (lexical or embeddings)", field="retrieval")


def _embedding_store(backend: ChatBackend, retrieval: str, model: str | None) -> EmbeddingStore | None:
    """The shared store behind ``retrieval="embeddings"``; None for lexical, or — with a
    one-line warning — when the backend cannot embed (the local model is no embedding model)."""
    _check_retrieval(retrieval)
    if retrieval == "lexical":
        return None
    embedder = embedding_backend(backend)
    if embedder is None:
        log.warning(
            "the %s backend cannot embed texts; recalling memories lexically (BM25) instead of by embeddings",
            getattr(backend, "name", "?"),
        )
        return None
    return EmbeddingStore(embedder, model=model)


def _budget(total: int) -> PromptBudget:
    """Scale the default budget shares to ``total`` input tokens."""
    base = PromptBudget()
    if total == base.total:
        return base
    f = total / base.total
    return PromptBudget(
        total=total,
        standing=int(base.standing * f),
        summary=int(base.summary * f),
        state=int(base.state * f),
        recalled=int(base.recalled * f),
        current=int(base.current * f),
        task=base.task,
        min_window=int(base.min_window * f),
    )


__all__ = ["AgentActivity", "AgentState", "Session", "SessionState", "minority_view"]


def discussion_prompt(poll: PollRevealed) -> str:
    """What the moderator says to open a discussion of a revealed poll (the key in the results
    dialog, ``/discuss`` and a guide poll's ``discuss = true`` all say this)."""
    about = f"“{poll.question}”" if poll.question else poll.poll_id
    return (
        f"You have all seen the results of the poll {about}. Discuss them: what surprises you, "
        "and why do you think people answered differently?"
    )
