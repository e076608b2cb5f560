"""Persona checks: an LLM judge scores each persona's utterances, section by section.

Why: a panel is only useful if each persona speaks as the person on its card and does not
contradict itself. TinyTroupe checks this with extra calls on every turn; Troupe does it after
the fact, optionally, with **one structured call per persona per section** (``troupe report
--judge``), so the cost is known in advance: personas × sections with something said.

Each call returns (:class:`JudgeOutput`): **adherence** to the persona card (0–9: 9 = everything
said fits this person, their circumstances and voice; 0 = it contradicts the card) and
**self-consistency** (0–9: 9 = nothing contradicts what they said earlier or elsewhere in the
section), each with a justification, and up to three quotes. Every quote is checked verbatim
against the log (:func:`troupe.sessions.quotes.verify_quote`) and repaired or dropped, so a
justification can never be backed by words the persona did not say. The calls' tokens and cost
are summed into the report.
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from troupe.core.errors import BackendError
from troupe.core.llm.protocol import CallUsage, ChatBackend, ChatRequest, Message
from troupe.core.turn_check import DEFAULT_THRESHOLD, EARLIER_LIMIT

from .quotes import Quote, verify_quote
from .transcript import Entry, Transcript

LOW_SCORE = DEFAULT_THRESHOLD
"""Scores below this are listed with their justification and quotes (the per-turn check's default
threshold: one meaning of "low")."""
MAX_QUOTES = 3

SYSTEM = (
    "You evaluate simulated research participants: a language model played the persona described by the "
    "card, and you judge its utterances strictly and fairly.\n"
    "- adherence (0-9): do the utterances fit this person - their facts, circumstances, views, tastes and "
    "voice? 9 = everything fits; 5 = generic, could be anyone; 0 = contradicts the card.\n"
    "- self_consistency (0-9): do the utterances agree with each other and with what the persona said "
    "earlier? 9 = no contradiction; 0 = contradicts itself outright.\n"
    "Justify each score in one or two sentences, and give one to three short excerpts copied exactly, "
    "character for character, from the utterances, each with the [number] of the utterance it comes from. "
    "Reply with one JSON object."
)


class JudgeQuote(BaseModel):
    seq: int = Field(description="The [number] of the utterance the excerpt is copied from.")
    excerpt: str = Field(description="Words copied exactly from that utterance.")


class JudgeOutput(BaseModel):
    """What the judge returns for one persona in one section."""

    adherence: int = Field(ge=0, le=9, description="0-9: how well the utterances fit the persona card.")
    adherence_justification: str = Field(description="One or two sentences.")
    self_consistency: int = Field(ge=0, le=9, description="0-9: how free the utterances are of self-contradiction.")
    consistency_justification: str = Field(description="One or two sentences.")
    quotes: list[JudgeQuote] = Field(default_factory=list, max_length=MAX_QUOTES)


@dataclass(slots=True)
class JudgeScore:
    """One persona in one section, as judged (or why not)."""

    persona: str
    section_index: int
    section_title: str
    utterances: int
    adherence: int | None = None
    adherence_justification: str = ""
    self_consistency: int | None = None
    consistency_justification: str = ""
    quotes: list[Quote] = field(default_factory=list)
    proposed_quotes: int = 0
    dropped_quotes: int = 0
    error: str | None = None
    calls: list[CallUsage] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "persona": self.persona,
            "section": self.section_index,
            "section_title": self.section_title,
            "utterances": self.utterances,
            "adherence": self.adherence,
            "adherence_justification": self.adherence_justification,
            "self_consistency": self.self_consistency,
            "consistency_justification": self.consistency_justification,
            "quotes": [{"seq": q.seq, "text": q.text, "repaired": q.repaired} for q in self.quotes],
            "quotes_proposed": self.proposed_quotes,
            "quotes_dropped": self.dropped_quotes,
            "error": self.error,
        }


@dataclass(slots=True)
class JudgeReport:
    scores: list[JudgeScore]
    backend: str
    model: str | None

    @property
    def calls(self) -> list[CallUsage]:
        return [c for s in self.scores for c in s.calls]

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    @property
    def cost_usd(self) -> float:
        return sum(c.cost_usd for c in self.calls)

    def cost_line(self) -> str:
        cost = f" · ${self.cost_usd:.4f}" if self.cost_usd else ""
        return (
            f"{len(self.scores)} judgements · {len(self.calls)} calls · {self.tokens:,} tokens{cost} "
            f"({self.backend}{' ' + self.model if self.model else ''})"
        )

    def per_persona(self) -> dict[str, tuple[float | None, float | None]]:
        """Each persona's mean adherence and self-consistency over the sections judged."""
        out: dict[str, tuple[float | None, float | None]] = {}
        for name in dict.fromkeys(s.persona for s in self.scores):
            mine = [s for s in self.scores if s.persona == name and s.error is None]
            a = [s.adherence for s in mine if s.adherence is not None]
            c = [s.self_consistency for s in mine if s.self_consistency is not None]
            out[name] = (statistics.fmean(a) if a else None, statistics.fmean(c) if c else None)
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "model": self.model,
            "calls": len(self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "cost_usd": round(self.cost_usd, 6),
            "personas": {name: {"adherence": a, "self_consistency": c} for name, (a, c) in self.per_persona().items()},
            "scores": [s.to_json() for s in self.scores],
        }

    def render_markdown(self, heading: str = "#") -> str:
        lines = [
            f"{heading} Persona checks (LLM judge)",
            "",
            "One structured call per persona per section: adherence to the persona card and self-consistency, "
            "0–9 (9 = best), with quotes checked verbatim against the log. A judge is a model too: read the "
            "justifications, not only the numbers.",
            "",
            f"Cost: {self.cost_line()}",
            "",
            "| persona | adherence | self-consistency | sections |",
            "|---|---|---|---|",
        ]
        for name, (a, c) in self.per_persona().items():
            n = sum(1 for s in self.scores if s.persona == name and s.error is None)
            lines.append(f"| {_cell(name)} | {_score(a)} | {_score(c)} | {n} |")
        low = [
            s
            for s in self.scores
            if s.error is None and ((s.adherence or 0) < LOW_SCORE or (s.self_consistency or 0) < LOW_SCORE)
        ]
        if low:
            lines += ["", f"{heading}# Low scores (below {LOW_SCORE})", ""]
            for s in low:
                lines.append(
                    f"- **{s.persona}**, {s.section_title}: adherence {s.adherence}, self-consistency "
                    f"{s.self_consistency}. {s.adherence_justification} {s.consistency_justification}".rstrip()
                )
                lines += [f"  > [{q.seq}] {q.text}" for q in s.quotes]
        failed = [s for s in self.scores if s.error is not None]
        if failed:
            lines += ["", f"{heading}# Not judged", ""]
            lines += [f"- {s.persona}, {s.section_title}: {s.error}" for s in failed]
        dropped = sum(s.dropped_quotes for s in self.scores)
        if dropped:
            lines += ["", f"{dropped} quote(s) proposed by the judge were not in the log and were dropped."]
        return "\n".join(lines) + "\n"


