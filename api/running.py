"""Running sessions from Python: a guide to its end (blocking or awaited), or step by step.

Every session is opened the one way the CLI and the TUI open theirs
(:func:`troupe.sessions.opening.open_session`, panel seated by
:func:`~troupe.sessions.opening.seat_cards`), with the CLI's defaults and the same settings
precedence: an argument given here, else ``$TROUPE_*`` / the config file, else the built-in
default (backend: ``openai`` when a key or base URL is set, else ``local``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeAlias

from troupe.core.card import PersonaCard
from troupe.core.config import Settings, load_settings
from troupe.core.errors import TroupeError
from troupe.core.llm import ChatBackend
from troupe.core.llm.factory import make_backend
from troupe.personas.library import resolve_persona
from troupe.personas.model import Persona
from troupe.sessions import opening
from troupe.sessions.guide import Guide
from troupe.sessions.headless import run_headless
from troupe.sessions.run import check_new_run_dir, default_run_dir
from troupe.sessions.session import Session

from .library import load_guide
from .runs import Run, load_run

GuideSource: TypeAlias = Guide | str | Path | Mapping[str, Any]
"""A :class:`~troupe.Guide`, a shipped guide's name, a ``.toml`` path, or a mapping."""
Panel: TypeAlias = str | Sequence[str | Persona] | None
"""Who to seat: ``"maria-lopez,tom-becker"``, a list of names/files/:class:`~troupe.Persona`,
or None for the guide's own panel."""


def run_session(
    guide: GuideSource,
    *,
    personas: Panel = None,
    backend: str | None = None,
    model: str | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    rounds: int | None = None,
    retrieval: str | None = None,
    turn_check: bool | None = None,
    turn_check_threshold: int | None = None,
) -> Run:
    """Run ``guide`` to its end with no UI (like ``troupe run --headless``) and return the run.

    Blocking; inside a running event loop (Jupyter, async code) use :func:`arun_session`.
    ``out`` is a new or empty folder (default ``runs/<time>-<guide>``); ``rounds`` caps each
    discussion block. ``turn_check`` (and ``turn_check_threshold``, 0–10) switch the per-turn
    persona check on or off over the guide's and the config's choice (``--turn-check``).
    A backend that fails mid-run raises :class:`~troupe.BackendError`; the run is saved and
    ``troupe resume`` continues it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise TroupeError(
            "run_session() cannot run inside a running event loop (Jupyter, async code); "
            "use `await troupe.arun_session(...)` there"
        )
    return asyncio.run(
        arun_session(
            guide,
            personas=personas,
            backend=backend,
            model=model,
            seed=seed,
            out=out,
            rounds=rounds,
            retrieval=retrieval,
            turn_check=turn_check,
            turn_check_threshold=turn_check_threshold,
        )
    )


async def arun_session(
    guide: GuideSource,
    *,
    personas: Panel = None,
    backend: str | None = None,
    model: str | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    rounds: int | None = None,
    retrieval: str | None = None,
    turn_check: bool | None = None,
    turn_check_threshold: int | None = None,
) -> Run:
    """:func:`run_session` for async code and notebooks: ``run = await troupe.arun_session(...)``."""
    chosen, cards, run_dir, settings, chat = _prepare(guide, personas, out, backend, model)
    try:
        await run_headless(
            chosen,
            cards,
            chat,
            run_dir,
            settings=settings,
            seed=seed,
            rounds_cap=rounds,
            retrieval=retrieval,
            progress=False,
            turn_check=turn_check,
            turn_check_threshold=turn_check_threshold,
        )
    finally:
        await chat.aclose()
    run = load_run(run_dir)
    assert isinstance(run, Run)
    return run


@asynccontextmanager
async def open_session(
    guide: GuideSource,
    *,
    personas: Panel = None,
    backend: str | None = None,
    model: str | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    rounds: int | None = None,
    retrieval: str | None = None,
    turn_check: bool | None = None,
    turn_check_threshold: int | None = None,
) -> AsyncIterator[Session]:
    """Open a new session for step-by-step control; the backend and the log close on exit::

        async with troupe.open_session("concept-test", backend="scripted") as session:
            await session.step()                        # the guide's next beat
            await session.say("What do you drink at lunch?")
            await session.end()

    The :class:`~troupe.Session` is the controller the TUI drives. Leaving the block without
    :meth:`~troupe.Session.end` leaves a stopped run that ``troupe resume`` continues.
    """
    chosen, cards, run_dir, settings, chat = _prepare(guide, personas, out, backend, model)
    try:
        session = await opening.open_session(
            chosen,
            cards,
            chat,
            run_dir,
            settings=settings,
            seed=seed,
            rounds_cap=rounds,
            retrieval=retrieval,
            turn_check=turn_check,
            turn_check_threshold=turn_check_threshold,
        )
        try:
            yield session
        finally:
            await session.aclose()
    finally:
        await chat.aclose()


def _prepare(
    guide: GuideSource, personas: Panel, out: str | Path | None, backend: str | None, model: str | None
) -> tuple[Guide, list[PersonaCard], Path, Settings, ChatBackend]:
    """The guide, the seated panel, a new run folder, the settings and the backend, in that order."""
    chosen = load_guide(guide)
    cards = _seat(chosen, personas)
    run_dir = check_new_run_dir(out) if out is not None else default_run_dir(chosen)
    settings = load_settings()
    return chosen, cards, run_dir, settings, make_backend(settings, backend, model)


def _seat(guide: Guide, personas: Panel) -> list[PersonaCard]:
    """Names go through :func:`~troupe.sessions.opening.seat_cards` (as ``--personas``);
    persona objects are seated as they are."""
    if personas is None or isinstance(personas, str) or all(isinstance(p, str) for p in personas):
        names = personas if personas is None or isinstance(personas, str) else [str(p) for p in personas]
        return opening.seat_cards(guide, names)
    return opening.seat_personas([p if isinstance(p, Persona) else resolve_persona(p) for p in personas])
