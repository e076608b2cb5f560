"""Render a findings :class:`~troupe.sessions.report.Report` as Markdown or HTML.

Same escaping rules and page building blocks as the transcript exports. Each quote shows the
event number (``#seq``) it comes from; in HTML it links into ``transcript.html`` when that
file sits beside the report.
"""

from __future__ import annotations

from troupe.sessions.dynamics_render import dynamics_html, dynamics_markdown
from troupe.sessions.export.common import SIMULATED_NOTICE, provenance
from troupe.sessions.export.html import esc, notice_html, page, poll_html, speaker_colours
from troupe.sessions.export.markdown import md_block, md_escape, poll_markdown
from troupe.sessions.quotes import Quote
from troupe.sessions.report import Finding, Profile, Report, SectionFindings
from troupe.sessions.themes import Theme
from troupe.sessions.transcript import human_time

VERDICT_WORDS = {
    "agreed": "Agreed",
    "shared": "Common ground",
    "mixed": "Mixed",
    "split": "Split",
    "minority": "Minority view",
}

OVERALL_NOTE = "Words that recur across sections, by lexical clustering over all {n} remarks."

POLL_NOTE = "Poll statistics are computed from the event log (sample standard deviation); no model is involved in them."


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 remark``, ``3 remarks`` (``many`` for irregular plurals: ``pass``/``passes``)."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def quoted(text: str) -> str:
    """Text in curly quotes, unless it already is quoted."""
    t = text.strip()
    return t if t[:1] in '"“«' else f"“{t}”"


def _intro(r: Report) -> list[str]:
    seated = len(r.profiles)
    numbered = [s for s in r.sections if s.index >= 0]
    return [
        f"{plural(seated, 'simulated participant')}, {plural(len(numbered), 'section')}, "
        f"{plural(r.utterance_count, 'remark')}, {plural(len(r.polls), 'poll')}.",
        r.themes_source,
        POLL_NOTE,
    ]


