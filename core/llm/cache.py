"""Record/replay cache around any backend, in one SQLite file.

* ``record``: every call goes to the inner backend; each successful reply is written (raw
  text + usage), overwriting an older recording of the same request.
* ``replay``: replies come only from the file — zero inner calls, ``CallUsage(cached=True)``,
  cost 0 — and a request that was never recorded raises :class:`CacheMissError` naming the
  purpose and agent, so a replay never silently turns into a live (paid) run.
* ``off``: a transparent pass-through.

The key is ``request.cache_key(model)`` (messages, schema, model, temperature, max_tokens,
seed) plus an *occurrence* number: the n-th identical request made through this wrapper.
Identical requests are legitimate (two groups of a study seat the same persona) and may get
different replies from a sampling model; numbering them lets a replay give each its own
recorded reply. A replay that asks more often than was recorded gets the latest recording.

Structured outputs store the final valid JSON; a hit re-validates it into ``parsed``. With
``on_delta`` a hit is replayed as deltas, so streaming UIs behave the same.

Embeddings (:meth:`CachedBackend.embed`) are cached per text, keyed by ``(model, text)``
without occurrence numbers (an embedding model is deterministic). Because of that, ``record``
reads through: texts already in the file are not embedded again, only the others go to the
inner backend, in one call. ``replay`` serves every vector from the file (zero inner calls) or
raises :class:`CacheMissError`. Vectors are stored as float32 and returned as float32 in both
modes, so a recorded run and its replay rank memories identically.

Concurrency: SQLite in WAL mode with a busy timeout (several processes), one connection per
wrapper guarded by a lock, tiny autocommit statements run off the event loop
(``asyncio.to_thread``) so a busy file never stalls the session.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
import struct
import threading
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import BackendError, CacheMissError, ConfigError, InvalidOutputError
from ..tokens import estimate_tokens
from .protocol import (
    CallUsage,
    ChatBackend,
    ChatRequest,
    ChatResponse,
    DeltaCallback,
    EmbeddingResponse,
    PromptLimits,
    embedding_backend,
    prompt_limits,
)
from .structured import describe_error, validate_output

CacheMode = Literal["off", "record", "replay"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT NOT NULL,
    occurrence INTEGER NOT NULL,
    backend TEXT,
    model TEXT,
    purpose TEXT,
    agent TEXT,
    text TEXT NOT NULL,
    usage TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (key, occurrence)
)
"""


