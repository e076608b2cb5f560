"""Opening a session: the one place a new or resumed session gets its panel and its settings.

``troupe run`` (TUI or headless), ``troupe demo``, the home screen's Start and Resume,
``troupe resume``, studies and the Python API all open sessions through :func:`open_session`
and :func:`reopen_session`, so every setting applies the same way however a session is opened:

- ``retrieval``: the caller's choice (``--retrieval``), else ``[memory] retrieval`` /
  ``$TROUPE_RETRIEVAL``, else lexical. A resumed run keeps the one it recorded.
- ``max_concurrency``: the config's value when it was set explicitly (file or environment),
  else the guide's ``[defaults] max_concurrency`` (64). A resumed run keeps the one it recorded.
- ``turn_check``: the per-turn persona check (``core/turn_check.py``), off by default. Each
  of on/off, threshold and model: the caller's (``--turn-check``/``--no-turn-check``,
  ``--turn-check-threshold``, which also turns it on), else the guide's
  ``[defaults.turn_check]``, else the config's ``[turn_check]``. A resumed run keeps the one
  it recorded.
- ``unattended`` (headless runs and studies): any backend failure that survived the backend's
  retries halts the run — resumable — instead of failing one turn unseen.

Seating is decided here too: :func:`seat_cards` (a ``--personas`` list or the guide's panel,
capped at ``panel.size``) and :func:`seat_personas` (personas already loaded, e.g. ticked on
the home screen) render the cards and refuse a panel that seats one person twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troupe.core.budget import Limits
from troupe.core.card import PersonaCard
from troupe.core.clock import Clock
from troupe.core.config import Settings, load_settings
from troupe.core.errors import BadInputError
from troupe.core.llm.protocol import ChatBackend
from troupe.core.turn_check import TurnCheckSettings

from .guide import Guide, TurnCheckSpec
from .session import Session

if TYPE_CHECKING:
    from troupe.personas.model import Persona


def settings_options(settings: Settings, *, retrieval: str | None = None) -> dict[str, Any]:
    """The :meth:`Session.start` options the settings decide (see the module docstring)."""
    options: dict[str, Any] = {"retrieval": retrieval or settings.memory.retrieval}
    if settings.origin("max_concurrency"):
        options["max_concurrency"] = settings.max_concurrency
    return options


async def open_session(
    guide: Guide,
    cards: Sequence[PersonaCard],
    backend: ChatBackend,
    run_dir: str | Path,
    *,
    settings: Settings | None = None,
    seed: int = 0,
    rounds_cap: int | None = None,
    retrieval: str | None = None,
    unattended: bool = False,
    clock: Clock | None = None,
    limits: Limits | None = None,
    turn_check: bool | None = None,
    turn_check_threshold: int | None = None,
    **session_options: Any,
) -> Session:
    """Start a new session of ``guide`` with ``cards`` in ``run_dir`` (logs ``session_started``).

    ``settings`` default to :func:`load_settings` (config file and environment); explicit
    ``session_options`` (``max_concurrency``, ``budget``, ``overhear``…) win over them. Budget
    limits: ``limits`` (``--max-*``) replace the rest; otherwise each limit the guide's
    ``[defaults.budget]`` sets, else the config's ``[budget]``.
    """
    settings = settings or load_settings()
    check = turn_check_settings(settings, guide, enabled=turn_check, threshold=turn_check_threshold)
    options = {**settings_options(settings, retrieval=retrieval), "turn_check": check, **session_options}
    session = await Session.start(
        guide,
        list(cards),
        backend,
        Path(run_dir),
        seed=seed,
        rounds_cap=rounds_cap,
        clock=clock,
        stop_on_backend_error=unattended,
        **options,
    )
    wanted = limits if limits is not None and limits.any else config_limits(settings, session.limits)
    if wanted != session.limits:
        session.set_limits(wanted)  # logged as budget_set: a resumed run keeps them
    return session


def config_limits(settings: Settings, guide_limits: Limits) -> Limits:
    """The config's ``[budget]`` under the guide's: each limit the guide sets wins."""
    mine = settings.budget
    return Limits(
        guide_limits.max_cost if guide_limits.max_cost is not None else mine.max_cost,
        guide_limits.max_tokens if guide_limits.max_tokens is not None else mine.max_tokens,
        guide_limits.max_minutes if guide_limits.max_minutes is not None else mine.max_minutes,
    )


def turn_check_settings(
    settings: Settings, guide: Guide, *, enabled: bool | None = None, threshold: int | None = None
) -> TurnCheckSettings | None:
    """The per-turn check a new session gets (None: off), by the precedence in the module
    docstring: the caller's choice, else the guide's ``[defaults.turn_check]``, else the config's."""
    mine = settings.turn_check
    spec = guide.defaults.turn_check or TurnCheckSpec()
    if threshold is not None and not 0 <= threshold <= 10:
        raise BadInputError("must be between 0 and 10", field="--turn-check-threshold")
    on = enabled if enabled is not None else (threshold is not None or _first(spec.enabled, mine.enabled))
    if not on:
        return None
    return TurnCheckSettings(
        threshold=_first(threshold, spec.threshold, mine.threshold), model=_first(spec.model, mine.model)
    )