async def judge_run(
    t: Transcript, backend: ChatBackend, *, model: str | None = None, concurrency: int = 4
) -> JudgeReport:
    """Judge every persona in every section where it said something (one call each)."""
    gate = asyncio.Semaphore(max(1, concurrency))
    jobs: list[tuple[str, int, str, list[Entry], list[Entry]]] = []
    for name in t.info.personas:
        earlier: list[Entry] = []
        for section in t.sections:
            mine = [e for e in section.utterances() if e.speaker == name]
            if mine:
                jobs.append((name, section.index, section.title, mine, earlier[-EARLIER_LIMIT:]))
            earlier = earlier + mine

    async def one(job: tuple[str, int, str, list[Entry], list[Entry]]) -> JudgeScore:
        async with gate:
            return await judge_one(backend, t.info.cards.get(job[0]) or {}, *job, model=model)

    scores = await asyncio.gather(*(one(j) for j in jobs))
    return JudgeReport(list(scores), getattr(backend, "name", "unknown"), model or getattr(backend, "model", None))


class Numbered(Protocol):
    """An utterance as the judge reads it: ``[seq] text``."""

    @property
    def seq(self) -> int: ...
    @property
    def text(self) -> str: ...


def judge_prompt(
    card: dict[str, Any],
    earlier_heading: str,
    earlier: Sequence[Numbered],
    heading: str,
    mine: Sequence[Numbered],
    instruction: str,
) -> list[Message]:
    """The judge's prompt: the card, earlier utterances (for consistency), the ones judged.
    Shared by the section judge (:func:`judge_messages`) and the per-turn check."""
    prompt = str(card.get("prompt") or card.get("descriptor") or "(no card recorded)")
    parts = [f"# Persona card\n{prompt}"]
    if earlier:
        parts.append(f"# {earlier_heading}\n" + "\n".join(f"[{e.seq}] {e.text}" for e in earlier))
    parts.append(f"# {heading}\n" + "\n".join(f"[{e.seq}] {e.text}" for e in mine))
    parts.append(instruction)
    return [Message("system", SYSTEM), Message("user", "\n\n".join(parts))]


