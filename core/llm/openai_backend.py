"""The ``openai`` backend: OpenAI, Azure OpenAI, or any OpenAI-compatible server.

Built on the official package's ``AsyncOpenAI`` / ``AsyncAzureOpenAI`` (no threads). What this
module adds on top of the client:

* **Structured output** as ``response_format={"type": "json_schema", ..., "strict": True}``
  with the pydantic schema converted to OpenAI's strict form (:func:`strict_json_schema`);
  validation and the single repair retry are :func:`~.structured.complete_structured`'s job.
* **Streaming**: with ``on_delta`` the call streams (``stream_options.include_usage`` so the
  final chunk still carries token counts) and each content delta is handed on as it arrives.
* **Retries** in our own loop (the client's are off): 408/409/429/5xx, timeouts and connection
  errors are retried with exponential backoff, honouring ``retry-after-ms`` / ``Retry-After``
  exactly, for as long as the call's **retry budget** (``retry_budget_s``, total time across
  all attempts) lasts — not a fixed count (``max_retries`` is an optional extra cap). Faults no
  waiting can fix (bad key, no quota, unknown model, a refused request) fail at once. Our loop
  (rather than the client's) keeps the backoff configurable — tests use milliseconds — and
  never retries a stream that already emitted text (that would duplicate deltas in the UI).
* **Adaptive concurrency**: every attempt holds a slot of the endpoint's
  :class:`~.limiter.AdaptiveLimiter` (one per base URL, shared by every caller in the
  process): 429/503 halve the calls in flight and ``Retry-After`` holds back new ones; each
  success grows the limit again (AIMD).
* **Plain bodies**: chat requests go out through the client's ``post`` with the body we built
  (plain JSON: strings, numbers, dicts) rather than ``chat.completions.create``, which first
  walks every message against its TypedDict annotations — about 2 ms of CPU a request, more
  than Troupe's own cost of a turn, and an identity on bodies like ours. URL, headers, auth
  (Azure deployments included), timeouts and the typed reply are the client's, as with
  ``create``.
* **Timeouts**: a request that sends nothing for ``timeout_s`` is cut (and retried); so is a
  non-streaming request that takes longer than that in total (a server that drips bytes).
* **Embeddings** (:meth:`OpenAIBackend.embed`, ``client.embeddings.create``) in batches, with
  the same retries, accounting and error translation as chat; default model
  ``text-embedding-3-small``.
* **Accounting**: a :class:`CallUsage` per call (prompt / completion / provider-cached tokens,
  latency including retries, cost from ``pricing.py``).
* **Errors** are translated here, at the edge, into the ``BackendError`` family with one
  readable line naming the URL. Every message goes through :meth:`OpenAIBackend._redact`, so an
  API key never reaches a message, a log line or an event.
"""

from __future__ import annotations

import asyncio
import copy
import email.utils
import errno
import functools
import logging
import random
import re
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from ..config import display_url
from ..errors import BackendError, BackendUnavailableError
from ..tokens import estimate_tokens
from .limiter import AdaptiveLimiter, limiter_for
from .pricing import ModelPrice, cost_usd
from .protocol import CallUsage, ChatRequest, ChatResponse, DeltaCallback, EmbeddingResponse, Message, schema_of
from .replicas import Replica, ReplicaPool
from .structured import complete_structured

if TYPE_CHECKING:
    from ..config import AzureSettings, Settings

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4.1-mini"
DEFAULT_EMBEDDING_MODEL = "text-embedding-3-small"
CHAT_PATH = "/chat/completions"
"""Relative to the base URL, as the client's ``chat.completions.create`` sends it."""
EMBEDDING_BATCH_SIZE = 256
"""Inputs per embeddings call (OpenAI accepts up to 2,048; memory lines are short)."""
T = TypeVar("T")
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})
THROTTLE_STATUSES = frozenset({429, 503})
"""Statuses that mean "too many calls": they cut the endpoint's concurrency (AIMD)."""
MAX_RETRY_AFTER_S = 600.0
"""A server asking us to wait longer than this gets an error now rather than a frozen session."""
DEFAULT_RETRY_BUDGET_S = 300.0
_NO_KEY = "sk-no-key-required"
"""Sent to keyless OpenAI-compatible servers (vLLM, Ollama…); the client insists on a value."""
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{6,}|[A-Fa-f0-9]{32})\b")
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


