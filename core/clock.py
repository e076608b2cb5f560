"""Time, injectable so that tests and snapshots are deterministic."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """Wall-clock UTC time."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FixedClock:
    """A clock that starts at ``start`` and advances ``step`` seconds on every read of ``now``."""

    def __init__(self, start: datetime | None = None, step: float = 1.0) -> None:
        self._now = start or datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
        self._step = timedelta(seconds=step)
        self._mono = 0.0

    def now(self) -> datetime:
        current = self._now
        self._now += self._step
        self._mono += self._step.total_seconds()
        return current

    def monotonic(self) -> float:
        return self._mono


def iso(dt: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, millisecond precision."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
