"""Build the backend a command asked for: ``make_backend(settings, name, model)``.

The name is ``name`` (``--backend``), else the settings' choice (``TROUPE_BACKEND`` / config
file), else DESIGN.md's rule (``openai`` when a key, base URL or Azure endpoint is configured,
else ``local``). The result is wrapped in :class:`~.cache.CachedBackend` when the settings'
cache mode is ``record`` or ``replay``.

Heavy or optional imports happen here, lazily: ``openai`` only for the openai backend, and
``llama_cpp`` (through ``troupe.core.llm.local``) only for the local one — a missing extra is a
readable :class:`BackendUnavailableError`, not an ImportError.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..config import BACKEND_NAMES, Settings, default_backend_name
from ..errors import BackendUnavailableError, BadInputError, CacheMissError
from .protocol import ChatBackend, ChatRequest, ChatResponse, DeltaCallback, EmbeddingResponse

LOCAL_EXTRA_HINT = "install the local extra: pip install 'troupe[local]'"


def make_backend(settings: Settings, name: str | None = None, model: str | None = None) -> ChatBackend:
    chosen = (name or default_backend_name(settings)).strip().lower()
    if chosen not in BACKEND_NAMES:
        raise BadInputError(f"unknown backend '{chosen}' (choose {', '.join(BACKEND_NAMES)})", field="--backend")
    mode = settings.cache.mode
    try:
        inner = _build(chosen, settings, model)
    except BackendUnavailableError as exc:
        if mode != "replay":
            raise
        # A replay never calls the inner backend, so it must not need its key or extra:
        # a recorded session replays on a machine with neither.
        embeds = _default_embedding_model(chosen)
        inner = _ReplayOnly(
            chosen,
            model or settings.model or _default_model(chosen),
            exc.message,
            embedding_model=(settings.memory.embedding_model or embeds) if embeds else None,
        )
    if mode == "off":
        return inner
    from .cache import CachedBackend

    return CachedBackend(inner, settings.cache.resolved_path(), mode)


def _build(name: str, settings: Settings, model: str | None) -> ChatBackend:
    if name == "scripted":
        from .scripted import ScriptedBackend

        return ScriptedBackend(
            model=model or settings.model or "scripted-1", embedding_model=settings.memory.embedding_model
        )
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend.from_settings(settings, model=model)
    return _build_local(settings, model)


def _build_local(settings: Settings, model: str | None) -> ChatBackend:
    try:
        from .local import LocalBackend
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the local backend is not available ({exc.name or exc}); {LOCAL_EXTRA_HINT}", kind="missing_extra"
        ) from None
    if hasattr(LocalBackend, "from_settings"):
        return LocalBackend.from_settings(settings, model=model)
    wanted: dict[str, Any] = {
        "model": model or settings.model,
        "model_path": settings.local.model_path,
        "n_threads": settings.local.n_threads,
        "n_ctx": settings.local.n_ctx,
    }
    params = inspect.signature(LocalBackend).parameters
    return LocalBackend(**{k: v for k, v in wanted.items() if k in params and v is not None})


def _default_model(name: str) -> str | None:
    if name == "openai":
        from .openai_backend import DEFAULT_MODEL

        return DEFAULT_MODEL
    if name == "local":
        try:
            from . import local
        except ImportError:
            return None
        return getattr(local, "DEFAULT_MODEL", None)
    return "scripted-1"


def _default_embedding_model(name: str) -> str | None:
    """The embedding model a backend would use (None: it cannot embed)."""
    if name == "openai":
        from .openai_backend import DEFAULT_EMBEDDING_MODEL

        return DEFAULT_EMBEDDING_MODEL
    if name == "scripted":
        from .scripted import DEFAULT_EMBEDDING_MODEL as SCRIPTED_EMBEDDING_MODEL

        return SCRIPTED_EMBEDDING_MODEL
    return None


class _ReplayOnly:
    """Stands in for a backend that cannot be built, behind a replay cache. It is never called
    on a hit; a miss is a :class:`CacheMissError` raised by the cache before it gets here.
    It keeps the embedding model the real backend would have, so a replayed run recalls
    memories the way the recording did."""

    def __init__(self, name: str, model: str | None, reason: str, *, embedding_model: str | None = None) -> None:
        self.name = name
        self.model = model
        self.reason = reason
        self.embedding_model = embedding_model

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        raise CacheMissError(f"replay only: the {self.name} backend is unavailable ({self.reason})")

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        raise CacheMissError(f"replay only: the {self.name} backend is unavailable ({self.reason})")

    async def aclose(self) -> None:
        return None
