"""Render the group-dynamics readouts (:mod:`troupe.core.dynamics`) as Markdown, HTML or JSON.

One self-contained block each, used by ``troupe dynamics`` and appended to the findings report.
Definitions of every number: ``docs/dynamics.md``.
"""

from __future__ import annotations

import json

from troupe.core.dynamics import (
    COLLAPSE_JACCARD,
    EMBED_COLLAPSE_COSINE,
    EMBED_MIN_REMARKS,
    MIN_NGRAMS,
    MODERATOR,
    NGRAM,
    ROOM,
    Dynamics,
)
from troupe.sessions.export.html import esc
from troupe.sessions.export.markdown import md_escape

DYNAMICS_NOTE = (
    "Computed from the event log only: airtime counts words of every `say`; who answered whom reads "
    "each remark's addressee and `reply_to`; drift and conformity read re-asked private-first polls; "
    "voice similarity compares word phrases (no model) and, only when asked for, the remarks' "
    "embeddings (model calls). Definitions: docs/dynamics.md."
)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def _signed(x: float | None) -> str:
    return "" if x is None else f"{x:+.2f}".rstrip("0").rstrip(".")


def _columns(d: Dynamics) -> list[str]:
    people = [r.agent for r in d.airtime.rows]
    cols = [*people, MODERATOR]
    if any(row.get(ROOM) for row in d.airtime.replies.values()):
        cols.append(ROOM)
    return cols


def conformity_line(d: Dynamics) -> str:
    c = d.conformity
    if not c.eligible:
        return "Conformity: no re-asked private-first poll with an answer that could move towards the group."
    return (
        f"Conformity: {c.conformed} of {c.eligible} answers that could move towards the group's first answer "
        f"did ({_pct(c.rate)}); {c.away} moved away."
    )


def voice_line(d: Dynamics) -> str:
    v = d.voices
    if v.mean_overlap is None:
        return (
            f"Voice similarity: too little speech to compare (two personas need at least {MIN_NGRAMS} "
            f"distinct {NGRAM}-word phrases each)."
        )
    return (
        f"Voice similarity: mean pairwise overlap of {NGRAM}-word phrases {v.mean_overlap:.0%} "
        f"(warning at {COLLAPSE_JACCARD:.0%}); distinct phrases across the panel {_pct(v.distinct_ratio)}."
    )


def embedding_line(d: Dynamics) -> str:
    """The embedding readout in one sentence: the figures and what they cost, or why there are none."""
    e = d.embeddings
    if e.status == "not_requested":
        return "Voice similarity by embeddings: not computed (it takes embedding calls; ask with --embeddings)."
    sim = e.similarity
    if e.status != "computed" or sim is None:
        return f"Voice similarity by embeddings: {e.note}."
    if sim.mean_similarity is None:
        return (
            f"Voice similarity by embeddings: too little speech to compare (two personas need at least "
            f"{EMBED_MIN_REMARKS} remarks each); {e.note}."
        )
    alike = (
        f"; most alike: {sim.most_alike[0]} and {sim.most_alike[1]} ({sim.most_alike_similarity:.2f})"
        if sim.most_alike and sim.most_alike_similarity is not None
        else ""
    )
    return (
        f"Voice similarity by embeddings: mean cosine between the personas' voices {sim.mean_similarity:.2f} "
        f"(warning at {EMBED_COLLAPSE_COSINE:.2f}){alike}; {e.note}."
    )


def dynamics_summary(d: Dynamics) -> str:
    """A few lines for a live notice: airtime shares, who dominates, conformity, voices."""
    shares = " · ".join(f"{r.agent.split()[0]} {r.share:.0%}" for r in d.airtime.rows)
    lines = [f"Airtime (words): {shares or 'nobody has spoken'}"]
    top = d.airtime.dominant()
    if top is not None and d.airtime.rows and top.share >= 2 / max(2, len(d.airtime.rows)):
        lines.append(f"{top.agent} dominates ({top.share:.0%}): /hold {top.agent.split()[0]} or /quiet")
    c = d.conformity
    lines.append(f"Conformity: {c.conformed} of {c.eligible} ({_pct(c.rate)})" if c.eligible else "Conformity: —")
    v = d.voices
    lines.append(
        f"Voice overlap: {_pct(v.mean_overlap)}" + (" — one voice! try /devil" if v.collapsed else "")
        if v.mean_overlap is not None
        else "Voice overlap: too little speech"
    )
    return "\n".join(lines)


