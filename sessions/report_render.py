"""Render a findings :class:`~troupe.sessions.report.Report` as Markdown or HTML.

Same escaping rules and page building blocks as the transcript exports. Each quote shows the
event number (``#seq``) it comes from; in HTML it links into ``transcript.html`` when that
file sits beside the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from troupe.sessions.dynamics_render import dynamics_html, dynamics_markdown
from troupe.sessions.export.common import SIMULATED_NOTICE, provenance
from troupe.sessions.export.html import (
    change_html,
    esc,
    moderator_html,
    notice_html,
    page,
    poll_html,
    speaker_colours,
)
from troupe.sessions.export.markdown import change_markdown, md_block, md_escape, moderator_markdown, poll_markdown
from troupe.sessions.quotes import Quote
from troupe.sessions.report import Finding, Profile, Report, SectionFindings
from troupe.sessions.themes import Theme
from troupe.sessions.transcript import human_time

VERDICT_WORDS = {"agreed": "Agreed", "mixed": "Mixed", "split": "Split"}

AGREEMENT_TITLE = "Where the group agreed and where it split"
AGREEMENT_NOTE = (
    "From poll answers, and from model themes whose stance the verified quotes carry "
    "(quotes for it from two or more participants and none against, or quotes on both sides)."
)
TOPICS_TITLE = "Topics raised"
TOPICS_NOTE = (
    "Grouped by shared words, which show what was talked about, not what anyone thought of it: "
    "who raised each topic, in their own words."
)
OVERALL_NOTE = "Words that recur across sections, by lexical clustering over all {n} remarks."

POLL_NOTE = "Poll statistics are computed from the event log (sample standard deviation); no model is involved in them."
CHANGES_NOTE = "Polls answered privately first and asked again later in the session, side by side."
TURN_CHECK_NOTE = (
    "Each remark was checked against its persona card by an LLM judge before the room heard it, and "
    "regenerated once below the threshold:"
)
UNCARRIED = "The model claimed a stance the verified quotes do not carry; its summary is left out."


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
    checks = r.info.turn_checks
    return [
        f"{plural(seated, 'simulated participant')}, {plural(len(numbered), 'section')}, "
        f"{plural(r.utterance_count, 'remark')}, {plural(len(r.polls), 'poll')}.",
        r.themes_source,
        POLL_NOTE,
        *([f"{TURN_CHECK_NOTE} {checks.summary()}."] if checks.shown else []),
    ]


def _agreement_lines(findings: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    agreed = [f for f in findings if f.verdict == "agreed"]
    split = [f for f in findings if f.verdict in ("split", "mixed")]
    return agreed, split


def stance_line(theme: Theme) -> str:
    """What a theme may say about agreement: nothing for a lexical topic; for a model theme,
    the stance its verified quotes carry, or "stance unclear"."""
    if theme.method != "llm":
        return ""
    pro, con = theme.sides
    if theme.stance == "agreed":
        return f"Stance: agreed — quoted for it: {', '.join(pro)}; no one quoted against."
    if theme.stance == "split":
        return f"Stance: split — for: {', '.join(pro)}; against: {', '.join(con)}."
    return "Stance unclear."


def theme_summary(theme: Theme) -> str:
    """The theme's summary, unless it rests on a stance claim the quotes did not carry."""
    if theme.method == "llm" and theme.claimed in ("agreed", "split") and theme.stance != theme.claimed:
        return UNCARRIED
    return theme.summary


def _side(q: Quote) -> str:
    return {"for": " [for]", "against": " [against]"}.get(q.side or "", "")


# -- Markdown --------------------------------------------------------------------------------
#
# The report is a sequence of parts, each a function of the report; a new section is one more
# function in MD_PARTS (and its HTML twin in HTML_PARTS).


