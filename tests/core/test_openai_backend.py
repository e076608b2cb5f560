"""The openai backend against the fake OpenAI-compatible server (no real network)."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from tests.support.fake_openai import FakeOpenAIServer, error, hang, malformed, reply
from troupe.core.actions import TurnAction
from troupe.core.config import AzureSettings
from troupe.core.errors import BackendError, BackendUnavailableError, InvalidOutputError
from troupe.core.llm.openai_backend import OpenAIBackend, retry_after_seconds, strict_json_schema
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.tokens import estimate_tokens

SECRET = "sk-troupe-LEAKCHECK-0123456789abcdef"


def backend_for(server: FakeOpenAIServer, **kw) -> OpenAIBackend:
    options = {
        "base_url": server.base_url,
        "api_key": "sk-test",
        "retry_backoff_s": 0.001,
        "timeout_s": 5.0,
        "max_retries": 2,
    }
    options.update(kw)
    return OpenAIBackend(**options)


def turn_request(text: str = 'What do you think of "Gazpacho Go"?', **kw) -> ChatRequest:
    return ChatRequest([Message("system", "You are Maria."), Message("user", text)], output_model=TurnAction, **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- structured output ----------------------------------------------------------------------


async def test_structured_output_sends_strict_schema_and_parses(fake_openai: FakeOpenAIServer) -> None:
    backend = backend_for(fake_openai)
    response = await backend.complete(turn_request(temperature=0.7, seed=3, max_tokens=200))
    await backend.aclose()

    assert isinstance(response.parsed, TurnAction)
    body = fake_openai.chat_requests[0].body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "TurnAction"
    schema = fmt["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["action", "text", "to", "feeling"]
    assert {"type": "null"} in schema["properties"]["to"]["anyOf"]
    assert body["temperature"] == 0.7 and body["seed"] == 3
    assert body["max_tokens"] == 200  # a custom base URL gets the widely supported name
    assert body["messages"][0] == {"role": "system", "content": "You are Maria."}

    [call] = response.calls
    assert call.prompt_tokens > 0 and call.completion_tokens > 0
    assert call.model == "gpt-4.1-mini-2025-04-14" and call.cost_usd > 0  # dated name priced as gpt-4.1-mini
    assert call.latency_ms > 0 and not call.cached


@pytest.mark.parametrize("stream", [False, True])
async def test_requests_go_out_as_the_clients_create_would_send_them(
    fake_openai: FakeOpenAIServer, stream: bool
) -> None:
    """We post the body we built instead of calling ``chat.completions.create`` (its TypedDict walk
    is the biggest CPU cost of a call): the server must see the same path, auth and JSON."""
    import openai

    backend = backend_for(fake_openai)
    request = turn_request(temperature=0.7, seed=3, max_tokens=200)
    await backend.complete(request, on_delta=(lambda _: None) if stream else None)
    await backend.aclose()
    kwargs = backend._request_kwargs(
        list(request.messages), request, backend.model, fake_openai.chat_requests[0].body["response_format"]
    )
    extra = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    client = openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=0)
    result = await client.chat.completions.create(**kwargs, **extra)
    if stream:
        async for _ in result:  # type: ignore[union-attr]
            pass
    await client.close()

    ours, theirs = fake_openai.chat_requests
    assert ours.path == theirs.path and ours.body == theirs.body
    assert ours.headers["authorization"] == theirs.headers["authorization"] == "Bearer sk-test"


async def test_plain_text_reply_and_cached_tokens(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(reply("Hello there.", cached_tokens=5))
    backend = backend_for(fake_openai)
    response = await backend.complete(ChatRequest([Message("user", "a " * 40)]))
    await backend.aclose()
    assert response.text == "Hello there." and response.parsed is None
    assert response.finish_reason == "stop"
    assert response.calls[0].cached_tokens == 5
    assert "response_format" not in fake_openai.chat_requests[0].body


async def test_reasoning_models_get_no_temperature_and_official_token_field() -> None:
    backend = OpenAIBackend(api_key="sk-test", model="o4-mini", temperature=0.9)
    kwargs = backend._request_kwargs([Message("user", "hi")], ChatRequest([], max_tokens=50), "o4-mini", None)
    await backend.aclose()
    assert "temperature" not in kwargs and kwargs["max_completion_tokens"] == 50


def test_strict_schema_conversion_handles_nesting_optional_and_limits() -> None:
    class Inner(BaseModel):
        label: str = Field(max_length=20)
        score: int = 3

    class Outer(BaseModel):
        kind: Literal["poll"]
        items: list[Inner]
        best: Inner | None = None
        main: Inner = Field(description="the main one")

    schema = strict_json_schema(Outer)
    inner = schema["$defs"]["Inner"]
    assert inner["required"] == ["label", "score"] and inner["additionalProperties"] is False
    assert "maxLength" not in inner["properties"]["label"]
    assert "at most 20 characters" in inner["properties"]["label"]["description"]
    assert "default" not in inner["properties"]["score"]
    assert schema["required"] == ["kind", "items", "best", "main"]
    assert schema["properties"]["kind"]["enum"] == ["poll"]
    # $ref next to a description is inlined (strict mode forbids siblings of $ref)
    main = schema["properties"]["main"]
    assert "$ref" not in main and main["additionalProperties"] is False and main["description"] == "the main one"
    assert "title" not in schema and "title" not in inner
    # the cached schema is not the pydantic one mutated
    assert "title" in Outer.model_json_schema()


# -- streaming ------------------------------------------------------------------------------


async def test_streaming_calls_on_delta_and_keeps_usage(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.stream_chunk = 5
    deltas: list[str] = []
    backend = backend_for(fake_openai)
    response = await backend.complete(turn_request(), on_delta=deltas.append)
    await backend.aclose()
    assert len(deltas) > 3
    assert "".join(deltas) == response.text
    assert isinstance(response.parsed, TurnAction)
    body = fake_openai.chat_requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert response.calls[0].completion_tokens > 0 and response.calls[0].prompt_tokens > 0


async def test_broken_stream_is_not_retried_after_text_was_shown(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.stream_chunk = 4
    fake_openai.enqueue(
        reply({"action": "say", "text": "A long enough reply to be cut.", "to": None, "feeling": None}, cut_after=3)
    )
    deltas: list[str] = []
    backend = backend_for(fake_openai)
    with pytest.raises(BackendError) as info:
        await backend.complete(turn_request(), on_delta=deltas.append)
    await backend.aclose()
    assert info.value.kind == "stream" and "broke off" in str(info.value)
    assert len(deltas) == 3 and len(fake_openai.chat_requests) == 1


async def test_fifty_parallel_calls_take_about_one_latency() -> None:
    with FakeOpenAIServer(latency=0.3) as server:
        backend = backend_for(server)
        start = time.perf_counter()
        results = await asyncio.gather(*(backend.complete(turn_request(f"Question {i}")) for i in range(50)))
        elapsed = time.perf_counter() - start
        await backend.aclose()
    assert all(isinstance(r.parsed, TurnAction) for r in results)
    assert server.max_in_flight == 50
    assert elapsed < 1.5, elapsed


# -- retries --------------------------------------------------------------------------------


async def test_429_honours_retry_after(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(error(429, retry_after=0.4))
    backend = backend_for(fake_openai, retry_backoff_s=0.0)
    start = time.perf_counter()
    response = await backend.complete(turn_request())
    elapsed = time.perf_counter() - start
    await backend.aclose()
    assert isinstance(response.parsed, TurnAction)
    assert len(fake_openai.chat_requests) == 2
    assert elapsed >= 0.38  # the wait came from the header: our own backoff is zero
    assert response.calls[0].latency_ms >= 380  # latency counts the whole wait


async def test_503_honours_retry_after_ms(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(error(503, retry_after_ms=250))
    backend = backend_for(fake_openai, retry_backoff_s=0.0)
    start = time.perf_counter()
    await backend.complete(ChatRequest([Message("user", "hi")]))
    await backend.aclose()
    assert time.perf_counter() - start >= 0.24
    assert len(fake_openai.chat_requests) == 2


async def test_500_then_success(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(error(500), reply({"action": "say", "text": "Fine.", "to": None, "feeling": None}))
    backend = backend_for(fake_openai)
    response = await backend.complete(turn_request())
    await backend.aclose()
    assert response.parsed == TurnAction(action="say", text="Fine.", to=None, feeling=None)
    assert len(fake_openai.chat_requests) == 2 and len(response.calls) == 1


async def test_rate_limit_exhausted_is_a_readable_error(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(*[error(429, retry_after=0.01)] * 3)
    backend = backend_for(fake_openai, max_retries=2)
    with pytest.raises(BackendError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    assert info.value.kind == "rate_limit" and info.value.retryable
    assert "429" in str(info.value) and "3 attempts" in str(info.value)
    assert len(fake_openai.chat_requests) == 3


async def test_insufficient_quota_is_not_retried(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(error(429, "You exceeded your current quota.", code="insufficient_quota"))
    backend = backend_for(fake_openai)
    with pytest.raises(BackendError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    assert info.value.kind == "quota" and len(fake_openai.chat_requests) == 1


async def test_bad_request_is_not_retried_and_quotes_the_server(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(error(400, "Invalid schema for response_format 'TurnAction'"))
    backend = backend_for(fake_openai)
    with pytest.raises(BackendError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    assert info.value.kind == "bad_request" and "Invalid schema" in str(info.value)
    assert len(fake_openai.chat_requests) == 1


async def test_timeout(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(hang(10), hang(10))
    backend = backend_for(fake_openai, timeout_s=0.3, max_retries=1)
    start = time.perf_counter()
    with pytest.raises(BackendError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    assert time.perf_counter() - start < 3
    assert info.value.kind == "timeout" and "did not answer within 0.3 s" in str(info.value)
    assert len(fake_openai.chat_requests) == 2


# -- repair ---------------------------------------------------------------------------------


async def test_malformed_json_then_successful_repair(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(malformed())
    backend = backend_for(fake_openai)
    response = await backend.complete(turn_request())
    await backend.aclose()
    assert isinstance(response.parsed, TurnAction)
    assert len(response.calls) == 2 and len(fake_openai.chat_requests) == 2
    repair = fake_openai.chat_requests[1].body["messages"]
    assert repair[-2]["role"] == "assistant" and "unterminated" in repair[-2]["content"]
    assert repair[-1]["role"] == "user" and "not valid" in repair[-1]["content"]


async def test_malformed_twice_raises_invalid_output_with_two_calls(fake_openai: FakeOpenAIServer) -> None:
    fake_openai.enqueue(malformed(), reply('{"action": "shout", "text": "x", "to": null, "feeling": null}'))
    backend = backend_for(fake_openai)
    with pytest.raises(InvalidOutputError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    assert len(info.value.calls) == 2 and len(fake_openai.chat_requests) == 2
    assert "action" in str(info.value)


# -- connection and auth --------------------------------------------------------------------


async def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    backend = OpenAIBackend(base_url=url, api_key="sk-test", max_retries=1, retry_backoff_s=0.001)
    with pytest.raises(BackendUnavailableError) as info:
        await backend.complete(turn_request())
    await backend.aclose()
    message = str(info.value)
    assert url in message and "connection refused" in message and "OPENAI_BASE_URL" in message


def test_no_key_and_no_url_is_unavailable() -> None:
    with pytest.raises(BackendUnavailableError, match="OPENAI_API_KEY"):
        OpenAIBackend()


async def test_azure_uses_deployment_path_and_api_key_header(fake_openai: FakeOpenAIServer) -> None:
    azure = AzureSettings(
        endpoint=fake_openai.base_url.removesuffix("/v1"), api_key="azure-key-123", deployment="my-deploy"
    )
    backend = OpenAIBackend(azure=azure, max_retries=0)
    assert backend.model == "my-deploy"
    await backend.complete(ChatRequest([Message("user", "hi")], max_tokens=10))
    await backend.aclose()
    request = fake_openai.chat_requests[0]
    assert "/openai/deployments/my-deploy/chat/completions" in request.path
    assert "api-version=" in request.path and request.headers.get("api-key") == "azure-key-123"
    assert request.body["max_completion_tokens"] == 10


def test_retry_after_header_forms() -> None:
    assert retry_after_seconds({"retry-after-ms": "1500"}) == 1.5
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 < retry_after_seconds({"retry-after": format_datetime(later, usegmt=True)}) <= 30
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


async def test_api_key_never_appears_in_any_error(fake_openai: FakeOpenAIServer) -> None:
    """Each error path, with a server that echoes the key back; the key must not reach str(exc)."""
    echo = f"Incorrect API key provided: {SECRET}"
    fake_openai.require_key = "sk-the-right-one"
    failures: list[BaseException] = []

    async def run(backend: OpenAIBackend, request: ChatRequest | None = None) -> None:
        try:
            await backend.complete(request or turn_request())
        except BackendError as exc:
            failures.append(exc)
        finally:
            await backend.aclose()

    await run(backend_for(fake_openai, api_key=SECRET))  # 401
    fake_openai.require_key = None
    for behaviour in (
        error(400, echo),
        error(403, echo),
        error(404, echo),
        error(500, echo),
        error(429, echo, code="insufficient_quota"),
    ):
        fake_openai.enqueue(behaviour)
        await run(backend_for(fake_openai, api_key=SECRET, max_retries=0))
    fake_openai.enqueue(*[error(429, echo, retry_after=0.01)] * 2)
    await run(backend_for(fake_openai, api_key=SECRET, max_retries=1))
    fake_openai.enqueue(hang(5))
    await run(backend_for(fake_openai, api_key=SECRET, max_retries=0, timeout_s=0.2))
    fake_openai.enqueue(reply(echo), reply(echo))
    await run(backend_for(fake_openai, api_key=SECRET))
    await run(OpenAIBackend(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=SECRET, max_retries=0))

    kinds = {getattr(f, "kind", None) for f in failures}
    assert kinds == {
        "auth",
        "bad_request",
        "not_found",
        "server",
        "quota",
        "rate_limit",
        "timeout",
        "invalid_output",
        "connection",
    }
    assert len(failures) == 10
    for exc in failures:
        assert SECRET not in str(exc) and SECRET not in repr(exc.args), type(exc)
        assert "LEAKCHECK" not in str(exc)


# -- embeddings ------------------------------------------------------------------------------


async def test_embeddings_are_batched_with_usage_and_cost(fake_openai: FakeOpenAIServer) -> None:
    from troupe.core.llm.scripted import hashed_embedding

    backend = backend_for(fake_openai, embedding_batch_size=2)
    texts = ["soup in a bottle", "rain in Leeds", "the price", "my kids", "the green label"]
    response = await backend.embed(texts)
    await backend.aclose()

    bodies = [r.body for r in fake_openai.embedding_requests]
    assert [b["input"] for b in bodies] == [texts[0:2], texts[2:4], texts[4:5]]
    assert {b["model"] for b in bodies} == {"text-embedding-3-small"} and {b["encoding_format"] for b in bodies} == {
        "float"
    }
    assert response.vectors == [hashed_embedding(t, 64) for t in texts]  # in input order
    assert len(response.calls) == 3 and response.model == "text-embedding-3-small"
    for call, batch in zip(response.calls, (texts[0:2], texts[2:4], texts[4:5])):
        assert call.prompt_tokens == sum(estimate_tokens(t) for t in batch) and call.completion_tokens == 0
        assert call.cost_usd == pytest.approx(call.prompt_tokens * 0.02 / 1e6) and not call.cached
    assert fake_openai.chat_requests == []


async def test_embeddings_use_the_configured_model_and_retry_like_chat(fake_openai: FakeOpenAIServer) -> None:
    backend = backend_for(fake_openai, embedding_model="nomic-embed-text")
    fake_openai.enqueue_embeddings(error(503, retry_after_ms=1), error(429, retry_after=0.01))
    response = await backend.embed(["soup"])
    assert len(fake_openai.embedding_requests) == 3 and len(response.vectors) == 1
    assert fake_openai.embedding_requests[-1].body["model"] == "nomic-embed-text"
    assert (await backend.embed(["soup"], model="other-embedder")).model == "other-embedder"
    await backend.aclose()


async def test_embedding_errors_are_translated_and_never_show_the_key(fake_openai: FakeOpenAIServer) -> None:
    echo = f"Incorrect API key provided: {SECRET}"
    failures: list[BackendError] = []

    async def run(backend: OpenAIBackend) -> None:
        try:
            await backend.embed(["soup in a bottle"])
        except BackendError as exc:
            failures.append(exc)
        finally:
            await backend.aclose()

    fake_openai.require_key = "sk-the-right-one"
    await run(backend_for(fake_openai, api_key=SECRET))  # 401
    fake_openai.require_key = None
    for behaviour in (
        error(400, echo),
        error(404, echo),
        error(500, echo),
        error(429, echo, code="insufficient_quota"),
    ):
        fake_openai.enqueue_embeddings(behaviour)
        await run(backend_for(fake_openai, api_key=SECRET, max_retries=0))
    fake_openai.enqueue_embeddings(hang(5))
    await run(backend_for(fake_openai, api_key=SECRET, max_retries=0, timeout_s=0.2))
    await run(OpenAIBackend(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=SECRET, max_retries=0))

    assert [f.kind for f in failures] == [
        "auth",
        "bad_request",
        "not_found",
        "server",
        "quota",
        "timeout",
        "connection",
    ]
    assert "text-embedding-3-small" in str(failures[2])  # a 404 names the model
    for exc in failures:
        assert SECRET not in str(exc) and SECRET not in repr(exc.args) and "LEAKCHECK" not in str(exc)


async def test_a_server_without_embeddings_is_a_not_found_error() -> None:
    with FakeOpenAIServer(embeddings_endpoint=False) as server:
        backend = backend_for(server)
        with pytest.raises(BackendError) as info:
            await backend.embed(["soup"])
        await backend.aclose()
    assert info.value.kind == "not_found" and "/v1" in str(info.value)


async def test_embeddings_accept_base64_from_servers_that_send_it(fake_openai: FakeOpenAIServer) -> None:
    """The fake server speaks the client's default encoding too (what the official client asks for)."""
    import openai

    from troupe.core.llm.scripted import hashed_embedding

    async with openai.AsyncOpenAI(base_url=fake_openai.base_url, api_key="sk-test") as client:
        result = await client.embeddings.create(model="text-embedding-3-small", input=["soup"])
    assert fake_openai.embedding_requests[0].body["encoding_format"] == "base64"
    assert result.data[0].embedding == pytest.approx(hashed_embedding("soup", 64), abs=1e-6)
