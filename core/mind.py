"""An agent's small mental state: goals, feeling, attention, what it is trying to say.

TinyTroupe computes a cognitive state that never reaches the prompt. Here the state is only
useful through :meth:`MentalState.render_standing` (goals, section, rules) and
:meth:`MentalState.render` (attention, feeling, intent), which the prompt builder always
includes (a test checks they appear), and every field is updated from logged events, so a
resumed agent has the same state of mind as before the crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_GOALS = (
    "Say what you honestly think, from your own life and habits.",
    "React to the others when you agree or disagree.",
)


def _short(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass
class MentalState:
    goals: list[str] = field(default_factory=lambda: list(DEFAULT_GOALS))
    """Standing goals (from the card's ``goals`` trait, else the defaults)."""
    section: str | None = None
    """The part of the discussion we are in."""
    rules: list[str] = field(default_factory=list)
    """The section's ground rules."""
    feeling: str | None = None
    attention: str | None = None
    """What the agent is focused on right now."""
    intent: str | None = None
    """What it is trying to get across (a private thought it has not said yet)."""
    wants_to_speak: bool = False
    addressed_by: str | None = None
    """Who last spoke to this agent directly and is still waiting for an answer."""
    addressed_at: int = 0
    """``seq`` of that address (the ``free`` policy answers the most recent first)."""

    # -- updates (all driven by events) ---------------------------------------------------

    def on_section(self, title: str, rules: list[str]) -> None:
        self.section = title
        self.rules = list(rules)
        self.attention = f"the new topic: {title}"

    def on_prompt(self, source: str, text: str, *, to_me: bool, seq: int) -> None:
        """The moderator spoke or showed something."""
        self.attention = f"{source}: {_short(text, 60)}"
        if to_me:
            self.addressed_by, self.addressed_at = "the moderator", seq
            self.wants_to_speak = True

    def on_heard(self, speaker: str, text: str, *, to_me: bool, seq: int) -> None:
        if to_me:
            self.attention = f"{speaker} spoke to you: {_short(text, 100)}"
            self.addressed_by, self.addressed_at = speaker, seq
            self.wants_to_speak = True

    def on_own(self, action: str, text: str, feeling: str | None) -> None:
        if feeling:
            self.feeling = _short(feeling, 40)
        if action == "think":
            self.intent = _short(text)
            self.wants_to_speak = True
        elif action == "say":
            self.intent = None
            self.wants_to_speak = False
            self.addressed_by = None
        else:  # pass
            self.wants_to_speak = False
            self.addressed_by = None

    # -- rendering --------------------------------------------------------------------------

    def render_standing(self) -> str:
        """The slow-changing part (goals, the part of the discussion, its rules): it changes only
        with the section, so the prompt builder places it early, in the stable prefix."""
        lines = ["Your goals: " + " ".join(self.goals)]
        if self.section:
            lines.append(f"Current part of the discussion: {self.section}.")
        if self.rules:
            lines.append("Ground rules now: " + " ".join(self.rules))
        return "\n".join(lines)

    def render(self) -> str:
        """The moment-to-moment part (attention, feeling, what it wants to say); never empty."""
        lines = []
        if self.attention:
            lines.append(f"You are paying attention to {self.attention}")
        if self.feeling:
            lines.append(f"You feel {self.feeling}.")
        if self.intent:
            lines.append(f"You have been wanting to say: {self.intent}")
        return "\n".join(lines) or "You are listening to the discussion."
