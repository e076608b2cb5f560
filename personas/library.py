"""The shipped persona library and name resolution.

``resolve_persona`` is how every other part of Troupe turns what a user typed (on the command
line, in a session guide's ``personas = [...]``) into a persona: a file path, a library slug
(``maria-lopez``), a display name (``Maria Lopez``, any case, accents optional) or a first name
when only one library persona has it. An unknown name is bad input with close matches listed,
so a typo costs one glance, not a search through the library folder.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from troupe.core.errors import BadInputError
from troupe.core.slugs import slugify

from .load import SUFFIXES, load_persona
from .model import Persona


def library_dir() -> Path:
    """The folder of shipped persona files (``personas/library/*.toml``)."""
    return Path(__file__).resolve().parent / "library"


def list_library() -> list[Persona]:
    """Every shipped persona, sorted by slug. A broken file is an error, not a silent skip."""
    return [load_persona(p) for p in sorted(library_dir().glob("*.toml"))]


def resolve_persona(name_or_path: str) -> Persona:
    """A persona from a file path, a library slug, a display name or a unique first name."""
    query = name_or_path.strip()
    if not query:
        raise BadInputError("empty persona name")
    if _looks_like_path(query):
        return load_persona(query)
    wanted = slugify(query)  # "Zoé Tremblay", "zoe tremblay" and "zoe-tremblay" all match
    named = library_dir() / f"{wanted}.toml"
    if named.is_file():  # the usual case, a slug: read one file, not the whole library
        persona = load_persona(named)
        if wanted in (persona.slug, slugify(persona.name)):
            return persona
    library = list_library()
    for persona in library:
        if wanted in (persona.slug, slugify(persona.name)):
            return persona
    by_first = [p for p in library if slugify(p.first_name) == wanted]
    if len(by_first) == 1:
        return by_first[0]
    if len(by_first) > 1:
        names = ", ".join(p.slug for p in by_first)
        raise BadInputError(f"persona '{query}' is ambiguous: {names}")
    raise BadInputError(_unknown_message(query, library))


def _looks_like_path(query: str) -> bool:
    return Path(query).expanduser().exists() or query.lower().endswith(SUFFIXES) or "/" in query or "\\" in query


def _unknown_message(query: str, library: list[Persona]) -> str:
    keys = {p.slug: p for p in library}
    keys.update({slugify(p.name): p for p in library})
    keys.update({slugify(p.first_name): p for p in library})
    matches: list[str] = []
    for key in difflib.get_close_matches(slugify(query), list(keys), n=5, cutoff=0.6):
        slug = keys[key].slug
        if slug not in matches:
            matches.append(slug)
    hint = f"; close matches: {', '.join(matches[:3])}" if matches else ""
    return f"persona '{query}' is not in the library{hint} (see `troupe personas list`)"
