"""The event types of a session (see DESIGN.md "The session is an event log").

Every fact of a session is one of these, appended to ``events.jsonl``. Each model carries
the required fields ``seq``, ``ts`` and ``type``; type-specific fields follow. Unknown types
found in a log (written by a newer Troupe) load as :class:`GenericEvent` so nothing is lost.

Build events with :meth:`EventLog.append` (``core/log.py``), which assigns ``seq`` and ``ts``.

Guide-driven events may carry an extra ``beat`` field (e.g. ``"s2.round.0.1"``): the key of the
step of the guide they complete. Resume finds its place in the guide from these keys.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Fields every event has."""

    model_config = ConfigDict(extra="allow", frozen=True)

    seq: int = Field(strict=True)
    """1, 2, 3… without gaps within one run (a JSON integer: ``"3"`` is refused, not coerced)."""
    ts: str
    """ISO 8601 UTC timestamp."""
    type: str

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SessionStarted(Event):
    type: Literal["session_started"] = "session_started"
    title: str
    spec: str | None = None
    """Path of the session guide file."""
    personas: list[str]
    backend: str
    model: str | None = None
    seed: int | None = None
    guide: dict[str, Any] | None = None
    """The full guide as parsed, so a run is self-contained."""
    persona_cards: dict[str, dict[str, Any]] | None = None
    """Persona name → card (descriptor, prompt, traits) as seated."""


class SectionStarted(Event):
    type: Literal["section_started"] = "section_started"
    index: int
    title: str
    rules: list[str] = Field(default_factory=list)
    """Ground rules read to the panel for this section (agents hear them)."""
    policy: str | None = None


class SectionEnded(Event):
    """A section is over: finished, or skipped by the moderator (``skipped``)."""

    type: Literal["section_ended"] = "section_ended"
    index: int
    skipped: bool = False


class Stimulus(Event):
    type: Literal["stimulus"] = "stimulus"
    source: Literal["moderator", "guide"]
    kind: Literal["text", "concept", "image"]
    text: str
    to: list[str] | None = None
    title: str | None = None
    path: str | None = None


class Moderator(Event):
    type: Literal["moderator"] = "moderator"
    text: str
    to: list[str] | None = None
    source: Literal["moderator", "guide", "discuss_results", "probe"] = "moderator"
    """``guide`` for a section's scripted prompt, ``moderator`` for live speech,
    ``discuss_results`` for the question that opens a discussion of a revealed poll's results
    (``Session.discuss_results``; the event then also carries ``poll_id``)."""


class Say(Event):
    type: Literal["say"] = "say"
    agent: str
    text: str
    turn: int
    reply_to: int | None = None
    to: str | None = None
    feeling: str | None = None
    muted: bool = False
    """True when the agent was muted: logged, but nobody else heard it."""
    role: str | None = None
    """``devils_advocate``: said on the moderator's request to argue a view (see
    :class:`DevilsAdvocate`) — not the persona's own opinion. None: the persona speaking."""


class Think(Event):
    type: Literal["think"] = "think"
    agent: str
    text: str
    turn: int
    feeling: str | None = None


class Pass(Event):
    type: Literal["pass"] = "pass"
    agent: str
    turn: int


class PollAsked(Event):
    type: Literal["poll_asked"] = "poll_asked"
    poll_id: str
    question: str
    kind: str
    options: list[str] | None = None
    private_first: bool = False


class PollAnswer(Event):
    type: Literal["poll_answer"] = "poll_answer"
    poll_id: str
    agent: str
    value: Any
    rationale: str
    revealed: bool = False


class PollRevealed(Event):
    type: Literal["poll_revealed"] = "poll_revealed"
    poll_id: str
    question: str | None = None
    answers: dict[str, Any] | None = None
    """Agent → value, as the room is told."""
    counts: dict[str, int] | None = None


class PollClosed(Event):
    """Every answer is in; the aggregate as computed by ``core/poll_run.py``."""

    type: Literal["poll_closed"] = "poll_closed"
    poll_id: str
    n: int
    counts: dict[str, int] = Field(default_factory=dict)
    mean: float | None = None
    stdev: float | None = None
    distribution: dict[str, float] = Field(default_factory=dict)


