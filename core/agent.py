"""An agent: a persona card, a memory, a small state of mind, and one LLM call per turn.

The agent never writes events. It *perceives* events the room routes to it (what it saw,
heard, said and thought — see :meth:`Agent.perceive`) and *acts* by turning its memory into one
structured request (:meth:`Agent.act`). The room logs the outcome and routes the resulting
event back, so memory and state of mind are functions of the event log: replaying the log
rebuilds an agent exactly.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from .actions import TurnAction
from .card import PersonaCard
from .errors import BackendError, InvalidOutputError, is_fatal
from .events import (
    Event,
    Moderator,
    PollAnswer,
    PollAsked,
    PollRevealed,
    Say,
    SectionStarted,
    Stimulus,
    Think,
)
from .llm.protocol import CallUsage, ChatBackend, ChatRequest, DeltaCallback
from .memory import AgentMemory, MemoryConfig, MemoryItem
from .mind import MentalState
from .prompt import DEFAULT_RULES, TURN_TASK, Prompt, PromptBudget, PromptBuilder
from .recall import Recall
from .tokens import truncate_to_tokens


@dataclass(frozen=True)
class AgentConfig:
    """Per-session knobs shared by all agents."""

    budget: PromptBudget = field(default_factory=PromptBudget)
    rules: str = DEFAULT_RULES
    recall_limit: int = 2
    consolidate_every: int = 5
    temperature: float | None = None
    max_tokens: int | None = None
    model: str | None = None
    seed: int | None = None
    short_prompt: bool = False
    """Use the card's compact prompt (tiny local models)."""


@dataclass(frozen=True, slots=True)
class Situation:
    """What the agent is asked to respond to on this turn."""

    current: str = ""
    """The current stimulus or question, as the moderator put it."""
    current_seq: int | None = None
    """``seq`` of that event (to say ``reply_to`` and to avoid repeating it in full)."""
    hint: str | None = None
    """A line about the turn itself, e.g. "Round 2: build on what the others said"."""
    role: str | None = None
    """Logged on the turn's ``say`` (``devils_advocate``: arguing a view on request)."""


@dataclass(slots=True)
class TurnOutcome:
    """What one turn produced, before the room logs it."""

    agent: str
    action: TurnAction | None
    calls: list[CallUsage]
    error: BackendError | None
    prompt: Prompt
    request: ChatRequest


@dataclass(slots=True)
class AnswerOutcome:
    """What one poll answer produced."""

    agent: str
    parsed: BaseModel | None
    calls: list[CallUsage]
    error: BackendError | None
    request: ChatRequest


