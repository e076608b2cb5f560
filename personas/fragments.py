"""Fragments: partial personas layered onto a persona (TinyTroupe's idea, Troupe's rules).

A fragment holds any persona fields except ``name`` is not required ("travel enthusiast":
a few interests, beliefs and a ``behaviors.travel`` list). Applying one merges its data into
the persona's data *before* validation, with three rules that make layering predictable:

* **lists extend**: the fragment's items are appended, skipping items already present;
* **mappings merge recursively** (``preferences``, ``behaviors.routines``, ``extra``…);
* **scalars override**: the fragment's value replaces the persona's (also when the two
  values are of different kinds, e.g. a string replacing a list).

Fragments are applied in the order listed; a later fragment sees the earlier ones' result.
This module is pure data manipulation; reading fragment files is ``load.py``'s job.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from troupe.core.errors import BadInputError
from troupe.core.validation import bad_input_from_validation

from .model import Persona

# A name that makes a fragment validate against the persona schema; never shown.
_PLACEHOLDER_NAME = "(fragment)"


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``overlay`` layered on (see the module docstring for the rules).

    Neither argument is modified; the result shares no containers with them.
    """
    out: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = merge(current, value)
        elif isinstance(current, list) and isinstance(value, list):
            out[key] = _extend_unique(current, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_all(base: Mapping[str, Any], overlays: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Apply several fragments in order."""
    out = dict(base)
    for overlay in overlays:
        out = merge(out, overlay)
    return out


def _extend_unique(items: list[Any], more: list[Any]) -> list[Any]:
    out = list(items)
    for item in more:
        if item not in out:  # equality, not hashing: items may be tables (relationships)
            out.append(copy.deepcopy(item))
    return out


def check_fragment(data: Mapping[str, Any], path: str | Path | None) -> None:
    """Validate a fragment's fields on their own, so an error names the fragment's file.

    A fragment follows the persona schema but needs no ``name``; it may not list further
    ``fragments`` (that key is handled by the loader of a persona file only).
    """
    if "fragments" in data:
        raise BadInputError("a fragment cannot list fragments", path=str(path) if path else None, field="fragments")
    probe = {"name": _PLACEHOLDER_NAME, **data}
    try:
        Persona.model_validate(probe)
    except ValidationError as exc:
        raise bad_input_from_validation(exc, path) from None