class RoundStarted(Event):
    """A round of turns begins (``section``/``block``/``round`` locate it in the guide;
    ``adhoc`` rounds are moderator-driven extras). Resume redoes an unfinished round, skipping
    the agents whose turns are already logged after this event."""

    type: Literal["round_started"] = "round_started"
    key: str
    policy: str
    section: int | None = None
    block: int | None = None
    round: int | None = None
    adhoc: bool = False
    to: list[str] | None = None
    reply_to: int | None = None
    """For an ad-hoc round: the ``seq`` of the moderator line or stimulus it answers (resume
    answers a moderator line whose round never finished)."""


class RoundEnded(Event):
    type: Literal["round_ended"] = "round_ended"
    key: str


class AgentPaused(Event):
    type: Literal["agent_paused"] = "agent_paused"
    agent: str


class AgentResumed(Event):
    type: Literal["agent_resumed"] = "agent_resumed"
    agent: str


class AgentMuted(Event):
    type: Literal["agent_muted"] = "agent_muted"
    agent: str


class AgentUnmuted(Event):
    type: Literal["agent_unmuted"] = "agent_unmuted"
    agent: str


class QuietCalled(Event):
    """Move against dominance: the next round goes to ``agents``, those with the least airtime
    (words said, from the log — ``core/dynamics.py``) among the active personas."""

    type: Literal["quiet_called"] = "quiet_called"
    agents: list[str]
    round_key: str | None = None
    """The ad-hoc round that gives them the floor."""


class DevilsAdvocate(Event):
    """Move against conformity: ``agent`` argues ``position`` (the minority view) for one turn;
    that turn's ``say`` carries ``role="devils_advocate"`` so nobody mistakes it for its opinion."""

    type: Literal["devils_advocate"] = "devils_advocate"
    agent: str
    position: str
    poll_id: str | None = None
    """The poll whose minority answer ``position`` states (None: a view against the room's)."""
    round_key: str | None = None


class AgentHeld(Event):
    """Move against dominance: ``agent`` sits out the next ``rounds`` rounds of the panel
    (counted by ``round_ended`` events; a direct question from the moderator still reaches it)."""

    type: Literal["agent_held"] = "agent_held"
    agent: str
    rounds: int


class BudgetSet(Event):
    """Budget limits in force from here on (``core/budget.py``); None: no limit of that kind."""

    type: Literal["budget_set"] = "budget_set"
    max_cost: float | None = None
    max_tokens: int | None = None
    max_minutes: float | None = None


class BudgetReached(Event):
    """The session paused *before* a step that would pass ``limit``: ``spent`` so far plus the
    ``projected`` cost of the next step exceeds ``value``."""

    type: Literal["budget_reached"] = "budget_reached"
    limit: str
    value: float
    spent: float
    projected: float


class SessionPaused(Event):
    type: Literal["session_paused"] = "session_paused"


class SessionResumed(Event):
    type: Literal["session_resumed"] = "session_resumed"


class LLMCall(Event):
    type: Literal["llm_call"] = "llm_call"
    agent: str | None
    purpose: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    cached: bool = False
    cost_usd: float = 0.0
    model: str | None = None


class Error(Event):
    type: Literal["error"] = "error"
    agent: str | None
    kind: str
    message: str
    recovered: bool
    purpose: str | None = None
    """What failed: ``turn``, ``poll``, ``consolidate``… (a failed turn still counts as taken)."""

    @property
    def halted(self) -> bool:
        """The session stopped *before* this turn or poll answer was taken (a fatal backend
        error): the event carries no ``round_key`` nor ``poll_id``, so the turn is not counted
        and resuming (or retrying) redoes it. An error *with* one is a turn that failed; it
        counts as taken (:func:`takes_turn`) and is not redone."""
        return (
            not self.recovered
            and self.purpose in ("turn", "poll")
            and getattr(self, "round_key", None) is None
            and getattr(self, "poll_id", None) is None
        )


