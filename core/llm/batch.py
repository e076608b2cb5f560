"""Batch engines: the same turns and answers, sent as OpenAI-format batch files.

:class:`BatchBackend` is a :class:`~.protocol.ChatBackend`. The engine runs exactly as with
interactive calls — a parallel round, a private poll, a population generation ask for many
completions at once — but each ``complete()`` only *queues* its request; once the event loop
has gone quiet for ``gather_s`` (every turn of the wave has asked), the queued requests go out
together as one batch, and each ``complete()`` returns when the batch's result for it is back.
The engine then logs the usual events, so a batch run's log reads like any other.

Three ways to run a batch (``mode``):

* ``submit`` — the provider's Batch API through the ``openai`` SDK: the JSONL is uploaded
  (``files.create(purpose="batch")``), a batch is created (``batches.create``), polled
  (``batches.retrieve``) and its output and error files read back (``files.content``).
  Requests that failed with a retryable status (5xx, 429) or were left undone by an expired
  batch go out again in the next batch (``max_attempts`` in all); others fail their turn.
* ``file`` — only write the JSONL (``--batch-file``), for a self-hosted engine
  (``vllm run-batch -i FILE -o RESULTS``); :attr:`written` is set once a wave is written.
* results (``results_file``, ``--batch-results``) — answer from an output file in the same
  format; requests it lacks are written to ``out_file`` when one is given.

Resuming: every submitted batch is recorded in ``state_dir/batches.jsonl`` (batch id and the
``custom_id`` of each request), every finished batch's results are kept in
``state_dir/batch-<id>.out.jsonl`` and every results file read in ``state_dir/results.jsonl``. A request's ``custom_id`` is a hash of its body, and a
resumed run rebuilds the same requests from its log, so after a crash (even ``kill -9``) the
run attaches to the batch it had submitted instead of paying for it again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..errors import BackendError
from .openai_backend import OpenAIBackend, response_format_for
from .protocol import CallUsage, ChatRequest, ChatResponse, DeltaCallback, Message
from .structured import complete_structured

BATCH_ENDPOINT: Final = "/v1/chat/completions"
BATCH_DISCOUNT = 0.5
"""Providers' batch interfaces cost about half the interactive price."""
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass
class BatchProgress:
    """What a progress bar shows about the batches of a run."""

    submitted: int = 0
    """Requests sent in batches (resubmissions included)."""
    done: int = 0
    failed: int = 0
    batches: int = 0
    status: str = "gathering"
    cost_usd: float = 0.0
    batch_ids: list[str] = field(default_factory=list)


ProgressCallback = Callable[[BatchProgress], None]


