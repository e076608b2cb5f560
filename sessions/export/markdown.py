"""Markdown transcript: sections, stimuli, who said what, polls as tables.

Readable as plain text and safe when rendered: persona and stimulus text is escaped so that
``<script>`` or a ``[link](…)`` written by a model stays text in any Markdown viewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from troupe.core.poll_stats import CompareRow, PollChange, PollResult, format_share, poll_changes
from troupe.sessions.export.common import SIMULATED_NOTICE, provenance, session_facts
from troupe.sessions.transcript import ROLE_TAGS, Entry, ModeratorNote, SectionBlock, StarredQuote, Transcript


def md_escape(text: str) -> str:
    """Neutralise what a Markdown renderer would turn into HTML or links, on one line: line
    breaks become spaces (a name, a title or a question can never start a new block)."""
    text = " ".join(text.splitlines())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]")


_BLOCK_START = re.compile(r"^([#>*+\-=_|`~:])|^(\d+)([.)])")


def md_line(line: str) -> str:
    """One escaped line that cannot open a Markdown block of its own: a leading heading mark,
    quote, list or rule marker, fence, table pipe or ``**Bold:**`` label is backslash-escaped,
    so a reply's text stays inside its speaker's entry."""
    return _BLOCK_START.sub(
        lambda m: "\\" + m.group(1) if m.group(1) else m.group(2) + "\\" + m.group(3), md_escape(line.strip()), count=1
    )


def md_block(text: str) -> str:
    """Escaped text whose line breaks survive rendering (hard breaks, no blank lines), each
    line unable to start a block (see :func:`md_line`)."""
    lines = [md_line(line) for line in text.strip().splitlines() if line.strip()]
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
    changes = {c.after.seq: c for c in poll_changes(t.polls)}
    for section in t.sections:
        out += _section(section, changes)
    out += moderator_markdown(t.highlights, t.notes)
    return "\n".join(out).rstrip() + "\n"


def moderator_markdown(highlights: Sequence[StarredQuote], notes: Sequence[ModeratorNote]) -> list[str]:
    """The "Highlights" section and the "Moderator notes" appendix (the moderator's marks)."""
    out: list[str] = []
    if highlights:
        out += ["## Highlights", "", "_Starred by the moderator._", ""]
        for h in highlights:
            tag = f" `{md_escape(h.tag)}`" if h.tag else ""
            out.append(f"- #{h.target} **{md_escape(h.speaker)}**{tag}: “{md_escape(' '.join(h.text.split()))}”")
        out.append("")
    if notes:
        out += ["## Moderator notes", "", "_Private to the moderator: no participant saw them._", ""]
        out += [f"- #{n.seq} _{md_escape(n.author)}_: {md_escape(' '.join(n.text.split()))}" for n in notes]
        out.append("")
    return out


def _section(section: SectionBlock, changes: dict[int, PollChange]) -> list[str]:
    heading = (
        f"## {section.index + 1}. {md_escape(section.title)}"
        if section.index >= 0
        else f"## {md_escape(section.title)}"
    )
    out = [heading, ""]
    for entry in section.entries:
        out += _entry(entry)
        out.append("")
        if entry.kind == "poll" and entry.poll is not None and entry.poll.seq in changes:
            out += [*change_markdown(changes[entry.poll.seq]), ""]
    return out


def _entry(e: Entry) -> list[str]:
    seq = f"<sub>#{e.seq}</sub>"
    if e.kind == "moderator":
        return [f"**Moderator{_to(e)}:** {md_block(e.text)} {seq}"]
    if e.kind == "say":
        muted = " _(muted — not heard by the room)_" if e.muted else ""
        if e.role in ROLE_TAGS:
            muted += f" _({ROLE_TAGS[e.role]})_"
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
        lines += [f"> {md_line(line)}" if line.strip() else ">" for line in e.text.strip().splitlines()]
        return lines
    if e.kind == "poll" and e.poll is not None:
        return poll_markdown(e.poll, seq)
    return []


def _to(e: Entry, sep: str = " → ") -> str:
    return f"{sep}{md_escape(', '.join(e.to))}" if e.to else ""


def poll_markdown(poll: PollResult, seq: str = "") -> list[str]:
    """A poll as Markdown: the question, the chart as a table with bars, statistics, the answers.

    Shares are of respondents (multi-choice: who chose the option); a number poll's rows are
    its bins, the median's marked."""
    mode = "answered privately first" if poll.private_first else "answered in the open"
    out = [
        f"### Poll: {md_escape(poll.question)} {seq}".rstrip(),
        "",
        f"_{md_escape(poll.kind)} · {mode} · {md_escape(poll.summary())}_",
        "",
    ]
    bars = poll.bars()
    if bars:
        top = max(b.count for b in bars) or 1
        out += ["| Answer | Count | Share | |", "|---|---:|---:|---|"]
        out += [
            f"| {md_cell(b.label)}{' (median)' if b.median else ''} | {b.count} | {format_share(b.share)} | "
            f"{'█' * round(12 * b.count / top)} |"
            for b in bars
        ]
        out.append("")
    out += [" · ".join(f"**{name}** {value}" for name, value in poll.stats()), ""]
    if poll.answers:
        out += ["| Participant | Answer | Reason |", "|---|---|---|"]
        out += [f"| {md_cell(a.agent)} | {md_cell(a.display())} | {md_cell(a.rationale)} |" for a in poll.answers]
    else:
        out.append("_No answers were logged._")
    return out


def compare_markdown(rows: Sequence[CompareRow], names: Sequence[str]) -> list[str]:
    """A side-by-side distribution (:func:`~troupe.core.poll_stats.side_by_side`) as a table:
    one row per option or shared bin, ``count (share)`` for each result compared."""
    if not rows:
        return []
    out = ["| Answer | " + " | ".join(md_cell(n) for n in names) + " |", "|---" + "|---:" * len(names) + "|"]
    for r in rows:
        cells = " | ".join(f"{c} ({format_share(sh)})" for c, sh in zip(r.counts, r.shares))
        out.append(f"| {md_cell(r.label)} | {cells} |")
    return out


def change_markdown(change: PollChange) -> list[str]:
    """A poll answered privately and asked again: before and after, and who moved."""
    before, after = change.before, change.after
    names = [f"before (#{before.seq})", f"after (#{after.seq})"]
    out = [
        f"### Before and after: {md_escape(after.question)}",
        "",
        f"_first asked privately (#{before.seq}, n={before.n}), asked again after discussion (#{after.seq}, n={after.n})_",
        "",
        *compare_markdown(change.rows(), names),
        "",
    ]
    moved = change.moved
    if moved:
        out += ["| Moved | Before | After |", "|---|---|---|"]
        out += [f"| {md_cell(name)} | {md_cell(a.display())} | {md_cell(b.display())} |" for name, a, b in moved]
        out.append("")
    stayed = change.stayed
    out.append(
        f"{len(moved)} of {len(change.both)} changed their answer"
        + (f"; kept theirs: {md_escape(', '.join(stayed))}" if stayed else "")
        + "."
    )
    return out