class Agent:
    """One persona in the room. See the module docstring."""

    def __init__(
        self,
        card: PersonaCard,
        *,
        panel: list[str] | None = None,
        config: AgentConfig | None = None,
        recall: Recall | None = None,
    ) -> None:
        self.card = card
        self.name = card.name
        self.config = config or AgentConfig()
        self.builder = PromptBuilder(
            card,
            panel=panel or [],
            rules=self.config.rules,
            budget=self.config.budget,
            short=self.config.short_prompt,
        )
        self.memory = AgentMemory(
            MemoryConfig(
                window_tokens=self.builder.window_budget,
                summary_tokens=self.config.budget.summary,
                consolidate_every=self.config.consolidate_every,
            ),
            recall=recall,
        )
        goals = card.traits.get("goals")
        self.mind = MentalState()
        if isinstance(goals, list) and goals:
            self.mind.goals = [str(g) for g in goals[:3]]
        self.turns = 0
        self.airtime_chars = 0
        self.last_texts: deque[str] = deque(maxlen=3)
        self.last_say_seq: int | None = None
        self._polls: dict[str, str] = {}
        self.card_dict = card.to_dict()
        """The card as every request of this agent carries it (``metadata["card"]``): made once —
        a deep copy per turn or per consolidation would cost a 200-persona round milliseconds."""

    @property
    def talkativeness(self) -> float:
        try:
            return min(1.0, max(0.0, float(self.card.traits.get("talkativeness", 0.5))))
        except (TypeError, ValueError):
            return 0.5

    # -- perceiving ------------------------------------------------------------------------

    def perceive(self, event: Event, *, to_me: bool = False) -> None:
        """Take in one event the room routed here (it decided this agent can see it)."""
        line = self._render(event, to_me=to_me)
        if line:
            self.memory.add(MemoryItem(event.seq, event.type, line))

    def _render(self, event: Event, *, to_me: bool) -> str | None:
        mind = self.mind
        if isinstance(event, Say):
            if event.agent == self.name:
                self._own("say", event.text, event.feeling)
                self.airtime_chars += len(event.text)
                self.last_texts.append(event.text)
                self.last_say_seq = event.seq
                return f"You said{' to ' + event.to if event.to else ''}: {event.text}"
            mind.on_heard(event.agent, event.text, to_me=to_me, seq=event.seq)
            return heard_line(event, to_me=to_me)
        if isinstance(event, Think):
            self._own("think", event.text, event.feeling)
            return f"You thought, privately: {event.text}"
        if event.type == "pass":
            self._own("pass", "", None)
            return None
        if isinstance(event, Moderator):
            mind.on_prompt("the moderator", event.text, to_me=to_me, seq=event.seq)
            self.memory.prime(event.text)  # the next turns' question: embedded in the background
            if event.to:
                target = " (to you)" if to_me and len(event.to) == 1 else f" (to {', '.join(event.to)})"
            else:
                target = ""
            return f"Moderator{target}: {event.text}"
        if isinstance(event, Stimulus):
            title = f' "{event.title}"' if event.title else ""
            what = {"concept": "a concept card", "image": "a picture"}.get(event.kind, "this")
            mind.on_prompt(
                f"what the moderator showed{title}", event.text, to_me=to_me and bool(event.to), seq=event.seq
            )
            self.memory.prime(event.text)
            return f"The moderator shows {what}{title}: {event.text}"
        if isinstance(event, SectionStarted):
            mind.on_section(event.title, event.rules)
            rules = f" Ground rules: {' '.join(event.rules)}" if event.rules else ""
            return f"— New part of the discussion: {event.title}.{rules}"
        if isinstance(event, PollAsked):
            self._polls[event.poll_id] = event.question
            options = f" (options: {'; '.join(event.options)})" if event.options and event.kind != "number" else ""
            return f"The moderator asks everyone, for a poll: {event.question}{options}"
        if isinstance(event, PollAnswer):
            question = self._polls.get(event.poll_id, event.poll_id)
            if event.agent == self.name:
                return f'You answered the poll "{question}": {_value_text(event.value)}. Your reason: {event.rationale}'
            return f'{event.agent} answered "{question}": {_value_text(event.value)} ({event.rationale})'
        if isinstance(event, PollRevealed):
            question = event.question or self._polls.get(event.poll_id, event.poll_id)
            counts = ", ".join(f"{k} {v}" for k, v in (event.counts or {}).items() if v)
            answers = "; ".join(f"{k}: {_value_text(v)}" for k, v in (event.answers or {}).items())
            return (
                f'The moderator shares the poll results for "{question}": {counts or "no answers"}. {answers}'.rstrip()
            )
        return None

    def _own(self, action: str, text: str, feeling: str | None) -> None:
        self.turns += 1
        self.memory.note_turn()
        self.mind.on_own(action, text, feeling)

    def apply_summary(self, summary: str, upto_seq: int) -> None:
        self.memory.apply_summary(summary, upto_seq)

    # -- acting ----------------------------------------------------------------------------

    async def prompt_for(self, situation: Situation, *, task: str = TURN_TASK) -> Prompt:
        """Assemble this agent's prompt for ``situation`` (recalls older memories first)."""
        current = situation.current
        if current and situation.current_seq is not None and self._in_window(situation.current_seq):
            current = "Respond to the moderator's latest: " + truncate_to_tokens(current, 50)
        if situation.hint:
            current = f"{current}\n{situation.hint}" if current else situation.hint
        query = " ".join(filter(None, [situation.current, self.mind.intent or ""]))
        recalled = await self.memory.recall_for(
            query,
            limit=self.config.recall_limit,
            max_tokens=self.config.budget.recalled,
            exclude_seq=situation.current_seq,
            focus=situation.current or None,
        )
        return self.builder.build(
            summary=self.memory.summary,
            window=self.memory.window,
            state=self.mind.render(),
            recalled=recalled,
            current=current,
            task=task,
            standing=self.mind.render_standing(),
        )

    def _in_window(self, seq: int) -> bool:
        window = self.memory.window
        return bool(window) and window[0].seq <= seq

    def request(self, prompt: Prompt, output_model: type[BaseModel], purpose: str, **overrides: Any) -> ChatRequest:
        """The one structured request for a turn or a poll answer."""
        c = self.config
        return ChatRequest(
            messages=prompt.messages,
            output_model=output_model,
            purpose=purpose,
            agent=self.name,
            metadata={"card": self.card_dict},
            parts=prompt.parts,
            temperature=overrides.get("temperature", c.temperature),
            max_tokens=overrides.get("max_tokens", c.max_tokens),
            model=c.model,
            seed=c.seed,
        )

    async def act(
        self, backend: ChatBackend, situation: Situation, *, on_delta: DeltaCallback | None = None
    ) -> TurnOutcome:
        """Take one turn: exactly one backend request (plus its repair call, if any).

        :class:`InvalidOutputError` and other recoverable backend errors come back in the
        outcome (with the usage of the calls made); fatal ones (:func:`is_fatal`: server down,
        bad key, no quota) propagate.
        """
        prompt, request = await self.prepare(situation)
        return await self.call(backend, prompt, request, on_delta=on_delta)

    async def prepare(self, situation: Situation) -> tuple[Prompt, ChatRequest]:
        """Build the turn's prompt and request from memory as it is now."""
        prompt = await self.prompt_for(situation)
        return prompt, self.request(prompt, TurnAction, "turn")

    async def call(
        self, backend: ChatBackend, prompt: Prompt, request: ChatRequest, *, on_delta: DeltaCallback | None = None
    ) -> TurnOutcome:
        """Send a prepared turn request; see :meth:`act` for the error contract."""
        try:
            response = await backend.complete(request, on_delta=on_delta)
        except InvalidOutputError as exc:
            return TurnOutcome(self.name, None, list(exc.calls), exc, prompt, request)
        except BackendError as exc:
            if is_fatal(exc):
                raise
            return TurnOutcome(self.name, None, [], exc, prompt, request)
        action = response.parsed if isinstance(response.parsed, TurnAction) else None
        return TurnOutcome(self.name, action, list(response.calls), None, prompt, request)

    async def answer(
        self, backend: ChatBackend, prompt: Prompt, output_model: type[BaseModel], *, purpose: str = "poll"
    ) -> AnswerOutcome:
        """One structured answer (a poll) from an already built prompt."""
        request = self.request(prompt, output_model, purpose)
        try:
            response = await backend.complete(request)
        except InvalidOutputError as exc:
            return AnswerOutcome(self.name, None, list(exc.calls), exc, request)
        except BackendError as exc:
            if is_fatal(exc):
                raise
            return AnswerOutcome(self.name, None, [], exc, request)
        return AnswerOutcome(self.name, response.parsed, list(response.calls), None, request)


def heard_line(event: Say, *, to_me: bool = False) -> str:
    """How a listener remembers another persona's ``say``. A listener it was not addressed to
    takes no other note of it (its state of mind changes only when spoken to), so the room
    stores that line once for all of them (:class:`~troupe.core.memory.SharedLines`)."""
    target = " (to you)" if to_me else (f" (to {event.to})" if event.to else "")
    return f"{event.agent}{target}: {event.text}"


def _value_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


__all__ = ["Agent", "AgentConfig", "AnswerOutcome", "Situation", "TurnOutcome", "heard_line"]
