"""The part of the Session controller the UI drives (docs/architecture.md), as a Protocol.

The screens are typed against this rather than the concrete class so the UI's dependency on
the engine is visible in one place: if a call is not listed here, the UI does not make it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from troupe.core.card import PersonaCard
from troupe.core.events import Event
from troupe.core.log import EventLog
from troupe.core.polls import PollSpec


class ModeratedSession(Protocol):
    run_dir: Path
    log: EventLog
    events: list[Event]
    cards: dict[str, PersonaCard]
    guide: Any
    backend: Any

    @property
    def state(self) -> Any: ...

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

    def subscribe_activity(self, callback: Callable[[Any], None]) -> Callable[[], None]: ...

    def memory_summary(self, name: str) -> str: ...

    async def step(self) -> bool: ...

    async def say(self, text: str, to: list[str] | None = None) -> Any: ...

    async def ask(self, name: str, text: str) -> Any: ...

    async def show(self, stimulus: Any, to: list[str] | None = None) -> Any: ...

    async def poll(self, spec: PollSpec) -> Any: ...

    async def run_round(self) -> Any: ...

    async def next_section(self) -> bool: ...

    def pause_agent(self, name: str) -> None: ...

    def resume_agent(self, name: str) -> None: ...

    def mute_agent(self, name: str) -> None: ...

    def unmute_agent(self, name: str) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def end(self, reason: str = "moderator") -> None: ...

    async def aclose(self) -> None: ...
