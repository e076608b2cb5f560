"""The transcript model: a run's event log shaped into sections of readable entries.

Every export format and the findings report are renderings of the same :class:`Transcript`,
so they agree on what happened, in what order, who said it, what was private, and what the
polls showed. Building it is a pure function of the events (plus the choice of whether
private thoughts are shown), so an export can be re-made from a log at any time.

Privacy: ``think`` events are a persona's private thoughts. They are left out unless the
caller asks for them (``include_thoughts=True``). Muted ``say`` events are kept, flagged
``muted`` — they were said, but nobody in the room heard them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from troupe.core.errors import BadRunError
from troupe.core.events import Event, SessionStarted
from troupe.core.poll_stats import PollResult, collect_polls
from troupe.core.turn_check import TurnCheckTally

EntryKind = Literal["moderator", "say", "think", "pass", "stimulus", "poll", "note"]

MODERATOR = "Moderator"

_NOTES = {
    "agent_paused": "{agent} was paused by the moderator.",
    "agent_resumed": "{agent} was resumed.",
    "agent_muted": "{agent} was muted: still speaking, but nobody in the room hears them.",
    "agent_unmuted": "{agent} was unmuted.",
    "session_paused": "The session was paused.",
    "session_resumed": "The session was resumed.",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the transcript."""

    seq: int
    ts: str
    kind: EntryKind
    speaker: str | None
    """A persona's name, ``Moderator``, ``Guide`` (stimuli from the guide), or None for notes."""
    text: str
    to: tuple[str, ...] | None = None
    """Addressees, None for the whole room."""
    muted: bool = False
    title: str | None = None
    """Stimulus title (concept card name)."""
    stimulus_kind: str | None = None
    path: str | None = None
    reply_to: int | None = None
    feeling: str | None = None
    poll: PollResult | None = None
    role: str | None = None
    """``devils_advocate``: a view argued on the moderator's request, not the persona's own."""


@dataclass(frozen=True, slots=True)
class StarredQuote:
    """A ``highlight``: the entry the moderator starred, quoted (the moderator's mark)."""

    seq: int
    """The ``highlight`` event's own seq."""
    target: int
    """The starred event's seq."""
    speaker: str
    text: str
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class ModeratorNote:
    """A ``note`` (the moderator's) or an ``observer_note`` (an observer's, passed in)."""

    seq: int
    ts: str
    text: str
    author: str
    """``Moderator``, or ``Observer (name)``."""


@dataclass(slots=True)
class SectionBlock:
    index: int
    """Guide section index; −1 for what happened before the first section."""
    title: str
    seq: int | None
    entries: list[Entry] = field(default_factory=list)

    def utterances(self) -> list[Entry]:
        """What personas said aloud in this section (muted ones included, flagged)."""
        return [e for e in self.entries if e.kind == "say"]


@dataclass(slots=True)
class RunInfo:
    title: str
    spec: str | None
    backend: str
    model: str | None
    seed: int | None
    started_at: str
    ended_at: str | None
    end_reason: str | None
    personas: list[str]
    cards: dict[str, dict[str, Any]]
    guide: dict[str, Any] | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    llm_calls: int = 0
    branched_from: tuple[str, int] | None = None
    """``(parent run folder, last shared seq)`` for a run made by ``troupe branch`` / ``/branch``."""
    turn_checks: TurnCheckTally = field(default_factory=TurnCheckTally)
    """The per-turn persona check's counts (``core/turn_check.py``)."""

    @property
    def branch_label(self) -> str | None:
        """``a branch of runs/x at event #41`` — where this run left its parent, or None."""
        if self.branched_from is None:
            return None
        run, seq = self.branched_from
        return f"a branch of {run} at event #{seq}"

    @property
    def kind(self) -> str | None:
        return (self.guide or {}).get("kind")

    @property
    def language(self) -> str:
        return str((self.guide or {}).get("language") or "en")

    @property
    def model_label(self) -> str:
        """``openai / gpt-4.1-mini`` — the backend and model that produced the participants."""
        return f"{self.backend} / {self.model}" if self.model else self.backend

    def descriptor(self, name: str) -> str:
        card = self.cards.get(name) or {}
        return str(card.get("descriptor") or "")


