"""Agents: one structured call per turn, perception, and a state of mind that reaches the prompt."""

from __future__ import annotations

from engine_fixtures import make_card, prompt_text

from troupe.core.actions import TurnAction
from troupe.core.agent import Agent, Situation
from troupe.core.errors import InvalidOutputError
from troupe.core.events import parse_event
from troupe.core.llm.scripted import ScriptedBackend


def _event(seq: int, type: str, **fields: object):
    return parse_event({"seq": seq, "ts": "2026-01-01T12:00:00.000Z", "type": type, **fields})


def _agent(name: str = "Maria Lopez") -> Agent:
    return Agent(make_card(name, {"talkativeness": 0.6, "occupation": "nurse"}), panel=["Maria Lopez", "Tom Becker"])


async def test_a_turn_is_exactly_one_structured_call() -> None:
    backend = ScriptedBackend(script=[{"action": "say", "text": "I'd try it.", "to": None, "feeling": "curious"}])
    agent = _agent()
    agent.perceive(_event(1, "moderator", text="What do you think of bottled gazpacho?", to=None))
    outcome = await agent.act(backend, Situation(current="What do you think of bottled gazpacho?", current_seq=1))
    assert backend.calls == 1 and len(backend.requests) == 1
    request = backend.requests[0]
    assert request.output_model is TurnAction and request.purpose == "turn" and request.agent == "Maria Lopez"
    assert request.metadata["card"] == agent.card.to_dict()
    assert outcome.action is not None and outcome.action.text == "I'd try it."
    assert len(outcome.calls) == 1 and outcome.error is None


async def test_invalid_output_after_repair_comes_back_with_both_calls() -> None:
    backend = ScriptedBackend(script=["not json", '{"action": "shout"}'])
    outcome = await _agent().act(backend, Situation(current="Hello?"))
    assert outcome.action is None and isinstance(outcome.error, InvalidOutputError)
    assert len(outcome.calls) == 2  # the first call and the repair call, both to be logged


def test_perception_renders_what_the_agent_saw_and_did() -> None:
    agent = _agent()
    agent.perceive(_event(1, "section_started", index=0, title="Warm-up", rules=["Be honest."]))
    agent.perceive(_event(2, "moderator", text="Lunch habits?", to=None))
    agent.perceive(_event(3, "say", agent="Tom Becker", text="A sandwich.", turn=1, to="Maria Lopez"), to_me=True)
    agent.perceive(_event(4, "say", agent="Maria Lopez", text="Salad for me.", turn=1, feeling="cheerful"))
    agent.perceive(_event(5, "think", agent="Maria Lopez", text="Tom seems grumpy.", turn=2, feeling="amused"))
    lines = [item.text for item in agent.memory.items]
    assert lines == [
        "— New part of the discussion: Warm-up. Ground rules: Be honest.",
        "Moderator: Lunch habits?",
        "Tom Becker (to you): A sandwich.",
        "You said: Salad for me.",
        "You thought, privately: Tom seems grumpy.",
    ]
    assert agent.turns == 2 and agent.airtime_chars == len("Salad for me.")
    assert agent.last_say_seq == 4


async def test_the_state_of_mind_reaches_the_prompt() -> None:
    """TinyTroupe computes a cognitive state that renders empty; ours must be in the prompt."""
    agent = _agent()
    agent.perceive(_event(1, "section_started", index=1, title="Concept reactions", rules=["No idea is wrong."]))
    agent.perceive(
        _event(2, "stimulus", source="guide", kind="concept", title="Soup A", text="A soup in a bottle.", to=None)
    )
    agent.perceive(
        _event(3, "think", agent="Maria Lopez", text="The price is too high for a nurse.", turn=1, feeling="sceptical")
    )
    agent.perceive(
        _event(4, "say", agent="Tom Becker", text="Maria, would you pay that?", turn=1, to="Maria Lopez"), to_me=True
    )
    backend = ScriptedBackend()
    await agent.act(backend, Situation(current="A soup in a bottle.", current_seq=2))
    text = prompt_text(backend.requests[0])
    context, now = (m.content for m in backend.requests[0].messages[1:])
    for expected in (  # slow-changing: early in the prompt, before the summary and window
        "Your goals:",
        "Current part of the discussion: Concept reactions.",
        "Ground rules now: No idea is wrong.",
    ):
        assert expected in context.split("# What you remember")[0], expected
    for expected in (  # moment to moment: in the last message
        "You feel sceptical.",
        "You have been wanting to say: The price is too high for a nurse.",
        "Tom Becker spoke to you: Maria, would you pay that?",
    ):
        assert expected in now, expected
    assert agent.card.prompt in text


async def test_goals_come_from_the_card_when_it_has_them() -> None:
    agent = Agent(make_card("Kwame Mensah", {"goals": ["Find evidence before believing claims."]}))
    prompt = await agent.prompt_for(Situation(current="Thoughts?"))
    assert "Your goals: Find evidence before believing claims." in prompt.messages[1].content


async def test_the_current_question_is_not_repeated_in_full_while_it_is_in_the_window() -> None:
    agent = _agent()
    long_text = "Please react to this concept. " * 40
    agent.perceive(_event(1, "stimulus", source="guide", kind="text", text=long_text, to=None))
    prompt = await agent.prompt_for(Situation(current=long_text, current_seq=1))
    assert prompt.messages[1].content.count("Please react") == 40  # in the window, verbatim
    assert prompt.messages[-1].content.count("Please react") < 20  # a short reminder (and the attention line)
