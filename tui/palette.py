"""One colour per speaker, stable for a run: the feed, the panes and the charts agree.

Colours are picked by seat order (the order of ``session_started.personas``), so a persona
keeps its colour when the run is resumed. Twelve hues that stay readable on dark and light
themes; a thirteenth persona reuses the first hue.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style

PERSONA_COLOURS = (
    "#e06c75",
    "#61afef",
    "#98c379",
    "#e5c07b",
    "#c678dd",
    "#56b6c2",
    "#d19a66",
    "#ff79c6",
    "#8be9fd",
    "#a3be8c",
    "#f1fa8c",
    "#bd93f9",
)
MODERATOR = Style(color="#ffffff", bold=True, bgcolor="#3a3a5a")
STIMULUS = Style(color="#ff79c6", bold=True)
POLL = Style(color="#e5c07b", bold=True)
SYSTEM = Style(color="#888888", italic=True)
ERROR = Style(color="#ff5555", bold=True)


class SpeakerPalette:
    """Maps persona names to their colour."""

    def __init__(self, names: Iterable[str]) -> None:
        self._colours = {name: PERSONA_COLOURS[i % len(PERSONA_COLOURS)] for i, name in enumerate(names)}

    @property
    def names(self) -> list[str]:
        return list(self._colours)

    def colour(self, name: str | None) -> str:
        return self._colours.get(name or "", "#aaaaaa")

    def style(self, name: str | None) -> Style:
        return Style(color=self.colour(name), bold=True)
