"""Adaptive concurrency for one model endpoint: AIMD, shared by every caller in the process.

Rate limits are normal weather. Rather than give up after a fixed number of 429s, every call
to an endpoint takes a slot from that endpoint's :class:`AdaptiveLimiter`:

* **multiplicative decrease** — when throttle signals (HTTP 429, 503) are at least
  ``cut_share`` of the replies since the last cut (counted over at least ``min(8, limit)``
  replies), the number of calls allowed in flight is halved (never below ``minimum``): too
  much concurrency shows as most calls being refused, while sporadic 429s that any load gets
  (a shared quota, a noisy neighbour) are retried without starving the panel. Calls already in
  flight when the limit was cut carry the old *generation*, so a burst of 429s from one
  overloaded moment cuts the limit once, not once per reply;
* **additive increase** — each success grows the limit by ``1 / limit`` (about one more slot
  per "window" of successful calls), up to ``maximum``;
* **Retry-After** — a server's requested wait holds back *new* calls to the endpoint until it
  has passed (capped at ``max_pause_s``), so the panel does not keep knocking.

:func:`limiter_for` returns the one limiter of an endpoint for the running event loop (a
process normally has one loop; tests start many, and asyncio futures belong to one loop).
The limiter is deliberately small and deterministic: no threads, no timers, monotonic time.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass
class LimiterStats:
    """What a limiter saw (for ``bench/soak.py`` and tests)."""

    acquired: int = 0
    successes: int = 0
    throttles: int = 0
    cuts: int = 0
    peak_in_flight: int = 0
    lowest_limit: float = 0.0


class AdaptiveLimiter:
    """An AIMD limit on calls in flight to one endpoint (see the module docstring)."""

    def __init__(
        self,
        *,
        initial: float = 64,
        minimum: int = 1,
        maximum: int = 64,
        decrease: float = 0.5,
        cut_share: float = 0.5,
        max_pause_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.minimum = max(1, int(minimum))
        self.maximum = max(self.minimum, int(maximum))
        self.limit = float(min(max(initial, self.minimum), self.maximum))
        self.decrease = decrease
        self.cut_share = cut_share
        self.max_pause_s = max_pause_s
        self._replies = 0
        self._throttled = 0
        """Replies and throttles since the last cut."""
        self._clock = clock
        self.in_flight = 0
        self.generation = 0
        self._paused_until = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self.stats = LimiterStats(lowest_limit=self.limit)

    # -- slots ----------------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        return max(self.minimum, int(self.limit))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[int]:
        """Hold one slot for the duration of a call; yields the generation to report with."""
        generation = await self.acquire()
        try:
            yield generation
        finally:
            self.release()

    async def acquire(self) -> int:
        while True:
            pause = self._paused_until - self._clock()
            if pause > 0:
                await asyncio.sleep(pause)
                # The pause is over: the queue moves again. Without this, callers queued during
                # a pause with nothing left in flight would wait for a release that never comes.
                self._wake()
                continue
            if self.in_flight < self.capacity and not self._waiters:
                break
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            except BaseException:
                if future in self._waiters:
                    self._waiters.remove(future)
                elif future.done() and not future.cancelled():
                    self._wake()  # we were handed a turn we will not use: pass it on
                raise
            if self._paused_until - self._clock() > 0:
                continue  # a pause began meanwhile: wait it out above, then wake the queue
            if self.in_flight < self.capacity:
                break
            # woken but the limit shrank meanwhile: queue again (at the back); a call in flight
            # releases and wakes it
        self.in_flight += 1
        self.stats.acquired += 1
        self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.in_flight)
        return self.generation

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self._wake()

    def _wake(self) -> None:
        free = self.capacity - self.in_flight
        while free > 0 and self._waiters:
            future = self._waiters.popleft()
            if not future.done():
                future.set_result(None)
                free -= 1

    # -- signals --------------------------------------------------------------------------

    def on_success(self) -> None:
        self.stats.successes += 1
        self._replies += 1
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / max(self.limit, 1.0))
            self._wake()

    def on_throttle(self, generation: int, retry_after_s: float | None = None) -> None:
        """A 429/503 on a call that took its slot in ``generation``."""
        self.stats.throttles += 1
        self._replies += 1
        self._throttled += 1
        if retry_after_s is not None and retry_after_s > 0:
            self._paused_until = max(self._paused_until, self._clock() + min(retry_after_s, self.max_pause_s))
        if generation != self.generation:
            return  # the limit was already cut after this call started
        if self._replies < min(8, self.capacity) or self._throttled < self.cut_share * self._replies:
            return  # sporadic: retried, not a sign of too much concurrency
        self._replies = self._throttled = 0
        self.generation += 1
        self.stats.cuts += 1
        self.limit = max(float(self.minimum), self.limit * self.decrease)
        self.stats.lowest_limit = min(self.stats.lowest_limit, self.limit)


_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, AdaptiveLimiter]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(endpoint: str, *, maximum: int = 64) -> AdaptiveLimiter:
    """The one limiter of ``endpoint`` (a base URL) in this process's running event loop.

    The first caller's ``maximum`` sets its ceiling; a later caller asking for more raises it
    (two sessions in one process with different ``max_concurrency`` share the larger).
    """
    loop = asyncio.get_running_loop()
    per_loop = _LIMITERS.setdefault(loop, {})
    limiter = per_loop.get(endpoint)
    if limiter is None:
        limiter = per_loop[endpoint] = AdaptiveLimiter(initial=maximum, maximum=maximum)
    elif maximum > limiter.maximum:
        limiter.maximum = maximum
    return limiter