class TurnWithdrawn(Event):
    """A persona paused while its answer was being generated: the answer is kept here, counts
    as its turn in the round, and is heard by nobody (no other persona's memory, no transcript)."""

    type: Literal["turn_withdrawn"] = "turn_withdrawn"
    agent: str
    action: str
    text: str
    reason: str = "paused"


class TurnChecked(Event):
    """The per-turn persona check's verdict on one turn (``core/turn_check.py``), logged just
    before the turn's ``say``. ``rejected_text``: the first answer, when it was regenerated (kept
    for audit; no persona perceives this event, so it never reaches a memory or a prompt)."""

    type: Literal["turn_checked"] = "turn_checked"
    agent: str
    turn: int
    """The turn checked: the ``turn`` of the agent's ``say`` (or of what it said instead) that follows."""
    score: int | None = None
    """The lower of ``adherence`` and ``self_consistency`` (0–9); None when the check failed."""
    adherence: int | None = None
    self_consistency: int | None = None
    threshold: int
    regenerated: bool = False
    """True: the turn's text is the second answer, given after the judge's note."""
    justification: str = ""
    rejected_text: str | None = None
    error: str | None = None
    """Why the check (or the regeneration) failed; the first answer was kept."""


TURN_EVENT_TYPES = ("say", "think", "pass", "error", "turn_withdrawn")


def takes_turn(event: Event, round_key: str) -> bool:
    """Whether ``event`` is an agent's turn in the round ``round_key``: its ``say``, ``think``
    or ``pass``, or the ``error`` of a turn that failed (logged with the round's key, so it
    counts as taken; a halting error carries no key — :attr:`Error.halted`)."""
    return event.type in TURN_EVENT_TYPES and getattr(event, "round_key", None) == round_key


class MemoryConsolidated(Event):
    """An agent's rolling memory summary was updated (lets resume rebuild memory exactly)."""

    type: Literal["memory_consolidated"] = "memory_consolidated"
    agent: str
    summary: str
    upto_seq: int


class SessionEnded(Event):
    type: Literal["session_ended"] = "session_ended"
    reason: str


class Highlight(Event):
    """The moderator starred an entry of the log (a quote for the debrief)."""

    type: Literal["highlight"] = "highlight"
    target: int
    """The ``seq`` of the starred event."""
    tag: str | None = None


class Note(Event):
    """The moderator's private note: never routed to any persona (no prompt, no memory)."""

    type: Literal["note"] = "note"
    text: str


class ObserverNote(Event):
    """A note passed in by a ``troupe watch`` observer (read from the run's observer inbox)."""

    type: Literal["observer_note"] = "observer_note"
    text: str
    observer: str = "observer"


MODERATOR_ONLY_TYPES = frozenset({"highlight", "note", "observer_note"})
"""Events for the moderator's eyes only: the room routes none of them to a persona."""


class GenericEvent(Event):
    """An event of a type this version does not know; kept verbatim."""


KnownEvent = Annotated[
    SessionStarted
    | SectionStarted
    | Stimulus
    | Moderator
    | Say
    | Think
    | Pass
    | PollAsked
    | PollAnswer
    | PollRevealed
    | AgentPaused
    | AgentResumed
    | AgentMuted
    | AgentUnmuted
    | SessionPaused
    | SessionResumed
    | LLMCall
    | Error
    | MemoryConsolidated
    | SessionEnded
    | SectionEnded
    | PollClosed
    | RoundStarted
    | RoundEnded
    | TurnWithdrawn
    | TurnChecked
    | QuietCalled
    | DevilsAdvocate
    | AgentHeld
    | BudgetSet
    | BudgetReached
    | Highlight
    | Note
    | ObserverNote,
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(KnownEvent)[0])
}
"""Every known event type by its ``type`` tag, derived from :data:`KnownEvent` (the one list)."""


def parse_event(data: dict[str, Any]) -> Event:
    """Build the typed event for a decoded JSON object; unknown types become GenericEvent.

    Raises ``pydantic.ValidationError`` when a known type lacks required fields.
    """
    cls = EVENT_TYPES.get(data.get("type"))  # type: ignore[arg-type]
    return (cls or GenericEvent).model_validate(data)
