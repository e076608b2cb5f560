"""A small fake OpenAI-compatible server for tests and benchmarks (stdlib asyncio only).

It speaks just enough HTTP/1.1 (keep-alive, chunked SSE) for the ``openai`` client:

* ``POST /v1/chat/completions`` — JSON reply, or an SSE stream (``"stream": true``) that ends
  with a usage chunk when ``stream_options.include_usage`` is set;
* ``POST /v1/embeddings`` — deterministic vectors (the scripted backend's
  :func:`~troupe.core.llm.scripted.hashed_embedding`, ``embedding_dimensions`` wide or the
  request's ``dimensions``), as float lists or base64 float32 (``encoding_format``), with usage;
  errors and hangs for it are queued separately (:meth:`FakeOpenAIServer.enqueue_embeddings`);
* ``GET /v1/models`` — one model, for ``troupe doctor``'s probe;
* the Batch API: ``POST /v1/files`` (multipart upload, ``purpose=batch``), ``GET
  /v1/files/{id}/content``, ``POST /v1/batches``, ``GET /v1/batches/{id}``. A batch runs in the
  background (``batch_latency`` seconds), answers each line as a chat request would be answered
  (generated replies; ``batch_faults(custom_id, body)`` may return an :class:`ErrorReply` for a
  line) and writes an output and an error file. :meth:`FakeOpenAIServer.expire_next_batch`
  makes the next batch stop after some lines and end ``expired`` (the rest in its error file,
  code ``batch_expired``).

Replies come from a queue of scripted behaviours (:func:`reply`, :func:`error`, :func:`hang`,
:func:`malformed`, or a callable ``(body) -> behaviour``); when the queue is empty the server
generates a reply — a valid instance of the request's ``json_schema`` (the scripted backend's
generator) or a sentence — so a benchmark can run many personas against it.

The server runs its own event loop in a daemon thread, so it serves async tests and plain
scripts alike, and one thread handles hundreds of concurrent connections::

    with FakeOpenAIServer(latency=0.3) as server:
        settings = Settings(base_url=server.base_url, api_key="sk-test")
        ...
        assert server.requests[0].body["model"] == "gpt-4.1-mini"

    server = start_fake_server(latency=0.3)   # for scripts: already started
    print(server.base_url); ...; server.stop()
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import _Writer, hashed_embedding
from troupe.core.tokens import estimate_tokens

# -- behaviours -------------------------------------------------------------------------------


@dataclass
class Reply:
    """Answer 200 with this content (any text: valid JSON or not)."""

    text: str
    latency: float | None = None
    """Overrides the server's latency for this reply."""
    cached_tokens: int = 0
    finish_reason: str = "stop"
    cut_after: int | None = None
    """When streaming: drop the connection after this many content chunks (a broken stream)."""


