"""The one-line header of the session screen.

Title · section "3 / 6: Concept reactions" · elapsed · tokens and cost · backend/model,
and a PAUSED flag. It renders whatever :class:`HeaderInfo` it was last given; the screen
builds that from ``session.state`` after each batch of events, and a one-second timer
re-renders the elapsed time (off in snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static


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


def header_text(info: HeaderInfo, elapsed: str, width: int = 0) -> Text:
    """The header line; the title gives way (with an ellipsis) so the figures always show."""
    rest = Text(no_wrap=True)
    if info.section_index >= 0:
        rest.append(f" · {info.section_index + 1} / {info.section_count}: {info.section_title}")
    elif info.section_count:
        rest.append(f" · not started ({info.section_count} sections)", style="dim")
    rest.append(f" · {elapsed}")
    rest.append(f" · {format_tokens(info.tokens)} tok ${info.cost_usd:.2f}")
    rest.append(f" · {info.backend or '?'}{'/' + info.model if info.model else ''}", style="dim")
    if info.auto:
        rest.append("  AUTO ▶", style="bold #98c379")
    if info.ended:
        rest.append("  ENDED", style="bold reverse")
    elif info.paused:
        rest.append("  ‖ PAUSED", style="bold reverse #e5c07b")
    title = f" {info.title}"
    room = width - rest.cell_len if width else len(title)
    if len(title) > room:
        title = title[: max(8, room) - 1] + "…"
    text = Text(title, style="bold", no_wrap=True, overflow="ellipsis")
    text.append_text(rest)
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
