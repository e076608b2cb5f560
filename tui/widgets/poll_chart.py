"""Poll results drawn in the terminal: one horizontal bar per option.

A pure function from counts to a :class:`~rich.text.Text`, so the chart is the same in the
results dialog, in a snapshot and in a test. Bars use eighth-blocks for sub-cell precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A bar ``fraction`` (0..1) of ``width`` cells long."""
    fraction = max(0.0, min(1.0, fraction))
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def bar_chart(
    counts: Mapping[str, int], *, order: Sequence[str] | None = None, width: int = 60, colour: str = "#61afef"
) -> Text:
    """Render ``label  ████▌  n (p%)`` lines; ``order`` fixes the option order (Likert)."""
    labels = list(order) if order else list(counts)
    labels += [k for k in counts if k not in labels]
    total = sum(counts.values()) or 1
    top = max(counts.values(), default=0) or 1
    label_width = min(28, max((len(str(lbl)) for lbl in labels), default=4))
    bar_width = max(5, width - label_width - 12)
    out = Text()
    for i, label in enumerate(labels):
        n = counts.get(label, 0)
        if i:
            out.append("\n")
        name = str(label)
        name = name if len(name) <= label_width else name[: label_width - 1] + "…"
        out.append(f"{name:<{label_width}} ", style="bold")
        drawn = bar(n / top, bar_width)
        out.append(drawn, style=colour)
        out.append(" " * (bar_width - len(drawn)))
        out.append(f" {n:>2} ({100 * n / total:3.0f}%)", style="dim")
    return out


def histogram(values: Sequence[float], *, bins: int = 6, width: int = 60, colour: str = "#98c379") -> Text:
    """Counts of numeric answers in equal-width bins (for ``number`` polls)."""
    if not values:
        return Text("no answers", style="dim")
    lo, hi = min(values), max(values)
    if hi == lo:
        return bar_chart({_fmt(lo): len(values)}, width=width, colour=colour)
    step = (hi - lo) / bins
    counts: dict[str, int] = {}
    for b in range(bins):
        a, z = lo + b * step, lo + (b + 1) * step
        counts[f"{_fmt(a)}–{_fmt(z)}"] = sum(1 for v in values if a <= v < z or (b == bins - 1 and v == hi))
    return bar_chart(counts, width=width, colour=colour)


def _fmt(value: float) -> str:
    return f"{value:g}" if abs(value) >= 10 or value == int(value) else f"{value:.2f}".rstrip("0").rstrip(".")