# -- strict JSON schema ---------------------------------------------------------------------

_LENGTH_HINTS = {"minLength": "at least {} characters", "maxLength": "at most {} characters"}


def _strict(node: Any, root: dict[str, Any]) -> Any:
    """Rewrite one schema node in place into OpenAI's strict subset (see :func:`strict_json_schema`)."""
    if not isinstance(node, dict):
        return node
    node.pop("title", None)
    node.pop("default", None)
    node.pop("discriminator", None)
    hints = [text.format(node.pop(key)) for key, text in _LENGTH_HINTS.items() if key in node]
    if hints:
        desc = node.get("description", "")
        node["description"] = (desc + " " if desc else "") + "(" + ", ".join(hints) + ")"
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "oneOf" in node:
        node["anyOf"] = node.pop("oneOf")
    if "$ref" in node and len(node) > 1:  # strict mode forbids siblings next to $ref: inline it
        target = root["$defs"][node.pop("$ref").split("/")[-1]]
        merged = {**copy.deepcopy(target), **node}
        node.clear()
        node.update(merged)
        return _strict(node, root)
    for defs_key in ("$defs", "definitions"):
        for sub in node.get(defs_key, {}).values():
            _strict(sub, root)
    props = node.get("properties")
    if isinstance(props, dict):
        for sub in props.values():
            _strict(sub, root)
        node["required"] = list(props)
        node["additionalProperties"] = False
        node.setdefault("type", "object")
    elif node.get("type") == "object":
        node.setdefault("properties", {})
        node["required"] = []
        node["additionalProperties"] = False
    if isinstance(node.get("items"), dict):
        _strict(node["items"], root)
    for key in ("anyOf", "allOf"):
        for sub in node.get(key, []):
            _strict(sub, root)
    if len(node.get("allOf", [])) == 1:
        node.update(node.pop("allOf")[0])
    return node


