"""Write personas as Troupe TOML files, laid out like the hand-written library.

Python's ``tomllib`` only reads TOML, so this is a small writer for the data a persona holds:
strings, numbers, booleans, lists and nested tables. Top-level values come first, then
tables (``[occupation]``, ``[personality.big_five]``, …), then arrays of tables
(``[[relationships]]``); lists of more than one string print one item a line. Strings are
written as TOML basic strings with JSON's escapes, which TOML shares, so any text round-trips.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import Persona

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Persona tables in the order the library files use.
_TABLE_ORDER = ("occupation", "personality", "preferences", "behaviors", "relationships", "extra")


def persona_toml(persona: Persona, *, header: str = "") -> str:
    """The persona as a TOML file's text (``slug`` left out: the file name gives it).

    ``header`` becomes ``#`` comment lines at the top. Loading the text back with
    :func:`troupe.personas.load.load_persona` gives the same persona.
    """
    data = persona.to_data()
    data.pop("slug", None)
    ordered = {k: v for k, v in data.items() if k not in _TABLE_ORDER}
    ordered.update({k: data[k] for k in _TABLE_ORDER if k in data})
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return (comment + "\n" if comment else "") + dumps(ordered)


def dumps(data: dict[str, Any]) -> str:
    """A TOML document for ``data`` (a mapping of str to TOML-representable values)."""
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).strip("\n") + "\n"


def _table(data: dict[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    plain = {k: v for k, v in data.items() if not _is_table(v) and not _is_table_array(v)}
    for key, value in plain.items():
        lines.append(f"{_key(key)} = {_value(value, multiline=True)}")
    for key, value in data.items():
        if _is_table(value):
            sub = (*path, key)
            has_plain = any(not _is_table(v) and not _is_table_array(v) for v in value.values())
            if has_plain or not value:
                lines.append("")
                lines.append(f"[{'.'.join(_key(k) for k in sub)}]")
            _table(value, sub, lines)
    for key, value in data.items():
        if _is_table_array(value):
            sub = (*path, key)
            for item in value:
                lines.append("")
                lines.append(f"[[{'.'.join(_key(k) for k in sub)}]]")
                _table(item, sub, lines)


def _is_table(value: Any) -> bool:
    return isinstance(value, dict)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any, *, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value != value:  # NaN
            return "nan"
        if isinstance(value, float) and value in (float("inf"), float("-inf")):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, (list, tuple)):
        items = [_value(v) for v in value]
        if multiline and len(items) > 1 and all(isinstance(v, str) for v in value):
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return "[" + ", ".join(items) + "]"
    if value is None:
        raise ValueError("TOML has no null value")
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
