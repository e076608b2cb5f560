"""Themes of a section: proposed by an LLM or found by lexical clustering, quoted verbatim.

Two methods, one contract — a :class:`Theme` has a label, a summary and at least two quotes,
each checked by :func:`~troupe.sessions.quotes.verify_quote` to be an exact substring of the
logged utterance it cites:

* :func:`llm_themes` asks a model for structured output (:class:`ThemeSet`); the code, not the
  model, checks every quote against the log and drops themes left with fewer than two.
* :func:`lexical_themes` is deterministic: it groups utterances by salient words that several
  participants share. It needs no model, so a report always has real, quoted content even when
  the model is a scripted fake or too small to follow the schema. Shared words are a *topic*,
  not a stance: a lexical theme never claims agreement or a split (``stance`` None).

A model theme may claim a stance (``agreed``/``split``) and tag each quote ``for`` or
``against`` its point. :func:`checked_stance` keeps the claim only when the verified quotes
carry it — agreement: quotes for it from at least two participants and none against; split:
verified quotes on both sides — else the theme's stance is ``unclear``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from troupe.core.errors import BackendError
from troupe.core.llm.protocol import ChatBackend, ChatRequest, Message
from troupe.sessions.quotes import Quote, sentence_with, verify_quote
from troupe.sessions.transcript import Entry

Method = Literal["llm", "lexical"]
Stance = Literal["agreed", "split", "unclear"]
Side = Literal["for", "against"]
MIN_QUOTES = 2
MAX_THEMES = 4
MAX_QUOTES = 4


class ThemeRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(description="The [number] of the utterance the excerpt is copied from.")
    excerpt: str = Field(description="Words copied exactly, character for character, from that utterance.")
    side: Side | None = Field(
        default=None, description='"for" if the excerpt supports the theme\'s point, "against" if it opposes it.'
    )


class ThemeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(description="A short name for the theme, 2 to 5 words.")
    summary: str = Field(description="One sentence: what participants said about it.")
    refs: list[ThemeRef] = Field(description="2 to 4 quotes from different utterances, each tagged for or against.")
    stance: Stance = Field(
        default="unclear",
        description='"agreed" if participants agreed on the point, "split" if some were for and some against, '
        'else "unclear".',
    )


class ThemeSet(BaseModel):
    """The structured output the report asks a model for."""

    model_config = ConfigDict(extra="forbid")

    themes: list[ThemeOut] = Field(description="2 to 4 themes of the discussion.")


@dataclass(slots=True)
class Theme:
    label: str
    summary: str
    quotes: list[Quote]
    method: Method
    terms: tuple[str, ...] = ()
    """The shared words that formed a lexical theme."""
    voices: tuple[str, ...] = ()
    """Everyone known to have voiced the theme (lexical: all who used its words), beyond
    those quoted."""
    stance: Stance | None = None
    """Model themes: the stance the verified quotes support (``unclear`` when they do not
    carry the model's claim). Lexical themes: None — a topic, never a stance."""
    claimed: Stance | None = None
    """The stance the model claimed, before checking."""

    @property
    def sides(self) -> tuple[list[str], list[str]]:
        """(participants quoted for the point, participants quoted against it)."""
        pro = list(dict.fromkeys(q.agent for q in self.quotes if q.side == "for"))
        con = list(dict.fromkeys(q.agent for q in self.quotes if q.side == "against"))
        return pro, con

    @property
    def speakers(self) -> list[str]:
        """Who voiced the theme: the quoted participants, then any others known to."""
        return list(dict.fromkeys([q.agent for q in self.quotes] + list(self.voices)))


@dataclass(slots=True)
class LLMOutcome:
    themes: list[Theme]
    proposed_quotes: int = 0
    repaired_quotes: int = 0
    dropped_quotes: int = 0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


# -- LLM ------------------------------------------------------------------------------------

SYSTEM = (
    "You are a qualitative researcher analysing one section of a moderated focus group. "
    "Find the main themes in what the participants said. For each theme say whether the "
    "participants agreed on its point, split over it, or whether that is unclear, and tag each "
    "excerpt as for or against the point. Quote only participants, never the moderator. Every excerpt must be copied exactly from the utterance whose [number] you "
    "give: no paraphrase, no added words, no changed punctuation. Reply with JSON only."
)


def llm_prompt(section_title: str, utterances: Sequence[Entry], *, budget_chars: int = 12000) -> str:
    lines = [f'Section: "{section_title}". Utterances, each as [number] Name: text', ""]
    used = 0
    for e in utterances:
        line = f"[{e.seq}] {e.speaker}: {' '.join(e.text.split())}"
        if used + len(line) > budget_chars:
            lines.append("(later utterances omitted for length)")
            break
        lines.append(line)
        used += len(line)
    lines += [
        "",
        f"Give 2 to {MAX_THEMES} themes, each with 2 to {MAX_QUOTES} exact excerpts from different utterances.",
    ]
    return "\n".join(lines)


async def llm_themes(
    backend: ChatBackend, section_title: str, utterances: Sequence[Entry], *, model: str | None = None
) -> LLMOutcome:
    """Ask ``backend`` for themes; keep only those with ≥2 quotes verified against the log."""
    if len(utterances) < MIN_QUOTES:
        return LLMOutcome(themes=[], notes=["too few utterances"])
    request = ChatRequest(
        messages=[Message("system", SYSTEM), Message("user", llm_prompt(section_title, utterances))],
        output_model=ThemeSet,
        model=model,
        temperature=0.2,
        max_tokens=1200,
        purpose="report",
    )
    try:
        response = await backend.complete(request)
    except BackendError as exc:
        return LLMOutcome(themes=[], error=exc.message)
    parsed = response.parsed
    if not isinstance(parsed, ThemeSet):
        return LLMOutcome(themes=[], error="the model returned no themes")
    return check_themes(parsed, utterances)


def check_themes(proposed: ThemeSet, utterances: Sequence[Entry]) -> LLMOutcome:
    """Verify every proposed quote against the log; drop themes left with fewer than two."""
    by_seq = {e.seq: e for e in utterances}
    outcome = LLMOutcome(themes=[])
    for theme in proposed.themes[:MAX_THEMES]:
        quotes: list[Quote] = []
        for ref in theme.refs:
            outcome.proposed_quotes += 1
            quote = verify_quote(by_seq, ref.seq, ref.excerpt)
            if quote is None or any(q.seq == quote.seq and q.text == quote.text for q in quotes):
                outcome.dropped_quotes += 1
                continue
            outcome.repaired_quotes += int(quote.repaired)
            quotes.append(replace(quote, side=ref.side))
        label, summary = theme.label.strip(), theme.summary.strip()
        if len(quotes) >= MIN_QUOTES and label:
            kept = quotes[:MAX_QUOTES]
            stance = checked_stance(theme.stance, kept)
            outcome.themes.append(Theme(label[:80], summary[:400], kept, "llm", stance=stance, claimed=theme.stance))
    return outcome


def checked_stance(claimed: Stance, quotes: Sequence[Quote]) -> Stance:
    """The stance ``quotes`` (verified, tagged for/against) support of the one claimed.

    * ``agreed``: verified quotes for the point from at least two participants, none against;
    * ``split``: at least one verified quote on each side;
    * anything else — including a claim the quotes do not carry — is ``unclear``.
    """
    pro = {q.agent for q in quotes if q.side == "for"}
    con = {q.agent for q in quotes if q.side == "against"}
    if claimed == "agreed" and len(pro) >= 2 and not con:
        return "agreed"
    if claimed == "split" and pro and con:
        return "split"
    return "unclear"


# -- Lexical fallback ------------------------------------------------------------------------

STOPWORDS = frozenset(
    """
    a about above actually after again against all almost also although always am among an and another any
    anyone anything anyway are aren't around as at away back be because been before being below between
    both but by can can't cannot could couldn't did didn't do does doesn't doing don't done down during each
    else enough even ever every everyone everything exactly far few first for from further get gets getting
    give go goes going gone got had hadn't has hasn't have haven't having he he'd he'll he's her here here's
    hers herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it'd it'll it's
    its itself just keep kind know last least less let let's like likely little lot lots made make makes
    many may maybe me might mine more most much must mustn't my myself need needs never new next no nobody
    none nor not nothing now of off often oh ok okay on once one ones only or other others otherwise ought
    our ours ourselves out over own perhaps pretty probably put quite rather really right said same say
    saying says see seem seems shall shan't she she'd she'll she's should shouldn't since so some somebody
    someone something sometimes somewhat still such sure take than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've thing things think thinking
    this those though through thus to too toward towards truly two under until up upon us use used very
    via want wants was wasn't way we we'd we'll we're we've well were weren't what what's whatever when
    where where's whether which while who who's whole whom whose why will with within without won't would
    wouldn't yeah yes yet you you'd you'll you're you've your yours yourself yourselves
    able already anybody became become bit come comes coming does feel feels felt find found getting
    good great honestly lately look looks mean means mostly okay personally point seems sort speaking
    stand straight tell thanks things totally went word words year years yes glad fair expected honest
    """.split()
)
_WORD = re.compile(r"[^\W\d_](?:[\w'’-]*\w)?", re.UNICODE)


def content_terms(text: str) -> set[str]:
    """Salient word stems of an utterance (lowercase, stopwords and short words out)."""
    terms = set()
    for raw in _WORD.findall(text.lower().replace("’", "'")):
        word = raw[:-2] if raw.endswith("'s") else raw
        if len(word) < 4 or word in STOPWORDS:
            continue
        terms.add(stem(word))
    return terms


def stem(word: str) -> str:
    """A light plural/verb-ending stem, enough to join "price"/"prices", "bottle"/"bottles"."""
    if len(word) > 5 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lexical_themes(utterances: Sequence[Entry], *, max_themes: int = MAX_THEMES) -> list[Theme]:
    """Group utterances by shared salient words (greedy, deterministic).

    A term qualifies when at least two utterances use it (by at least two participants when
    more than one spoke). Terms are ranked by how many participants used them, weighted by
    rarity (a word everyone always says is a weak theme). Each pick must bring at least two
    utterances not already quoted, so themes do not repeat each other.
    """
    docs = [(e, content_terms(e.text)) for e in utterances if e.text.strip()]
    speakers_total = len({e.speaker for e, _ in docs})
    if len(docs) < MIN_QUOTES:
        return []
    df: Counter[str] = Counter()
    speakers_by_term: dict[str, set[str]] = {}
    for entry, terms in docs:
        for term in terms:
            df[term] += 1
            speakers_by_term.setdefault(term, set()).add(entry.speaker or "")
    need_speakers = 2 if speakers_total > 1 else 1
    n = len(docs)

    def score(term: str) -> tuple[float, str]:
        idf = math.log((n + 1) / df[term])
        return (-(len(speakers_by_term[term]) * (0.5 + idf)), term)

    candidates = sorted((t for t in df if df[t] >= MIN_QUOTES and len(speakers_by_term[t]) >= need_speakers), key=score)
    quoted: set[int] = set()
    themes: list[Theme] = []
    for term in candidates:
        if len(themes) >= max_themes:
            break
        members = [(e, terms) for e, terms in docs if term in terms]
        fresh = [e for e, _ in members if e.seq not in quoted]
        if len(fresh) < MIN_QUOTES:
            continue
        partner = _partner(term, members, df)
        quotes = _quotes_for(term, partner, [e for e, _ in members], quoted)
        if len(quotes) < MIN_QUOTES:
            continue
        quoted.update(q.seq for q in quotes)
        speakers = sorted({e.speaker or "" for e, _ in members})
        words = (term,) + ((partner,) if partner else ())
        label = " · ".join(w.capitalize() for w in words)
        summary = (
            f"{len(speakers)} of {speakers_total} participant{'s' if speakers_total != 1 else ''} ({', '.join(speakers)}) spoke of "
            f"“{term}”{f' together with “{partner}”' if partner else ''}, in {len(members)} of {n} remarks."
        )
        themes.append(Theme(label, summary, quotes, "lexical", terms=words, voices=tuple(speakers)))
    return themes


def _partner(term: str, members: list[tuple[Entry, set[str]]], df: Counter[str]) -> str | None:
    """The word that most often comes with ``term`` in its cluster (in ≥2 of its utterances)."""
    together: Counter[str] = Counter()
    for _, terms in members:
        together.update(t for t in terms if t != term)
    ranked = sorted(together.items(), key=lambda kv: (-kv[1], df[kv[0]], kv[0]))
    return ranked[0][0] if ranked and ranked[0][1] >= MIN_QUOTES else None


def _quotes_for(term: str, partner: str | None, members: list[Entry], quoted: set[int]) -> list[Quote]:
    """Up to MAX_QUOTES verbatim sentences using ``term``; different speakers first, unquoted first."""
    ordered = sorted(members, key=lambda e: (e.seq in quoted, e.seq))
    by_speaker: dict[str, Entry] = {}
    for e in ordered:
        by_speaker.setdefault(e.speaker or "", e)
    picks = list(by_speaker.values()) + [e for e in ordered if e not in by_speaker.values()]
    lookup = {e.seq: e for e in members}
    quotes: list[Quote] = []
    for e in picks:
        if len(quotes) >= MAX_QUOTES:
            break
        if e.seq in quoted:
            continue
        text = sentence_with(e.text, _surface_forms(e.text, term))
        quote = verify_quote(lookup, e.seq, text)
        if quote is not None:
            quotes.append(quote)
    return quotes


def _surface_forms(text: str, term: str) -> list[str]:
    """The words of ``text`` that stem to ``term`` (so the chosen sentence really uses it)."""
    forms = [
        w for w in _WORD.findall(text.lower().replace("’", "'")) if stem(w[:-2] if w.endswith("'s") else w) == term
    ]
    return forms or [term]