def _md_header(r: Report) -> list[str]:
    out = [f"# Findings — {md_escape(r.info.title)}", ""]
    out += [
        f"> **Simulated participants.** {SIMULATED_NOTICE}",
        ">",
        f"> {md_escape(provenance(r.info, r.generated_at))}",
        "",
    ]
    out += ["## How this report was made", ""] + [f"- {md_escape(line)}" for line in _intro(r)]
    return out + [
        f"- Quotes are verbatim; `#n` is the event number in the run's log (run started {human_time(r.info.started_at)}).",
        "",
    ]


def _md_agreement(r: Report) -> list[str]:
    if not r.findings:
        return []
    agreed, split = _agreement_lines(r.findings)
    out = [f"## {AGREEMENT_TITLE}", "", f"_{md_escape(AGREEMENT_NOTE)}_", ""]
    return out + _md_findings("Agreed", agreed) + _md_findings("Split or mixed", split)


def _md_overall(r: Report) -> list[str]:
    if not r.overall:
        return []
    out = [f"## {TOPICS_TITLE} across the session", "", f"_{md_escape(OVERALL_NOTE.format(n=r.utterance_count))}_", ""]
    for theme in r.overall:
        out += _md_theme(theme)
    return out


def _md_sections(r: Report) -> list[str]:
    return [line for section in r.sections for line in _md_section(section)]


def _md_dynamics(r: Report) -> list[str]:
    """Group dynamics (``docs/dynamics.md``), before the poll tables."""
    return dynamics_markdown(r.dynamics) if r.dynamics is not None else []


def _md_polls(r: Report) -> list[str]:
    if not r.polls:
        return []
    out = ["## Poll results", "", f"_{POLL_NOTE}_", ""]
    for poll in r.polls:
        out += [*poll_markdown(poll, f"<sub>#{poll.seq}</sub>"), ""]
    return out


def _md_changes(r: Report) -> list[str]:
    if not r.changes:
        return []
    out = ["## Before and after discussion", "", f"_{CHANGES_NOTE}_", ""]
    for change in r.changes:
        out += [*change_markdown(change), ""]
    return out


def _md_profiles(r: Report) -> list[str]:
    out = ["## Participants", ""]
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
    return out


MD_PARTS: list[Callable[[Report], list[str]]] = [
    _md_header,
    _md_agreement,
    _md_overall,
    _md_sections,
    _md_dynamics,
    _md_polls,
    _md_changes,
    _md_profiles,
    lambda r: moderator_markdown(r.highlights, r.notes),
]


def render_report_markdown(r: Report) -> str:
    out = [line for part in MD_PARTS for line in part(r)]
    return "\n".join(out).rstrip() + "\n"


def _md_findings(title: str, findings: list[Finding]) -> list[str]:
    out = [f"**{title}**", ""]
    if not findings:
        return out + ["- None.", ""]
    for f in findings:
        basis = "poll" if f.basis == "poll" else f"theme in “{md_escape(f.section)}”"
        out.append(
            f"- **{VERDICT_WORDS[f.verdict]}** — {md_escape(quoted(f.topic))}: {md_escape(f.detail)} _({basis})_"
        )
    return out + [""]


def _method_words(s: SectionFindings) -> str:
    return {"llm": "themes proposed by the model", "lexical": "topics by shared words", None: "no themes"}[s.method]


def _md_section(s: SectionFindings) -> list[str]:
    heading = f"## {s.index + 1}. {md_escape(s.title)}" if s.index >= 0 else f"## {md_escape(s.title)}"
    note = f" — {md_escape(s.method_note)}" if s.method_note else ""
    out = [
        heading,
        "",
        f"_{plural(s.utterances, 'remark')} by {plural(len(s.speakers), 'participant')} · {_method_words(s)}{note}_",
        "",
    ]
    if s.method == "lexical" and s.themes:
        out += [f"**{TOPICS_TITLE}** — _{md_escape(TOPICS_NOTE)}_", ""]
    for theme in s.themes:
        out += _md_theme(theme)
    for poll in s.polls:
        out.append(f"- Poll {md_escape(quoted(poll.question))}: {md_escape(poll.summary())} (see Poll results)")
    if s.polls:
        out.append("")
    return out


