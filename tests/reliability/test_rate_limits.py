"""Defect 1 of issue 15: rate limits are weather, not a reason to stop a run.

The endpoint's AIMD limiter (``core/llm/limiter.py``) and the openai backend's retry budget,
against the fake OpenAI-compatible server: 429s cut the concurrency and it grows back, a
call retries transient faults for as long as its budget lasts (not a fixed count), faults no
waiting can fix fail at once, and a hanging request is cut at ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.fake_openai import FakeOpenAIServer, error, hang, reply
from troupe.core.actions import TurnAction
from troupe.core.config import Settings, load_settings
from troupe.core.errors import BackendError
from troupe.core.llm.limiter import AdaptiveLimiter, limiter_for
from troupe.core.llm.openai_backend import OpenAIBackend
from troupe.core.llm.protocol import ChatRequest, Message

OK = {"action": "say", "text": "Fine by me.", "to": None, "feeling": None}


def backend_for(server: FakeOpenAIServer, **kw) -> OpenAIBackend:
    options = {"base_url": server.base_url, "api_key": "sk-test", "retry_backoff_s": 0.001, "timeout_s": 5.0}
    options.update(kw)
    return OpenAIBackend(**options)


def turn() -> ChatRequest:
    return ChatRequest([Message("system", "You are Maria."), Message("user", "Well?")], output_model=TurnAction)


# -- the limiter ------------------------------------------------------------------------------


async def test_a_burst_of_429s_halves_the_limit_once_and_successes_grow_it_back() -> None:
    limiter = AdaptiveLimiter(initial=16, maximum=16)
    generations = [await limiter.acquire() for _ in range(8)]
    for g in generations:  # eight replies from one overloaded moment: one cut, not eight
        limiter.on_throttle(g)
        limiter.release()
    assert limiter.limit == 8 and limiter.stats.cuts == 1 and limiter.stats.throttles == 8
    generations = [await limiter.acquire() for _ in range(8)]
    for g in generations:  # still refused after the cut: cut again
        limiter.on_throttle(g)
        limiter.release()
    assert limiter.limit == 4
    for _ in range(60):
        limiter.on_success()
    assert 8 < limiter.limit <= 16
    for _ in range(1000):
        limiter.on_success()
    assert limiter.limit == 16


async def test_the_limit_bounds_calls_in_flight_and_never_drops_below_one() -> None:
    limiter = AdaptiveLimiter(initial=3, maximum=3)
    in_flight = peak = 0

    async def call() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            await asyncio.sleep(0.005)
            in_flight -= 1

    await asyncio.gather(*(call() for _ in range(30)))
    assert peak == 3 and limiter.in_flight == 0
    for _ in range(10):
        limiter.on_throttle(limiter.generation)
    assert limiter.limit == 1 and limiter.capacity == 1
    await asyncio.gather(*(call() for _ in range(5)))
    assert peak == 3


async def test_sporadic_429s_are_retried_without_starving_the_panel() -> None:
    """One reply in five refused whatever the load (a shared quota) is not too much
    concurrency: the limit stays high."""
    limiter = AdaptiveLimiter(initial=32, maximum=32)
    for i in range(1000):
        g = await limiter.acquire()
        if i % 5 == 0:
            limiter.on_throttle(g)
        else:
            limiter.on_success()
        limiter.release()
    assert limiter.stats.cuts == 0 and limiter.limit == 32


async def test_retry_after_holds_back_new_calls_to_the_endpoint() -> None:
    limiter = AdaptiveLimiter(initial=4, maximum=4)
    g = await limiter.acquire()
    limiter.on_throttle(g, retry_after_s=0.2)
    limiter.release()
    start = time.monotonic()
    async with limiter.slot():
        pass
    assert time.monotonic() - start >= 0.18


async def test_cancelled_waiters_do_not_leak_slots() -> None:
    limiter = AdaptiveLimiter(initial=1, maximum=1)
    await limiter.acquire()
    waiter = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    limiter.release()
    assert await asyncio.wait_for(limiter.acquire(), 1) == limiter.generation
    assert limiter.in_flight == 1


async def test_one_limiter_per_endpoint_is_shared_by_every_backend_in_the_process(
    fake_openai: FakeOpenAIServer,
) -> None:
    a, b = backend_for(fake_openai), backend_for(fake_openai, max_concurrency=8)
    assert a.limiter is b.limiter is limiter_for(fake_openai.base_url)
    assert a.limiter is not limiter_for("http://127.0.0.1:1/v1")
    await a.aclose()
    await b.aclose()


# -- the backend under rate limits -----------------------------------------------------------


async def test_a_server_that_throttles_above_four_calls_gets_every_call_through(
    fake_openai: FakeOpenAIServer,
) -> None:
    """40 calls at once against a server that answers 429 whenever more than 4 are in flight:
    the limiter settles near what the server accepts and every call completes."""
    fake_openai.latency = 0.02

    def behaviour(body: dict) -> object:
        if fake_openai._in_flight > 4:
            return error(429, retry_after_ms=5)
        return reply(OK)

    fake_openai.enqueue(*[behaviour] * 2000)
    backend = backend_for(fake_openai, max_concurrency=32)
    results = await asyncio.gather(*(backend.complete(turn()) for _ in range(40)))
    stats = backend.limiter.stats
    await backend.aclose()
    assert all(r.parsed is not None for r in results)
    assert stats.cuts >= 1 and stats.lowest_limit <= 8
    assert backend.retries >= 1


async def test_retries_are_bounded_by_time_not_by_a_count(fake_openai: FakeOpenAIServer) -> None:
    """Twelve 429s in a row (the old policy gave up after 4 attempts) still succeed."""
    fake_openai.enqueue(*[error(429, retry_after_ms=1)] * 12, reply(OK))
    backend = backend_for(fake_openai, retry_budget_s=30)
    response = await backend.complete(turn())
    await backend.aclose()
    assert response.parsed is not None and len(fake_openai.chat_requests) == 13 and backend.retries == 12


async def test_a_spent_budget_gives_up_with_one_line_that_says_so(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(*[error(500)] * 500)
    backend = backend_for(fake_openai, retry_budget_s=0.3, retry_backoff_s=0.05, retry_max_backoff_s=0.05)
    start = time.monotonic()
    with pytest.raises(BackendError) as caught:
        await backend.complete(turn())
    await backend.aclose()
    assert time.monotonic() - start < 3
    assert caught.value.kind == "server" and "retry budget of 0.3 s is spent" in caught.value.message
    assert "\n" not in caught.value.message


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        (error(401, "Incorrect API key provided."), "auth"),
        (error(429, "You exceeded your current quota", code="insufficient_quota"), "quota"),
        (error(404, "The model `gpt-nope` does not exist"), "not_found"),
    ],
)
async def test_faults_no_waiting_can_fix_fail_at_once(fake_openai: FakeOpenAIServer, fault, kind: str) -> None:
    fake_openai.enqueue(*[fault] * 20)
    backend = backend_for(fake_openai, retry_budget_s=60)
    with pytest.raises(BackendError) as caught:
        await backend.complete(turn())
    await backend.aclose()
    assert caught.value.kind == kind and len(fake_openai.chat_requests) == 1


async def test_a_hanging_request_is_cut_at_the_timeout_and_retried(fake_openai: FakeOpenAIServer) -> None:
    """The fake server's stall (30 s) no longer holds a round for 30 s."""
    fake_openai.enqueue(hang(30), reply(OK))
    backend = backend_for(fake_openai, timeout_s=0.4)
    start = time.monotonic()
    response = await backend.complete(turn())
    await backend.aclose()
    assert response.parsed is not None and time.monotonic() - start < 3
    assert len(fake_openai.chat_requests) == 2


