"""Poll results drawn in the terminal: one horizontal bar per option, or per bin of numbers.

A pure function from a poll's chart rows (:meth:`~troupe.core.poll_stats.PollResult.bars` —
the same rows every export draws) to a :class:`~rich.text.Text`, so the chart is the same in
the results dialog, in a snapshot and in a test. Bars use eighth-blocks for sub-cell precision;
each ends in its count and share of respondents, and a number poll's median bin is marked.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from troupe.core.poll_stats import COUNTED_KINDS, Bar, PollResult, format_share

_EIGHTHS = " ▏▎▍▌▋▊▉"
CHOICE_COLOUR = "#61afef"
NUMBER_COLOUR = "#98c379"
MEDIAN_MARK = "◀ median"


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0..1) of ``width`` cells long."""
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def bar_chart(bars: Sequence[Bar], *, width: int = 60, colour: str = CHOICE_COLOUR) -> Text:
    """``label  ████▌   3 (50%)`` lines, the longest bar the top count; the median bin marked."""
    if not bars:
        return Text("no answers", style="dim")
    top = max(b.count for b in bars) or 1
    label_width = min(28, max(len(b.label) for b in bars))
    tail = 12 + (len(MEDIAN_MARK) + 1 if any(b.median for b in bars) else 0)
    bar_width = max(5, width - label_width - tail)
    out = Text()
    for i, b in enumerate(bars):
        if i:
            out.append("\n")
        name = b.label if len(b.label) <= label_width else b.label[: label_width - 1] + "…"
        out.append(f"{name:<{label_width}} ", style="bold")
        drawn = bar(b.count / top, bar_width)
        out.append(drawn, style=colour)
        out.append(" " * (bar_width - len(drawn)))
        out.append(f" {b.count:>2} ({format_share(b.share):>4})", style="dim")
        if b.median:
            out.append(f" {MEDIAN_MARK}", style="bold")
    return out


def poll_chart(poll: PollResult, *, width: int = 60) -> Text | None:
    """The chart of ``poll``; None for free-text polls (nothing to count)."""
    if poll.kind not in (*COUNTED_KINDS, "number"):
        return None
    return bar_chart(poll.bars(), width=width, colour=NUMBER_COLOUR if poll.kind == "number" else CHOICE_COLOUR)