def _md_theme(theme: Theme) -> list[str]:
    out = [f"### {md_escape(theme.label)}", ""]
    if theme.method == "lexical":
        out += [md_block(theme.summary), ""]  # who raised it, counted from the log
    else:
        out += [md_block(theme_summary(theme)), "", f"_{md_escape(stance_line(theme))}_", ""]
    out += [f"> “{md_escape(q.text)}” — **{md_escape(q.agent)}** (#{q.seq}){_side(q)}" for q in theme.quotes]
    return out + [""]


# -- HTML ------------------------------------------------------------------------------------

REPORT_CSS = """
.findings li { margin: .25rem 0; }
.verdict { font-weight: 700; }
.verdict.pos { color: #2b8a3e; }
.verdict.neg { color: #c92a2a; }
.verdict.mid { color: #e67700; }
.theme { margin: 1rem 0 1.4rem; }
.theme h3 { margin-bottom: .2rem; }
.stance { font-style: italic; color: var(--muted); }
blockquote cite { font-style: normal; color: var(--muted); font-size: .88rem; margin-left: .4rem; }
.profile { border: 1px solid var(--rule); border-radius: 8px; padding: .6rem 1rem; margin: .8rem 0; break-inside: avoid; }
.profile h3 { margin-top: .2rem; color: var(--c); }
.bar { height: .55rem; background: var(--c); border-radius: 3px; display: inline-block; vertical-align: middle; }
"""


@dataclass(frozen=True, slots=True)
class HtmlContext:
    colours: dict[str, str]
    href: str | None


def _html_header(r: Report, ctx: HtmlContext) -> str:
    body = [
        f"<header>\n<h1>Findings — {esc(r.info.title)}</h1>",
        notice_html(provenance(r.info, r.generated_at)),
        "</header>",
        "<section><h2>How this report was made</h2><ul>",
    ]
    body += [f"<li>{esc(line)}</li>" for line in _intro(r)]
    body.append(
        f"<li>Quotes are verbatim; #n is the event number in the run's log (run started {esc(human_time(r.info.started_at))}).</li></ul></section>"
    )
    return "\n".join(body)


def _html_agreement(r: Report, ctx: HtmlContext) -> str:
    if not r.findings:
        return ""
    agreed, split = _agreement_lines(r.findings)
    return "\n".join(
        [
            f'<section><h2>{esc(AGREEMENT_TITLE)}</h2><p class="small">{esc(AGREEMENT_NOTE)}</p>',
            _html_findings("Agreed", agreed),
            _html_findings("Split or mixed", split),
            "</section>",
        ]
    )


def _html_overall(r: Report, ctx: HtmlContext) -> str:
    if not r.overall:
        return ""
    body = [
        f"<section><h2>{esc(TOPICS_TITLE)} across the session</h2>"
        f'<p class="small">{esc(OVERALL_NOTE.format(n=r.utterance_count))}</p>'
    ]
    body += [_html_theme(theme, ctx.colours, ctx.href) for theme in r.overall]
    body.append("</section>")
    return "\n".join(body)


def _html_sections(r: Report, ctx: HtmlContext) -> str:
    return "\n".join(_html_section(section, ctx.colours, ctx.href) for section in r.sections)


def _html_dynamics(r: Report, ctx: HtmlContext) -> str:
    return dynamics_html(r.dynamics) if r.dynamics is not None else ""


def _html_polls(r: Report, ctx: HtmlContext) -> str:
    if not r.polls:
        return ""
    body = [f'<section><h2>Poll results</h2><p class="small">{esc(POLL_NOTE)}</p>']
    body += [poll_html(p, ctx.colours) for p in r.polls]
    body.append("</section>")
    return "\n".join(body)