def test_the_budget_and_timeout_are_settings(tmp_path, monkeypatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text("retry_budget_s = 90\ntimeout_s = 12\n", encoding="utf-8")
    settings = load_settings(str(config))
    assert (settings.retry_budget_s, settings.timeout_s, settings.max_retries) == (90, 12, None)
    monkeypatch.setenv("TROUPE_RETRY_BUDGET_S", "45")
    monkeypatch.setenv("TROUPE_TIMEOUT_S", "7.5")
    settings = load_settings(str(config))
    assert (settings.retry_budget_s, settings.timeout_s) == (45, 7.5)
    backend = OpenAIBackend.from_settings(settings.with_overrides(base_url="http://127.0.0.1:9/v1"))
    assert (backend.retry_budget_s, backend.timeout_s, backend.max_retries) == (45, 7.5, None)
    assert Settings().retry_budget_s == 300


async def test_callers_queued_through_a_retry_after_pause_all_get_through() -> None:
    """The last call in flight is told to wait (Retry-After) and leaves: the callers queued
    behind it must move again once the pause is over, with nothing left in flight to wake them
    (this deadlocked a panel under 429s before)."""
    from troupe.core.llm.limiter import AdaptiveLimiter

    limiter = AdaptiveLimiter(initial=1, maximum=1)
    done: list[int] = []

    async def call(i: int) -> None:
        async with limiter.slot() as generation:
            if i == 0:
                await asyncio.sleep(0.01)
                limiter.on_throttle(generation, retry_after_s=0.05)
            done.append(i)

    await asyncio.wait_for(asyncio.gather(*(call(i) for i in range(5))), timeout=5)
    assert sorted(done) == [0, 1, 2, 3, 4] and limiter.in_flight == 0