@functools.lru_cache(maxsize=128)
def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The pydantic schema in the strict form OpenAI-compatible servers accept.

    Every object lists all its properties as ``required`` and sets ``additionalProperties:
    false``; optional values stay nullable through the ``anyOf [..., {"type": "null"}]`` that
    pydantic already emits for ``X | None``; ``title``/``default`` are dropped; ``$ref`` with
    siblings is inlined (``$defs`` are kept); ``oneOf`` becomes ``anyOf`` and ``const`` a
    one-value ``enum``; string length limits, which strict mode rejects, move into the field's
    description so the model still sees them (pydantic still enforces them on the reply).
    Cached per model class: treat the result as read-only.
    """
    schema = copy.deepcopy(schema_of(model))
    return _strict(schema, schema)


def response_format_for(model: type[BaseModel]) -> dict[str, Any]:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", model.__name__)[:64] or "reply"
    return {"type": "json_schema", "json_schema": {"name": name, "schema": strict_json_schema(model), "strict": True}}


# -- retry timing ------------------------------------------------------------------------------


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """The server's requested wait: ``retry-after-ms``, else ``Retry-After`` (seconds or an HTTP date)."""
    if not headers:
        return None
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class OpenAIBackend:
    """ChatBackend over the official ``openai`` client. Build it with :meth:`from_settings`."""

    name = "openai"

    def __init__(
        self,
        *,
        model: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        azure: AzureSettings | None = None,
        timeout_s: float = 60.0,
        max_retries: int | None = None,
        retry_backoff_s: float = 0.5,
        retry_max_backoff_s: float = 30.0,
        retry_budget_s: float = DEFAULT_RETRY_BUDGET_S,
        max_concurrency: int = 64,
        temperature: float | None = None,
        prices: Mapping[str, ModelPrice] | None = None,
        client: openai.AsyncOpenAI | None = None,
        embedding_model: str | None = None,
        embedding_batch_size: int = EMBEDDING_BATCH_SIZE,
        base_urls: Sequence[str] | None = None,
    ) -> None:
        azure_on = azure is not None and azure.configured
        azure_key = azure.api_key.get_secret_value() if azure is not None and azure_on and azure.api_key else None
        self._secrets = [s for s in (api_key, azure_key) if s]
        self.model = (
            model
            or (azure.deployment if azure is not None and azure_on and azure.deployment else None)
            or DEFAULT_MODEL
        )
        self.embedding_model: str | None = embedding_model or DEFAULT_EMBEDDING_MODEL
        """For :meth:`embed` (on Azure: the embedding deployment's name)."""
        self.embedding_batch_size = max(1, embedding_batch_size)
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        """None: no count limit, the retry budget decides."""
        self.retry_budget_s = retry_budget_s
        """Total seconds one call may spend on attempts and waits before it gives up."""
        self.max_concurrency = max(1, max_concurrency)
        """The ceiling of the endpoint's adaptive limiter (see :mod:`.limiter`)."""
        self.retries = 0
        """Retries made by this backend (all calls): for benchmarks and progress."""
        self.retry_backoff_s = retry_backoff_s
        self.retry_max_backoff_s = retry_max_backoff_s
        self.temperature = temperature
        self.prices = dict(prices or {})
        self._closed = False
        timeout = openai.Timeout(timeout_s, connect=min(10.0, timeout_s))
        if client is not None:
            self._client = client
            self._official = base_url is None
        elif azure_on:
            assert azure is not None
            key = azure_key or api_key
            if not key:
                raise BackendUnavailableError(
                    "Azure endpoint is set but no key: set AZURE_OPENAI_API_KEY (or OPENAI_API_KEY)", kind="config"
                )
            self._client = openai.AsyncAzureOpenAI(
                azure_endpoint=str(azure.endpoint),
                api_key=key,
                api_version=azure.api_version,
                timeout=timeout,
                max_retries=0,
            )
            self._official = True
        else:
            if not api_key and not base_url:
                raise BackendUnavailableError(
                    "the openai backend needs OPENAI_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible "
                    "server, or Azure settings (run `troupe doctor`)",
                    kind="config",
                )
            self._client = openai.AsyncOpenAI(
                api_key=api_key or _NO_KEY, base_url=base_url, timeout=timeout, max_retries=0
            )
            self._official = base_url is None
        self.base_url = self._redact(display_url(str(self._client.base_url))).rstrip("/")
        """The endpoint as shown in messages: no credentials, no query string."""
        self.replicas: ReplicaPool | None = None
        """With several ``base_urls``: the replicas calls are spread over (see :mod:`.replicas`)."""
        urls = list(dict.fromkeys(base_urls or []))
        if len(urls) > 1 and client is None and not azure_on:
            clients = [self._client if url == base_url else None for url in urls]
            self.replicas = ReplicaPool(
                [
                    Replica(
                        self._redact(display_url(url)).rstrip("/"),
                        existing
                        or openai.AsyncOpenAI(api_key=api_key or _NO_KEY, base_url=url, timeout=timeout, max_retries=0),
                    )
                    for url, existing in zip(urls, clients, strict=True)
                ],
                maximum=self.max_concurrency,
            )

    @classmethod
    def from_settings(cls, settings: Settings, *, model: str | None = None) -> OpenAIBackend:
        return cls(
            model=model or settings.model,
            api_key=settings.api_key.get_secret_value() if settings.api_key else None,
            base_url=settings.base_url or (settings.base_urls[0] if settings.base_urls else None),
            base_urls=settings.base_urls,
            azure=settings.azure,
            timeout_s=settings.timeout_s,
            max_retries=settings.max_retries,
            retry_backoff_s=settings.retry_backoff_s,
            retry_max_backoff_s=settings.retry_max_backoff_s,
            retry_budget_s=settings.retry_budget_s,
            max_concurrency=settings.max_concurrency,
            temperature=settings.temperature,
            prices=settings.prices,
            embedding_model=settings.memory.embedding_model,
        )

    async def probe(self, timeout_s: float = 5.0) -> str:
        """Check the server answers and accepts the key, quickly (``troupe doctor``).

        Lists models (cheap, free); a server without ``/models`` (404) gets a one-token chat
        call instead. Returns a short description; raises the translated BackendError.
        """
        client = self._client.with_options(timeout=timeout_s, max_retries=0)
        try:
            page = await client.models.list()
            ids = [m.id for m in page.data]
            known = ""
            if ids:
                known = (
                    f"; serves '{self.model}'" if self.model in ids else f"; '{self.model}' is not in its model list"
                )
            return f"reachable, {len(ids)} model{'s' if len(ids) != 1 else ''}{known}"
        except openai.NotFoundError:
            pass
        except openai.OpenAIError as exc:
            raise self._translate(exc, self.model, 1, timeout_s=timeout_s) from None
        try:
            limit: dict[str, Any] = {"max_completion_tokens" if self._official else "max_tokens": 1}
            await client.chat.completions.create(
                model=self.model, messages=[{"role": "user", "content": "ping"}], **limit
            )
        except openai.OpenAIError as exc:
            raise self._translate(exc, self.model, 1, timeout_s=timeout_s) from None
        return f"reachable, answered a 1-token chat call with '{self.model}'"

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._client.close()
            for replica in self.replicas.replicas if self.replicas is not None else []:
                if replica.client is not self._client:
                    await replica.client.close()

    # -- the protocol -------------------------------------------------------------------

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        model = request.model or self.model
        response_format = response_format_for(request.output_model) if request.output_model else None
        finish: list[str | None] = [None]

        async def call_once(messages: list[Message], is_repair: bool) -> tuple[str, CallUsage]:
            text, usage, finish[0] = await self._call(messages, request, model, response_format, on_delta)
            return text, usage

        if request.output_model is not None:
            response = await complete_structured(request, call_once)
        else:
            text, usage = await call_once(list(request.messages), False)
            response = ChatResponse(text=text, calls=[usage], model=usage.model)
        response.finish_reason = finish[0]
        return response

    # -- one call, with retries ---------------------------------------------------------------

    async def _call(
        self,
        messages: list[Message],
        request: ChatRequest,
        model: str,
        response_format: dict[str, Any] | None,
        on_delta: DeltaCallback | None,
    ) -> tuple[str, CallUsage, str | None]:
        kwargs = self._request_kwargs(messages, request, model, response_format)
        start = time.perf_counter()
        emitted = [False]
        text, usage, served_model, finish = await self._retrying(
            lambda client: self._attempt(kwargs, on_delta, emitted, client),
            model,
            emitted if on_delta is not None else None,
        )
        latency_ms = (time.perf_counter() - start) * 1000.0
        return text, self._usage(usage, served_model or model, messages, text, latency_ms), finish

    @property
    def limiter(self) -> AdaptiveLimiter:
        """This endpoint's limiter (shared with every other backend on the same base URL)."""
        return limiter_for(self.base_url, maximum=self.max_concurrency)

    async def _retrying(
        self, attempt: Callable[[Any], Awaitable[T]], model: str, emitted: list[bool] | None = None
    ) -> T:
        """Run ``attempt(client)`` with our retry policy (see the module docstring); errors come
        out translated and redacted. ``emitted[0]`` set by a streaming attempt forbids a retry.
        With replicas, each attempt goes to the least busy healthy one, and a replica that
        fails is taken out for a while and the call retried at once on another."""
        deadline = time.monotonic() + self.retry_budget_s
        tries = 0
        pool = self.replicas
        while True:
            if emitted is not None:
                emitted[0] = False
            replica = pool.pick() if pool is not None else None
            if pool is not None and replica is None:  # every replica is out: wait for the first back
                pause = pool.wait_s()
                if time.monotonic() + pause > deadline:
                    replica = min(pool.replicas, key=lambda r: r.down_until)  # one last try
                else:
                    await asyncio.sleep(pause)
                    continue
            limiter = pool.limiter(replica) if pool is not None and replica is not None else self.limiter
            client = replica.client if replica is not None else self._client
            async with limiter.slot() as generation:
                try:
                    if emitted is None:  # not streaming: the whole reply within timeout_s
                        result = await asyncio.wait_for(attempt(client), self.timeout_s + 1.0)
                    else:
                        result = await attempt(client)
                except asyncio.TimeoutError:
                    failure: openai.OpenAIError = openai.APITimeoutError(request=_dummy_request(self.base_url))
                    retry, wait = True, None
                except openai.APIStatusError as exc:
                    failure = exc
                    retry = exc.status_code in RETRY_STATUSES and not _is_quota(exc)
                    wait = retry_after_seconds(exc.response.headers)
                    if retry and exc.status_code in THROTTLE_STATUSES:
                        limiter.on_throttle(generation, wait)
                except openai.APIConnectionError as exc:  # includes APITimeoutError
                    failure, retry, wait = exc, True, None
                except openai.OpenAIError as exc:
                    raise self._translate(exc, model, tries + 1) from None
                else:
                    limiter.on_success()
                    if pool is not None and replica is not None:
                        pool.succeeded(replica)
                    return result
            moved = False
            if pool is not None and replica is not None and retry and _replica_fault(failure):
                pool.failed(replica, type(failure).__name__)
                moved = pool.any_healthy()
            if emitted is not None and emitted[0]:  # text already reached the UI: a retry would repeat it
                raise self._redacted(
                    BackendError(
                        f"the reply stream from {self.base_url} broke off mid-reply ({_root_cause(failure)})",
                        kind="stream",
                        retryable=True,
                    )
                ) from None
            delay = 0.0 if moved else wait if wait is not None else self._backoff(tries)
            left = deadline - time.monotonic()
            spent = self.max_retries is not None and tries >= self.max_retries
            if not retry or spent or delay > left or (wait is not None and wait > MAX_RETRY_AFTER_S):
                budget = None if (not retry or spent) else self.retry_budget_s
                raise self._translate(failure, model, tries + 1, wait, budget_s=budget) from None
            log.info(
                "openai: %s; retry %d in %.2fs (%.0fs of budget left)", type(failure).__name__, tries + 1, delay, left
            )
            await asyncio.sleep(delay)
            tries += 1
            self.retries += 1

    # -- embeddings ----------------------------------------------------------------------------

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        """Embed ``texts`` with ``client.embeddings.create``, ``embedding_batch_size`` inputs a
        call (one :class:`CallUsage` per call), same retries and error translation as chat.

        Sent as ``encoding_format="float"``, which every OpenAI-compatible server understands.
        """
        model = model or self.embedding_model or DEFAULT_EMBEDDING_MODEL
        vectors: list[list[float]] = []
        calls: list[CallUsage] = []
        served: str | None = None
        for i in range(0, len(texts), self.embedding_batch_size):
            batch = texts[i : i + self.embedding_batch_size]
            start = time.perf_counter()

            def create(client: Any, batch: list[str] = batch) -> Awaitable[Any]:
                return client.embeddings.create(model=model, input=batch, encoding_format="float")

            result = await self._retrying(create, model)
            data = sorted(result.data, key=lambda d: d.index)
            if len(data) != len(batch) or any(not isinstance(d.embedding, list) for d in data):
                raise self._redacted(
                    BackendError(
                        f"the model server at {self.base_url} returned {len(data)} embeddings for {len(batch)} inputs",
                        kind="bad_response",
                    )
                )
            vectors.extend(list(d.embedding) for d in data)
            served = result.model or model
            usage = getattr(result, "usage", None)
            prompt = int(getattr(usage, "prompt_tokens", 0) or 0) if usage is not None else 0
            if not prompt:  # some compatible servers send no usage: estimate rather than report zero
                prompt = sum(estimate_tokens(t) for t in batch)
            calls.append(
                CallUsage(
                    prompt_tokens=prompt,
                    completion_tokens=0,
                    latency_ms=(time.perf_counter() - start) * 1000.0,
                    cost_usd=cost_usd(served, prompt, 0, 0, self.prices),
                    model=served,
                )
            )
        return EmbeddingResponse(vectors=vectors, calls=calls, model=served or model)

    def _backoff(self, attempt: int) -> float:
        base = min(self.retry_backoff_s * (2.0**attempt), self.retry_max_backoff_s)
        return base * (1.0 - 0.25 * random.random())  # jitter so parallel personas do not retry in lockstep

    def _request_kwargs(
        self, messages: list[Message], request: ChatRequest, model: str, response_format: dict[str, Any] | None
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        reasoning = model.lower().rsplit("/", 1)[-1].startswith(_REASONING_PREFIXES)
        temperature = request.temperature if request.temperature is not None else self.temperature
        if temperature is not None and not reasoning:  # reasoning models reject temperature
            kwargs["temperature"] = temperature
        if request.max_tokens is not None:
            # OpenAI/Azure want max_completion_tokens (reasoning models refuse max_tokens);
            # many compatible servers only know max_tokens.
            kwargs["max_completion_tokens" if self._official else "max_tokens"] = request.max_tokens
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if response_format is not None:
            kwargs["response_format"] = response_format
        return kwargs

    async def _attempt(
        self, kwargs: dict[str, Any], on_delta: DeltaCallback | None, emitted: list[bool], client: Any = None
    ) -> tuple[str, Any, str | None, str | None]:
        post = (client or self._client).post
        if on_delta is None:
            completion = await post(CHAT_PATH, body=kwargs, cast_to=ChatCompletion)
            choice = completion.choices[0] if completion.choices else None
            text = (choice.message.content or choice.message.refusal or "") if choice else ""
            return text, completion.usage, completion.model, choice.finish_reason if choice else None
        stream = await post(
            CHAT_PATH,
            body={**kwargs, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=openai.AsyncStream[ChatCompletionChunk],
        )
        parts: list[str] = []
        usage = served_model = finish = None
        try:
            async for chunk in stream:
                usage = chunk.usage or usage
                served_model = chunk.model or served_model
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    piece = choice.delta.content if choice.delta else None
                    if piece:
                        parts.append(piece)
                        emitted[0] = True
                        on_delta(piece)
                    finish = choice.finish_reason or finish
        finally:
            await stream.close()
        return "".join(parts), usage, served_model, finish

    def _usage(self, usage: Any, model: str, messages: list[Message], text: str, latency_ms: float) -> CallUsage:
        if usage is not None:
            prompt, completion = int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0)
            details = getattr(usage, "prompt_tokens_details", None)
            cached = int(getattr(details, "cached_tokens", 0) or 0) if details else 0
        else:  # some compatible servers send no usage: estimate rather than report zero
            prompt = sum(estimate_tokens(m.content) for m in messages)
            completion, cached = estimate_tokens(text), 0
        return CallUsage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            cached_tokens=cached,
            latency_ms=latency_ms,
            cost_usd=cost_usd(model, prompt, completion, cached, self.prices),
            model=model,
        )

    # -- errors ----------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return _KEY_PATTERN.sub("***", text)

    def _translate(
        self,
        exc: openai.OpenAIError,
        model: str,
        attempts: int,
        wait: float | None = None,
        timeout_s: float | None = None,
        budget_s: float | None = None,
    ) -> BackendError:
        url = self.base_url
        tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}" if attempts > 1 else ""
        if budget_s is not None:
            tries += f" (the retry budget of {budget_s:g} s is spent)"
        if isinstance(exc, openai.APITimeoutError):
            err: BackendError = BackendError(
                f"the model server at {url} did not answer within {timeout_s or self.timeout_s:g} s{tries}",
                kind="timeout",
                retryable=True,
            )
        elif isinstance(exc, openai.APIConnectionError):
            cause = _root_cause(exc)
            err = BackendUnavailableError(
                f"cannot reach the model server at {url}{tries} ({cause}); check OPENAI_BASE_URL and that the server is running",
                kind="connection",
                retryable=True,
            )
        elif isinstance(exc, openai.AuthenticationError):
            err = BackendError(
                f"the model server at {url} rejected the API key (401 Unauthorized); check OPENAI_API_KEY",
                kind="auth",
                fatal=True,
            )
        elif isinstance(exc, openai.PermissionDeniedError):
            err = BackendError(
                f"the API key may not use model '{model}' at {url} (403 Forbidden): {_server_message(exc)}",
                kind="auth",
                fatal=True,
            )
        elif isinstance(exc, openai.NotFoundError):
            err = BackendError(
                f"model '{model}' or the endpoint was not found at {url} (404): {_server_message(exc)}; "
                "check the model name and that the base URL ends in /v1",
                kind="not_found",
                fatal=True,
            )
        elif isinstance(exc, openai.RateLimitError):
            if _is_quota(exc):
                err = BackendError(
                    f"the account behind the API key has no quota left at {url} (429): {_server_message(exc)}",
                    kind="quota",
                    fatal=True,
                )
            else:
                later = (
                    f"; the server asks to wait {wait:.0f} s"
                    if wait and (wait > MAX_RETRY_AFTER_S or budget_s is not None)
                    else ""
                )
                err = BackendError(f"rate limited by {url} (429){tries}{later}", kind="rate_limit", retryable=True)
        elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
            err = BackendError(
                f"the model server at {url} failed ({exc.status_code}){tries}: {_server_message(exc)}",
                kind="server",
                retryable=True,
            )
        elif isinstance(exc, openai.APIStatusError):
            err = BackendError(
                f"the model server at {url} rejected the request ({exc.status_code}): {_server_message(exc)}",
                kind="bad_request",
            )
        else:
            err = BackendError(f"the openai client failed talking to {url}: {str(exc)[:300]}", kind="backend")
        log.debug("openai error translated: %s", self._redact(err.message))
        return self._redacted(err)

    def _redacted(self, err: BackendError) -> BackendError:
        err.message = self._redact(err.message)
        err.args = (err.message,)
        return err