class CachedBackend:
    """Wraps ``inner``; see the module docstring. ``name`` and ``model`` are the inner's."""

    def __init__(
        self, inner: ChatBackend, path: str | Path, mode: CacheMode = "record", *, stream_chunk: int = 16
    ) -> None:
        if mode not in ("off", "record", "replay"):
            raise ConfigError(f"unknown cache mode '{mode}' (choose off, record or replay)", field="cache.mode")
        self.inner = inner
        self.path = Path(path).expanduser()
        self.mode: CacheMode = mode
        self.stream_chunk = max(1, stream_chunk)
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self._occurrences: dict[str, int] = {}
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def model(self) -> str | None:
        return self.inner.model

    @property
    def prompt_limits(self) -> PromptLimits:
        return prompt_limits(self.inner)

    @property
    def embedding_model(self) -> str | None:
        """The inner backend's (None when it cannot embed: then neither can the cache)."""
        return getattr(self.inner, "embedding_model", None)

    # -- the protocol -------------------------------------------------------------------

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        if self.mode == "off":
            return await self.inner.complete(request, on_delta=on_delta)
        key = request.cache_key(self.model)
        occurrence = self._occurrences.get(key, 0)
        self._occurrences[key] = occurrence + 1  # synchronous: call order fixes the numbering
        if self.mode == "replay":
            return await self._replay(request, key, occurrence, on_delta)
        response = await self.inner.complete(request, on_delta=on_delta)
        await asyncio.to_thread(self._store, key, occurrence, request, response)
        return response

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        """Vectors for ``texts``: from the file where recorded, the rest from the inner backend
        in one call (``record``; see the module docstring). A hit adds one ``cached`` usage entry."""
        inner = embedding_backend(self.inner)
        if inner is None and self.mode != "replay":
            raise BackendError(f"the {self.name} backend cannot embed texts", kind="unsupported")
        if self.mode == "off":
            assert inner is not None
            return await inner.embed(texts, model=model)
        name = model or self.embedding_model
        start = time.perf_counter()
        keys = [embedding_key(name, t) for t in texts]
        found = await asyncio.to_thread(self._lookup_many, sorted(set(keys)))
        vectors: dict[str, list[float]] = {k: _unpack(blob) for k, (blob, _) in found.items()}
        missing = {k: t for k, t in zip(keys, texts) if k not in vectors}
        calls: list[CallUsage] = []
        if found:
            self.hits += len(found)
            calls.append(
                CallUsage(
                    prompt_tokens=sum(tokens for _, tokens in found.values()),
                    completion_tokens=0,
                    latency_ms=(time.perf_counter() - start) * 1000.0,
                    cached=True,
                    cost_usd=0.0,
                    model=name,
                )
            )
        served = name
        if missing:
            if self.mode == "replay" or inner is None:  # (a replay never calls the inner backend)
                self.misses += len(missing)
                first = next(iter(missing.values()))
                raise CacheMissError(
                    f"{self.path}: no recorded embedding for {len(missing)} text{'s' if len(missing) != 1 else ''} "
                    f"(model {name}; e.g. {first[:60]!r}); record it again with cache mode 'record'"
                )
            response = await inner.embed(list(missing.values()), model=model)
            if len(response.vectors) != len(missing):
                raise BackendError(
                    f"the {self.name} backend returned {len(response.vectors)} embeddings for {len(missing)} texts"
                )
            rows = []
            for (key, text), vec in zip(missing.items(), response.vectors):
                blob = _pack(vec)
                vectors[key] = _unpack(blob)  # float32 both ways: record and replay rank alike
                rows.append((key, blob, estimate_tokens(text)))
            await asyncio.to_thread(self._store_many, rows, name)
            calls.extend(response.calls)
            served = response.model or name
        return EmbeddingResponse(vectors=[vectors[k] for k in keys], calls=calls, model=served)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self.inner.aclose()
        finally:
            with self._lock:
                if self._conn is not None:
                    self._conn.close()
                    self._conn = None

    # -- replay ---------------------------------------------------------------------------

    async def _replay(
        self, request: ChatRequest, key: str, occurrence: int, on_delta: DeltaCallback | None
    ) -> ChatResponse:
        start = time.perf_counter()
        row = await asyncio.to_thread(self._lookup, key, occurrence)
        if row is None:
            self.misses += 1
            who = f" for {request.agent}" if request.agent else ""
            raise CacheMissError(
                f"{self.path}: no recorded reply for this '{request.purpose}' call{who} (key {key[:12]}); "
                "the prompt, model or settings differ from the recording — record it again with cache mode 'record'"
            )
        self.hits += 1
        text, usage_blob = row
        usage = json.loads(usage_blob)
        parsed = None
        if request.output_model is not None:
            try:
                parsed = validate_output(request.output_model, text)
            except (ValidationError, ValueError) as exc:
                raise InvalidOutputError(
                    f"{self.path}: the recorded reply no longer matches {request.output_model.__name__}: {describe_error(exc)}",
                    raw=text,
                ) from None
        if on_delta is not None:
            for i in range(0, len(text), self.stream_chunk):
                on_delta(text[i : i + self.stream_chunk])
                await asyncio.sleep(0)  # let the UI draw between deltas, as a live stream would
        call = CallUsage(
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            cached_tokens=int(usage.get("cached_tokens", 0)),
            latency_ms=(time.perf_counter() - start) * 1000.0,
            cached=True,
            cost_usd=0.0,
            model=usage.get("model"),
        )
        return ChatResponse(
            text=text, parsed=parsed, calls=[call], model=usage.get("model"), finish_reason=usage.get("finish_reason")
        )

    # -- SQLite (runs in a worker thread) ----------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                conn.execute(_SCHEMA)
            except (sqlite3.Error, OSError) as exc:
                raise ConfigError(
                    f"cannot open the LLM cache: {exc}", path=str(self.path), field="cache.path"
                ) from None
            self._conn = conn
        return self._conn

    def _lookup(self, key: str, occurrence: int) -> tuple[str, str] | None:
        with self._lock:
            row = (
                self._connect()
                .execute(
                    "SELECT text, usage FROM responses WHERE key = ? AND occurrence <= ? ORDER BY occurrence DESC LIMIT 1",
                    (key, occurrence),
                )
                .fetchone()
            )
        return (row[0], row[1]) if row else None

    def _store(self, key: str, occurrence: int, request: ChatRequest, response: ChatResponse) -> None:
        usage: dict[str, Any] = {
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
            "cached_tokens": sum(c.cached_tokens for c in response.calls),
            "cost_usd": sum(c.cost_usd for c in response.calls),
            "model": response.model or self.model,
            "finish_reason": response.finish_reason,
            "calls": [asdict(c) for c in response.calls],
        }
        row = (
            key,
            occurrence,
            self.inner.name,
            response.model or self.model,
            request.purpose,
            request.agent,
            response.text,
            json.dumps(usage),
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
        with self._lock:
            self._connect().execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            self.writes += 1

    def _lookup_many(self, keys: list[str]) -> dict[str, tuple[str, int]]:
        """Recorded embeddings: key → (packed vector, prompt tokens)."""
        out: dict[str, tuple[str, int]] = {}
        with self._lock:
            conn = self._connect()
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, text, usage in conn.execute(
                    f"SELECT key, text, usage FROM responses WHERE occurrence = 0 AND key IN ({marks})", chunk
                ):
                    out[key] = (text, int(json.loads(usage).get("prompt_tokens", 0)))
        return out

    def _store_many(self, rows: list[tuple[str, str, int]], model: str | None) -> None:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        values = [
            (
                key,
                0,
                self.inner.name,
                model,
                "embed",
                None,
                blob,
                json.dumps({"prompt_tokens": tokens, "model": model}),
                now,
            )
            for key, blob, tokens in rows
        ]
        with self._lock:
            self._connect().executemany("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            self.writes += len(values)

    def count(self) -> int:
        """How many replies the file holds (all keys, all occurrences)."""
        with self._lock:
            return int(self._connect().execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def embedding_key(model: str | None, text: str) -> str:
    """The cache key of one text's embedding (a different namespace from chat requests)."""
    blob = json.dumps({"embed": model, "text": text}, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _pack(vector: list[float]) -> str:
    """A vector as base64 of little-endian float32 (4 bytes a dimension, not ~20 as JSON)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


def _unpack(blob: str) -> list[float]:
    raw = base64.b64decode(blob)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))
