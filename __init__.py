"""Troupe from Python: run discussion guides, drive sessions step by step, read runs.

This package is Troupe's public API (documented in ``docs/api.md``); every other module
(``troupe.core``, ``troupe.sessions``, …) is internal and may change.

``import troupe`` is cheap: it loads the error classes only, and everything else the first
time it is used, so ``import troupe.core`` (the engine) never pulls in the layers above it,
and nothing here ever imports Textual.

This file is the repository root's ``__init__.py``: the repository *is* the ``troupe``
package (``core/`` is ``troupe.core``…, see ``[tool.setuptools]`` in pyproject.toml); the
API's implementation lives in ``api/`` (``troupe.api``, internal).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from troupe.core.errors import (
    BackendError,
    BackendUnavailableError,
    BadInputError,
    BadRunError,
    ConfigError,
    DiskError,
    RunStateError,
    TroupeError,
)

if TYPE_CHECKING:
    from troupe.api.library import list_guides, list_personas, load_guide, load_persona
    from troupe.api.running import arun_session, open_session, run_session
    from troupe.api.runs import Run, Study, load_run, load_study
    from troupe.core.events import Event
    from troupe.core.poll_stats import Answer, PollResult
    from troupe.core.polls import PollSpec
    from troupe.personas.model import Persona
    from troupe.sessions.guide import Guide, PanelSpec, Section, StimulusSpec
    from troupe.sessions.session import Session
    from troupe.sessions.transcript import Transcript

__version__ = "0.1.0"


def _source_checkout_path() -> None:
    """In a source checkout (``pip install -e .``) ``troupe`` is the ``api/`` folder and its
    subpackages are its sibling folders (``core/``, ``sessions/``…, mapped by setuptools'
    ``package-dir``). Adding the checkout to ``__path__`` gives the package the shape it has
    in a wheel, where tools that walk it (import-linter's graph of ``troupe``) find them all.
    A wheel's ``troupe/`` already holds them: nothing changes there."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    checkout = os.path.dirname(here)
    if os.path.basename(here) == "api" and os.path.isfile(os.path.join(checkout, "core", "__init__.py")):
        if checkout not in __path__:
            __path__.append(checkout)


_source_checkout_path()

_LAZY: dict[str, str] = {
    "load_run": "troupe.api.runs",
    "load_study": "troupe.api.runs",
    "Run": "troupe.api.runs",
    "Study": "troupe.api.runs",
    "run_session": "troupe.api.running",
    "arun_session": "troupe.api.running",
    "open_session": "troupe.api.running",
    "load_persona": "troupe.api.library",
    "list_personas": "troupe.api.library",
    "load_guide": "troupe.api.library",
    "list_guides": "troupe.api.library",
    "Session": "troupe.sessions.session",
    "Guide": "troupe.sessions.guide",
    "Section": "troupe.sessions.guide",
    "StimulusSpec": "troupe.sessions.guide",
    "PanelSpec": "troupe.sessions.guide",
    "PollSpec": "troupe.core.polls",
    "PollResult": "troupe.core.poll_stats",
    "Answer": "troupe.core.poll_stats",
    "Event": "troupe.core.events",
    "Persona": "troupe.personas.model",
    "Transcript": "troupe.sessions.transcript",
}

__all__ = [
    "Answer",
    "BackendError",
    "BackendUnavailableError",
    "BadInputError",
    "BadRunError",
    "ConfigError",
    "DiskError",
    "Event",
    "Guide",
    "PanelSpec",
    "Persona",
    "PollResult",
    "PollSpec",
    "Run",
    "RunStateError",
    "Section",
    "Session",
    "StimulusSpec",
    "Study",
    "Transcript",
    "TroupeError",
    "arun_session",
    "list_guides",
    "list_personas",
    "load_guide",
    "load_persona",
    "load_run",
    "load_study",
    "open_session",
    "run_session",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'troupe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
