"""From the session to the screen: events and agent activity, delivered in batches.

The engine calls our subscribers at its own pace: once per durable event, and once per
streamed delta for activity (hundreds a second with eight personas streaming). Drawing at
that rate would make the UI, and with it the network loop, fall behind real time. So the
bridge only *records*: events go into a queue, activity overwrites the latest value per
agent. The screen drains the bridge on a ~100 ms timer and draws each batch once
(STYLE.md #6). Recording is thread-safe because a thread-backed model (llama-cpp) may call
back from its worker thread; nothing here ever waits for the UI.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from troupe.core.events import Event


class ActivityLike(Protocol):
    """What the bridge needs of ``AgentActivity`` (see docs/architecture.md)."""

    agent: str
    status: str
    partial_text: str | None


class Subscribable(Protocol):
    events: list[Event]

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

    def subscribe_activity(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...


@dataclass
class Batch:
    """What happened since the last drain."""

    events: list[Event] = field(default_factory=list)
    activity: dict[str, ActivityLike] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.events or self.activity)


class SessionBridge:
    """Buffers a session's events and activity until the screen asks for them."""

    def __init__(self, session: Subscribable) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._activity: dict[str, ActivityLike] = {}
        self.last_seq = session.events[-1].seq if session.events else 0
        """Events up to here were drawn from ``session.events``; later ones come queued."""
        self.activity_updates = 0
        """How many activity callbacks arrived (the streaming benchmark reads it)."""
        self._unsubscribe = [
            session.subscribe(self._on_event),
            session.subscribe_activity(self._on_activity),
        ]

    def _on_event(self, event: Event) -> None:
        with self._lock:
            if event.seq > self.last_seq:
                self._events.append(event)
                self.last_seq = event.seq

    def _on_activity(self, activity: ActivityLike) -> None:
        with self._lock:
            self._activity[activity.agent] = activity
            self.activity_updates += 1

    def drain(self) -> Batch:
        """Take everything recorded so far (events in log order, latest activity per agent)."""
        with self._lock:
            batch = Batch(self._events, self._activity)
            self._events, self._activity = [], {}
        return batch

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
