"""Several replicas of one OpenAI-compatible server (``base_urls``): spread the load, route
around a failing one.

Each replica has its own client and its own :class:`~.limiter.AdaptiveLimiter` (per-endpoint
concurrency and rate limit: a 429 from one replica slows only that one). Every attempt of a
call goes to the healthy replica with the most free slots (ties: the one used least recently),
so a panel's calls spread evenly. A replica that fails a call — refused connection, timeout,
5xx — is taken out for a cool-down (1 s, doubling per failure in a row, at most 60 s); the
call is retried at once on another replica, so no turn is lost while one replica is down.
After the cool-down the replica gets calls again; its first success puts it back for good.
When every replica is out, the call waits for the first to come back (within the backend's
retry budget).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .limiter import AdaptiveLimiter, limiter_for

COOLDOWN_S = 1.0
MAX_COOLDOWN_S = 60.0


@dataclass
class Replica:
    url: str
    """As shown in messages (no credentials)."""
    client: Any
    failures: int = 0
    """Failures in a row."""
    down_until: float = 0.0
    calls: int = 0
    last_used: float = 0.0
    errors: list[str] = field(default_factory=list)

    def healthy(self, now: float) -> bool:
        return self.down_until <= now


class ReplicaPool:
    """The replicas of one backend. See the module docstring."""

    def __init__(self, replicas: list[Replica], *, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not replicas:
            raise ValueError("a replica pool needs at least one replica")
        self.replicas = replicas
        self.maximum = maximum
        self._clock = clock

    def limiter(self, replica: Replica) -> AdaptiveLimiter:
        return limiter_for(replica.url, maximum=self.maximum)

    def pick(self) -> Replica | None:
        """The healthy replica with the most free slots, or None when all are down."""
        now = self._clock()
        healthy = [r for r in self.replicas if r.healthy(now)]
        if not healthy:
            return None

        def free(r: Replica) -> tuple[int, float]:
            lim = self.limiter(r)
            return (lim.capacity - lim.in_flight, -r.last_used)

        best = max(healthy, key=free)
        best.calls += 1
        best.last_used = now
        return best

    def wait_s(self) -> float:
        """Seconds until the first replica that is down comes back (0 when one is up)."""
        now = self._clock()
        return max(0.0, min(r.down_until for r in self.replicas) - now)

    def failed(self, replica: Replica, reason: str) -> None:
        replica.failures += 1
        replica.down_until = self._clock() + min(MAX_COOLDOWN_S, COOLDOWN_S * 2 ** (replica.failures - 1))
        replica.errors.append(reason)
        del replica.errors[:-5]

    def succeeded(self, replica: Replica) -> None:
        replica.failures = 0
        replica.down_until = 0.0

    def any_healthy(self, besides: Replica | None = None) -> bool:
        now = self._clock()
        return any(r.healthy(now) and r is not besides for r in self.replicas)


__all__ = ["COOLDOWN_S", "MAX_COOLDOWN_S", "Replica", "ReplicaPool"]