def _agreement_lines(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    agreed = [f for f in findings if f.verdict in ("agreed", "shared")]
    split = [f for f in findings if f.verdict in ("split", "minority", "mixed")]
    return agreed, split


# -- Markdown --------------------------------------------------------------------------------


def render_report_markdown(r: Report) -> str:
    out = [f"# Findings — {md_escape(r.info.title)}", ""]
    out += [
        f"> **Simulated participants.** {SIMULATED_NOTICE}",
        ">",
        f"> {md_escape(provenance(r.info, r.generated_at))}",
        "",
    ]
    out += ["## How this report was made", ""] + [f"- {md_escape(line)}" for line in _intro(r)]
    out += [
        f"- Quotes are verbatim; `#n` is the event number in the run's log (run started {human_time(r.info.started_at)}).",
        "",
    ]
    agreed, split = _agreement_lines(r.findings)
    out += ["## Where the group agreed and where it split", ""]
    out += _md_findings("Agreed / common ground", agreed) + _md_findings("Split / minority views", split)
    if r.overall:
        out += ["## Across the session", "", f"_{md_escape(OVERALL_NOTE.format(n=r.utterance_count))}_", ""]
        for theme in r.overall:
            out += _md_theme(theme)
    for section in r.sections:
        out += _md_section(section)
    if r.dynamics is not None:  # before the poll tables, which readers (and tests) take to the end
        out += dynamics_markdown(r.dynamics)
    if r.polls:
        out += ["## Poll results", "", f"_{POLL_NOTE}_", ""]
        for poll in r.polls:
            out += [*poll_markdown(poll, f"<sub>#{poll.seq}</sub>"), ""]
    out += ["## Participants", ""]
    for p in r.profiles:
        out += [f"### {md_escape(p.name)}" + (f" — {md_escape(p.descriptor)}" if p.descriptor else ""), ""]
        airtime = f"{plural(p.turns, 'remark')}, {p.chars:,} characters ({p.share:.0%} of all speech)"
        extras = [plural(p.passes, "pass", "passes")] if p.passes else []
        extras += [f"{p.muted_turns} while muted"] if p.muted_turns else []
        out.append(f"- **Airtime:** {airtime}" + (f"; {', '.join(extras)}" if extras else ""))
        out.append(f"- **Stance:** {md_escape(p.stance)}")
        out += [f"  - {md_escape(line)}" for line in p.answers]
        if p.quotes:
            out.append("- **Notable quotes:**")
            out += [f"  - “{md_escape(q.text)}” (#{q.seq})" for q in p.quotes]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md_findings(title: str, findings: list[Finding]) -> list[str]:
    out = [f"**{title}**", ""]
    if not findings:
        return out + ["- None detected.", ""]
    for f in findings:
        basis = "poll" if f.basis == "poll" else f"theme in “{md_escape(f.section)}”"
        out.append(
            f"- **{VERDICT_WORDS[f.verdict]}** — {md_escape(quoted(f.topic))}: {md_escape(f.detail)} _({basis})_"
        )
    return out + [""]


def _md_section(s: SectionFindings) -> list[str]:
    heading = f"## {s.index + 1}. {md_escape(s.title)}" if s.index >= 0 else f"## {md_escape(s.title)}"
    method = {"llm": "themes proposed by the model", "lexical": "themes by lexical clustering", None: "no themes"}[
        s.method
    ]
    note = f" — {md_escape(s.method_note)}" if s.method_note else ""
    out = [
        heading,
        "",
        f"_{plural(s.utterances, 'remark')} by {plural(len(s.speakers), 'participant')} · {method}{note}_",
        "",
    ]
    for theme in s.themes:
        out += _md_theme(theme)
    for poll in s.polls:
        out.append(f"- Poll {md_escape(quoted(poll.question))}: {md_escape(poll.summary())} (see Poll results)")
    if s.polls:
        out.append("")
    return out


def _md_theme(theme: Theme) -> list[str]:
    out = [f"### {md_escape(theme.label)}", "", md_block(theme.summary), ""]
    out += [f"> “{md_escape(q.text)}” — **{md_escape(q.agent)}** (#{q.seq})" for q in theme.quotes]
    return out + [""]


# -- HTML ------------------------------------------------------------------------------------

REPORT_CSS = """
.findings li { margin: .25rem 0; }
.verdict { font-weight: 700; }
.verdict.agreed, .verdict.shared { color: #2b8a3e; }
.verdict.split, .verdict.minority { color: #c92a2a; }
.verdict.mixed { color: #e67700; }
.theme { margin: 1rem 0 1.4rem; }
.theme h3 { margin-bottom: .2rem; }
blockquote cite { font-style: normal; color: var(--muted); font-size: .88rem; margin-left: .4rem; }
.profile { border: 1px solid var(--rule); border-radius: 8px; padding: .6rem 1rem; margin: .8rem 0; break-inside: avoid; }
.profile h3 { margin-top: .2rem; color: var(--c); }
.bar { height: .55rem; background: var(--c); border-radius: 3px; display: inline-block; vertical-align: middle; }
"""


def render_report_html(r: Report, *, transcript_href: str | None = None) -> str:
    colours = speaker_colours([p.name for p in r.profiles])
    body = [
        f"<header>\n<h1>Findings — {esc(r.info.title)}</h1>",
        notice_html(provenance(r.info, r.generated_at)),
        "</header>",
    ]
    body.append("<section><h2>How this report was made</h2><ul>")
    body += [f"<li>{esc(line)}</li>" for line in _intro(r)]
    body.append(
        f"<li>Quotes are verbatim; #n is the event number in the run's log (run started {esc(human_time(r.info.started_at))}).</li></ul></section>"
    )
    agreed, split = _agreement_lines(r.findings)
    body.append("<section><h2>Where the group agreed and where it split</h2>")
    body += [
        _html_findings("Agreed / common ground", agreed),
        _html_findings("Split / minority views", split),
        "</section>",
    ]
    if r.overall:
        body.append(
            f'<section><h2>Across the session</h2><p class="small">{esc(OVERALL_NOTE.format(n=r.utterance_count))}</p>'
        )
        body += [_html_theme(theme, colours, transcript_href) for theme in r.overall]
        body.append("</section>")
    for section in r.sections:
        body.append(_html_section(section, colours, transcript_href))
    if r.dynamics is not None:
        body.append(dynamics_html(r.dynamics))
    if r.polls:
        body.append(f'<section><h2>Poll results</h2><p class="small">{esc(POLL_NOTE)}</p>')
        body += [poll_html(p, colours) for p in r.polls]
        body.append("</section>")
    body.append("<section><h2>Participants</h2>")
    body += [_html_profile(p, colours, transcript_href) for p in r.profiles]
    body.append("</section>")
    return page(f"Findings — {r.info.title}", r.info.language, "\n".join(body), extra_css=REPORT_CSS)


def _html_findings(title: str, findings: list[Finding]) -> str:
    if not findings:
        return f'<h3>{esc(title)}</h3><p class="small">None detected.</p>'
    items = []
    for f in findings:
        basis = "poll" if f.basis == "poll" else f"theme in “{f.section}”"
        items.append(
            f'<li><span class="verdict {f.verdict}">{esc(VERDICT_WORDS[f.verdict])}</span> — {esc(quoted(f.topic))}: '
            f'{esc(f.detail)} <span class="small">({esc(basis)})</span></li>'
        )
    return f'<h3>{esc(title)}</h3><ul class="findings">{"".join(items)}</ul>'


def _cite(q: Quote, href: str | None) -> str:
    label = f"#{q.seq}"
    return f'<a href="{esc(href)}#e{q.seq}">{label}</a>' if href else label


def _quote_html(q: Quote, colours: dict[str, str], href: str | None) -> str:
    return (
        f'<blockquote style="--c:{colours.get(q.agent, "#888")}" data-seq="{q.seq}">“{esc(q.text)}”'
        f"<cite>— {esc(q.agent)}, {_cite(q, href)}</cite></blockquote>"
    )


def _html_theme(theme: Theme, colours: dict[str, str], href: str | None) -> str:
    quotes = "".join(_quote_html(q, colours, href) for q in theme.quotes)
    return f'<div class="theme"><h3>{esc(theme.label)}</h3><p>{esc(theme.summary)}</p>{quotes}</div>'


def _html_section(s: SectionFindings, colours: dict[str, str], href: str | None) -> str:
    title = f"{s.index + 1}. {s.title}" if s.index >= 0 else s.title
    method = {"llm": "themes proposed by the model", "lexical": "themes by lexical clustering", None: "no themes"}[
        s.method
    ]
    note = f" — {s.method_note}" if s.method_note else ""
    parts = [
        f"<section><h2>{esc(title)}</h2>",
        f'<p class="small">{plural(s.utterances, "remark")} by {plural(len(s.speakers), "participant")} · {esc(method + note)}</p>',
    ]
    parts += [_html_theme(theme, colours, href) for theme in s.themes]
    for poll in s.polls:
        parts.append(
            f'<p>Poll {esc(quoted(poll.question))}: {esc(poll.summary())} <a href="#poll-{poll.seq}">(chart)</a></p>'
        )
    parts.append("</section>")
    return "\n".join(parts)


def _html_profile(p: Profile, colours: dict[str, str], href: str | None) -> str:
    colour = colours.get(p.name, "#888")
    extras = ([plural(p.passes, "pass", "passes")] if p.passes else []) + (
        [f"{p.muted_turns} while muted"] if p.muted_turns else []
    )
    parts = [
        f'<div class="profile" style="--c:{colour}"><h3>{esc(p.name)}</h3>',
        f'<p class="small">{esc(p.descriptor)}</p>' if p.descriptor else "",
        f'<p><strong>Airtime:</strong> <span class="bar" style="width:{max(2, round(p.share * 200))}px"></span> '
        f"{plural(p.turns, 'remark')}, {p.chars:,} characters ({p.share:.0%} of all speech)"
        + (f"; {esc(', '.join(extras))}" if extras else "")
        + "</p>",
        f"<p><strong>Stance:</strong> {esc(p.stance)}</p>",
    ]
    if p.answers:
        parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in p.answers) + "</ul>")
    parts += [_quote_html(q, colours, href) for q in p.quotes]
    parts.append("</div>")
    return "\n".join(x for x in parts if x)
