"""The judge behind the per-turn persona check (``core/turn_check.py`` runs the check).

The same judge as ``troupe report --judge`` (:mod:`troupe.sessions.judge`): the same system
prompt, card rendering and structured output (:class:`~troupe.sessions.judge.JudgeOutput`), one
call — here on a single draft utterance, with the persona's earlier utterances for
self-consistency. The call is logged with purpose ``turn_check``.
"""

from __future__ import annotations

from dataclasses import dataclass

from troupe.core.llm.protocol import ChatBackend, Message
from troupe.core.tokens import truncate_to_tokens
from troupe.core.turn_check import CHECK_PURPOSE, TurnSubject, TurnVerdict

from .judge import judge_call, judge_prompt

QUESTION_TOKENS = 80
"""The question the draft answers is shown cut to about this many tokens."""
DRAFT_NUMBER = 0
"""The draft has no place in the log yet; the judge reads it as utterance [0]."""


@dataclass(frozen=True, slots=True)
class _Line:
    seq: int
    text: str


def turn_judge_messages(subject: TurnSubject) -> list[Message]:
    """The per-turn judge's prompt (the section judge's layout, one new utterance)."""
    question = " ".join(subject.question.split())
    heading = "The new utterance" + (
        f", answering: {truncate_to_tokens(question, QUESTION_TOKENS)}" if question else ""
    )
    return judge_prompt(
        subject.card,
        "Earlier, what this persona said before",
        [_Line(seq, text) for seq, text in subject.earlier],
        heading,
        [_Line(DRAFT_NUMBER, subject.text)],
        f"Judge the new utterance [{DRAFT_NUMBER}] (the earlier ones only for self-consistency).",
    )


class JudgeTurnCheck:
    """:class:`~troupe.core.turn_check.TurnJudge` with the report's judge."""

    async def judge(self, backend: ChatBackend, subject: TurnSubject, *, model: str | None) -> TurnVerdict:
        out, calls, error = await judge_call(
            backend, turn_judge_messages(subject), model=model, purpose=CHECK_PURPOSE, agent=subject.agent
        )
        if error is not None:
            return TurnVerdict(calls=calls, error=error.message, error_kind=error.kind)
        if out is None:
            return TurnVerdict(calls=calls, error="the judge returned no scores")
        return TurnVerdict(
            adherence=out.adherence,
            self_consistency=out.self_consistency,
            adherence_justification=out.adherence_justification.strip(),
            consistency_justification=out.consistency_justification.strip(),
            calls=calls,
        )


__all__ = ["JudgeTurnCheck", "turn_judge_messages"]