def _first(*values: Any) -> Any:
    """The first value that is set (None: not set)."""
    return next((v for v in values if v is not None), None)


async def reopen_session(
    run_dir: str | Path, backend: ChatBackend, *, unattended: bool = False, clock: Clock | None = None
) -> Session:
    """Reopen a stopped or crashed run where its log stops, with the settings it recorded."""
    return await Session.reopen(Path(run_dir), backend, clock=clock, stop_on_backend_error=unattended)


# -- seating ----------------------------------------------------------------------------------


def seat_cards(guide: Guide, personas: str | Sequence[str] | None = None) -> list[PersonaCard]:
    """Cards for ``personas`` (names, slugs or files; a comma-separated string as ``--personas``
    gives) or else the guide's panel, capped at ``panel.size``.

    Errors name where the bad name came from: the guide's ``panel.personas[i]`` or ``--personas``.
    """
    from troupe.personas.library import resolve_persona

    if isinstance(personas, str):
        personas = [n.strip() for n in personas.split(",") if n.strip()]
        if not personas:
            raise BadInputError("no persona names given", field="--personas")
    from_guide = not personas
    names = list(guide.panel.personas) if from_guide else list(personas or [])
    if guide.panel.size is not None:
        names = names[: guide.panel.size]
    if not names:
        where = str(guide.source) if guide.source else "the guide"
        raise BadInputError(f"{where}: panel.personas is empty; pass --personas")
    source = str(guide.source) if from_guide and guide.source else None
    loaded: list[Persona] = []
    for i, name in enumerate(names):
        field = f"panel.personas[{i}]" if from_guide else "--personas"
        is_path = _is_path(name)
        query = str(guide.resolve_path(name)) if from_guide and is_path else name
        try:
            loaded.append(resolve_persona(query))
        except BadInputError as exc:
            if is_path:  # the message already names the persona file that is wrong
                raise
            raise BadInputError(exc.message, path=source, field=field) from None
        _check_unique(loaded, path=source, field=field)
    return seat_personas(loaded)


def seat_personas(personas: Sequence[Persona]) -> list[PersonaCard]:
    """Render the cards of personas already loaded; one person is never seated twice."""
    from troupe.personas.card import render_card

    _check_unique(personas)
    return [render_card(p) for p in personas]


def _check_unique(personas: Sequence[Persona], *, path: str | None = None, field: str | None = None) -> None:
    """Two names a transcript could not tell apart (equal ignoring case and spacing) are one person."""
    seen: dict[str, str] = {}
    for persona in personas:
        key = " ".join(persona.name.split()).casefold()
        twin = seen.get(key)
        if twin is not None:
            shown = (
                persona.name if twin == persona.name else f"{persona.name} and {twin} (names differing only in case)"
            )
            raise BadInputError(f"{shown} is seated twice", path=path, field=field)
        seen[key] = persona.name


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.lower().endswith((".toml", ".json"))
