"""The findings report: themes with verbatim quotes, poll statistics, agreement, profiles.

What comes from where — the report says so, and the code keeps it that way:

* **Poll results** (counts, mean, standard deviation, charts) are computed from the event log
  (:mod:`troupe.core.poll_stats`), never asked of a model.
* **Themes** come from one structured-output LLM call per section (:func:`llm_themes`); every
  quote the model proposes is checked to be an exact substring of the utterance it cites, and
  repaired or dropped. When the model gives nothing usable (a scripted fake, a tiny local
  model, no backend), a deterministic lexical clustering (:func:`lexical_themes`) supplies
  the themes, so a report always has real, verbatim content.
* **Where the group agreed and split** comes from poll dispersion and from model themes
  whose stance the verified quotes carry (:func:`~troupe.sessions.themes.checked_stance`).
  Lexical themes are *topics raised*: shared words say nothing about agreement, so they never
  appear there.
* **Before and after**: a poll asked privately and asked again later in the run is paired
  (:func:`~troupe.core.poll_stats.poll_changes`): both distributions, and who moved.
* **Profiles**: airtime counted from the log; stance from each participant's poll answers
  relative to the group; notable quotes verbatim.

Rendering (Markdown, HTML) lives in :mod:`troupe.sessions.report_render`.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

from troupe.core import dynamics as group_dynamics
from troupe.core.config import load_settings
from troupe.core.errors import TroupeError
from troupe.core.llm.factory import make_backend
from troupe.core.llm.protocol import ChatBackend
from troupe.core.poll_stats import (
    NUMERIC_KINDS,
    PollChange,
    PollResult,
    format_number,
    format_sd,
    format_share,
    poll_changes,
)
from troupe.sessions.quotes import Quote, sentence_with, verify_quote
from troupe.sessions.themes import LLMOutcome, Method, Theme, lexical_themes, llm_themes
from troupe.sessions.transcript import Entry, ModeratorNote, RunInfo, StarredQuote, Transcript

ThemeMode = Literal["auto", "lexical"]


@dataclass(slots=True)
class SectionFindings:
    index: int
    title: str
    themes: list[Theme]
    method: Method | None
    """Which method produced this section's themes (None: too little was said)."""
    method_note: str | None
    polls: list[PollResult]
    speakers: list[str]
    utterances: int


@dataclass(frozen=True, slots=True)
class Finding:
    verdict: Literal["agreed", "split", "mixed"]
    topic: str
    detail: str
    basis: Literal["poll", "theme"]
    section: str


@dataclass(slots=True)
class Profile:
    name: str
    descriptor: str
    turns: int
    chars: int
    share: float
    """Share of everything the panel said aloud, 0..1."""
    passes: int
    muted_turns: int
    thoughts: int
    answers: list[str]
    """``question: answer`` lines, with the group mean where there is one."""
    stance: str
    quotes: list[Quote]


@dataclass(slots=True)
class QuoteStats:
    proposed: int = 0
    repaired: int = 0
    dropped: int = 0


@dataclass(slots=True)
class Report:
    info: RunInfo
    generated_at: datetime
    sections: list[SectionFindings]
    polls: list[PollResult]
    findings: list[Finding]
    profiles: list[Profile]
    themes_source: str
    """Plain words: which method produced the themes, and why."""
    overall: list[Theme] = field(default_factory=list)
    """Lexical themes over the whole session: words that recur across sections. Always
    computed (no model), so even a session of short sections — an interview — has themes."""
    quote_stats: QuoteStats = field(default_factory=QuoteStats)
    changes: list[PollChange] = field(default_factory=list)
    """Polls answered privately and asked again later: before, after, who moved."""
    dynamics: group_dynamics.Dynamics | None = None
    """Airtime, who answered whom, drift, conformity, voice similarity (``docs/dynamics.md``)."""
    highlights: list[StarredQuote] = field(default_factory=list)
    """What the moderator starred (the transcript's)."""
    notes: list[ModeratorNote] = field(default_factory=list)
    """The moderator's and observers' notes (the transcript's)."""

    @property
    def utterance_count(self) -> int:
        return sum(s.utterances for s in self.sections)

    @property
    def all_quotes(self) -> list[Quote]:
        quotes = [q for s in self.sections for t in s.themes for q in t.quotes]
        quotes += [q for t in self.overall for q in t.quotes]
        return quotes + [q for p in self.profiles for q in p.quotes]


