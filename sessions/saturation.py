"""Theme saturation across a study's groups: how many *new* themes each additional group adds.

A researcher runs more groups until they stop adding anything. For each finished group, in
study order, the themes are the findings report's **lexical** themes (``sessions/themes.py``:
each section's, plus those across the whole session), identified by their key word (the
stemmed term that formed the theme). Lexical themes need no model call and name a theme the
same way in every group, so they can be matched across groups; model-proposed theme labels
are worded differently each time and are not used here. With the scripted backend these are
the lexical topics of its generated text — they count as themes all the same.

``new[k]`` = themes of group k not seen in groups 1..k−1; ``cumulative[k]`` = distinct themes
in groups 1..k. Saturation is reached at the first group (after the first) that adds none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from troupe.core.events import Event

from .export.html import ChartRow, bar_chart_svg, esc
from .themes import Theme, lexical_themes
from .transcript import build_transcript

METHOD_NOTE = (
    "Themes: the report's lexical themes (per section and across the session), matched across groups by "
    "their key word; no model call. With the scripted backend these are the lexical topics of its "
    "generated text, and they count as themes."
)


def theme_key(theme: Theme) -> str:
    return theme.terms[0] if theme.terms else theme.label.casefold()


def group_themes(events: Sequence[Event]) -> list[str]:
    """One run's theme keys (sections first, then across the session), without repeats."""
    t = build_transcript(events)
    themes = [theme for s in t.sections for theme in lexical_themes(s.utterances())]
    themes += lexical_themes([e for s in t.sections for e in s.utterances()])
    return list(dict.fromkeys(theme_key(th) for th in themes))


@dataclass(slots=True)
class Saturation:
    groups: list[str] = field(default_factory=list)
    themes: list[list[str]] = field(default_factory=list)
    """Each group's theme keys."""
    new: list[list[str]] = field(default_factory=list)
    """Each group's themes not seen in an earlier group."""

    @property
    def new_counts(self) -> list[int]:
        return [len(n) for n in self.new]

    @property
    def cumulative(self) -> list[int]:
        out, total = [], 0
        for n in self.new_counts:
            total += n
            out.append(total)
        return out

    @property
    def saturated_at(self) -> int | None:
        """1-based index of the first group after the first that added no new theme."""
        return next((i + 1 for i, n in enumerate(self.new_counts) if i > 0 and n == 0), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "method": METHOD_NOTE,
            "groups": [
                {"name": g, "themes": th, "new": nw, "cumulative": c}
                for g, th, nw, c in zip(self.groups, self.themes, self.new, self.cumulative)
            ],
            "new_per_group": self.new_counts,
            "saturated_at_group": self.saturated_at,
        }


def saturation(groups: Sequence[tuple[str, Sequence[Event]]]) -> Saturation:
    out = Saturation()
    seen: set[str] = set()
    for name, events in groups:
        keys = group_themes(events)
        fresh = [k for k in keys if k not in seen]
        seen.update(keys)
        out.groups.append(name)
        out.themes.append(keys)
        out.new.append(fresh)
    return out


def chart_lines(sat: Saturation, width: int = 30) -> list[str]:
    """A terminal chart: one bar per group, new themes (█) on top of those already seen (░)."""
    total = max(sat.cumulative, default=0)
    lines = []
    for i, (name, fresh) in enumerate(zip(sat.groups, sat.new_counts)):
        before = sat.cumulative[i] - fresh
        scale = width / total if total else 0.0
        bar = "░" * round(before * scale) + "█" * round(fresh * scale)
        lines.append(f"{name:>10} {bar:<{width}} +{fresh} new, {sat.cumulative[i]} in all")
    return lines


def saturation_line(sat: Saturation) -> str:
    """Whether (and where) the study saturated, in one sentence."""
    at = sat.saturated_at
    return f"Saturation: group {at} added no new theme." if at else "Not saturated: every group added new themes."


def saturation_markdown(sat: Saturation) -> list[str]:
    lines = ["## Theme saturation", "", f"_{METHOD_NOTE}_", ""]
    if not sat.groups:
        return lines + ["No finished group.", ""]
    lines += ["| group | themes | new | cumulative | new themes |", "|---|---:|---:|---:|---|"]
    for name, themes, fresh, c in zip(sat.groups, sat.themes, sat.new, sat.cumulative):
        lines.append(f"| {name} | {len(themes)} | {len(fresh)} | {c} | {', '.join(fresh) or '—'} |")
    lines += ["", "```", *chart_lines(sat), "```", ""]
    lines.append(saturation_line(sat))
    return lines + [""]


NEW_COLOUR = "#3b5bdb"
SEEN_COLOUR = "#adb5bd"


def saturation_chart_rows(sat: Saturation) -> list[ChartRow]:
    """One chart row per group: its new themes and the cumulative count, each with its share of
    every distinct theme of the study (the cumulative share reaching 100 % is the curve levelling off)."""
    total = max(sat.cumulative, default=0)
    return [
        ChartRow(name, (fresh, c), (fresh / total if total else 0.0, c / total if total else 0.0))
        for name, fresh, c in zip(sat.groups, sat.new_counts, sat.cumulative)
    ]


def saturation_html(sat: Saturation) -> str:
    """``study.html``'s section: the curve as an inline SVG bar chart (the report's one chart
    renderer), the numbers and every group's new themes in a table, and the verdict."""
    parts = ['<section class="saturation" id="saturation"><h2>Theme saturation</h2>']
    parts.append(f'<p class="small">{esc(METHOD_NOTE)}</p>')
    if not sat.groups:
        return "\n".join([*parts, "<p>No finished group.</p></section>"])
    rows = saturation_chart_rows(sat)
    series = [("new themes", NEW_COLOUR), ("cumulative", SEEN_COLOUR)]
    parts.append(
        '<figure class="chart">'
        + bar_chart_svg(rows, series, title="Theme saturation: new and cumulative themes per group", scale="count")
        + '<figcaption class="small">Per group, in study order: the themes not seen in an earlier group, and the '
        "distinct themes so far (each with its share of all the study's themes).</figcaption></figure>"
    )
    parts.append(
        '<table class="chart-data"><caption>Themes per group</caption><thead><tr><th>group</th>'
        '<th class="num">themes</th><th class="num">new</th><th class="num">cumulative</th><th>new themes</th>'
        "</tr></thead><tbody>"
    )
    for name, themes, fresh, c in zip(sat.groups, sat.themes, sat.new, sat.cumulative):
        parts.append(
            f'<tr><td>{esc(name)}</td><td class="num">{len(themes)}</td><td class="num">{len(fresh)}</td>'
            f'<td class="num">{c}</td><td>{esc(", ".join(fresh) or "—")}</td></tr>'
        )
    parts.append(f"</tbody></table><p>{esc(saturation_line(sat))}</p></section>")
    return "\n".join(parts)


__all__ = [
    "METHOD_NOTE",
    "Saturation",
    "chart_lines",
    "group_themes",
    "saturation",
    "saturation_chart_rows",
    "saturation_html",
    "saturation_line",
    "saturation_markdown",
    "theme_key",
]
