"""Read persona and fragment files into :class:`~troupe.personas.model.Persona`.

Formats, told apart by content (and the ``.fragment.`` infix for Troupe fragments):

* Troupe persona: ``*.toml`` or ``*.json`` with the persona fields at the top level; may list
  ``fragments = ["relative/path.fragment.toml", …]`` to layer on (see ``fragments.py``).
* Troupe fragment: ``*.fragment.toml`` / ``*.fragment.json``: persona fields, no name needed.
* TinyTroupe agent: ``{"type": "TinyPerson", "persona": {…}}`` (``*.agent.json``).
* TinyTroupe fragment: ``{"type": "Fragment", "persona": {…}}`` (``*.fragment.json``).

Troupe's own files are strict (an unknown field is an error, so typos are caught). TinyTroupe
files are imported with nothing dropped: whatever Troupe does not model is moved, verbatim and
at the same nesting, into ``extra``. Every failure is a one-line :class:`BadInputError`
naming the file and the field.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from troupe.core.errors import BadInputError
from troupe.core.slugs import slugify
from troupe.core.validation import bad_input_from_validation, read_json, read_toml

from .fragments import check_fragment, merge, merge_all
from .model import Persona

SUFFIXES = (".toml", ".json")
_TINYTROUPE_TYPES = {"TinyPerson": "persona", "Fragment": "fragment"}
# Compound suffixes stripped before a file name becomes a slug ("Lisa.agent.json" → "lisa").
_NAME_SUFFIXES = (".agent.fragment.json", ".fragment.json", ".fragment.toml", ".agent.json", ".toml", ".json")


@dataclass(frozen=True)
class Source:
    """One file, read and normalised but not yet validated as a whole."""

    path: Path
    kind: Literal["persona", "fragment"]
    format: Literal["troupe", "tinytroupe"]
    data: dict[str, Any]


def load_persona(path: str | Path) -> Persona:
    """Load one persona file (any supported format), applying its fragments."""
    source = read_source(path)
    if source.kind == "fragment":
        raise BadInputError(
            "this is a fragment, not a persona (apply it from a persona's `fragments` list)", path=str(source.path)
        )
    return persona_from_source(source)


def load_fragment(path: str | Path) -> dict[str, Any]:
    """Load a fragment file (Troupe or TinyTroupe) as persona data to merge, checked."""
    source = read_source(path)
    if source.kind != "fragment":
        raise BadInputError(
            'not a fragment (name it *.fragment.toml, or use TinyTroupe\'s "type": "Fragment")', path=str(source.path)
        )
    check_fragment(source.data, source.path)
    return source.data


def read_source(path: str | Path) -> Source:
    """Read a file and tell which kind and format it is; TinyTroupe data is normalised."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".toml":
        raw: Any = read_toml(p)
    elif suffix == ".json":
        raw = read_json(p)
    else:
        raise BadInputError("unsupported file type (use .toml or .json)", path=str(p))
    if not isinstance(raw, dict):
        raise BadInputError("expected an object at the top level", path=str(p), field="(root)")
    fragment_by_name = ".fragment." in p.name.lower()
    if "persona" in raw and "type" in raw:
        kind = _TINYTROUPE_TYPES.get(raw["type"]) if isinstance(raw["type"], str) else None
        if kind is None:
            raise BadInputError(f'expected "TinyPerson" or "Fragment", got {raw["type"]!r}', path=str(p), field="type")
        if not isinstance(raw["persona"], dict):
            raise BadInputError("expected an object", path=str(p), field="persona")
        return Source(p, kind, "tinytroupe", import_tinytroupe(raw))
    return Source(p, "fragment" if fragment_by_name else "persona", "troupe", raw)


def persona_from_source(source: Source) -> Persona:
    """Validate a persona source, apply its fragments, and return the persona.

    The persona's own fields are validated first and each fragment on its own, so an error
    names the file that holds the bad field.
    """
    data = dict(source.data)
    paths = _fragment_paths(data.pop("fragments", []), source.path)
    data.setdefault("slug", slug_from_path(source.path))
    _validate(data, source.path)
    overlays = [load_fragment(p) for p in paths]
    return _validate(merge_all(data, overlays), source.path)


def slug_from_path(path: str | Path) -> str:
    name = Path(path).name
    for suffix in _NAME_SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return slugify(name)


def _validate(data: dict[str, Any], path: str | Path | None) -> Persona:
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise bad_input_from_validation(exc, path) from None


def _fragment_paths(value: Any, path: Path) -> list[Path]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadInputError("expected a list of file paths", path=str(path), field="fragments")
    out = []
    for i, item in enumerate(value):
        target = Path(item).expanduser()
        if not target.is_absolute():
            target = path.parent / target
        if not target.is_file():
            raise BadInputError(f"fragment file not found: {target}", path=str(path), field=f"fragments[{i}]")
        out.append(target)
    return out


# -- TinyTroupe import ---------------------------------------------------------------------


def import_tinytroupe(document: dict[str, Any]) -> dict[str, Any]:
    """``{"type": …, "persona": {…}}`` → Troupe persona data, nothing dropped.

    Keys Troupe models are kept in place; the rest move into ``extra`` at the same nesting
    (an unknown ``occupation.salary`` becomes ``extra.occupation.salary``). Keys of the
    envelope other than ``type`` and ``persona`` are kept under ``extra.tinytroupe``.
    """
    known, unknown = split_unknown(document["persona"], Persona)
    envelope = {k: v for k, v in document.items() if k not in ("type", "persona")}
    if envelope:
        unknown["tinytroupe"] = envelope
    if unknown:
        existing = known.get("extra", {})
        known["extra"] = merge(existing, unknown) if isinstance(existing, dict) else existing
    return known


def split_unknown(data: dict[str, Any], model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split ``data`` into what ``model`` has fields for and the rest, recursively.

    A nested table is split against its sub-model; a list of tables item by item (the
    leftovers then form a list aligned with the original, ``{}`` where nothing was left).
    Values are never converted here: validation happens afterwards.
    """
    known: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    open_table = model.model_config.get("extra") == "allow"
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            if open_table and _is_string_list(value):
                known[key] = value
            else:
                unknown[key] = value
            continue
        sub, is_list = _sub_model(field.annotation)
        if sub is not None and not is_list and isinstance(value, dict):
            known[key], rest = split_unknown(value, sub)
            if rest:
                unknown[key] = rest
        elif sub is not None and is_list and isinstance(value, list):
            pairs = [split_unknown(v, sub) if isinstance(v, dict) else (v, {}) for v in value]
            known[key] = [k for k, _ in pairs]
            if any(r for _, r in pairs):
                unknown[key] = [r for _, r in pairs]
        else:
            known[key] = value
    return known, unknown


def _sub_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The pydantic model a field holds (directly or as ``list[Model]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list and args and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], True
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _sub_model(arg)
            if found[0] is not None:
                return found
    return None, False


def _is_string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
