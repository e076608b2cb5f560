"""The shipped library: every file valid, a diverse panel, and name resolution."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from troupe.core.errors import BadInputError
from troupe.core.tokens import estimate_tokens
from troupe.personas.card import render_card
from troupe.personas.library import library_dir, list_library, resolve_persona
from troupe.personas.model import Persona

# Other packages (session guides, demos) seat these slugs: they are a contract.
SLUGS = {
    "maria-lopez": ("Maria Lopez", 42, "Seville"),
    "tom-becker": ("Tom Becker", 67, "Leeds"),
    "aiko-sato": ("Aiko Sato", 24, "Osaka"),
    "kwame-mensah": ("Kwame Mensah", 35, "Accra"),
    "priya-raman": ("Priya Raman", 29, "Bengaluru"),
    "jean-dubois": ("Jean Dubois", 54, "Lyon"),
    "lucas-oliveira": ("Lucas Oliveira", 19, "São Paulo"),
    "margaret-oconnor": ("Margaret O'Connor", 78, "Cork"),
    "dmitri-volkov": ("Dmitri Volkov", 46, "Cleveland"),
    "fatima-haddad": ("Fatima Haddad", 38, "Casablanca"),
    "chen-wei": ("Chen Wei", 31, "Shenzhen"),
    "sarah-johnson": ("Sarah Johnson", 45, "Houston"),
    "lars-nilsson": ("Lars Nilsson", 60, "Jämtland"),
    "zoe-tremblay": ("Zoé Tremblay", 18, "Montreal"),
}


@pytest.fixture(scope="module")
def library() -> list[Persona]:
    return list_library()


def test_every_library_file_loads_with_its_contracted_basics(library: list[Persona]) -> None:
    assert {p.slug: (p.name, p.age, p.city) for p in library} == SLUGS
    assert sorted(f.stem for f in library_dir().glob("*.toml")) == sorted(SLUGS)
    assert [p.slug for p in library] == sorted(SLUGS)


def test_the_panel_is_diverse(library: list[Persona]) -> None:
    ages = [p.age for p in library]
    assert min(ages) <= 18 and max(ages) >= 78
    assert len({p.country for p in library}) >= 6
    assert len({p.name for p in library}) == len({p.slug for p in library}) == len(library)
    assert {p.gender for p in library} == {"Female", "Male"}
    talk = [render_card(p).traits["talkativeness"] for p in library]
    agree = [render_card(p).traits["agreeableness"] for p in library]
    assert min(talk) <= 0.2 and max(talk) >= 0.9 and statistics.pstdev(talk) > 0.2
    assert min(agree) <= 0.2 and max(agree) >= 0.85 and statistics.pstdev(agree) > 0.2


def test_library_personas_are_rich(library: list[Persona]) -> None:
    for p in library:
        big_five = p.personality.big_five
        assert all(
            big_five.score(f) is not None
            for f in ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
        ), p.slug
        assert p.style and p.verbal_tics and p.talkativeness is not None, p.slug
        assert len(p.beliefs) >= 4 and len(p.preferences.likes) >= 4 and len(p.preferences.dislikes) >= 4, p.slug
        assert p.behaviors.routines and p.behaviors.named_lists().get("money"), p.slug
        assert p.relationships and p.long_term_goals and p.skills and p.health and p.other_facts, p.slug
        assert p.income and p.household and p.languages, p.slug
        lines = (library_dir() / f"{p.slug}.toml").read_text(encoding="utf-8").count("\n")
        assert 60 <= lines <= 130, (p.slug, lines)


def test_each_card_fits_its_budget(library: list[Persona]) -> None:
    for p in library:
        for budget in (300, 600):
            card = render_card(p, budget_tokens=budget)
            assert estimate_tokens(card.prompt) <= budget, (p.slug, budget)
        assert estimate_tokens(card.short_prompt) <= 120, p.slug
        assert card.prompt.startswith(f"You are {p.name}, {p.age}, "), p.slug
        assert card.descriptor.startswith(f"{p.age} · "), p.slug


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("maria-lopez", "maria-lopez"),
        ("Maria Lopez", "maria-lopez"),
        ("MARIA LOPEZ", "maria-lopez"),
        ("Zoe Tremblay", "zoe-tremblay"),
        ("Zoé", "zoe-tremblay"),
        ("margaret o'connor", "margaret-oconnor"),
        ("dmitri", "dmitri-volkov"),
        (" tom ", "tom-becker"),
    ],
)
def test_resolve_by_slug_name_or_first_name(query: str, slug: str) -> None:
    assert resolve_persona(query).slug == slug


def test_resolve_a_file_path(tinytroupe_dir: Path) -> None:
    assert resolve_persona(str(tinytroupe_dir / "Lisa.agent.json")).name == "Lisa Carter"
    assert resolve_persona(str(library_dir() / "tom-becker.toml")).slug == "tom-becker"
    with pytest.raises(BadInputError, match="file not found"):
        resolve_persona("nowhere/ghost.toml")


def test_unknown_names_list_close_matches() -> None:
    with pytest.raises(BadInputError) as info:
        resolve_persona("maria-lopes")
    assert "not in the library" in str(info.value) and "maria-lopez" in str(info.value)
    with pytest.raises(BadInputError, match="close matches: lars-nilsson"):
        resolve_persona("Lars Nilson")
    with pytest.raises(BadInputError) as info:
        resolve_persona("Gandalf")
    assert "close matches" not in str(info.value)
    with pytest.raises(BadInputError):
        resolve_persona("  ")


def test_a_first_name_shared_by_two_is_ambiguous(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "maria-lopez.toml").write_text('name = "Maria Lopez"\n')
    (tmp_path / "maria-silva.toml").write_text('name = "Maria Silva"\n')
    monkeypatch.setattr("troupe.personas.library.library_dir", lambda: tmp_path)
    with pytest.raises(BadInputError, match="ambiguous: maria-lopez, maria-silva"):
        resolve_persona("maria")
    assert resolve_persona("maria silva").slug == "maria-silva"
