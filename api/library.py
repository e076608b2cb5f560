"""Personas and guides from Python: the shipped library, files, and guides built in code."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from troupe.core.errors import BadInputError
from troupe.personas.library import list_library, resolve_persona
from troupe.personas.model import Persona
from troupe.sessions import guide as _guide
from troupe.sessions.guide import Guide


def load_persona(name_or_path: str | Path) -> Persona:
    """A persona by library slug (``"maria-lopez"``), display name (``"Maria Lopez"``), unique
    first name, or file (``.toml``, ``.json``, TinyTroupe ``.agent.json``).

    Raises :class:`~troupe.BadInputError` for an unknown name (close matches listed) or a bad file.
    """
    return resolve_persona(str(name_or_path))


def list_personas() -> list[Persona]:
    """Every persona of the shipped library, sorted by slug."""
    return list_library()


def list_guides() -> list[str]:
    """The names of the shipped guides (``"concept-test"``, …), for :func:`load_guide`."""
    return [p.stem for p in _guide.list_guides()]


def load_guide(source: str | Path | Mapping[str, Any] | Guide) -> Guide:
    """A discussion guide from a shipped name (``"concept-test"``), a ``.toml`` file, or a
    mapping with the TOML file's structure (a guide built in code).

    A :class:`~troupe.Guide` passes through unchanged. Raises :class:`~troupe.BadInputError`
    naming the file, section and key of a bad field — never pydantic's raw error.
    """
    if isinstance(source, Guide):
        return source
    if isinstance(source, Mapping):
        return _guide.parse_guide(dict(source))
    if isinstance(source, (str, Path)):
        return _guide.load_guide(source)
    raise BadInputError(f"a guide is a name, a .toml path, a mapping or a Guide, not {type(source).__name__}")