@dataclass
class ErrorReply:
    """Answer with an HTTP error status and an OpenAI-style error body."""

    status: int
    message: str = "error"
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Accept the request and never answer (until ``seconds`` pass, then drop the connection)."""

    seconds: float = 30.0


@dataclass
class Truncated:
    """Answer 200 with a JSON body cut short: the headers promise more bytes than are sent,
    then the connection closes (a proxy or server dying mid-reply)."""

    keep: float = 0.5


Behaviour = Reply | ErrorReply | Hang | Truncated | Callable[[dict[str, Any]], Any]


def reply(value: str | dict[str, Any], **kw: Any) -> Reply:
    return Reply(value if isinstance(value, str) else json.dumps(value), **kw)


def malformed(text: str = '{"action": "say", "text": "unterminated') -> Reply:
    """A 200 whose content is not valid JSON."""
    return Reply(text)


def error(
    status: int,
    message: str | None = None,
    *,
    retry_after: float | None = None,
    retry_after_ms: float | None = None,
    code: str | None = None,
) -> ErrorReply:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    if retry_after_ms is not None:
        headers["retry-after-ms"] = f"{retry_after_ms:g}"
    return ErrorReply(status, message or _REASONS.get(status, "error"), code, headers)


def hang(seconds: float = 30.0) -> Hang:
    return Hang(seconds)


def drop() -> Hang:
    """Close the connection without answering (a dropped connection)."""
    return Hang(0.0)


def truncated(keep: float = 0.5) -> Truncated:
    return Truncated(keep)


FAULT_MIX: dict[str, float] = {
    "429": 0.10,
    "500": 0.05,
    "timeout": 0.05,
    "bad_json": 0.10,
    "truncation": 0.05,
    "drop": 0.03,
}
"""The fault mix of issue 15: share of chat requests answered with each fault."""


class FaultMix:
    """A seeded random fault injector: pass it as ``FakeOpenAIServer(faults=...)``; each chat
    request the queue does not script gets a fault with the given probabilities (else the
    generated reply). ``timeout`` hangs ``hang_s`` seconds (set the client's timeout below it);
    ``429`` carries ``retry-after-ms`` when ``retry_after_ms`` is set. ``counts`` says what was
    injected."""

    def __init__(
        self,
        rates: dict[str, float] | None = None,
        *,
        seed: int = 0,
        hang_s: float = 30.0,
        retry_after_ms: float | None = None,
    ) -> None:
        self.rates = dict(FAULT_MIX if rates is None else rates)
        unknown = set(self.rates) - {"429", "500", "503", "timeout", "bad_json", "truncation", "drop"}
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        self.hang_s = hang_s
        self.retry_after_ms = retry_after_ms
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = dict.fromkeys(self.rates, 0)
        self.clean = 0

    def __call__(self, body: dict[str, Any]) -> Reply | ErrorReply | Hang | Truncated | None:
        with self._lock:
            roll = self._rng.random()
            picked = None
            for name, rate in self.rates.items():
                if roll < rate:
                    picked = name
                    break
                roll -= rate
            if picked is None:
                self.clean += 1
                return None
            self.counts[picked] += 1
        if picked in ("429", "500", "503"):
            status = int(picked)
            return error(status, retry_after_ms=self.retry_after_ms if status == 429 else None)
        if picked == "timeout":
            return Hang(self.hang_s)
        if picked == "bad_json":
            return malformed()
        if picked == "truncation":
            return Truncated()
        return drop()


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float


# -- the server ------------------------------------------------------------------------------


class FakeOpenAIServer:
    """See the module docstring. ``base_url`` ends in ``/v1``."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        stream_chunk: int = 8,
        stream_delay: float = 0.0,
        require_key: str | None = None,
        model: str = "gpt-4.1-mini-2025-04-14",
        seed: int = 0,
        models_endpoint: bool = True,
        embedding_dimensions: int = 64,
        embeddings_endpoint: bool = True,
        faults: Callable[[dict[str, Any]], Any] | None = None,
        batch_latency: float = 0.2,
        batch_faults: Callable[[str, dict[str, Any]], ErrorReply | None] | None = None,
    ) -> None:
        self.faults = faults
        self.batch_latency = batch_latency
        """Seconds a batch spends ``in_progress`` before it completes."""
        self.batch_faults = batch_faults
        self.files: dict[str, dict[str, Any]] = {}
        """Uploaded and produced files: id → {"meta": file object, "data": bytes}."""
        self.batches: dict[str, dict[str, Any]] = {}
        """Batch objects by id, as ``GET /v1/batches/{id}`` returns them."""
        self._expire_after: int | None = None
        """Consulted for each chat request the queue does not script (e.g. :class:`FaultMix`);
        returning None means "answer normally"."""
        self.latency = latency
        self.stream_chunk = max(1, stream_chunk)
        self.stream_delay = stream_delay
        self.require_key = require_key
        self.model = model
        self.seed = seed
        self.models_endpoint = models_endpoint
        """False: ``GET /v1/models`` answers 404, as some compatible servers do."""
        self.embedding_dimensions = embedding_dimensions
        self.embeddings_endpoint = embeddings_endpoint
        """False: ``POST /v1/embeddings`` answers 404, as chat-only servers do."""
        self._embedding_queue: deque[ErrorReply | Hang | Reply] = deque()
        self.requests: list[RecordedRequest] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=1024))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # pragma: no cover - surfaced to the caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-openai", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------------

    def enqueue(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._queue.extend(behaviours)

    def enqueue_embeddings(self, *behaviours: ErrorReply | Hang | Reply) -> None:
        """Behaviours for the next ``/embeddings`` requests (a :class:`Reply` only sets latency)."""
        with self._lock:
            self._embedding_queue.extend(behaviours)

    def expire_next_batch(self, after: int) -> None:
        """The next batch answers only its first ``after`` lines, then ends ``expired``."""
        with self._lock:
            self._expire_after = after

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0].endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.split("?", 1)[0].endswith("/embeddings")]

    def _next(self, body: dict[str, Any]) -> Reply | ErrorReply | Hang | Truncated:
        with self._lock:
            item = self._queue.popleft() if self._queue else None
        if item is None and self.faults is not None:
            item = self.faults(body)
        if item is None:
            return Reply(self._generate(body))
        if callable(item):
            item = item(body)
        return item if isinstance(item, (Reply, ErrorReply, Hang, Truncated)) else reply(item)

    def _generate(self, body: dict[str, Any]) -> str:
        messages = [Message(m.get("role", "user"), str(m.get("content") or "")) for m in body.get("messages", [])]
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        writer = _Writer(random.Random(f"{self.seed}|{digest}"), ChatRequest(messages=messages))
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") if fmt.get("type") == "json_schema" else None
        if schema:
            return json.dumps(writer.instance(schema), ensure_ascii=False)
        return writer.utterance()

    # -- HTTP -------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        k, v = line.split(":", 1)
                        headers[k.strip().lower()] = v.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                with self._lock:
                    self.requests.append(RecordedRequest(method, path, headers, body, time.time()))
                route = path.split("?", 1)[0]
                if "/files" in route or "/batches" in route:
                    keep = await self._batch_api(method, route, headers, body, raw, writer)
                    continue
                keep = await self._respond(method, route, headers, body, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:  # stop(): end quietly (asyncio logs a cancelled handler)
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _respond(
        self, method: str, path: str, headers: dict[str, str], body: dict[str, Any], writer: asyncio.StreamWriter
    ) -> bool:
        if self.require_key is not None and headers.get("authorization") != f"Bearer {self.require_key}":
            await self._send_error(writer, ErrorReply(401, "Incorrect API key provided.", "invalid_api_key"))
            return True
        if method == "GET" and path.endswith("/models") and self.models_endpoint:
            await self._send_json(
                writer, 200, {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
            )
            return True
        if method == "POST" and path.endswith("/embeddings") and self.embeddings_endpoint:
            return await self._embeddings(body, writer)
        if method != "POST" or not path.endswith("/chat/completions"):
            await self._send_error(writer, ErrorReply(404, f"no route {method} {path}"))
            return True
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            behaviour = self._next(body)
            if isinstance(behaviour, Hang):
                await asyncio.sleep(behaviour.seconds)
                return False
            if isinstance(behaviour, ErrorReply):
                if self.latency:
                    await asyncio.sleep(self.latency)
                await self._send_error(writer, behaviour)
                return True
            if isinstance(behaviour, Truncated):
                if self.latency:
                    await asyncio.sleep(self.latency)
                data = json.dumps(self._completion(body, Reply(self._generate(body)))).encode()
                head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n\r\n"
                writer.write(head.encode() + data[: int(len(data) * behaviour.keep)])
                await writer.drain()
                return False
            delay = self.latency if behaviour.latency is None else behaviour.latency
            if delay:
                await asyncio.sleep(delay)
            if body.get("stream"):
                await self._send_stream(writer, body, behaviour)
            else:
                await self._send_json(writer, 200, self._completion(body, behaviour))
            return True
        finally:
            self._in_flight -= 1

    # -- the Batch API ---------------------------------------------------------------------

    async def _batch_api(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: dict[str, Any],
        raw: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        if self.require_key is not None and headers.get("authorization") != f"Bearer {self.require_key}":
            await self._send_error(writer, ErrorReply(401, "Incorrect API key provided.", "invalid_api_key"))
            return True
        parts = path.rstrip("/").split("/")
        if method == "POST" and parts[-1] == "files":
            data, purpose = _multipart_file(headers.get("content-type", ""), raw)
            meta = self._add_file(data, purpose or "batch", "upload.jsonl")
            await self._send_json(writer, 200, meta)
            return True
        if method == "GET" and parts[-1] == "content" and parts[-3] == "files":
            stored = self.files.get(parts[-2])
            if stored is None:
                await self._send_error(writer, ErrorReply(404, f"no file {parts[-2]}"))
                return True
            data = stored["data"]
            head = f"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {len(data)}\r\n\r\n"
            writer.write(head.encode() + data)
            await writer.drain()
            return True
        if method == "POST" and parts[-1] == "batches":
            source = self.files.get(str(body.get("input_file_id")))
            if source is None:
                await self._send_error(writer, ErrorReply(400, "input_file_id not found"))
                return True
            lines = [json.loads(x) for x in source["data"].decode("utf-8").splitlines() if x.strip()]
            batch_id = f"batch_fake{len(self.batches) + 1}"
            with self._lock:
                expire, self._expire_after = self._expire_after, None
            batch = {
                "id": batch_id,
                "object": "batch",
                "endpoint": body.get("endpoint"),
                "errors": None,
                "input_file_id": body.get("input_file_id"),
                "completion_window": body.get("completion_window", "24h"),
                "status": "validating",
                "output_file_id": None,
                "error_file_id": None,
                "created_at": int(time.time()),
                "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"),
            }
            self.batches[batch_id] = batch
            task = asyncio.ensure_future(self._run_batch(batch, lines, expire))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            await self._send_json(writer, 200, batch)
            return True
        if method == "GET" and parts[-2] == "batches":
            found = self.batches.get(parts[-1])
            if found is None:
                await self._send_error(writer, ErrorReply(404, f"no batch {parts[-1]}"))
            else:
                await self._send_json(writer, 200, found)
            return True
        await self._send_error(writer, ErrorReply(404, f"no route {method} {path}"))
        return True

    def _add_file(self, data: bytes, purpose: str, filename: str) -> dict[str, Any]:
        file_id = f"file-fake{len(self.files) + 1}"
        meta = {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.files[file_id] = {"meta": meta, "data": data}
        return meta

    async def _run_batch(self, batch: dict[str, Any], lines: list[dict[str, Any]], expire: int | None) -> None:
        batch["status"] = "in_progress"
        await asyncio.sleep(self.batch_latency)
        out: list[str] = []
        errors: list[str] = []
        counts = batch["request_counts"]
        for i, line in enumerate(lines):
            cid, body = line.get("custom_id"), line.get("body") or {}
            if expire is not None and i >= expire:
                errors.append(
                    json.dumps(
                        {
                            "id": f"req-{i}",
                            "custom_id": cid,
                            "response": None,
                            "error": {
                                "code": "batch_expired",
                                "message": "This request could not be executed before the completion window expired.",
                            },
                        }
                    )
                )
                counts["failed"] += 1
                continue
            fault = self.batch_faults(cid, body) if self.batch_faults is not None else None
            if fault is not None:
                errors.append(
                    json.dumps(
                        {
                            "id": f"req-{i}",
                            "custom_id": cid,
                            "response": {
                                "status_code": fault.status,
                                "request_id": f"r{i}",
                                "body": {"error": {"message": fault.message, "type": "fake_error", "code": fault.code}},
                            },
                            "error": None,
                        }
                    )
                )
                counts["failed"] += 1
                continue
            completion = self._completion(body, Reply(self._generate(body)))
            out.append(
                json.dumps(
                    {
                        "id": f"req-{i}",
                        "custom_id": cid,
                        "response": {"status_code": 200, "request_id": f"r{i}", "body": completion},
                        "error": None,
                    }
                )
            )
            counts["completed"] += 1
        if out:
            batch["output_file_id"] = self._add_file(("\n".join(out) + "\n").encode(), "batch_output", "out.jsonl")[
                "id"
            ]
        if errors:
            batch["error_file_id"] = self._add_file(("\n".join(errors) + "\n").encode(), "batch_output", "err.jsonl")[
                "id"
            ]
        batch["status"] = "expired" if expire is not None else "completed"

    async def _embeddings(self, body: dict[str, Any], writer: asyncio.StreamWriter) -> bool:
        with self._lock:
            behaviour = self._embedding_queue.popleft() if self._embedding_queue else None
        delay = behaviour.latency if isinstance(behaviour, Reply) and behaviour.latency is not None else self.latency
        if isinstance(behaviour, Hang):
            await asyncio.sleep(behaviour.seconds)
            return False
        if delay:
            await asyncio.sleep(delay)
        if isinstance(behaviour, ErrorReply):
            await self._send_error(writer, behaviour)
            return True
        inputs = body.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        if not texts or not all(isinstance(t, str) and t for t in texts):
            await self._send_error(
                writer, ErrorReply(400, "'input' must be a non-empty string or list of non-empty strings")
            )
            return True
        dims = int(body.get("dimensions") or self.embedding_dimensions)
        data = []
        for i, text in enumerate(texts):
            vec: Any = hashed_embedding(text, dims)
            if body.get("encoding_format") == "base64":
                vec = base64.b64encode(struct.pack(f"<{dims}f", *vec)).decode("ascii")
            data.append({"object": "embedding", "index": i, "embedding": vec})
        tokens = sum(estimate_tokens(t) for t in texts)
        await self._send_json(
            writer,
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model") or "text-embedding-3-small",
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )
        return True

    def _usage(self, body: dict[str, Any], text: str, cached: int) -> dict[str, Any]:
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in body.get("messages", []))
        completion = estimate_tokens(text)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": min(cached, prompt)},
        }

    def _completion(self, body: dict[str, Any], r: Reply) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": r.text}, "finish_reason": r.finish_reason}
            ],
            "usage": self._usage(body, r.text, r.cached_tokens),
        }

    async def _send_json(
        self, writer: asyncio.StreamWriter, status: int, payload: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        data = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {_REASONS.get(status, 'OK')}",
            "content-type: application/json",
            f"content-length: {len(data)}",
        ]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        await writer.drain()

    async def _send_error(self, writer: asyncio.StreamWriter, e: ErrorReply) -> None:
        payload = {"error": {"message": e.message, "type": "fake_error", "param": None, "code": e.code}}
        await self._send_json(writer, e.status, payload, e.headers)

    async def _send_stream(self, writer: asyncio.StreamWriter, body: dict[str, Any], r: Reply) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        base = {
            "id": "chatcmpl-fakestream",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
        }

        async def event(payload: dict[str, Any] | str) -> None:
            data = f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()
            writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            await writer.drain()

        await event(
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        )
        for n, i in enumerate(range(0, len(r.text), self.stream_chunk)):
            if r.cut_after is not None and n >= r.cut_after:
                writer.transport.abort()
                return
            piece = r.text[i : i + self.stream_chunk]
            await event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
            if self.stream_delay:
                await asyncio.sleep(self.stream_delay)
        await event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": r.finish_reason}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            await event({**base, "choices": [], "usage": self._usage(body, r.text, r.cached_tokens)})
        await event("[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()


def _multipart_file(content_type: str, raw: bytes) -> tuple[bytes, str | None]:
    """The ``file`` part (and the ``purpose`` field) of a multipart/form-data upload."""
    boundary = content_type.split("boundary=", 1)[-1].strip().strip('"').encode()
    data, purpose = b"", None
    for part in raw.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, payload = part.split(b"\r\n\r\n", 1)
        payload = payload[:-2] if payload.endswith(b"\r\n") else payload
        if b'name="file"' in head:
            data = payload
        elif b'name="purpose"' in head:
            purpose = payload.decode("utf-8", "replace")
    return data, purpose


def start_fake_server(latency: float = 0.0, **kwargs: Any) -> FakeOpenAIServer:
    """Start a server for a script; read ``.base_url``, call ``.stop()`` when done."""
    return FakeOpenAIServer(latency=latency, **kwargs).start()
