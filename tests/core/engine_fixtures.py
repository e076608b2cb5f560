"""Small builders shared by the engine tests (cards, rooms, guides) — no fixtures magic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from troupe.core.agent import Agent, AgentConfig
from troupe.core.card import PersonaCard
from troupe.core.clock import FixedClock
from troupe.core.group_commit import GroupCommitLog
from troupe.core.llm.protocol import ChatBackend, ChatRequest
from troupe.core.room import Room

PEOPLE = {
    "Maria Lopez": {"occupation": "nurse", "talkativeness": 0.7, "likes": ["fresh market produce"], "age": 42},
    "Tom Becker": {
        "occupation": "retired postal worker",
        "talkativeness": 0.2,
        "dislikes": ["subscriptions"],
        "age": 67,
    },
    "Aiko Sato": {"occupation": "fitness instructor", "talkativeness": 0.9, "likes": ["protein snacks"], "age": 24},
    "Kwame Mensah": {
        "occupation": "software engineer",
        "talkativeness": 0.5,
        "likes": ["good documentation"],
        "age": 35,
    },
}


def make_card(name: str, traits: dict[str, Any] | None = None, *, words: int = 60) -> PersonaCard:
    """A card with a prompt of about ``words`` words (realistic cards are ~400 words)."""
    body = " ".join(f"{name.split()[0]} likes detail{i % 7} and habit{i % 11}." for i in range(words // 5))
    return PersonaCard(
        name=name,
        descriptor=f"{(traits or {}).get('age', 40)} · {(traits or {}).get('occupation', 'person')}",
        prompt=f"You are {name}. {body}",
        traits=dict(traits or {}),
    )


def make_cards(n: int | None = None) -> list[PersonaCard]:
    names = list(PEOPLE)[: n or len(PEOPLE)]
    return [make_card(name, PEOPLE[name]) for name in names]


def make_room(
    tmp_path: Path,
    backend: ChatBackend,
    cards: list[PersonaCard] | None = None,
    *,
    config: AgentConfig | None = None,
    **room_options: Any,
) -> Room:
    cards = cards or make_cards()
    names = [c.name for c in cards]
    log = GroupCommitLog(tmp_path / "events.jsonl", clock=FixedClock())
    agents = [Agent(c, panel=names, config=config) for c in cards]
    return Room(log, agents, backend, **room_options)


def turn_requests(backend: Any, purpose: str = "turn") -> list[ChatRequest]:
    return [r for r in backend.requests if r.purpose == purpose]


def prompt_text(request: ChatRequest) -> str:
    return "\n".join(m.content for m in request.messages)


def guide_data(**overrides: Any) -> dict[str, Any]:
    """A small two-section guide: a parallel discussion with a stimulus, then a poll section."""
    data: dict[str, Any] = {
        "title": "Bottled soup test",
        "defaults": {"policy": "parallel", "rounds": 2},
        "sections": [
            {
                "title": "Warm-up",
                "prompt": "Tell us what you usually have for lunch.",
                "policy": "round_robin",
                "rounds": 1,
            },
            {
                "title": "Concept",
                "prompt": "Here is an idea for a new product.",
                "stimuli": [
                    {"kind": "concept", "title": "Soup A", "text": "A chilled soup in a bottle, 2.49."},
                    {"kind": "concept", "title": "Soup B", "text": "A family recipe soup, cold-pressed."},
                ],
                "stimuli_order": "rotate",
                "polls": [{"id": "intent", "question": "Would you buy it?", "kind": "likert5"}],
            },
        ],
    }
    data.update(overrides)
    return data