@dataclass(slots=True)
class Transcript:
    info: RunInfo
    sections: list[SectionBlock]
    polls: list[PollResult]
    events: list[Event]
    """Every event of the log, thoughts included — the exports choose what to show."""
    include_thoughts: bool = False
    run_dir: Path | None = None
    highlights: list[StarredQuote] = field(default_factory=list)
    """What the moderator starred, in the order starred."""
    notes: list[ModeratorNote] = field(default_factory=list)
    """The moderator's private notes and the observers' notes, in log order."""
    """The run folder, when read from one (an image stimulus kept there is embedded by HTML)."""

    @property
    def thought_count(self) -> int:
        return sum(1 for e in self.events if e.type == "think")

    def speakers(self) -> list[str]:
        """Seated personas in seating order, then anyone else who spoke."""
        names = list(self.info.personas)
        for section in self.sections:
            for entry in section.entries:
                if entry.kind in ("say", "think", "pass") and entry.speaker and entry.speaker not in names:
                    names.append(entry.speaker)
        return names

    def visible_events(self) -> list[Event]:
        """The log as an export shows it: thoughts only when asked for."""
        return [e for e in self.events if self.include_thoughts or e.type != "think"]


def build_transcript(events: Sequence[Event], *, include_thoughts: bool = False) -> Transcript:
    """Shape a run's events into a :class:`Transcript`.

    Raises :class:`RunStateError` when the log does not start with ``session_started``.
    """
    if not events or not isinstance(events[0], SessionStarted):
        raise BadRunError("the event log does not start with session_started; is this a Troupe run?")
    info = _run_info(events[0])
    polls = collect_polls(events)
    poll_by_seq = {p.seq: p for p in polls}
    sections: list[SectionBlock] = []
    current = SectionBlock(index=-1, title="Before the first section", seq=None)
    for event in events[1:]:
        t = event.type
        if t == "section_started":
            if current.entries or current.index >= 0:
                sections.append(current)
            current = SectionBlock(index=int(event.index), title=str(event.title), seq=event.seq)
            continue
        entry = _entry(event, poll_by_seq, include_thoughts)
        if entry is not None:
            current.entries.append(entry)
        _account(info, event)
    if current.entries or current.index >= 0:
        sections.append(current)
    return Transcript(
        info=info,
        sections=sections,
        polls=polls,
        events=list(events),
        include_thoughts=include_thoughts,
        highlights=starred(events),
        notes=moderator_notes(events),
    )


def quote_of(event: Event) -> tuple[str, str]:
    """``(speaker, text)`` of any event, as a highlight quotes it."""
    g = lambda name, default=None: getattr(event, name, default)  # noqa: E731
    speaker = g("agent") or (MODERATOR if event.type in ("moderator", "poll_asked") else None)
    if speaker is None:
        speaker = "Guide" if g("source") == "guide" else event.type.replace("_", " ")
    text = g("text") or g("question") or g("title") or ""
    if event.type == "poll_answer":
        text = f"{g('value')} — {g('rationale') or ''}".rstrip(" —")
    return str(speaker), str(text)


def starred(events: Sequence[Event]) -> list[StarredQuote]:
    """The ``highlight`` events of a log, each with the entry it stars (one rule for all)."""
    by_seq = {e.seq: e for e in events}
    out: list[StarredQuote] = []
    for event in events:
        if event.type != "highlight":
            continue
        target = by_seq.get(int(getattr(event, "target", 0)))
        speaker, text = quote_of(target) if target is not None else ("", "")
        out.append(
            StarredQuote(event.seq, int(getattr(event, "target", 0)), speaker, text, getattr(event, "tag", None))
        )
    return out


def moderator_notes(events: Sequence[Event]) -> list[ModeratorNote]:
    """The moderator's notes and the observers' notes of a log, in log order."""
    out: list[ModeratorNote] = []
    for event in events:
        if event.type == "note":
            out.append(ModeratorNote(event.seq, event.ts, str(getattr(event, "text", "")), MODERATOR))
        elif event.type == "observer_note":
            who = str(getattr(event, "observer", "") or "observer")
            out.append(ModeratorNote(event.seq, event.ts, str(getattr(event, "text", "")), f"Observer ({who})"))
    return out


