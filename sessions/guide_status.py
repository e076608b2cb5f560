"""Where the session stands in its guide, from the log: what the guide sidebar shows.

A pure function of the guide, the events and the time now (:func:`guide_status`): the
current section, its goal and prompt, the stimuli and polls of the section still to come, the
probes not yet fired (``moderator`` events with ``source="probe"``), and the clocks — the
section's time against its ``duration_min`` and the session's against the guide's total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from troupe.core.events import Event

from .guide import Guide


@dataclass(frozen=True)
class GuideStatus:
    sections: list[str]
    current: int
    """The current section's index; −1 before the first."""
    goal: str | None = None
    prompt: str | None = None
    stimuli_to_come: list[str] = field(default_factory=list)
    polls_to_come: list[str] = field(default_factory=list)
    probes_left: list[str] = field(default_factory=list)
    section_seconds: float = 0.0
    section_minutes: float | None = None
    """The current section's ``duration_min``, if the guide gives one."""
    total_seconds: float = 0.0
    total_minutes: float | None = None
    """The sum of the sections' ``duration_min`` (None when no section has one)."""

    @property
    def section_over(self) -> bool:
        return self.section_minutes is not None and self.section_seconds > self.section_minutes * 60

    @property
    def total_over(self) -> bool:
        return self.total_minutes is not None and self.total_seconds > self.total_minutes * 60


def _when(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def guide_status(guide: Guide, events: Sequence[Event], now: datetime, *, seed: int = 0) -> GuideStatus:
    """The guide sidebar's content for the log ``events`` at ``now``."""
    titles = [s.title for s in guide.sections]
    durations = [s.duration_min for s in guide.sections if s.duration_min is not None]
    total = float(sum(durations)) if durations else None
    started = events[0].ts if events else None
    total_seconds = (now - _when(started)).total_seconds() if started else 0.0
    opened = [e for e in events if e.type == "section_started"]
    if not opened:
        return GuideStatus(titles, -1, total_seconds=total_seconds, total_minutes=total)
    last = opened[-1]
    index = int(getattr(last, "index", 0))
    section = guide.sections[index] if 0 <= index < len(guide.sections) else None
    if section is None:
        return GuideStatus(titles, index, total_seconds=total_seconds, total_minutes=total)
    since = [e for e in events if e.seq > last.seq]
    shown = sum(1 for e in since if e.type == "stimulus" and getattr(e, "source", None) == "guide")
    asked = {str(getattr(e, "poll_id", "")) for e in since if e.type == "poll_asked"}
    fired = {
        str(getattr(e, "text", "")).strip()
        for e in since
        if e.type == "moderator" and getattr(e, "source", None) == "probe"
    }
    ended = any(e.type == "section_ended" and getattr(e, "index", None) == index for e in since)
    end = _when(since[-1].ts) if ended and since else now
    return GuideStatus(
        titles,
        index,
        goal=section.goal,
        prompt=section.prompt,
        stimuli_to_come=[s.title or s.text for s in section.ordered_stimuli(seed)[shown:]],
        polls_to_come=[p.question for p in section.polls if p.id not in asked],
        probes_left=[p for p in section.probes if p.strip() not in fired],
        section_seconds=(end - _when(last.ts)).total_seconds(),
        section_minutes=section.duration_min,
        total_seconds=total_seconds,
        total_minutes=total,
    )
