"""Troupe's persona layer: the persona model, its file formats, fragments, the prompt card and
the shipped library.

The public surface is the names below (a test pins it); the modules behind them each do one
job: ``model`` (the schema), ``load`` (Troupe TOML/JSON and TinyTroupe files), ``fragments``
(merge rules), ``card`` (persona → :class:`troupe.core.card.PersonaCard`), ``library``.
"""

from __future__ import annotations

from .card import render_card
from .fragments import merge
from .library import library_dir, list_library, resolve_persona
from .load import load_fragment, load_persona
from .model import Persona

__all__ = [
    "Persona",
    "library_dir",
    "list_library",
    "load_fragment",
    "load_persona",
    "merge",
    "render_card",
    "resolve_persona",
]