async def build_report(
    t: Transcript,
    *,
    backend: ChatBackend | None = None,
    model: str | None = None,
    mode: ThemeMode = "auto",
    backend_note: str | None = None,
    generated_at: datetime | None = None,
    embeddings: bool = False,
    embedding_model: str | None = None,
) -> Report:
    """Analyse a transcript. ``backend`` None (or ``mode="lexical"``) means lexical themes only;
    ``backend_note`` explains why there is no backend, for the report's method line.
    ``embeddings``: also compare the voices by embeddings through ``backend`` (model calls;
    ``sessions/voice_embeddings.py``) — never without being asked."""
    use_llm = backend is not None and mode == "auto"
    blocks = [s for s in t.sections if s.utterances()]
    outcomes: list[LLMOutcome | None] = [None] * len(blocks)
    if use_llm:
        assert backend is not None
        gate = asyncio.Semaphore(4)

        async def one(i: int) -> None:
            async with gate:
                outcomes[i] = await llm_themes(backend, blocks[i].title, blocks[i].utterances(), model=model)

        await asyncio.gather(*(one(i) for i in range(len(blocks))))
    stats = QuoteStats()
    sections: list[SectionFindings] = []
    outcome_by_section = {id(b): o for b, o in zip(blocks, outcomes)}
    for section in t.sections:
        says = section.utterances()
        outcome = outcome_by_section.get(id(section))
        themes, method, note = _section_themes(says, outcome, use_llm)
        if outcome is not None:
            stats.proposed += outcome.proposed_quotes
            stats.repaired += outcome.repaired_quotes
            stats.dropped += outcome.dropped_quotes
        sections.append(
            SectionFindings(
                index=section.index,
                title=section.title,
                themes=themes,
                method=method,
                method_note=note,
                polls=[p for p in t.polls if p.seq in {e.seq for e in section.entries}],
                speakers=list(dict.fromkeys(e.speaker or "" for e in says)),
                utterances=len(says),
            )
        )
    findings = _poll_findings(t.polls) + _theme_findings(sections)
    every_say = [e for s in t.sections for e in s.utterances()]
    return Report(
        info=t.info,
        generated_at=generated_at or datetime.now(timezone.utc),
        sections=sections,
        polls=t.polls,
        findings=findings,
        profiles=_profiles(t, sections),
        quote_stats=stats,
        overall=lexical_themes(every_say),
        changes=poll_changes(t.polls),
        themes_source=_themes_source(sections, t.info, backend, model, mode, backend_note),
        dynamics=await _dynamics(t, backend, embeddings, embedding_model, backend_note),
        highlights=t.highlights,
        notes=t.notes,
    )


async def _dynamics(
    t: Transcript, backend: ChatBackend | None, embeddings: bool, model: str | None, backend_note: str | None
) -> group_dynamics.Dynamics:
    readouts = group_dynamics.compute(t.events)
    if embeddings:
        from troupe.sessions.voice_embeddings import embed_voices

        readouts.embeddings = await embed_voices(t.events, backend, model=model, unavailable=backend_note)
    return readouts


def _section_themes(
    says: list[Entry], outcome: LLMOutcome | None, use_llm: bool
) -> tuple[list[Theme], Method | None, str | None]:
    if len(says) < 2:
        return [], None, "too little was said in this section for themes"
    if outcome is not None and outcome.themes:
        return outcome.themes, "llm", None
    themes = lexical_themes(says)
    if not use_llm:
        note = None
    elif outcome is not None and outcome.error:
        note = f"the model call failed ({outcome.error}); lexical clustering used instead"
    else:
        note = "the model proposed no theme with two verifiable quotes; lexical clustering used instead"
    if not themes:
        return [], "lexical", "no words were shared by enough remarks to form a theme"
    return themes, "lexical", note


def _themes_source(
    sections: list[SectionFindings],
    info: RunInfo,
    backend: ChatBackend | None,
    model: str | None,
    mode: ThemeMode,
    backend_note: str | None,
) -> str:
    methods = {s.method for s in sections if s.method}
    lexical_words = "lexical clustering (utterances grouped by salient words several participants shared)"
    if backend is None or mode == "lexical":
        why = "as requested" if mode == "lexical" else (backend_note or "no model backend was available")
        return f"Themes by {lexical_words}, {why}."
    label = f"{getattr(backend, 'name', 'model')} / {model or getattr(backend, 'model', None) or 'default model'}"
    if methods == {"llm"}:
        return f"Themes proposed by {label}; every quote checked against the log."
    if "llm" in methods:
        return f"Themes proposed by {label} where it gave verifiable quotes, otherwise by {lexical_words}."
    return f"Themes by {lexical_words}: {label} gave no theme with two verifiable quotes."


# -- agreement and split -------------------------------------------------------------------


def _poll_findings(polls: list[PollResult]) -> list[Finding]:
    out: list[Finding] = []
    for poll in polls:
        verdict = poll.verdict()
        if verdict is None:
            continue
        counts = {k: v for k, v in poll.counts.items() if v}
        spread = ", ".join(f"{k} {v}" for k, v in counts.items())
        if poll.kind in NUMERIC_KINDS and poll.mean is not None:
            lo, hi = min(poll.scores), max(poll.scores)
            detail = f"mean {poll.mean:.2f}, sd {format_sd(poll.stdev)}, answers from {format_number(lo)} to {format_number(hi)} (n={poll.n})"
        else:
            leader = poll.leader()
            top = counts.get(leader, 0) if leader else 0
            detail = f"{leader}: {top} of {poll.n} ({format_share(top / poll.n)})" if leader else f"n={poll.n}"
            detail += f" (all answers: {spread})" if verdict != "agreed" else ""
        out.append(Finding(verdict, poll.question, detail, "poll", poll.section_title))  # type: ignore[arg-type]
    return out