def judge_messages(card: dict[str, Any], title: str, mine: list[Entry], earlier: list[Entry]) -> list[Message]:
    """The section judge's prompt: the card, earlier utterances (for consistency), this section's."""
    return judge_prompt(
        card,
        "Earlier, in previous sections",
        earlier,
        f"This section: {title}",
        mine,
        "Judge the utterances of this section (the earlier ones only for self-consistency).",
    )


async def judge_call(
    backend: ChatBackend,
    messages: list[Message],
    *,
    model: str | None = None,
    purpose: str = "judge",
    agent: str | None = None,
) -> tuple[JudgeOutput | None, list[CallUsage], BackendError | None]:
    """One structured judge call: the scores (None if the reply had none), the calls' usage, and
    the error if the call failed (never raised: a judge that fails judges nothing)."""
    request = ChatRequest(
        messages=messages,
        output_model=JudgeOutput,
        model=model,
        temperature=0.0,
        max_tokens=600,
        purpose=purpose,
        agent=agent,
    )
    try:
        response = await backend.complete(request)
    except BackendError as exc:
        return None, list(getattr(exc, "calls", []) or []), exc
    out = response.parsed
    return (out if isinstance(out, JudgeOutput) else None), list(response.calls), None


async def judge_one(
    backend: ChatBackend,
    card: dict[str, Any],
    name: str,
    index: int,
    title: str,
    mine: list[Entry],
    earlier: list[Entry],
    *,
    model: str | None = None,
) -> JudgeScore:
    score = JudgeScore(name, index, title, len(mine))
    out, score.calls, error = await judge_call(backend, judge_messages(card, title, mine, earlier), model=model)
    if error is not None:
        score.error = error.message
        return score
    if out is None:
        score.error = "the judge returned no scores"
        return score
    score.adherence, score.self_consistency = out.adherence, out.self_consistency
    score.adherence_justification = out.adherence_justification.strip()
    score.consistency_justification = out.consistency_justification.strip()
    by_seq = {e.seq: e for e in [*earlier, *mine]}
    for ref in out.quotes[:MAX_QUOTES]:
        score.proposed_quotes += 1
        quote = verify_quote(by_seq, ref.seq, ref.excerpt)
        if quote is None or any(q.seq == quote.seq and q.text == quote.text for q in score.quotes):
            score.dropped_quotes += 1
            continue
        score.quotes.append(quote)
    return score


def _score(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f}"


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


__all__ = [
    "JudgeOutput",
    "JudgeReport",
    "JudgeScore",
    "judge_call",
    "judge_messages",
    "judge_one",
    "judge_prompt",
    "judge_run",
]
