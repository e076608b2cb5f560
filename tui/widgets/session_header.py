"""The one-line header of the session screen.

Title · section "3 / 6: Concept reactions" · elapsed · tokens and cost · the per-turn check's
counts (when it is on) · backend/model, and a PAUSED flag. It renders whatever :class:`HeaderInfo` it was last given; the screen
builds that from ``session.state`` after each batch of events, and a one-second timer
re-renders the elapsed time (off in snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from rich.text import Text
from textual.widgets import Static

from ..text import one_line


@dataclass(frozen=True)
class HeaderInfo:
    title: str = "Troupe"
    section_index: int = -1
    section_count: int = 0
    section_title: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    backend: str | None = ""
    model: str | None = None
    paused: bool = False
    ended: bool = False
    auto: bool = False
    projection: str = ""
    """``rest ≈ $0.12 · 41k tok · 3 min``: the rest of the guide at the rate so far (the first
    thing to give way when the line is too long)."""
    checks: str = ""
    """``checks 12 · regen 2``: the per-turn persona check's counts, when it is on
    (:meth:`~troupe.core.turn_check.TurnCheckTally.short`); gives way after the projection."""


def format_elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def format_tokens(tokens: int) -> str:
    if tokens >= 1_000_000:
        return f"{tokens / 1_000_000:.1f}M"
    if tokens >= 1000:
        return f"{tokens / 1000:.1f}k"
    return str(tokens)


def _ellipsize(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def header_text(info: HeaderInfo, elapsed: str, width: int = 0) -> Text:
    """The header line, fitted to ``width`` cells (0: no limit).

    The state flags (PAUSED, AUTO, ENDED), the section number, the elapsed time and the
    tokens and cost always show; when the line is too long the rest gives way in this order:
    the session title shrinks, the backend name goes (the model stays), the section title
    shortens, the check counts go, "tok" goes, the model goes, then the title and the section
    title go entirely.
    """
    info = replace(
        info,
        title=one_line(info.title),
        section_title=one_line(info.section_title),
        model=one_line(info.model or "") or None,
    )
    flags = Text(no_wrap=True)
    if info.auto:
        flags.append("  AUTO ▶", style="bold #98c379")
    if info.ended:
        flags.append("  ENDED", style="bold reverse")
    elif info.paused:
        flags.append("  ‖ PAUSED", style="bold reverse #e5c07b")

    started = info.section_index >= 0
    position = f"{info.section_index + 1} / {info.section_count}" if started else ""
    model_full = f"{info.backend or '?'}{'/' + info.model if info.model else ''}"
    model_short = info.model or info.backend or "?"
    tokens = format_tokens(info.tokens)

    def build(
        model: str, section_room: int | None, tok: bool, rest_of_guide: bool = False, checks: bool = False
    ) -> tuple[Text, int]:
        """The line, and how many cells its title got."""
        rest = Text(no_wrap=True)
        if started:
            rest.append(f" · {position}")
            shown = info.section_title if section_room is None else _ellipsize(info.section_title, section_room)
            if shown:
                rest.append(f": {shown}")
        elif info.section_count:
            rest.append(
                f" · not started ({info.section_count} sections)" if section_room is None else " · not started",
                style="dim",
            )
        rest.append(f" · {elapsed}")
        rest.append(f" · {tokens} tok ${info.cost_usd:.2f}" if tok else f" · {tokens} ${info.cost_usd:.2f}")
        if rest_of_guide and info.projection and not info.ended:
            rest.append(f" ({one_line(info.projection)})", style="dim")
        if checks and info.checks:
            rest.append(f" · {one_line(info.checks)}")
        if model:
            rest.append(f" · {model}", style="dim")
        rest.append_text(flags)
        title = f" {info.title}"
        if width:
            room = width - rest.cell_len - 1
            title = " " + _ellipsize(info.title, room) if room > 0 else ""
        text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
        text.append_text(rest)
        return text, len(title) - 1

    # (model part, section title room, "tok", title cells wanted): the first that fits wins
    steps: list[tuple[str, int | None, bool, int, bool, bool]] = [
        (model_full, None, True, 24, True, True),
        (model_short, None, True, 16, True, True),
        (model_full, None, True, 24, False, True),
        (model_short, None, True, 16, False, True),
        (_ellipsize(model_short, 16), 14, True, 12, False, True),
        (_ellipsize(model_short, 16), 14, True, 12, False, False),
        (_ellipsize(model_short, 12), 12, False, 8, False, False),
        (_ellipsize(model_short, 10), 0, False, 0, False, False),
        ("", 0, False, 0, False, False),
    ]
    text = Text()
    for model, section_room, tok, wanted, rest_of_guide, checks in steps:
        text, title_cells = build(model, section_room, tok, rest_of_guide, checks)
        if not width or (text.cell_len <= width and title_cells >= min(wanted, len(info.title))):
            break
    return text


class SessionHeader(Static):
    """Shows :class:`HeaderInfo` and the elapsed time."""

    def __init__(self) -> None:
        super().__init__(id="session-header")
        self.info = HeaderInfo()
        self.elapsed = "00:00"

    def show(self, info: HeaderInfo | None = None, elapsed: str | None = None) -> None:
        changed = (info is not None and info != self.info) or (elapsed is not None and elapsed != self.elapsed)
        self.info = info or self.info
        self.elapsed = elapsed or self.elapsed
        if changed or not self.content:
            self.update(header_text(self.info, self.elapsed, self.size.width))

    def on_resize(self) -> None:
        self.update(header_text(self.info, self.elapsed, self.size.width))
