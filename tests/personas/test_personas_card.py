"""The prompt card: within budget, opinion-relevant facts first, traits the engine reads."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from troupe.core.card import PersonaCard
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.tokens import estimate_tokens
from troupe.personas.card import descriptor, render_card, short_prompt, traits
from troupe.personas.load import load_persona
from troupe.personas.model import Persona


@pytest.fixture
def lisa(tinytroupe_dir: Path) -> Persona:
    return load_persona(tinytroupe_dir / "Lisa.agent.json")


def test_card_is_second_person_and_starts_with_who_you_are(lisa: Persona) -> None:
    card = render_card(lisa)
    assert isinstance(card, PersonaCard)
    assert card.name == "Lisa Carter"
    assert card.prompt.startswith(
        "You are Lisa Carter, 28, a Data Scientist at Microsoft, M365 Search Team, living in USA."
    )
    for expected in (
        "Your personality:",
        "How you speak:",
        "You believe:",
        "You like:",
        "You dislike:",
        "Your routine:",
        "Your long-term goals:",
    ):
        assert expected in card.prompt


@pytest.mark.parametrize("budget", [60, 120, 250, 400, 600, 1000])
def test_prompt_fits_its_budget(lisa: Persona, budget: int) -> None:
    assert estimate_tokens(render_card(lisa, budget_tokens=budget).prompt) <= budget


def test_a_tight_budget_keeps_beliefs_and_likes_and_drops_trivia(lisa: Persona) -> None:
    tight = render_card(lisa, budget_tokens=250).prompt
    assert "Data should be used ethically and responsibly." in tight
    assert "Clear, well-documented code" in tight
    assert "Messy or ambiguous datasets" in tight
    assert "Professional yet approachable." in tight
    assert "Your skills:" not in tight and "Education:" not in tight and "Other facts" not in tight
    roomy = render_card(lisa, budget_tokens=3000).prompt
    assert "Your skills:" in roomy and "Education:" in roomy and "Other facts about you:" in roomy
    assert "BizChat" in roomy  # a relationship
    assert "Medium. Friendly and engaging" in roomy  # big five text


def test_items_appear_in_reading_order_not_rank_order(lisa: Persona) -> None:
    prompt = render_card(lisa, budget_tokens=3000).prompt
    heads = ["Your work:", "Your personality:", "How you speak:", "You believe:", "You like:", "You dislike:"]
    positions = [prompt.index(h) for h in heads]
    assert positions == sorted(positions)


def test_short_prompt_is_small_and_still_opinionated(lisa: Persona) -> None:
    text = short_prompt(lisa)
    assert estimate_tokens(text) <= 120
    assert text.startswith("You are Lisa Carter, 28")
    assert "You believe:" in text and "You like:" in text
    assert render_card(lisa).short_prompt == text


def test_descriptor() -> None:
    maria = Persona(name="Maria Lopez", age=42, residence="Seville, Spain", occupation={"title": "nurse"})
    assert descriptor(maria) == "42 · nurse · Seville"
    assert descriptor(Persona(name="X", occupation={"title": "Data Scientist"})) == "data scientist"
    assert descriptor(Persona(name="X", age=50, occupation={"title": "CEO"})) == "50 · CEO"


def test_traits_carry_the_keys_the_engine_reads(lisa: Persona) -> None:
    t = traits(lisa)
    for key in (
        "age",
        "occupation",
        "residence",
        "interests",
        "likes",
        "dislikes",
        "style",
        "talkativeness",
        "agreeableness",
        "openness",
    ):
        assert key in t
    assert t["age"] == 28 and t["occupation"] == "Data Scientist" and t["residence"] == "USA"
    assert t["agreeableness"] == 0.8 and t["openness"] == 0.8 and t["neuroticism"] == 0.2
    assert t["talkativeness"] == 0.5  # derived from "Medium." extraversion
    assert t["style"] == "Professional yet approachable."
    assert t["likes"][0] == "Clear, well-documented code."


def test_talkativeness_is_explicit_or_follows_extraversion() -> None:
    assert traits(Persona(name="A", talkativeness=0.9))["talkativeness"] == 0.9
    loud = Persona.model_validate({"name": "B", "personality": {"big_five": {"extraversion": "Very high."}}})
    quiet = Persona.model_validate({"name": "C", "personality": {"big_five": {"extraversion": 0.0}}})
    assert traits(loud)["talkativeness"] > 0.7 > 0.3 > traits(quiet)["talkativeness"]
    assert traits(Persona(name="D"))["agreeableness"] == 0.5  # unknown → neutral


def test_minimal_persona_renders() -> None:
    card = render_card(Persona(name="Nobody"))
    assert card.prompt == "You are Nobody." and card.descriptor == ""


def test_extra_text_reaches_the_prompt_when_there_is_room() -> None:
    persona = Persona(name="X", extra={"favourite_team": "Sevilla FC", "tinytroupe": {"world": "hidden"}})
    prompt = render_card(persona).prompt
    assert "favourite team: Sevilla FC" in prompt and "hidden" not in prompt


def test_scripted_backend_writes_with_the_card_traits(lisa: Persona) -> None:
    card = render_card(lisa)
    request = ChatRequest(
        messages=[Message("user", 'What do you think of "Gazpacho Go"?')],
        agent=card.name,
        metadata={"card": card.to_dict()},
    )
    texts = [asyncio.run(ScriptedBackend(seed=s).complete(request)).text for s in range(12)]
    flavour = [
        w.lower().rstrip(".")
        for w in (*lisa.preferences.likes, *lisa.preferences.dislikes, *lisa.preferences.interests)
    ]
    assert any(f in t.lower() for t in texts for f in flavour) or any("data scientist" in t.lower() for t in texts)
