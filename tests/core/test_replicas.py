"""Several base URLs (replicas): the load is spread, each has its own limit, and a failing
replica is taken out and retried later without losing a turn."""

from __future__ import annotations

import asyncio

from tests.support.fake_openai import FakeOpenAIServer, error
from troupe.core.actions import TurnAction
from troupe.core.config import Settings
from troupe.core.llm.limiter import limiter_for
from troupe.core.llm.openai_backend import OpenAIBackend
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.replicas import ReplicaPool


def request(i: int) -> ChatRequest:
    return ChatRequest(messages=[Message("user", f"turn {i}")], output_model=TurnAction, agent=f"P{i}")


def backend_for(*servers: FakeOpenAIServer, **kw) -> OpenAIBackend:
    settings = Settings(base_urls=[s.base_url for s in servers], api_key="sk-test", retry_backoff_s=0.01, **kw)
    return OpenAIBackend.from_settings(settings)


async def test_calls_spread_evenly_over_the_replicas() -> None:
    with FakeOpenAIServer(latency=0.05) as a, FakeOpenAIServer(latency=0.05) as b, FakeOpenAIServer(latency=0.05) as c:
        backend = backend_for(a, b, c)
        out = await asyncio.gather(*(backend.complete(request(i)) for i in range(60)))
        await backend.aclose()
    assert all(isinstance(r.parsed, TurnAction) for r in out)
    counts = [len(s.chat_requests) for s in (a, b, c)]
    assert sum(counts) == 60 and min(counts) >= 15, counts


async def test_each_replica_has_its_own_concurrency_limit() -> None:
    with FakeOpenAIServer(latency=0.05) as a, FakeOpenAIServer(latency=0.05) as b:
        backend = backend_for(a, b, max_concurrency=4)
        await asyncio.gather(*(backend.complete(request(i)) for i in range(40)))
        assert backend.replicas is not None
        limiters = [limiter_for(r.url) for r in backend.replicas.replicas]
        await backend.aclose()
    assert a.max_in_flight <= 4 and b.max_in_flight <= 4
    assert a.max_in_flight + b.max_in_flight > 4  # together they serve more than one limit
    assert all(lim.stats.acquired >= 15 for lim in limiters)


async def test_a_failing_replica_is_taken_out_and_no_turn_is_lost() -> None:
    with FakeOpenAIServer(latency=0.02) as good, FakeOpenAIServer(latency=0.02) as bad:
        bad.enqueue(*[error(500, "replica on fire")] * 200)
        backend = backend_for(good, bad)
        out = await asyncio.gather(*(backend.complete(request(i)) for i in range(30)))
        assert all(isinstance(r.parsed, TurnAction) for r in out)  # every turn answered
        assert backend.replicas is not None
        down = [r for r in backend.replicas.replicas if r.failures]
        assert [r.url for r in down] == [bad.base_url]
        # Only the opening burst (in flight before any failure came back) reached it; every
        # retry went to the good replica, and while it cools down it gets no calls at all.
        sent_to_bad = len(bad.chat_requests)
        assert sent_to_bad <= 16
        assert len(good.chat_requests) == 30
        await asyncio.gather(*(backend.complete(request(100 + i)) for i in range(10)))
        assert len(bad.chat_requests) == sent_to_bad
        await backend.aclose()


async def test_a_replica_back_after_its_cooldown_gets_calls_again() -> None:
    now = [0.0]
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        backend = backend_for(a, b)
        assert backend.replicas is not None
        pool = ReplicaPool(backend.replicas.replicas, maximum=8, clock=lambda: now[0])
        first, second = pool.replicas
        pool.failed(second, "ConnectionError")
        assert {pool.pick().url for _ in range(4)} == {first.url}  # type: ignore[union-attr]
        now[0] += 1.5  # past the first cool-down (1 s)
        assert second.url in {pool.pick().url for _ in range(4)}  # type: ignore[union-attr]
        pool.failed(first, "x")
        pool.failed(second, "x")
        assert pool.pick() is None and pool.wait_s() > 0
        await backend.aclose()


def test_base_urls_from_the_environment(monkeypatch) -> None:
    from troupe.core.config import default_backend_name, load_settings

    monkeypatch.setenv("TROUPE_BASE_URLS", "http://gpu1:8000/v1, http://gpu2:8000/v1/")
    settings = load_settings()
    assert settings.base_urls == ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    assert default_backend_name(settings) == "openai"