def custom_id(body: dict[str, Any]) -> str:
    """A request's id in a batch file: a hash of its canonical body (the same request → the same id)."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "t-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def batch_line(cid: str, body: dict[str, Any]) -> str:
    return json.dumps({"custom_id": cid, "method": "POST", "url": BATCH_ENDPOINT, "body": body}, ensure_ascii=False)


def read_results(text: str) -> dict[str, dict[str, Any]]:
    """An output or error file (OpenAI / ``vllm run-batch`` format) → custom_id → line."""
    out: dict[str, dict[str, Any]] = {}
    for raw in text.splitlines():
        raw = raw.strip()
        if not raw:
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue  # a torn last line
        if isinstance(line, dict) and isinstance(line.get("custom_id"), str):
            out[line["custom_id"]] = line
    return out


@dataclass
class _Waiting:
    body: dict[str, Any]
    futures: list[asyncio.Future[dict[str, Any]]]
    attempts: int = 0


class BatchBackend:
    """A ChatBackend that sends its requests as batches. See the module docstring."""

    name = "batch"

    def __init__(
        self,
        inner: OpenAIBackend,
        state_dir: Path | None = None,
        *,
        mode: str = "submit",
        out_file: Path | None = None,
        results_file: Path | None = None,
        poll_interval_s: float = 5.0,
        gather_s: float = 0.05,
        max_attempts: int = 3,
        completion_window: str = "24h",
        on_progress: ProgressCallback | None = None,
    ) -> None:
        if mode not in ("submit", "file"):
            raise ValueError(f"unknown batch mode {mode!r}")
        self.inner = inner
        self.model = inner.model
        self.embedding_model: str | None = None
        self.mode = mode
        self.state_dir = state_dir
        self.out_file = out_file
        self.poll_interval_s = poll_interval_s
        self.gather_s = gather_s
        self.max_attempts = max(1, max_attempts)
        self.completion_window = completion_window
        self.on_progress = on_progress
        self.progress = BatchProgress()
        self.written = asyncio.Event()
        """Set once ``file`` mode (or a results file lacking requests) has written a wave."""
        self.lines_written = 0
        self._results: dict[str, dict[str, Any]] = {}
        self._waiting: dict[str, _Waiting] = {}
        self._queued: list[str] = []
        self._stored: dict[str, str] = {}
        """custom_id → id of an unfinished batch recorded in the state file (a resumed run)."""
        self._pollers: dict[str, asyncio.Task[None]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self._closed = False
        if state_dir is not None:
            self._load_state()
        if results_file is not None:
            given = read_results(results_file.read_text(encoding="utf-8"))
            self._results.update({cid: r for cid, r in given.items() if _succeeded(r)})
            if state_dir is not None and given:
                # Kept with the run: a later wave may ask again for an answer an earlier file held
                # (a background call relaunched on resume, e.g. a memory consolidation).
                state_dir.mkdir(parents=True, exist_ok=True)
                with (state_dir / "results.jsonl").open("a", encoding="utf-8") as f:
                    f.write("".join(json.dumps(r) + "\n" for r in given.values()))

    # -- state (resume) ---------------------------------------------------------------------

    @property
    def _state_file(self) -> Path | None:
        return self.state_dir / "batches.jsonl" if self.state_dir is not None else None

    def _load_state(self) -> None:
        assert self.state_dir is not None
        kept = self.state_dir / "results.jsonl"
        if kept.exists():
            for cid, result in read_results(kept.read_text(encoding="utf-8")).items():
                if _succeeded(result):
                    self._results[cid] = result
        path = self._state_file
        if path is None or not path.exists():
            return
        finished: set[str] = set()
        submitted: dict[str, list[str]] = {}
        for line in read_jsonl(path):
            if line.get("event") == "submitted":
                submitted[line["batch_id"]] = list(line.get("custom_ids") or [])
            elif line.get("event") == "finished":
                finished.add(line["batch_id"])
        for batch_id, cids in submitted.items():
            self.progress.batch_ids.append(batch_id)
            if batch_id in finished:
                out = self._output_path(batch_id)
                if out is not None and out.exists():
                    for cid, result in read_results(out.read_text(encoding="utf-8")).items():
                        if _succeeded(result):
                            self._results[cid] = result
            else:
                for cid in cids:
                    self._stored[cid] = batch_id

    def _record(self, **entry: Any) -> None:
        path = self._state_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            _fsync(f)

    def _output_path(self, batch_id: str) -> Path | None:
        return self.state_dir / f"batch-{batch_id}.out.jsonl" if self.state_dir is not None else None

    @property
    def pending_batches(self) -> list[str]:
        """Ids of batches recorded as submitted and not yet finished."""
        return sorted(set(self._stored.values()))

    # -- the protocol -------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        model = request.model or self.model
        response_format = response_format_for(request.output_model) if request.output_model else None

        async def call_once(messages: list[Message], is_repair: bool) -> tuple[str, CallUsage]:
            return await self._call(messages, request, model, response_format)

        if request.output_model is not None:
            return await complete_structured(request, call_once)
        text, usage = await call_once(list(request.messages), False)
        return ChatResponse(text=text, calls=[usage], model=usage.model)

    async def _call(
        self, messages: list[Message], request: ChatRequest, model: str, response_format: dict[str, Any] | None
    ) -> tuple[str, CallUsage]:
        body = self.inner._request_kwargs(messages, request, model, response_format)
        cid = custom_id(body)
        start = time.perf_counter()
        result = self._results.pop(cid, None)
        if result is None:
            result = await self._wait_for(cid, body)
        completion = result["response"]["body"]
        choice = (completion.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        text = str(message.get("content") or message.get("refusal") or "")
        usage = _Usage.of(completion.get("usage"))
        served = str(completion.get("model") or model)
        call = self.inner._usage(usage, served, messages, text, (time.perf_counter() - start) * 1000.0)
        call.cost_usd = round(call.cost_usd * BATCH_DISCOUNT, 8) if call.cost_usd else call.cost_usd
        self.progress.cost_usd += call.cost_usd or 0.0
        return text, call

    async def _wait_for(self, cid: str, body: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        waiting = self._waiting.get(cid)
        if waiting is not None:
            waiting.futures.append(future)
            return await future
        self._waiting[cid] = _Waiting(body, [future])
        batch_id = self._stored.get(cid)
        if batch_id is not None:  # submitted before a crash: attach to it
            self._ensure_poller(batch_id)
        else:
            self._queue(cid)
        return await future

    def _queue(self, cid: str) -> None:
        self._queued.append(cid)
        loop = asyncio.get_running_loop()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self._flush_handle = loop.call_later(self.gather_s, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_handle = None
        task = asyncio.ensure_future(self._flush())
        self._pollers[f"flush-{id(task)}"] = task
        task.add_done_callback(lambda t: self._pollers.pop(f"flush-{id(t)}", None))

    async def _flush(self) -> None:
        cids, self._queued = [c for c in dict.fromkeys(self._queued) if c in self._waiting], []
        if not cids:
            return
        lines = "".join(batch_line(cid, self._waiting[cid].body) + "\n" for cid in cids)
        if self.mode == "file" and self.out_file is None:  # answering from a results file only
            self._fail(cids, BackendError("the batch results file has no answer for this request", kind="batch"))
            return
        if self.out_file is not None:
            self.out_file.parent.mkdir(parents=True, exist_ok=True)
            with self.out_file.open("a", encoding="utf-8") as f:
                f.write(lines)
            self.lines_written += len(cids)
            self.progress.status = "written"
            self._report()
            self.written.set()
            return
        client = self.inner._client
        try:
            upload = await client.files.create(file=("troupe-batch.jsonl", lines.encode("utf-8")), purpose="batch")
            batch = await client.batches.create(
                input_file_id=upload.id,
                endpoint=BATCH_ENDPOINT,
                completion_window=self.completion_window,  # type: ignore[arg-type]
                metadata={"source": "troupe"},
            )
        except Exception as exc:  # noqa: BLE001 - every submission failure fails the waiting turns
            self._fail(cids, self._error(exc))
            return
        self._record(event="submitted", batch_id=batch.id, input_file_id=upload.id, custom_ids=cids, ts=time.time())
        for cid in cids:
            self._stored[cid] = batch.id
            self._waiting[cid].attempts += 1
        self.progress.submitted += len(cids)
        self.progress.batches += 1
        self.progress.batch_ids.append(batch.id)
        self.progress.status = "submitted"
        self._report()
        self._ensure_poller(batch.id)

    def _ensure_poller(self, batch_id: str) -> None:
        if batch_id not in self._pollers:
            task = asyncio.ensure_future(self._poll(batch_id))
            self._pollers[batch_id] = task

    async def _poll(self, batch_id: str) -> None:
        client = self.inner._client
        try:
            while True:
                try:
                    batch = await client.batches.retrieve(batch_id)
                except Exception as exc:  # noqa: BLE001
                    err = self._error(exc)
                    if err.retryable:
                        await asyncio.sleep(self.poll_interval_s)
                        continue
                    self._fail([c for c, b in self._stored.items() if b == batch_id], err)
                    return
                self.progress.status = batch.status
                self._report()
                if batch.status in TERMINAL:
                    break
                await asyncio.sleep(self.poll_interval_s)
            results: dict[str, dict[str, Any]] = {}
            for file_id in (batch.output_file_id, batch.error_file_id):
                if file_id:
                    content = await client.files.content(file_id)
                    results.update(read_results(content.text))
            out = self._output_path(batch_id)
            if out is not None:
                out.write_text("".join(json.dumps(r) + "\n" for r in results.values()), encoding="utf-8")
            self._record(event="finished", batch_id=batch_id, status=batch.status, ts=time.time())
            self._settle(batch_id, batch.status, results)
        finally:
            self._pollers.pop(batch_id, None)

    def _settle(self, batch_id: str, status: str, results: dict[str, dict[str, Any]]) -> None:
        mine = [c for c, b in self._stored.items() if b == batch_id]
        requeue: list[str] = []
        for cid in mine:
            del self._stored[cid]
            waiting = self._waiting.get(cid)
            if waiting is None:
                continue
            result = results.get(cid)
            if result is not None and _succeeded(result):
                self.progress.done += 1
                self._resolve(cid, result)
                continue
            retryable, message = _failure(result, status)
            if retryable and waiting.attempts < self.max_attempts:
                requeue.append(cid)
                continue
            self.progress.failed += 1
            self._fail([cid], BackendError(f"batch {batch_id}: {message}", kind="batch", retryable=retryable))
        self._report()
        for cid in requeue:
            self._queue(cid)

    def _resolve(self, cid: str, result: dict[str, Any]) -> None:
        waiting = self._waiting.pop(cid, None)
        for future in waiting.futures if waiting else []:
            if not future.done():
                future.set_result(result)

    def _fail(self, cids: list[str], err: BackendError) -> None:
        for cid in cids:
            self._stored.pop(cid, None)
            waiting = self._waiting.pop(cid, None)
            for future in waiting.futures if waiting else []:
                if not future.done():
                    future.set_exception(err)

    def _error(self, exc: BaseException) -> BackendError:
        import openai

        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, openai.OpenAIError):
            return self.inner._translate(exc, self.model, 1)
        return BackendError(f"batch submission failed: {exc}", kind="batch")

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.progress)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        tasks = list(self._pollers.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.inner.aclose()


@dataclass
class _Usage:
    prompt_tokens: int
    completion_tokens: int
    prompt_tokens_details: Any = None

    @classmethod
    def of(cls, data: Any) -> _Usage | None:
        if not isinstance(data, dict):
            return None
        details = data.get("prompt_tokens_details") or {}
        return cls(
            int(data.get("prompt_tokens") or 0),
            int(data.get("completion_tokens") or 0),
            _Details(int(details.get("cached_tokens") or 0)) if isinstance(details, dict) else None,
        )


@dataclass
class _Details:
    cached_tokens: int


def _succeeded(result: dict[str, Any]) -> bool:
    response = result.get("response") or {}
    return (
        not result.get("error") and response.get("status_code", 200) == 200 and isinstance(response.get("body"), dict)
    )


def _failure(result: dict[str, Any] | None, status: str) -> tuple[bool, str]:
    """(retryable, message) for a request a batch did not answer."""
    if result is None:
        return True, f"the batch ended {status} without this request's result"
    error = result.get("error") or {}
    response = result.get("response") or {}
    code = response.get("status_code")
    body = response.get("body") or {}
    message = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = str(body["error"].get("message") or "")
    if isinstance(error, dict):
        message = message or str(error.get("message") or error.get("code") or "")
        if error.get("code") in ("batch_expired", "batch_cancelled"):
            return True, message or "the batch expired before this request ran"
    retryable = code is None or code == 429 or (isinstance(code, int) and code >= 500)
    return retryable, f"HTTP {code}: {message}" if code else message or "failed"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict):
            out.append(line)
    return out


def _fsync(f: Any) -> None:
    import os

    try:
        os.fsync(f.fileno())
    except OSError:
        pass


__all__ = ["BATCH_ENDPOINT", "BatchBackend", "BatchProgress", "batch_line", "custom_id", "read_results"]
