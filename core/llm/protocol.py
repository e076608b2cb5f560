"""The one small interface every LLM backend implements.

A backend takes a :class:`ChatRequest` and returns a :class:`ChatResponse`. When the request
names an ``output_model`` (a pydantic model), the backend asks for structured output
(``response_format`` json_schema, strict, or a grammar for local models), validates the reply,
makes *one* repair call quoting the validation error if it does not validate, and otherwise
raises :class:`~troupe.core.errors.InvalidOutputError`. ``response.parsed`` then holds the
validated instance.

Streaming: pass ``on_delta`` to :meth:`ChatBackend.complete`; it is called with each raw text
delta as it arrives (for structured output that is raw JSON — see ``stream.py`` to pull the
human text out of it). ``complete`` still returns the full response at the end.

Every real call's accounting is in ``response.calls`` (one :class:`CallUsage` per HTTP/model
call, so a repaired reply has two) — the session logs one ``llm_call`` event per entry.

Embeddings are an optional second capability (:class:`EmbeddingBackend`): ``embed(texts)``
returns one vector per text and the same per-call accounting. A backend that has the method
but no embedding model (``embedding_model`` is None — e.g. the cache around a local model)
cannot embed; :func:`embedding_backend` is the one check callers use.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

Role = Literal["system", "user", "assistant"]
DeltaCallback = Callable[[str], None]


@functools.lru_cache(maxsize=512)
def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """``model.model_json_schema()``, computed once per model class (pydantic takes ~1 ms to
    build it, and every structured call needs it at least twice). Read-only: copy to change."""
    return model.model_json_schema()


@dataclass(frozen=True, slots=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class PromptParts:
    """A turn's (or poll answer's) prompt by meaning, as the engine assembled it.

    The messages are what capable models read; these parts are for backends that rebuild
    the prompt in their own shape (the local backend's compact prompt for a tiny model), so
    nothing has to be found again by searching the messages' headings.
    """

    persona: str
    """The persona paragraph of the system message (the card, or its short variant)."""
    others: tuple[str, ...] = ()
    """The other participants, who may be addressed (seating order)."""
    summary: str = ""
    """The rolling memory summary, as it made it into the prompt."""
    recent: tuple[str, ...] = ()
    """The recent window's lines that made it into the prompt, oldest first."""
    question: str = ""
    """What the persona answers now (the stimulus or question; empty: nothing new)."""
    task: str = ""


@dataclass(frozen=True)
class PromptLimits:
    """What a backend's model can take, declared by the backend (a capability, not a name check).

    ``budget``: the input-token budget of a turn's prompt (None: the engine's default);
    ``short_card``: the persona's short card instead of the full one (tiny local models).
    """

    budget: int | None = None
    short_card: bool = False


def prompt_limits(backend: object) -> PromptLimits:
    """The backend's :class:`PromptLimits` (its ``prompt_limits`` attribute); the defaults for a
    backend that declares none (the one check, as :func:`embedding_backend` is for embeddings)."""
    limits = getattr(backend, "prompt_limits", None)
    return limits if isinstance(limits, PromptLimits) else PromptLimits()


@dataclass(slots=True)
class ChatRequest:
    messages: list[Message]
    output_model: type[BaseModel] | None = None
    """Ask for structured output validated by this model."""
    model: str | None = None
    """Overrides the backend's default model."""
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    purpose: str = "turn"
    """What the call is for: ``turn``, ``poll``, ``consolidate``, ``report``… (accounting)."""
    agent: str | None = None
    """The persona the call is made for, if any (accounting; scripted flavour)."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Hints for backends that do not go over the wire (e.g. the scripted backend reads
    ``persona`` traits); never part of the cache key."""
    parts: PromptParts | None = None
    """The prompt by meaning (engine turns and poll answers); never part of the cache key —
    the messages already say the same."""

    def json_schema(self) -> dict[str, Any] | None:
        """The output model's JSON schema (shared and cached: treat it as read-only)."""
        return schema_of(self.output_model) if self.output_model else None

    def cache_key(self, backend_model: str | None = None) -> str:
        """Stable hash of everything that determines the reply."""
        canonical = {
            "messages": [[m.role, m.content] for m in self.messages],
            "schema": self.json_schema(),
            "model": self.model or backend_model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
        }
        blob = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(slots=True)
class CallUsage:
    """Accounting for one real model call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    """Prompt tokens the provider served from its own prompt cache (billed lower)."""
    latency_ms: float = 0.0
    cached: bool = False
    cost_usd: float = 0.0
    model: str | None = None


@dataclass(slots=True)
class ChatResponse:
    text: str
    """The raw text of the final reply (JSON text for structured output)."""
    parsed: BaseModel | None = None
    calls: list[CallUsage] = field(default_factory=list)
    model: str | None = None
    finish_reason: str | None = None

    @property
    def prompt_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def completion_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)


@dataclass(slots=True)
class EmbeddingResponse:
    vectors: list[list[float]]
    """One vector per input text, in input order."""
    calls: list[CallUsage] = field(default_factory=list)
    """One entry per real call (a long input list may be sent in several batches);
    ``completion_tokens`` is always 0."""
    model: str | None = None


@runtime_checkable
class ChatBackend(Protocol):
    """An LLM backend."""

    @property
    def name(self) -> str:
        """``openai``, ``local``, ``scripted``…"""
        ...

    @property
    def model(self) -> str | None:
        """The default model name (reported in ``session_started``)."""
        ...

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        """Run one request (plus at most one repair call for structured output)."""
        ...

    async def aclose(self) -> None:
        """Release connections / models. Safe to call twice."""
        ...


@runtime_checkable
class EmbeddingBackend(Protocol):
    """A backend that can also embed texts (optional; see :func:`embedding_backend`)."""

    embedding_model: str | None
    """The default embedding model; None when this backend cannot embed."""

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        """Embed ``texts`` (non-empty strings), batching as the provider requires."""
        ...


def embedding_backend(backend: object) -> EmbeddingBackend | None:
    """``backend`` if it can embed (has ``embed`` and an embedding model), else None."""
    if callable(getattr(backend, "embed", None)) and getattr(backend, "embedding_model", None):
        return backend  # type: ignore[return-value]
    return None
