"""HTML transcript: one self-contained, printable file.

Self-contained: inline CSS, inline SVG charts, no scripts, no fonts, no images fetched from
anywhere (an image stimulus kept in the run folder is embedded as a ``data:`` URI). A Content-Security-Policy
``<meta>`` forbids scripts and remote loads outright, as a second line of defence.

Escaped: every piece of text that came from a guide, a persona or a model goes through
:func:`esc` — a stimulus containing ``<script>`` is shown as text, never run.

The page building blocks (:data:`BASE_CSS`, :func:`page`, :func:`poll_chart_svg`,
:func:`poll_html`) are shared with the findings report so both look alike.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from troupe.core.poll_stats import CompareRow, PollChange, PollResult, format_share, poll_changes
from troupe.sessions.export.common import SIMULATED_NOTICE, provenance, session_facts
from troupe.sessions.transcript import ROLE_TAGS, Entry, ModeratorNote, SectionBlock, StarredQuote, Transcript

PALETTE = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#393b79",
    "#637939",
]

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

BASE_CSS = """
:root { --ink:#1d2026; --muted:#5f6670; --rule:#d9dde3; --paper:#fff; --accent:#3b5bdb; --note:#fff8e1; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 56rem; padding: 2rem 1.25rem 4rem; color: var(--ink); background: var(--paper);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.8rem; line-height: 1.2; margin: 0 0 .75rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .8rem; padding-bottom: .3rem; border-bottom: 2px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.2rem 0 .5rem; }
.notice { background: var(--note); border: 1px solid #f0c36d; border-radius: 6px; padding: .7rem .9rem; margin: 0 0 .5rem; }
.provenance, .small { color: var(--muted); font-size: .9rem; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 1rem 0; font-size: .92rem; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
nav.toc ol { columns: 2; padding-left: 1.2rem; }
a { color: var(--accent); }
.people { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem .9rem; }
.people li { display: flex; align-items: center; gap: .4rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 50%; background: var(--c, #888); }
.entry { position: relative; margin: .45rem 0; padding: .35rem .7rem .35rem .8rem; border-left: 4px solid var(--c, var(--rule)); }
.entry .who { font-weight: 600; color: var(--c, var(--ink)); }
.entry .to { color: var(--muted); font-weight: 400; }
.entry .seq { position: absolute; right: 0; top: .35rem; font-size: .75rem; color: var(--muted); text-decoration: none; }
.entry .text { white-space: pre-wrap; overflow-wrap: anywhere; padding-right: 2.5rem; }
.entry.moderator { --c: #343a40; background: #f4f5f7; }
.entry.muted { opacity: .75; border-left-style: dashed; }
.tag { display: inline-block; font-size: .72rem; font-weight: 600; text-transform: uppercase; letter-spacing: .03em;
       padding: 0 .35rem; border-radius: 3px; background: #eceff3; color: var(--muted); margin-left: .35rem; }
.entry.think { font-style: italic; background: #fbfbfd; }
.entry.pass, .entry.note { color: var(--muted); font-size: .9rem; border-left-color: transparent; }
figure.stimulus { margin: .9rem 0; padding: .8rem 1rem; border: 1px solid var(--rule); border-radius: 8px; background: #fafbff; }
figure.stimulus figcaption { font-weight: 600; margin-bottom: .35rem; }
figure.stimulus .text { white-space: pre-wrap; overflow-wrap: anywhere; }
.poll { margin: 1rem 0; padding: .8rem 1rem; border: 1px solid var(--rule); border-radius: 8px; }
.poll svg { max-width: 100%; height: auto; display: block; margin: .4rem 0; }
.poll svg text, figure.chart svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
figure.chart { margin: 1rem 0; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
table.chart-data caption { text-align: left; color: var(--muted); font-size: .88rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-bottom: 1px solid var(--rule); }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
blockquote { margin: .4rem 0; padding: .2rem .8rem; border-left: 3px solid var(--c, var(--rule)); }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav.toc { display: none; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  .entry, figure.stimulus, .poll, figure.chart, blockquote, tr { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def esc(text: object) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def speaker_colours(names: list[str]) -> dict[str, str]:
    """A stable colour per participant, by seating order."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def page(title: str, lang: str, body: str, *, extra_css: str = "") -> str:
    """A complete, self-contained HTML document."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{esc(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{esc(CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="Troupe">\n'
        f"<title>{esc(title)}</title>\n<style>{BASE_CSS}{extra_css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def notice_html(provenance_line: str) -> str:
    """The simulated-participants notice and the provenance line."""
    return (
        f'<p class="notice" role="note"><strong>Simulated participants.</strong> {esc(SIMULATED_NOTICE)}</p>\n'
        f'<p class="provenance">{esc(provenance_line)}</p>\n'
    )


@dataclass(frozen=True, slots=True)
class ChartRow:
    """One row of a bar chart: a label and, per series, a count and its share (0..1)."""

    label: str
    counts: tuple[int, ...]
    shares: tuple[float, ...]
    marked: str = ""
    """A note shown after the label (``median``)."""
    intervals: tuple[tuple[float, float] | None, ...] = ()
    """Per series, a 95 % interval of the share to draw as a whisker (None: none)."""


def chart_figure(count: int, share: float, interval: tuple[float, float] | None = None) -> str:
    """``3 (50%)``, with ``, 95 % CI 20%–80%`` when there is an interval."""
    ci = f", 95 % CI {format_share(interval[0])}–{format_share(interval[1])}" if interval else ""
    return f"{count} ({format_share(share)}){ci}"


def bar_chart_svg(
    rows: Sequence[ChartRow],
    series: Sequence[tuple[str, str]] = (("", "#3b5bdb"),),
    *,
    title: str = "",
    scale: Literal["count", "share"] = "share",
) -> str:
    """The one chart renderer: horizontal bars, one row per option (or bin), one bar per series
    (``(name, colour)``) in each row, each ending in its count and share; optional whiskers for
    95 % intervals. Inline SVG, no script; its text alternative is a ``<desc>`` (and the same
    ``aria-label``) stating every number — ``title. label: series: count (share); … | label: …`` —
    and each bar has its own ``<title>`` (``label: series: count (share)``)."""
    if not rows:
        return ""
    named = len(series) > 1
    label_w, bar_w, tail_w = 230, 300, 170 if any(r.intervals for r in rows) else 110
    bar_h, gap = 16, 8
    row_h = bar_h * len(series) + gap
    width = label_w + bar_w + tail_w
    legend: list[tuple[float, int, str, str]] = []  # (x, line, name, colour): wraps at the right edge
    x, line = 8.0, 0
    for name, colour in series if named else ():
        step = 24 + 7 * len(name)
        if x > 8 and x + step > width:
            x, line = 8.0, line + 1
        legend.append((x, line, name, colour))
        x += step
    legend_h = 20 * (line + 1) + 2 if named else 0
    height = legend_h + row_h * len(rows) + 4

    def extent(r: ChartRow, i: int) -> float:
        value = float(r.counts[i]) if scale == "count" else r.shares[i]
        hi = r.intervals[i][1] if scale == "share" and i < len(r.intervals) and r.intervals[i] else 0.0
        return max(value, hi or 0.0)

    top = max((extent(r, i) for r in rows for i in range(len(series))), default=0.0) or 1.0
    parts: list[str] = []
    for lx, ln, name, colour in legend:
        parts.append(
            f'<rect x="{lx:.0f}" y="{4 + 20 * ln}" width="12" height="12" rx="2" fill="{esc(colour)}"/>'
            f'<text x="{lx + 16:.0f}" y="{14 + 20 * ln}">{esc(name)}</text>'
        )
    alt: list[str] = []
    for j, r in enumerate(rows):
        y0 = legend_h + j * row_h
        label = r.label + (f" ({r.marked})" if r.marked else "")
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y0 + bar_h - 3}" text-anchor="end">{esc(short)}</text>')
        figures = []
        for i, (name, colour) in enumerate(series):
            y = y0 + i * bar_h
            interval = r.intervals[i] if i < len(r.intervals) else None
            value = float(r.counts[i]) if scale == "count" else r.shares[i]
            w = max(round(bar_w * value / top), 1)
            figure = chart_figure(r.counts[i], r.shares[i], interval)
            said = f"{name}: {figure}" if named else figure
            figures.append(said)
            faint = "" if r.counts[i] else ' fill-opacity="0.15"'
            whisker = ""
            end = w
            if interval is not None and scale == "share":
                x1, x2 = label_w + bar_w * interval[0] / top, label_w + bar_w * interval[1] / top
                mid = y + (bar_h - 2) / 2
                whisker = (
                    f'<path d="M{x1:.1f} {mid:.1f}H{x2:.1f}M{x1:.1f} {mid - 4:.1f}V{mid + 4:.1f}'
                    f'M{x2:.1f} {mid - 4:.1f}V{mid + 4:.1f}" stroke="#1d2026" stroke-width="1.2" fill="none"/>'
                )
                end = max(w, round(x2 - label_w))
            parts.append(
                f"<g><title>{esc(label)}: {esc(said)}</title>"
                f'<rect x="{label_w}" y="{y + 1}" width="{w}" height="{bar_h - 2}" rx="3" fill="{esc(colour)}"{faint}/>'
                f'{whisker}<text x="{label_w + end + 6}" y="{y + bar_h - 4}">{esc(figure)}</text></g>'
            )
        alt.append(f"{label}: {'; '.join(figures)}")
    desc = " | ".join(alt)
    aria = (title + ". " if title else "") + desc
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(aria)}"><desc>{esc(aria)}</desc>' + "".join(parts) + "</svg>"
    )


def poll_chart_svg(poll: PollResult, colour: str = "#3b5bdb") -> str:
    """Horizontal bars, one per option (or per bin of a number poll's answers), each ending in its
    count and share of respondents; the median's bin is marked (inline SVG)."""
    bars = poll.bars()
    rows = [ChartRow(b.label, (b.count,), (b.share,), "median" if b.median else "") for b in bars]
    return bar_chart_svg(rows, (("", colour),), title=poll.question, scale="count")


def compare_rows(rows: Sequence[CompareRow]) -> list[ChartRow]:
    """:func:`~troupe.core.poll_stats.side_by_side` rows as chart rows."""
    return [ChartRow(r.label, r.counts, r.shares) for r in rows]


def compare_table(rows: Sequence[ChartRow], names: Sequence[str], *, caption: str = "") -> str:
    """The numbers of a side-by-side chart as a table (its text alternative, for print and screen readers)."""
    head = "".join(f'<th class="num">{esc(n)}</th>' for n in names)
    body = []
    for r in rows:
        cells = "".join(
            f'<td class="num">{esc(chart_figure(c, sh, r.intervals[i] if i < len(r.intervals) else None))}</td>'
            for i, (c, sh) in enumerate(zip(r.counts, r.shares))
        )
        body.append(f"<tr><td>{esc(r.label)}</td>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<table class="chart-data">{cap}<thead><tr><th>Answer</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def change_html(change: PollChange, colours: dict[str, str], *, heading: str = "h3") -> str:
    """A poll answered privately and asked again: before and after side by side, and who moved."""
    rows = compare_rows(change.rows())
    names = [f"before (#{change.before.seq})", f"after (#{change.after.seq})"]
    parts = [
        f'<div class="poll change" id="change-{change.before.seq}">',
        f"<{heading}>Before and after: {esc(change.after.question)}</{heading}>",
        f'<p class="small">first asked privately (#{change.before.seq}, n={change.before.n}), '
        f"asked again after discussion (#{change.after.seq}, n={change.after.n})</p>",
        bar_chart_svg(
            rows, list(zip(names, ("#adb5bd", "#3b5bdb"))), title=f"Before and after: {change.after.question}"
        ),
        compare_table(rows, names),
    ]
    moved = change.moved
    if moved:
        parts.append("<table><thead><tr><th>Moved</th><th>Before</th><th>After</th></tr></thead><tbody>")
        for name, a, b in moved:
            colour = colours.get(name, "#888")
            parts.append(
                f'<tr><td><span class="swatch" style="--c:{colour}"></span> {esc(name)}</td>'
                f"<td>{esc(a.display())}</td><td>{esc(b.display())}</td></tr>"
            )
        parts.append("</tbody></table>")
    stayed = change.stayed
    parts.append(
        f'<p class="small">{len(moved)} of {len(change.both)} changed their answer'
        + (f"; kept theirs: {esc(', '.join(stayed))}" if stayed else "")
        + ".</p>"
    )
    parts.append("</div>")
    return "\n".join(parts)


def poll_html(poll: PollResult, colours: dict[str, str], *, heading: str = "h3", answers: bool = True) -> str:
    """A poll: question, chart, statistics, and (optionally) every answer with its reason."""
    mode = "answered privately first" if poll.private_first else "answered in the open"
    parts = [
        f'<div class="poll" id="poll-{poll.seq}">',
        f"<{heading}>Poll: {esc(poll.question)}</{heading}>",
        f'<p class="small">{esc(poll.kind)} · {esc(mode)} · {esc(poll.summary())}</p>',
        poll_chart_svg(poll),
    ]
    parts.append("<p>" + " · ".join(f"<strong>{esc(k)}</strong> {esc(v)}" for k, v in poll.stats()) + "</p>")
    if answers and poll.answers:
        parts.append("<table><thead><tr><th>Participant</th><th>Answer</th><th>Reason</th></tr></thead><tbody>")
        for a in poll.answers:
            colour = colours.get(a.agent, "#888")
            parts.append(
                f'<tr><td><span class="swatch" style="--c:{colour}"></span> {esc(a.agent)}</td>'
                f"<td>{esc(a.display())}</td><td>{esc(a.rationale)}</td></tr>"
            )
        parts.append("</tbody></table>")
    elif not poll.answers:
        parts.append('<p class="small">No answers were logged.</p>')
    parts.append("</div>")
    return "\n".join(p for p in parts if p)


def render_html(t: Transcript, *, generated_at: datetime | None = None) -> str:
    info = t.info
    speakers = t.speakers()
    colours = speaker_colours(speakers)
    body = [f"<header>\n<h1>{esc(info.title)}</h1>", notice_html(provenance(info, generated_at))]
    meta = session_facts(t)
    body.append(
        '<dl class="meta">' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in meta) + "</dl>\n</header>"
    )
    body.append('<section><h2>Participants</h2><ul class="people">')
    for name in speakers:
        descriptor = info.descriptor(name)
        body.append(
            f'<li><span class="swatch" style="--c:{colours[name]}"></span><strong>{esc(name)}</strong>'
            + (f' <span class="small">{esc(descriptor)}</span>' if descriptor else "")
            + "</li>"
        )
    body.append("</ul></section>")
    numbered = [s for s in t.sections if s.index >= 0]
    if len(numbered) > 1:
        body.append('<nav class="toc"><h2>Sections</h2><ol>')
        body += [f'<li><a href="#section-{s.index + 1}">{esc(s.title)}</a></li>' for s in numbered]
        body.append("</ol></nav>")
    changes = {c.after.seq: c for c in poll_changes(t.polls)}
    for section in t.sections:
        body.append(_section(section, colours, changes, t.run_dir))
    body.append(moderator_html(t.highlights, t.notes))
    return page(info.title, info.language, "\n".join(body))


def moderator_html(highlights: Sequence[StarredQuote], notes: Sequence[ModeratorNote]) -> str:
    """The "Highlights" section and the "Moderator notes" appendix (the moderator's marks)."""
    parts: list[str] = []
    if highlights:
        parts.append('<section id="highlights"><h2>Highlights</h2><p class="small">Starred by the moderator.</p><ul>')
        for h in highlights:
            tag = f' <span class="small">[{esc(h.tag)}]</span>' if h.tag else ""
            parts.append(f"<li>#{h.target} <strong>{esc(h.speaker)}</strong>{tag}: “{esc(h.text)}”</li>")
        parts.append("</ul></section>")
    if notes:
        parts.append(
            '<section id="moderator-notes"><h2>Moderator notes</h2>'
            '<p class="small">Private to the moderator: no participant saw them.</p><ul>'
        )
        parts += [f"<li>#{n.seq} <em>{esc(n.author)}</em>: {esc(n.text)}</li>" for n in notes]
        parts.append("</ul></section>")
    return "\n".join(parts)


def _section(
    section: SectionBlock, colours: dict[str, str], changes: dict[int, PollChange], run_dir: Path | None = None
) -> str:
    anchor = f"section-{section.index + 1}" if section.index >= 0 else "before"
    title = f"{section.index + 1}. {section.title}" if section.index >= 0 else section.title
    parts = [f'<section id="{anchor}">', f"<h2>{esc(title)}</h2>"]
    for e in section.entries:
        parts.append(_entry(e, colours, run_dir))
        if e.kind == "poll" and e.poll is not None and e.poll.seq in changes:
            parts.append(change_html(changes[e.poll.seq], colours, heading="h4"))
    parts.append("</section>")
    return "\n".join(parts)


def _image_uri(run_dir: Path | None, path: str) -> str | None:
    """A ``data:`` URI of an image kept in the run folder (the page's CSP allows those), or None."""
    import base64
    import mimetypes

    if run_dir is None or Path(path).is_absolute():
        return None
    file = (run_dir / path).resolve()
    if not file.is_file() or not file.is_relative_to(run_dir.resolve()):
        return None
    kind = mimetypes.guess_type(file.name)[0] or ""
    if not kind.startswith("image/"):
        return None
    return f"data:{kind};base64,{base64.b64encode(file.read_bytes()).decode('ascii')}"


def _entry(e: Entry, colours: dict[str, str], run_dir: Path | None = None) -> str:
    seq = f'<a class="seq" href="#e{e.seq}">#{e.seq}</a>'
    to = f' <span class="to">→ {esc(", ".join(e.to))}</span>' if e.to else ""
    if e.kind == "stimulus":
        label = {"concept": "Concept", "image": "Image", "text": "Stimulus"}.get(e.stimulus_kind or "text", "Stimulus")
        caption = f"{label}: {e.title}" if e.title else label
        shown_by = (e.speaker or "guide").lower()
        image = f'<p class="small">Image file: {esc(e.path)}</p>' if e.path else ""
        uri = _image_uri(run_dir, e.path) if e.path else None
        if uri is not None:
            image = f'<img src="{esc(uri)}" alt="{esc(e.title or e.text.strip()[:120])}">' + image
        return (
            f'<figure class="stimulus {esc(e.stimulus_kind)}" id="e{e.seq}"><figcaption>{esc(caption)} '
            f'<span class="tag">shown by the {esc(shown_by)}</span>{to}</figcaption>{image}'
            f'<div class="text">{esc(e.text.strip())}</div></figure>'
        )
    if e.kind == "poll" and e.poll is not None:
        return poll_html(e.poll, colours).replace(f'id="poll-{e.poll.seq}"', f'id="e{e.seq}"', 1)
    if e.kind in ("pass", "note"):
        text = f"{e.speaker} stays silent." if e.kind == "pass" else e.text
        return f'<div class="entry {e.kind}" id="e{e.seq}"><div class="text">{esc(text)}</div>{seq}</div>'
    colour = colours.get(e.speaker or "", "#888")
    classes = ["entry", e.kind] + (["muted"] if e.muted else [])
    tags = ""
    if e.muted:
        tags += '<span class="tag">muted — not heard by the room</span>'
    if e.kind == "think":
        tags += '<span class="tag">private thought</span>'
    if e.role in ROLE_TAGS:
        tags += f'<span class="tag role">{esc(ROLE_TAGS[e.role])}</span>'
    style = "" if e.kind == "moderator" else f' style="--c:{colour}"'
    return (
        f'<div class="{" ".join(classes)}" id="e{e.seq}"{style}><span class="who">{esc(e.speaker)}</span>{to}{tags}'
        f'<div class="text">{esc(e.text.strip())}</div>{seq}</div>'
    )