def dynamics_markdown(d: Dynamics, *, heading: str = "##") -> list[str]:
    out = [f"{heading} Group dynamics", "", f"_{md_escape(DYNAMICS_NOTE)}_", ""]
    out += ["| Persona | Turns | Words | Share | Passes |", "|---|---:|---:|---:|---:|"]
    for r in d.airtime.rows:
        out.append(f"| {md_escape(r.agent)} | {r.turns} | {r.words} | {r.share:.0%} | {r.passes} |")
    out.append("")
    cols = _columns(d)
    if d.airtime.rows:
        out += [
            "**Who answered whom** (rows answer columns)",
            "",
            "| ↓ answers → | " + " | ".join(md_escape(c) for c in cols) + " |",
            "|---|" + "---:|" * len(cols),
        ]
        for speaker, row in d.airtime.replies.items():
            out.append(f"| {md_escape(speaker)} | " + " | ".join(str(row.get(c, 0)) for c in cols) + " |")
        out.append("")
    out += [f"**Opinion drift** ({len(d.drift)} re-asked poll{'s' if len(d.drift) != 1 else ''})", ""]
    if not d.drift:
        out += ["- No private-first poll was asked again.", ""]
    for drift in d.drift:
        out.append(
            f"- “{md_escape(drift.question)}” (#{drift.first_seq} → #{drift.again_seq}, group first: "
            f"{md_escape(drift.reference)}): {drift.moved} of {len(drift.moves)} moved, {drift.towards} towards the group"
        )
        for m in drift.moves:
            delta = f" ({_signed(m.delta)})" if m.delta is not None else ""
            out.append(f"  - {md_escape(m.agent)}: {md_escape(m.before)} → {md_escape(m.after)}{delta} — {m.direction}")
    if d.drift:
        out.append("")
    out += [
        f"- {md_escape(conformity_line(d))}",
        f"- {md_escape(voice_line(d))}",
        f"- {md_escape(embedding_line(d))}",
    ]
    out += [f"- **Warning:** {md_escape(w)}" for w in d.warnings]
    return out + [""]


def dynamics_html(d: Dynamics) -> str:
    parts = ['<section class="dynamics"><h2>Group dynamics</h2>', f'<p class="small">{esc(DYNAMICS_NOTE)}</p>']
    parts.append(
        "<table><thead><tr><th>Persona</th><th>Turns</th><th>Words</th><th>Share</th><th>Passes</th></tr></thead><tbody>"
    )
    for r in d.airtime.rows:
        parts.append(
            f"<tr><td>{esc(r.agent)}</td><td>{r.turns}</td><td>{r.words}</td><td>{r.share:.0%}</td><td>{r.passes}</td></tr>"
        )
    parts.append("</tbody></table>")
    cols = _columns(d)
    if d.airtime.rows:
        parts.append("<h3>Who answered whom</h3><table><thead><tr><th>answers →</th>")
        parts += [f"<th>{esc(c)}</th>" for c in cols]
        parts.append("</tr></thead><tbody>")
        for speaker, row in d.airtime.replies.items():
            cells = "".join(f"<td>{row.get(c, 0)}</td>" for c in cols)
            parts.append(f"<tr><th>{esc(speaker)}</th>{cells}</tr>")
        parts.append("</tbody></table>")
    parts.append("<h3>Opinion drift</h3>")
    if not d.drift:
        parts.append('<p class="small">No private-first poll was asked again.</p>')
    for drift in d.drift:
        parts.append(
            f"<p>“{esc(drift.question)}” (#{drift.first_seq} → #{drift.again_seq}, group first: {esc(drift.reference)}): "
            f"{drift.moved} of {len(drift.moves)} moved, {drift.towards} towards the group</p><ul>"
        )
        for m in drift.moves:
            delta = f" ({_signed(m.delta)})" if m.delta is not None else ""
            parts.append(f"<li>{esc(m.agent)}: {esc(m.before)} → {esc(m.after)}{delta} — {esc(m.direction)}</li>")
        parts.append("</ul>")
    parts.append(f"<p>{esc(conformity_line(d))}</p><p>{esc(voice_line(d))}</p><p>{esc(embedding_line(d))}</p>")
    parts += [f'<p class="warning"><strong>Warning:</strong> {esc(w)}</p>' for w in d.warnings]
    parts.append("</section>")
    return "\n".join(parts)


def dynamics_json(d: Dynamics) -> str:
    return json.dumps(d.to_json_dict(), ensure_ascii=False, indent=2) + "\n"


__all__ = [
    "DYNAMICS_NOTE",
    "conformity_line",
    "dynamics_summary",
    "dynamics_html",
    "dynamics_json",
    "dynamics_markdown",
    "embedding_line",
    "voice_line",
]