def _replica_fault(exc: BaseException) -> bool:
    """A failure that says this replica is unwell (not the request): down, slow, 5xx."""
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def _dummy_request(base_url: str) -> Any:
    import httpx

    return httpx.Request("POST", base_url + "/chat/completions")


def _is_quota(exc: openai.APIStatusError) -> bool:
    return exc.status_code == 429 and getattr(exc, "code", None) == "insufficient_quota"


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        msg = body.get("message")
        if msg is None and isinstance(body.get("error"), dict):
            msg = body["error"].get("message")
        if msg:
            return str(msg)[:300]
    if isinstance(body, str) and body.strip():
        return body.strip()[:300]
    return exc.response.reason_phrase or "no details"


def _root_cause(exc: BaseException) -> str:
    """The innermost reason, in words: ``connection refused``, ``host name not found``…"""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 20:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for link in chain:
        if isinstance(link, ConnectionRefusedError) or getattr(link, "errno", None) == errno.ECONNREFUSED:
            return "connection refused"
        if isinstance(link, socket.gaierror):
            return "host name not found"
    text = str(chain[-1]).strip() or type(chain[-1]).__name__
    low = text.lower()
    if "refused" in low or "connect call failed" in low:
        return "connection refused"
    if any(s in low for s in ("name or service not known", "nodename nor servname", "getaddrinfo", "name resolution")):
        return "host name not found"
    return text[:200]