def _run_info(start: SessionStarted) -> RunInfo:
    info = RunInfo(
        title=start.title,
        spec=start.spec,
        backend=start.backend,
        model=start.model,
        seed=start.seed,
        started_at=start.ts,
        ended_at=None,
        end_reason=None,
        personas=list(start.personas),
        cards=dict(start.persona_cards or {}),
        guide=start.guide,
    )
    info.turn_checks.add(start)
    return info


def _account(info: RunInfo, event: Event) -> None:
    info.turn_checks.add(event)
    if event.type == "llm_call":
        info.llm_calls += 1
        info.prompt_tokens += int(getattr(event, "prompt_tokens", 0) or 0)
        info.completion_tokens += int(getattr(event, "completion_tokens", 0) or 0)
        info.cost_usd += float(getattr(event, "cost_usd", 0.0) or 0.0)
    elif event.type == "session_ended":
        info.ended_at = event.ts
        info.end_reason = str(getattr(event, "reason", ""))


def _entry(event: Event, poll_by_seq: dict[int, PollResult], include_thoughts: bool) -> Entry | None:
    t = event.type
    g = lambda name, default=None: getattr(event, name, default)  # noqa: E731
    if t == "moderator":
        return Entry(event.seq, event.ts, "moderator", MODERATOR, g("text", ""), to=_names(g("to")))
    if t == "stimulus":
        speaker = MODERATOR if g("source") == "moderator" else "Guide"
        return Entry(
            event.seq,
            event.ts,
            "stimulus",
            speaker,
            g("text", ""),
            to=_names(g("to")),
            title=g("title"),
            stimulus_kind=g("kind"),
            path=g("path"),
        )
    if t == "say":
        to = g("to")
        return Entry(
            event.seq,
            event.ts,
            "say",
            g("agent"),
            g("text", ""),
            to=(to,) if to else None,
            muted=bool(g("muted", False)),
            reply_to=g("reply_to"),
            feeling=g("feeling"),
            role=g("role"),
        )
    if t == "think":
        if not include_thoughts:
            return None
        return Entry(event.seq, event.ts, "think", g("agent"), g("text", ""), feeling=g("feeling"))
    if t == "pass":
        return Entry(event.seq, event.ts, "pass", g("agent"), "")
    if t == "poll_asked":
        poll = poll_by_seq.get(event.seq)
        return Entry(event.seq, event.ts, "poll", MODERATOR, g("question", ""), poll=poll)
    if t in ("quiet_called", "devils_advocate", "agent_held"):
        return Entry(event.seq, event.ts, "note", None, move_note(event))
    if t in _NOTES:
        return Entry(event.seq, event.ts, "note", None, _NOTES[t].format(agent=g("agent", "")))
    if t == "section_ended" and g("skipped", False):
        return Entry(event.seq, event.ts, "note", None, "The moderator skipped the rest of this section.")
    if t == "error" and not g("recovered", False):
        who = g("agent") or "the session"
        return Entry(
            event.seq, event.ts, "note", None, f"A turn for {who} failed ({g('kind', 'error')}): {g('message', '')}"
        )
    return None


ROLE_TAGS = {"devils_advocate": "devil's advocate — argued on request, not their own view"}
"""How a ``say``'s ``role`` is shown in transcripts and exports."""


def move_note(event: Event) -> str:
    """A moderator's move against dominance or conformity, as a transcript note."""
    g = lambda name, default=None: getattr(event, name, default)  # noqa: E731
    if event.type == "quiet_called":
        return f"The moderator called on the quiet ones: {', '.join(g('agents') or [])}."
    if event.type == "devils_advocate":
        return f"The moderator asked {g('agent')} to play devil's advocate for: {g('position', '')}"
    rounds = int(g("rounds", 0) or 0)
    return f"{g('agent')} sits out the next {rounds} round{'' if rounds == 1 else 's'}."


def _names(value: Any) -> tuple[str, ...] | None:
    if not value:
        return None
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def human_time(ts: str | None) -> str:
    """``2026-01-01 12:00 UTC`` from an event timestamp (the raw text if it does not parse)."""
    if not ts:
        return "unknown time"
    try:
        dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return ts
    return dt.strftime("%Y-%m-%d %H:%M UTC")
