"""The session's observable state, derived from its events (and transient activity).

:class:`StateTracker` folds events into a :class:`SessionState`; the controller feeds it every
event as it is logged (or replayed), and every :class:`AgentActivity` for live statuses.
``Session.state`` hands out a copy (made once per change and shared until the next one), so a
reader can never change the session by accident; treat it as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from troupe.core.events import Event
from troupe.core.room import ActivityStatus, AgentActivity
from troupe.core.turn_check import TurnCheckTally


@dataclass
class AgentState:
    name: str
    descriptor: str = ""
    status: ActivityStatus = "idle"
    paused: bool = False
    muted: bool = False
    turns: int = 0
    airtime_chars: int = 0
    last_texts: list[str] = field(default_factory=list)
    """The last three things it said, oldest first."""
    feeling: str | None = None
    partial_text: str | None = None
    """Text streaming in right now (transient)."""


@dataclass
class SessionState:
    title: str = ""
    section_index: int = -1
    """−1 before the first section starts."""
    section_title: str | None = None
    section_count: int = 0
    paused: bool = False
    ended: bool = False
    end_reason: str | None = None
    agents: dict[str, AgentState] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    errors: int = 0
    backend: str | None = None
    model: str | None = None
    started_at: str | None = None
    rounds: int = 0
    """Rounds finished (guide and moderator rounds)."""
    beats_done: int = 0
    beats_total: int = 0
    turn_checks: TurnCheckTally = field(default_factory=TurnCheckTally)
    """The per-turn persona check's counts (``core/turn_check.py``; the header shows them)."""


class StateTracker:
    """Folds events (and activity) into a :class:`SessionState`."""

    def __init__(self, section_count: int = 0) -> None:
        self.state = SessionState(section_count=section_count)
        self._snapshot: SessionState | None = None

    def apply(self, event: Event) -> None:
        self._snapshot = None
        s = self.state
        t = event.type
        e = event.__dict__
        agent = s.agents.get(e.get("agent") or "")
        s.turn_checks.add(event)
        if t == "session_started":
            s.title = e["title"]
            s.backend = e.get("backend")
            s.model = e.get("model")
            s.started_at = event.ts
            cards = e.get("persona_cards") or {}
            for name in e["personas"]:
                s.agents[name] = AgentState(name, descriptor=str((cards.get(name) or {}).get("descriptor", "")))
        elif t == "section_started":
            s.section_index = e["index"]
            s.section_title = e["title"]
        elif t == "say" and agent is not None:
            agent.turns += 1
            agent.airtime_chars += len(e["text"])
            agent.last_texts = (agent.last_texts + [e["text"]])[-3:]
            agent.feeling = e.get("feeling") or agent.feeling
        elif t in ("think", "pass") and agent is not None:
            agent.turns += 1
            if t == "think":
                agent.feeling = e.get("feeling") or agent.feeling
        elif t == "llm_call":
            s.calls += 1
            s.prompt_tokens += e["prompt_tokens"]
            s.completion_tokens += e["completion_tokens"]
            s.cost_usd += e.get("cost_usd") or 0.0
        elif t == "error":
            s.errors += 1
        elif t == "round_ended":
            s.rounds += 1
        elif t in ("agent_paused", "agent_resumed") and agent is not None:
            agent.paused = t == "agent_paused"
            agent.status = "paused" if agent.paused else ("muted" if agent.muted else "idle")
        elif t in ("agent_muted", "agent_unmuted") and agent is not None:
            agent.muted = t == "agent_muted"
            agent.status = "paused" if agent.paused else ("muted" if agent.muted else "idle")
        elif t in ("session_paused", "session_resumed"):
            s.paused = t == "session_paused"
        elif t == "session_ended":
            s.ended = True
            s.end_reason = e.get("reason")

    def on_activity(self, activity: AgentActivity) -> None:
        agent = self.state.agents.get(activity.agent)
        if agent is not None:
            self._snapshot = None
            agent.status = activity.status
            agent.partial_text = activity.partial_text if activity.status in ("speaking", "thinking") else None

    def snapshot(self) -> SessionState:
        """A copy of the state, made once per change: reading it again before the next event
        or status change costs nothing (the TUI reads it several times per screen flush)."""
        if self._snapshot is None:
            s = self.state
            agents = {name: replace(a, last_texts=list(a.last_texts)) for name, a in s.agents.items()}
            self._snapshot = replace(s, agents=agents, turn_checks=replace(s.turn_checks))
        return self._snapshot


__all__ = ["AgentState", "SessionState", "StateTracker"]