def _theme_findings(sections: list[SectionFindings]) -> list[Finding]:
    """Model themes whose claimed stance the verified quotes carry; never lexical topics."""
    out: list[Finding] = []
    for section in sections:
        for theme in section.themes:
            if theme.method != "llm" or theme.stance not in ("agreed", "split"):
                continue
            pro, con = theme.sides
            if theme.stance == "agreed":
                detail = f"quoted for it: {', '.join(pro)}; no one quoted against"
            else:
                detail = f"quoted for it: {', '.join(pro)}; against: {', '.join(con)}"
            out.append(Finding(theme.stance, theme.label, detail, "theme", section.title))
    return out


# -- profiles ------------------------------------------------------------------------------


def _profiles(t: Transcript, sections: list[SectionFindings]) -> list[Profile]:
    says = [e for s in t.sections for e in s.utterances()]
    total_chars = sum(len(e.text) for e in says) or 1
    themed: dict[str, list[Quote]] = {}
    for section in sections:
        for theme in section.themes:
            for quote in theme.quotes:
                themed.setdefault(quote.agent, []).append(quote)
    profiles = []
    for name in t.speakers():
        mine = [e for e in says if e.speaker == name]
        chars = sum(len(e.text) for e in mine)
        answers, stance = _stance(name, t.polls)
        profiles.append(
            Profile(
                name=name,
                descriptor=t.info.descriptor(name),
                turns=len(mine),
                chars=chars,
                share=chars / total_chars,
                passes=sum(1 for e in t.events if e.type == "pass" and getattr(e, "agent", None) == name),
                muted_turns=sum(1 for e in mine if e.muted),
                thoughts=sum(1 for e in t.events if e.type == "think" and getattr(e, "agent", None) == name),
                answers=answers,
                stance=stance,
                quotes=_notable(mine, themed.get(name, [])),
            )
        )
    return profiles


def _stance(name: str, polls: list[PollResult]) -> tuple[list[str], str]:
    lines: list[str] = []
    deltas: list[float] = []
    for poll in polls:
        answer = next((a for a in poll.answers if a.agent == name), None)
        if answer is None:
            continue
        line = f"{poll.question} — {answer.display()}"
        if poll.mean is not None and answer.score is not None and poll.n > 1:
            line += f" (group mean {poll.mean:.2f})"
            lo, hi = poll.scale or (0.0, 0.0)
            if poll.kind != "number" and hi > lo:
                deltas.append((answer.score - poll.mean) / (hi - lo))
        lines.append(line)
    if not deltas:
        stance = (
            "No scaled poll answers to compare with the group."
            if not lines
            else "Answered the polls; no scaled question to compare."
        )
    else:
        d = statistics.fmean(deltas)
        stance = (
            "More positive than the group on scaled questions."
            if d > 0.1
            else "More negative than the group on scaled questions."
            if d < -0.1
            else "Close to the group average on scaled questions."
        )
    return lines, stance


def _notable(mine: list[Entry], themed: list[Quote]) -> list[Quote]:
    """Two verbatim quotes: ones the themes used first, then the longest remarks' key sentence."""
    picks: list[Quote] = []
    for quote in themed:
        if len(picks) >= 2:
            return picks
        if all(q.seq != quote.seq for q in picks):
            picks.append(quote)
    by_seq = {e.seq: e for e in mine}
    for entry in sorted(mine, key=lambda e: (-len(e.text), e.seq)):
        if len(picks) >= 2:
            break
        if any(q.seq == entry.seq for q in picks) or entry.muted:
            continue
        quote = verify_quote(by_seq, entry.seq, sentence_with(entry.text))
        if quote is not None:
            picks.append(quote)
    return picks


# -- the backend the report uses -------------------------------------------------------------


def report_backend(
    info: RunInfo, name: str | None, model: str | None
) -> tuple[ChatBackend | None, str | None, str | None]:
    """(backend, model, note): by default the backend and model recorded in the run.

    A recorded backend that cannot be built here (no key, missing extra) is not an error for
    a report: it falls back to lexical themes and says why in ``note``. A backend the user
    named (``--backend``) that does not exist or cannot be built is an error.
    """
    chosen = name or info.backend
    chosen_model = model or (info.model if chosen == info.backend else None)
    try:
        return make_backend(load_settings(), chosen, chosen_model), chosen_model, None
    except TroupeError as exc:
        if name is not None:
            raise
        return None, None, f"the run's backend {chosen!r} is not usable here ({exc.message})"
