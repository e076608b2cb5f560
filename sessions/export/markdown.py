"""Markdown transcript: sections, stimuli, who said what, polls as tables.

Readable as plain text and safe when rendered: persona and stimulus text is escaped so that
``<script>`` or a ``[link](…)`` written by a model stays text in any Markdown viewer.
"""

from __future__ import annotations

from datetime import datetime

from troupe.sessions.export.common import SIMULATED_NOTICE, provenance, session_facts
from troupe.sessions.pollstats import PollResult, format_sd
from troupe.sessions.transcript import Entry, SectionBlock, Transcript


def md_escape(text: str) -> str:
    """Neutralise what a Markdown renderer would turn into HTML or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")


def md_block(text: str) -> str:
    """Escaped text whose line breaks survive rendering (hard breaks, no blank lines)."""
    lines = [md_escape(line.rstrip()) for line in text.strip().splitlines() if line.strip()]
    return "  \n".join(lines)


def md_cell(text: str) -> str:
    """Escaped text for one table cell (pipes escaped, newlines as <br>)."""
    return "<br>".join(
        md_escape(line.strip()).replace("|", "\\|") for line in text.strip().splitlines() if line.strip()
    )


def render_markdown(t: Transcript, *, generated_at: datetime | None = None) -> str:
    info = t.info
    out: list[str] = [f"# {md_escape(info.title)}", ""]
    out += [
        f"> **Simulated participants.** {SIMULATED_NOTICE}",
        ">",
        f"> {md_escape(provenance(info, generated_at))}",
        "",
    ]
    out += ["| | |", "|---|---|"]
    rows = session_facts(t)
    out += [f"| {k} | {md_cell(v)} |" for k, v in rows]
    out += ["", "## Participants", ""]
    for name in t.speakers():
        descriptor = info.descriptor(name)
        out.append(f"- **{md_escape(name)}**" + (f" — {md_escape(descriptor)}" if descriptor else ""))
    out.append("")
    for section in t.sections:
        out += _section(section)
    return "\n".join(out).rstrip() + "\n"


def _section(section: SectionBlock) -> list[str]:
    heading = (
        f"## {section.index + 1}. {md_escape(section.title)}"
        if section.index >= 0
        else f"## {md_escape(section.title)}"
    )
    out = [heading, ""]
    for entry in section.entries:
        out += _entry(entry)
        out.append("")
    return out


def _entry(e: Entry) -> list[str]:
    seq = f"<sub>#{e.seq}</sub>"
    if e.kind == "moderator":
        return [f"**Moderator{_to(e)}:** {md_block(e.text)} {seq}"]
    if e.kind == "say":
        muted = " _(muted — not heard by the room)_" if e.muted else ""
        return [f"**{md_escape(e.speaker or '?')}{_to(e)}:**{muted} {md_block(e.text)} {seq}"]
    if e.kind == "think":
        return [f"_{md_escape(e.speaker or '?')} (private thought):_ _{md_block(e.text)}_ {seq}"]
    if e.kind == "pass":
        return [f"_{md_escape(e.speaker or '?')} stays silent._ {seq}"]
    if e.kind == "note":
        return [f"_— {md_block(e.text)}_ {seq}"]
    if e.kind == "stimulus":
        label = {"concept": "Concept", "image": "Image", "text": "Stimulus"}.get(e.stimulus_kind or "text", "Stimulus")
        head = f"> **{label}{': ' + md_escape(e.title) if e.title else ''}** _(shown by the {e.speaker.lower() if e.speaker else 'guide'}{_to(e, ' to ')})_ {seq}"
        lines = [head, ">"]
        if e.path:
            target = e.path.replace(" ", "%20").replace(")", "%29").replace("(", "%28")
            lines += [
                f"> ![{md_escape(e.title or label)}]({target})",
                ">",
                f"> Image file: `{e.path.replace('`', '')}`",
                ">",
            ]
        lines += [f"> {md_escape(line)}" if line.strip() else ">" for line in e.text.strip().splitlines()]
        return lines
    if e.kind == "poll" and e.poll is not None:
        return poll_markdown(e.poll, seq)
    return []


def _to(e: Entry, sep: str = " → ") -> str:
    return f"{sep}{md_escape(', '.join(e.to))}" if e.to else ""


def poll_markdown(poll: PollResult, seq: str = "") -> list[str]:
    """A poll as Markdown: the question, a count table with bars, statistics, the answers."""
    mode = "answered privately first" if poll.private_first else "answered in the open"
    out = [f"### Poll: {md_escape(poll.question)} {seq}".rstrip(), "", f"_{poll.kind} · {mode} · {poll.summary()}_", ""]
    counts = poll.counts
    if counts and poll.kind != "text":
        top = max(counts.values()) or 1
        out += ["| Answer | Count | |", "|---|---:|---|"]
        out += [f"| {md_cell(label)} | {n} | {'█' * round(12 * n / top)} |" for label, n in counts.items()]
        out.append("")
    if poll.mean is not None:
        out += [f"**Mean** {poll.mean:.2f} · **SD** {format_sd(poll.stdev)} (sample) · **n** {poll.n}", ""]
    if poll.answers:
        out += ["| Participant | Answer | Reason |", "|---|---|---|"]
        out += [f"| {md_cell(a.agent)} | {md_cell(a.display())} | {md_cell(a.rationale)} |" for a in poll.answers]
    else:
        out.append("_No answers were logged._")
    return out
