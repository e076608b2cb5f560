"""A guide flattened into beats, and where a run stands in it according to its log.

A *beat* is what one :meth:`Session.step` does: open a section (``section_started`` and the
moderator's prompt), show a stimulus, run one round, run one poll, close the section. The plan
is a pure function of the guide, the seed (stimulus order) and the rounds cap, so a resumed
run rebuilds the same plan from ``session_started``.

Each beat's *closing* event carries ``beat=<key>``; a run's position is just after the last beat
whose key is in the log (skipping a section logs its ``section_ended`` with the close key, so
everything before it counts as done). A round or poll that was cut off mid-way is picked up
from its partial events (:func:`round_progress`, :func:`poll_progress`).

Order inside a section: the opening (prompt), then for each stimulus — shown in the run's
order (``Section.ordered_stimuli``) — its discussion rounds; a section without stimuli has its
rounds after the prompt. Polls come after the stimuli have been discussed; in a section
without stimuli they come first, so that answers are given before the group discussion can
sway them and the rounds can discuss the revealed results (the private-first pattern).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from troupe.core.events import Event, takes_turn
from troupe.core.polls import PollSpec

from .guide import Guide, StimulusSpec

BeatKind = Literal["open", "stimulus", "round", "poll", "discuss", "close"]


@dataclass(frozen=True)
class Beat:
    key: str
    kind: BeatKind
    section: int
    block: int | None = None
    """Which stimulus a round discusses (its index in this run's order); None without stimuli."""
    round: int | None = None
    stimulus: StimulusSpec | None = None
    poll: PollSpec | None = None

    def describe(self) -> str:
        """A short label for progress displays."""
        if self.kind == "round":
            return f"section {self.section + 1}, round {(self.round or 0) + 1}"
        if self.kind == "poll" and self.poll is not None:
            return f"poll {self.poll.id}"
        return f"section {self.section + 1} {self.kind}"


def plan_guide(guide: Guide, *, seed: int = 0, rounds_cap: int | None = None) -> list[Beat]:
    """Every beat of ``guide`` in order (see the module docstring)."""
    beats: list[Beat] = []
    for i, section in enumerate(guide.sections):
        rounds = guide.rounds_for(section)
        if rounds_cap is not None:
            rounds = min(rounds, max(0, rounds_cap))
        polls: list[Beat] = []
        for p in section.polls:
            polls.append(Beat(f"s{i}.poll.{p.id}", "poll", i, poll=p))
            if p.discuss:  # the revealed results, then one round on them
                polls.append(Beat(f"s{i}.discuss.{p.id}", "discuss", i, poll=p))
                polls.append(Beat(f"s{i}.discuss.{p.id}.r0", "round", i, round=0))
        beats.append(Beat(f"s{i}.open", "open", i))
        stimuli = section.ordered_stimuli(seed)
        if stimuli:
            for j, stimulus in enumerate(stimuli):
                beats.append(Beat(f"s{i}.stim{j}", "stimulus", i, block=j, stimulus=stimulus))
                beats += [Beat(f"s{i}.b{j}.r{r}", "round", i, block=j, round=r) for r in range(rounds)]
            beats += polls
        else:
            beats += polls
            beats += [Beat(f"s{i}.r{r}", "round", i, round=r) for r in range(rounds)]
        beats.append(Beat(f"s{i}.close", "close", i))
    return beats


def beat_of(event: Event) -> str | None:
    """The beat key an event closes, if any."""
    value = getattr(event, "beat", None)
    return value if isinstance(value, str) else None


def position(plan: Sequence[Beat], events: Sequence[Event]) -> int:
    """Index of the first beat not yet done according to ``events``."""
    index = {beat.key: i for i, beat in enumerate(plan)}
    pos = 0
    for event in events:
        key = beat_of(event)
        if key is not None and key in index:
            pos = max(pos, index[key] + 1)
    return pos


@dataclass
class RoundProgress:
    started: bool = False
    done: set[str] = field(default_factory=set)
    """Agents whose turn in the round is logged (say, think, pass, or a failed turn)."""


def round_progress(events: Sequence[Event], key: str) -> RoundProgress:
    """How far the round ``key`` got (scans back to its ``round_started``)."""
    progress = RoundProgress()
    for event in reversed(events):
        if event.type == "round_started" and getattr(event, "key", None) == key:
            progress.started = True
            break
        if takes_turn(event, key):
            agent = getattr(event, "agent", None)
            if agent:
                progress.done.add(agent)
    if not progress.started:
        progress.done.clear()
    return progress


@dataclass
class PollProgress:
    asked: bool = False
    revealed: bool = False
    answers: dict[str, tuple[Any, str]] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)


def poll_progress(events: Sequence[Event], poll_id: str) -> PollProgress:
    """What is already logged of the poll ``poll_id`` (asked? answers? revealed?)."""
    progress = PollProgress()
    for event in events:
        if getattr(event, "poll_id", None) != poll_id:
            continue
        if event.type == "poll_asked":
            progress = PollProgress(asked=True)
        elif event.type == "poll_answer":
            progress.answers[event.agent] = (event.value, event.rationale)  # type: ignore[attr-defined]
        elif event.type == "poll_revealed":
            progress.revealed = True
        elif event.type == "error" and getattr(event, "agent", None):
            progress.failed.add(event.agent)  # type: ignore[attr-defined]
    return progress


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A moderator line or stimulus (``source=moderator``) whose round never finished —
    a crash or a quit between logging it and the personas' answers."""

    event: Event
    key: str | None
    """The ad-hoc round that started answering it (resume skips who already answered)."""
    policy: str | None
    to: list[str] | None


def unanswered(events: Sequence[Event]) -> list[Unanswered]:
    """The moderator's own lines and stimuli still owed an answer, oldest first."""
    started: dict[int, Event] = {}
    ended: set[str] = set()
    for event in events:
        if event.type == "round_started" and getattr(event, "reply_to", None) is not None:
            started[event.reply_to] = event  # type: ignore[attr-defined]
        elif event.type == "round_ended":
            ended.add(event.key)  # type: ignore[attr-defined]
    owed = []
    for event in events:
        if event.type not in ("moderator", "stimulus") or getattr(event, "source", None) != "moderator":
            continue
        round_ = started.get(event.seq)
        if round_ is None:
            owed.append(Unanswered(event, None, None, getattr(event, "to", None)))
        elif round_.key not in ended:  # type: ignore[attr-defined]
            owed.append(Unanswered(event, round_.key, round_.policy, round_.to))  # type: ignore[attr-defined]
    return owed


__all__ = [
    "Beat",
    "PollProgress",
    "RoundProgress",
    "Unanswered",
    "beat_of",
    "plan_guide",
    "poll_progress",
    "position",
    "round_progress",
    "unanswered",
]
