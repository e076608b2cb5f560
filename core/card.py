"""The persona card: everything the core needs to know about a persona.

The core never sees the full persona model (that lives in ``personas/``); ``personas/card.py``
renders a card from it. ``prompt`` is the text the system message carries (already within its
token budget); ``short_prompt`` is a compact variant for tiny local models; ``traits`` are the
few numbers policies use (e.g. ``talkativeness`` in 0..1 for the ``free`` policy).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class PersonaCard:
    name: str
    descriptor: str
    """One line: "42 · nurse · Seville"."""
    prompt: str
    short_prompt: str = ""
    traits: dict[str, Any] = field(default_factory=dict)
    """E.g. ``talkativeness`` (0..1), ``agreeableness`` (0..1), ``age``, ``occupation``,
    ``interests`` (list of str), ``likes``, ``dislikes``, ``style`` — used by policies and by the
    scripted backend to write persona-flavoured text."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PersonaCard:
        return cls(**{k: data[k] for k in ("name", "descriptor", "prompt", "short_prompt", "traits") if k in data})
