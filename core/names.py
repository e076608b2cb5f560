"""Who is meant by a name somebody typed: one rule for the room, the session and the command line.

The rule, everywhere a persona is named (``@Tom``, ``/pause maria lopez``, a model's ``to``):

1. Case is ignored (``casefold``), and so is surrounding space.
2. A full name wins: ``Maria Lopez`` means Maria Lopez even when a ``Maria Chen`` is seated.
   When a text *starts with* a name (``@Maria Lopez, why not?``), the longest full name that
   ends at a word boundary wins (``Mariana`` before ``Maria``).
3. Otherwise a first name names the one persona who has it.
4. A first name shared by two or more personas names nobody — so nobody is asked by mistake —
   and :func:`why_unresolved` says which personas share it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_WORD = re.compile(r"[\w'-]+")


def _first(name: str) -> str:
    return name.split(maxsplit=1)[0].casefold() if name.split() else ""


def resolve_name(query: str | None, names: Sequence[str]) -> str | None:
    """The seated name ``query`` means (full name, or a first name nobody else has); else None."""
    key = (query or "").strip().casefold()
    if not key:
        return None
    for name in names:
        if name.casefold() == key:
            return name
    hits = [name for name in names if _first(name) == key]
    return hits[0] if len(hits) == 1 else None


def match_leading_name(text: str, names: Sequence[str]) -> tuple[str, str] | None:
    """The persona ``text`` starts with, and the rest of the text (``", why not?"`` → ``"why not?"``)."""
    folded = text.casefold()
    for name in sorted(names, key=len, reverse=True):
        key = name.casefold()
        if folded.startswith(key) and (len(text) == len(key) or not text[len(key)].isalnum()):
            return name, text[len(key) :].lstrip(" ,:")
    word = _WORD.match(text)
    found = resolve_name(word.group(), names) if word else None
    if found is None or word is None:
        return None
    return found, text[word.end() :].lstrip(" ,:")


def leading_mentions(text: str, names: Sequence[str]) -> tuple[list[str], str]:
    """Leading ``@Name`` mentions → the names, and the rest of the text.

    ``"@Tom @Aiko what do you two think?"`` → ``(["Tom Becker", "Aiko Sato"], "what do you
    two think?")``. An ``@word`` that names nobody ends the mentions; with no mention at all
    the text comes back unchanged.
    """
    found: list[str] = []
    rest = text.lstrip()
    while rest.startswith("@"):
        match = match_leading_name(rest[1:], names)
        if match is None:
            break
        found.append(match[0])
        rest = match[1].lstrip()
    return found, (rest if found else text)


def why_unresolved(query: str, names: Sequence[str]) -> str:
    """A one-line reason ``query`` names nobody: unknown, or a first name several share."""
    key = query.strip().casefold()
    shared = [name for name in names if _first(name) == key]
    if len(shared) > 1:
        return f"“{query.strip()}” could be {' or '.join(shared)}: use the full name"
    return f"nobody called “{query.strip()}” is on the panel"
