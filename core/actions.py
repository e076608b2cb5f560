"""What an agent can do in one turn: the structured output of the one LLM call per turn."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TurnAction(BaseModel):
    """The model's reply for one agent turn."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["say", "think", "pass"] = Field(
        description="say = speak to the room; think = a private thought nobody hears; pass = stay silent"
    )
    text: str = Field(description="What you say or think, in your own voice. Empty when passing.")
    to: str | None = Field(description="Name of the person you address, or null for everyone.")
    feeling: str | None = Field(description="One or two words for how you feel right now, or null.")
