"""The Persona schema: strictness where typos hide, openness where TinyTroupe is open."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from troupe.core.slugs import slugify
from troupe.personas.model import BigFive, Persona, level_score


def test_name_is_the_only_required_field_and_slug_follows_it() -> None:
    persona = Persona(name="Zoé Tremblay")
    assert persona.slug == "zoe-tremblay"
    assert persona.first_name == "Zoé"
    with pytest.raises(ValidationError) as info:
        Persona.model_validate({"age": 30})
    assert info.value.errors()[0]["loc"] == ("name",)


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Margaret O'Connor", "margaret-oconnor"),
        ("São Paulo", "sao-paulo"),
        ("  Lisa  ", "lisa"),
        ("Chen Wei", "chen-wei"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_an_explicit_slug_must_be_slug_shaped() -> None:
    assert Persona(name="X", slug="my-id").slug == "my-id"
    with pytest.raises(ValidationError):
        Persona(name="X", slug="Not A Slug")


@pytest.mark.parametrize(
    ("value", "score"),
    [
        ("High. Very imaginative and curious.", 0.8),
        ("Medium. Friendly but quiet.", 0.5),
        ("Low.", 0.2),
        ("very high", 0.9),
        ("Medium-low. Reserved.", 0.35),
        (0.3, 0.3),
        (1, 1.0),
        ("Somewhat agreeable", None),
        (None, None),
    ],
)
def test_big_five_levels_map_to_unit_scores(value: str | float | None, score: float | None) -> None:
    assert level_score(value) == score


def test_big_five_numbers_outside_unit_range_are_rejected() -> None:
    assert BigFive(openness=0.7).score("openness") == 0.7
    with pytest.raises(ValidationError) as info:
        BigFive(openness=7)
    assert "between 0 and 1" in str(info.value)


def test_nested_tables_reject_typos() -> None:
    with pytest.raises(ValidationError) as info:
        Persona.model_validate({"name": "X", "preferences": {"like": ["tea"]}})
    assert info.value.errors()[0]["loc"] == ("preferences", "like")
    with pytest.raises(ValidationError):
        Persona.model_validate({"name": "X", "favourite_colour": "blue"})


def test_behaviors_take_any_named_list_of_strings() -> None:
    persona = Persona.model_validate({"name": "X", "behaviors": {"general": ["a"], "travel": ["b", "c"]}})
    assert persona.behaviors.named_lists() == {"travel": ["b", "c"]}
    with pytest.raises(ValidationError) as info:
        Persona.model_validate({"name": "X", "behaviors": {"travel": "not a list"}})
    assert info.value.errors()[0]["loc"] == ("behaviors", "travel")


def test_occupation_accepts_old_tinytroupe_string_form() -> None:
    assert Persona.model_validate({"name": "X", "occupation": "Architect"}).occupation.title == "Architect"


def test_troupe_fields_are_checked() -> None:
    with pytest.raises(ValidationError):
        Persona(name="X", talkativeness=1.5)
    with pytest.raises(ValidationError):
        Persona.model_validate({"name": "X", "income": "rich"})
    persona = Persona(name="X", income="low", languages=["French"], household="alone", talkativeness=0.2)
    assert persona.income == "low" and persona.talkativeness == 0.2


def test_residence_gives_city_and_country() -> None:
    persona = Persona(name="D", residence="Cleveland, Ohio, USA")
    assert (persona.city, persona.country) == ("Cleveland", "USA")
    assert Persona(name="N").city == ""


def test_to_data_drops_empty_fields_but_keeps_extra_verbatim() -> None:
    persona = Persona(name="X", age=30, extra={"empty": "", "none": None, "list": []})
    data = persona.to_data()
    assert data == {"name": "X", "slug": "x", "age": 30, "extra": {"empty": "", "none": None, "list": []}}
    assert Persona.model_validate(data) == persona