def _html_changes(r: Report, ctx: HtmlContext) -> str:
    if not r.changes:
        return ""
    body = [f'<section><h2>Before and after discussion</h2><p class="small">{esc(CHANGES_NOTE)}</p>']
    body += [change_html(c, ctx.colours) for c in r.changes]
    body.append("</section>")
    return "\n".join(body)


def _html_profiles(r: Report, ctx: HtmlContext) -> str:
    body = ["<section><h2>Participants</h2>"]
    body += [_html_profile(p, ctx.colours, ctx.href) for p in r.profiles]
    body.append("</section>")
    return "\n".join(body)


HTML_PARTS: list[Callable[[Report, HtmlContext], str]] = [
    _html_header,
    _html_agreement,
    _html_overall,
    _html_sections,
    _html_dynamics,
    _html_polls,
    _html_changes,
    _html_profiles,
    lambda r, ctx: moderator_html(r.highlights, r.notes),
]


def render_report_html(r: Report, *, transcript_href: str | None = None) -> str:
    ctx = HtmlContext(speaker_colours([p.name for p in r.profiles]), transcript_href)
    body = [html for part in HTML_PARTS if (html := part(r, ctx))]
    return page(f"Findings — {r.info.title}", r.info.language, "\n".join(body), extra_css=REPORT_CSS)


def _html_findings(title: str, findings: list[Finding]) -> str:
    if not findings:
        return f'<h3>{esc(title)}</h3><p class="small">None.</p>'
    items = []
    for f in findings:
        basis = "poll" if f.basis == "poll" else f"theme in “{f.section}”"
        css = {"agreed": "pos", "split": "neg", "mixed": "mid"}[f.verdict]
        items.append(
            f'<li><span class="verdict {css}">{esc(VERDICT_WORDS[f.verdict])}</span> — {esc(quoted(f.topic))}: '
            f'{esc(f.detail)} <span class="small">({esc(basis)})</span></li>'
        )
    return f'<h3>{esc(title)}</h3><ul class="findings">{"".join(items)}</ul>'


def _cite(q: Quote, href: str | None) -> str:
    label = f"#{q.seq}"
    return f'<a href="{esc(href)}#e{q.seq}">{label}</a>' if href else label


def _quote_html(q: Quote, colours: dict[str, str], href: str | None) -> str:
    return (
        f'<blockquote style="--c:{colours.get(q.agent, "#888")}" data-seq="{q.seq}">“{esc(q.text)}”'
        f"<cite>— {esc(q.agent)}, {_cite(q, href)}{esc(_side(q))}</cite></blockquote>"
    )


def _html_theme(theme: Theme, colours: dict[str, str], href: str | None) -> str:
    quotes = "".join(_quote_html(q, colours, href) for q in theme.quotes)
    if theme.method == "lexical":
        about = f"<p>{esc(theme.summary)}</p>"  # who raised it, counted from the log
    else:
        about = f'<p>{esc(theme_summary(theme))}</p><p class="stance">{esc(stance_line(theme))}</p>'
    return f'<div class="theme"><h3>{esc(theme.label)}</h3>{about}{quotes}</div>'


def _html_section(s: SectionFindings, colours: dict[str, str], href: str | None) -> str:
    title = f"{s.index + 1}. {s.title}" if s.index >= 0 else s.title
    note = f" — {s.method_note}" if s.method_note else ""
    parts = [
        f"<section><h2>{esc(title)}</h2>",
        f'<p class="small">{plural(s.utterances, "remark")} by {plural(len(s.speakers), "participant")} · {esc(_method_words(s) + note)}</p>',
    ]
    if s.method == "lexical" and s.themes:
        parts.append(f'<h3>{esc(TOPICS_TITLE)}</h3><p class="small">{esc(TOPICS_NOTE)}</p>')
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
