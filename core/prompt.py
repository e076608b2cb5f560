"""Prompt assembly under a token budget, in the stable-prefix order of DESIGN.md.

1. **system** — the rules of the simulation, the persona card and the seating list; built
   once per agent and never changed during the session;
2. **user (context)** — where the agent stands (goals, the part of the discussion and its
   rules: changes once per section), the rolling memory summary, then the recent window,
   oldest first;
3. **user (now)** — the agent's state of mind, a few recalled older memories, the task, and
   last the current stimulus or question.

Everything that changes every turn lives in the last message, so consecutive prompts of one
agent share the system message, the summary and the window up to its newest lines: providers'
automatic prompt caching hits, and the character-level common prefix stays long.

The budget (default 3,000 input tokens) is shared out as :class:`PromptBudget` says; the
window gets whatever the fixed parts leave, and if the total still overflows (a huge card, a
long stimulus) the oldest window lines are left out of this prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .card import PersonaCard
from .llm.protocol import Message, PromptParts
from .memory import MemoryItem
from .tokens import estimate_tokens, token_counts, tokens_from_counts, truncate_to_tokens

DEFAULT_RULES = """\
You are taking part in a moderated group discussion (a focus group) as the person described \
below. You are not an AI assistant: you are that person, with their life, habits, opinions and \
way of speaking. Stay in character all the time.
- Answer the moderator and react to the other participants like a real person would: agree, \
disagree, ask, joke, change your mind only when convinced.
- Keep it short and spoken: usually one to three sentences, in your own voice.
- Say only what this person would know and feel. Do not invent facts about the product that \
nobody mentioned.
- Each turn you choose one action: "say" (speak to the room, or to one person by name), \
"think" (a private thought nobody else hears) or "pass" (stay silent this time).
- Reply with one JSON object and nothing else."""

TURN_TASK = (
    "Your turn. Reply with one JSON object: action (say, think or pass), text (what you say or "
    "think; empty to pass), to (one participant's name, or null for everyone), feeling (a word or two)."
)


@dataclass(frozen=True)
class PromptBudget:
    """How the input-token budget is shared out (tokens, estimated offline)."""

    total: int = 3000
    standing: int = 100
    summary: int = 250
    state: int = 80
    recalled: int = 120
    current: int = 120
    task: int = 60
    min_window: int = 300

    def window_for(self, system_tokens: int) -> int:
        """What is left for the verbatim window once the other parts are accounted for.

        The reserves are typical sizes, not maxima: :meth:`PromptBuilder.build` still trims the
        window if one turn's parts come out larger (a long stimulus not in the window).
        """
        fixed = system_tokens + self.standing + self.summary + self.state + self.recalled + self.current + self.task
        return max(self.min_window, self.total - fixed)


@dataclass(frozen=True, slots=True)
class Prompt:
    """An assembled prompt and its size."""

    messages: list[Message]
    tokens: int
    window_lines: int
    """How many window lines made it in (fewer than the memory's window if over budget)."""
    parts: PromptParts
    """The same prompt by meaning, for backends that rebuild it (see :class:`PromptParts`)."""

    @property
    def text(self) -> str:
        """All messages as one string, as a provider's prefix cache would see them."""
        return "\n\n".join(f"<{m.role}>\n{m.content}" for m in self.messages)


class PromptBuilder:
    """Builds one agent's prompts. The system message is fixed at construction."""

    def __init__(
        self,
        card: PersonaCard,
        *,
        panel: Sequence[str] = (),
        rules: str = DEFAULT_RULES,
        budget: PromptBudget | None = None,
        short: bool = False,
    ) -> None:
        self.card = card
        self.budget = budget or PromptBudget()
        persona = (card.short_prompt or card.prompt) if short else card.prompt
        others = [n for n in panel if n != card.name]
        self.persona = persona
        self.others = tuple(others)
        head = f"{rules}\n\n# Who you are\n{persona}\n\n# The room\nA moderator leads the discussion."
        if not others:
            self.system = head
            self.system_tokens = estimate_tokens(head)
            return
        head += " The other participants: "
        self.system = f"{head}{', '.join(others)}."
        # The estimate adds up over the parts (they meet at ", " and ": "): the fixed part, the
        # whole panel's names (counted once for all agents) less this agent's — so seating N
        # personas costs O(N) estimates, not N estimates of an N-name list.
        pieces, chars = token_counts(head + ".")
        names_pieces, names_chars = _names_counts(tuple(panel))
        mine = len(panel) - len(others)
        own_pieces, own_chars = token_counts(card.name) if mine else (0, 0)
        pieces += names_pieces - mine * own_pieces + len(others) - 1  # + one "," between two names
        chars += names_chars - mine * own_chars + 2 * (len(others) - 1)
        self.system_tokens = tokens_from_counts(pieces, chars)

    @property
    def window_budget(self) -> int:
        return self.budget.window_for(self.system_tokens)

    def build(
        self,
        *,
        summary: str,
        window: Sequence[MemoryItem],
        state: str,
        recalled: Sequence[MemoryItem] = (),
        current: str = "",
        task: str = TURN_TASK,
        standing: str = "",
    ) -> Prompt:
        """Assemble the messages; the window loses its oldest lines if the total is over budget."""
        b = self.budget
        standing_text, standing_tokens = _fit(standing, b.standing)
        summary_text, summary_tokens = _fit(summary, b.summary)
        state_text, state_tokens = _fit(state, b.state)
        current_text, current_tokens = _fit(current, b.current)

        now_parts = [f"# Your state of mind\n{state_text}"]
        now_tokens = state_tokens + _fit(task, 10_000)[1] + 12  # + headings and separators
        if recalled:
            now_parts.append("# Earlier moments you recall\n" + "\n".join(item.text for item in recalled))
            now_tokens += sum(item.tokens for item in recalled) + 6
        now_parts.append(task)
        if current_text:
            now_parts.append(f"# Now\n{current_text}")
            now_tokens += current_tokens
        now = "\n\n".join(now_parts)
        summary_tokens += standing_tokens

        # Fit the window: keep the newest lines that fit what the other parts leave.
        room = b.total - self.system_tokens - summary_tokens - now_tokens - 20
        used = 0
        first = len(window)
        while first > 0 and used + window[first - 1].tokens <= room:
            first -= 1
            used += window[first].tokens
        kept = window[first:]

        context = f"# Where you are\n{standing_text}\n\n" if standing_text else ""
        context += "# What you remember from earlier\n" + (
            summary_text or "Nothing yet: the discussion has just begun."
        )
        if kept:
            context += "\n\n# What happened recently (oldest first)\n" + "\n".join(item.text for item in kept)
        messages = [Message("system", self.system), Message("user", context), Message("user", now)]
        tokens = self.system_tokens + summary_tokens + used + now_tokens + 20
        parts = PromptParts(
            persona=self.persona,
            others=self.others,
            summary=summary_text,
            recent=tuple(item.text for item in kept),
            question=current_text,
            task=task,
        )
        return Prompt(messages=messages, tokens=tokens, window_lines=len(kept), parts=parts)


@lru_cache(maxsize=4)
def _names_counts(names: tuple[str, ...]) -> tuple[int, int]:
    """:func:`~troupe.core.tokens.token_counts` summed over a panel's names (cached: every
    agent of a session is seated with the same panel)."""
    pieces = chars = 0
    for name in names:
        p, c = token_counts(name)
        pieces += p
        chars += c
    return pieces, chars


@lru_cache(maxsize=4096)
def _fit(text: str, budget: int) -> tuple[str, int]:
    """``text`` cut to ``budget`` tokens, and its size. Cached: the summary, the standing state
    and the current question are the same for many turns (and, in a round, for many agents)."""
    if not text:
        return "", 0
    cut = truncate_to_tokens(text, budget)
    return cut, estimate_tokens(cut)


def common_prefix_share(previous: str, current: str) -> float:
    """Share of ``current``'s characters that ``previous`` has as a common prefix."""
    if not current:
        return 1.0
    limit = min(len(previous), len(current))
    lo, hi = 0, limit
    while lo < hi:  # binary search on slices: fast for long strings
        mid = (lo + hi + 1) // 2
        if previous[:mid] == current[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo / len(current)


__all__ = ["DEFAULT_RULES", "TURN_TASK", "Prompt", "PromptBudget", "PromptBuilder", "common_prefix_share"]
