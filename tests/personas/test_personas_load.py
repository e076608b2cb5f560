"""Loading persona files: Troupe TOML/JSON, TinyTroupe import (nothing dropped), fragments,
and one-line errors that name the file and the field."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from troupe.core.errors import BadInputError
from troupe.personas.fragments import merge
from troupe.personas.load import import_tinytroupe, load_fragment, load_persona, read_source, slug_from_path

MARIA = """
name = "Maria Lopez"
age = 42
residence = "Seville, Spain"
beliefs = ["Fresh is best."]
talkativeness = 0.6

[occupation]
title = "nurse"

[preferences]
likes = ["olive oil"]

[extra]
favourite_saint = "Virgen de la Macarena"
"""


# -- Troupe formats ----------------------------------------------------------------------


def test_troupe_toml_loads_with_slug_from_file_name(write) -> None:
    persona = load_persona(write("maria-lopez.toml", MARIA))
    assert persona.name == "Maria Lopez" and persona.slug == "maria-lopez"
    assert persona.occupation.title == "nurse"
    assert persona.extra == {"favourite_saint": "Virgen de la Macarena"}


def test_troupe_json_is_the_same_format(write) -> None:
    persona = load_persona(write("tom.json", {"name": "Tom Becker", "age": 67, "preferences": {"dislikes": ["apps"]}}))
    assert (persona.slug, persona.age, persona.preferences.dislikes) == ("tom", 67, ["apps"])


def test_an_explicit_slug_wins_over_the_file_name(write) -> None:
    assert load_persona(write("copy.json", {"name": "Tom", "slug": "tom-becker"})).slug == "tom-becker"


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Lisa.agent.json", "lisa"),
        ("travel_enthusiast.agent.fragment.json", "travel-enthusiast"),
        ("a/b/Maria López.toml", "maria-lopez"),
    ],
)
def test_slug_from_path(name: str, slug: str) -> None:
    assert slug_from_path(name) == slug


# -- errors: one line, file and field ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "field", "reason"),
    [
        ("bad.toml", 'name = "X"\nage = ', None, "invalid TOML"),
        ("bad.json", '{"name": "X",', None, "invalid JSON"),
        ("type.toml", 'name = "X"\nage = "forty"\n', "age", "integer"),
        ("noname.toml", "age = 40\n", "name", "required field is missing"),
        ("typo.toml", 'name = "X"\nbelief = ["a"]\n', "belief", "unknown field"),
        ("nested.toml", 'name = "X"\n[preferences]\nlike = ["a"]\n', "preferences.like", "unknown field"),
        ("list.json", "[1, 2]", "(root)", "expected an object"),
        ("range.toml", 'name = "X"\ntalkativeness = 3\n', "talkativeness", "less than or equal to 1"),
        ("frag.toml", 'name = "X"\nfragments = "a.toml"\n', "fragments", "list of file paths"),
        ("missing-frag.toml", 'name = "X"\nfragments = ["nope.fragment.toml"]\n', "fragments[0]", "not found"),
        ("tt.json", {"type": "Robot", "persona": {"name": "X"}}, "type", "TinyPerson"),
        ("tt2.agent.json", {"type": "TinyPerson", "persona": {"name": "X", "age": "old"}}, "age", "integer"),
    ],
)
def test_bad_files_give_one_line_naming_file_and_field(write, name, content, field, reason) -> None:
    path = write(name, content)
    with pytest.raises(BadInputError) as info:
        load_persona(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    if field:
        assert f": {field}: " in message
    assert reason in message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("name", ["latin1.toml", "latin1.json"])
def test_a_file_that_is_not_utf8_is_bad_input_not_a_crash(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(
        'name = "Zoé"\n'.encode("latin-1") if name.endswith(".toml") else '{"name": "Zoé"}'.encode("latin-1")
    )
    with pytest.raises(BadInputError) as info:
        load_persona(path)
    assert str(info.value) == f"{path}: not UTF-8 text"


def test_missing_file_and_unsupported_suffix(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="file not found"):
        load_persona(tmp_path / "ghost.toml")
    (tmp_path / "x.yaml").write_text("name: x")
    with pytest.raises(BadInputError, match="unsupported file type"):
        load_persona(tmp_path / "x.yaml")


# -- TinyTroupe import --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Lisa.agent.json", "Oscar.agent.json"])
def test_tinytroupe_agents_import_with_every_leaf_kept(tinytroupe_dir: Path, leaves, name: str) -> None:
    source = json.loads((tinytroupe_dir / name).read_text(encoding="utf-8"))
    persona = load_persona(tinytroupe_dir / name)
    assert persona.name == source["persona"]["name"]
    dumped = Counter(map(repr, leaves(persona.model_dump(mode="json"))))
    wanted = Counter(map(repr, leaves(source["persona"])))
    assert not wanted - dumped, f"dropped: {list((wanted - dumped).elements())[:3]}"
    # The modelled fields are where a reader expects them, not parked in `extra`.
    assert persona.extra == {}
    assert persona.personality.big_five.score("openness") == 0.8
    assert persona.behaviors.routines["morning"]


def test_tinytroupe_fields_troupe_does_not_model_go_to_extra_verbatim(tinytroupe_dir: Path, leaves, write) -> None:
    document = json.loads((tinytroupe_dir / "Oscar.agent.json").read_text(encoding="utf-8"))
    p = document["persona"]
    p["occupation"]["salary"] = {"amount": 70000, "currency": "EUR"}
    p["relationships"][1]["since"] = 2019
    p["behaviors"]["quirks"] = [{"when": "stressed", "does": "hums"}]  # not a list of strings
    p["mental_faculties"] = [{"type": "RecallFaculty"}, None, True]
    p["personality"]["mbti"] = "ENTJ"
    document["world"] = "Munich office"

    data = import_tinytroupe(document)
    assert data["extra"] == {
        "occupation": {"salary": {"amount": 70000, "currency": "EUR"}},
        "relationships": [{}, {"since": 2019}, {}],
        "behaviors": {"quirks": [{"when": "stressed", "does": "hums"}]},
        "mental_faculties": [{"type": "RecallFaculty"}, None, True],
        "personality": {"mbti": "ENTJ"},
        "tinytroupe": {"world": "Munich office"},
    }
    persona = load_persona(write("Oscar2.agent.json", document))
    dumped = Counter(map(repr, leaves(persona.model_dump(mode="json"))))
    wanted = Counter(map(repr, leaves(p))) + Counter([repr("Munich office")])
    assert not wanted - dumped


def test_read_source_tells_kinds_and_formats(tinytroupe_dir: Path, write) -> None:
    assert (
        read_source(tinytroupe_dir / "Lisa.agent.json").kind,
        read_source(tinytroupe_dir / "Lisa.agent.json").format,
    ) == ("persona", "tinytroupe")
    fragment = read_source(tinytroupe_dir / "travel_enthusiast.agent.fragment.json")
    assert (fragment.kind, fragment.format) == ("fragment", "tinytroupe")
    assert read_source(write("cook.fragment.toml", 'beliefs = ["x"]\n')).kind == "fragment"
    with pytest.raises(BadInputError, match="is a fragment, not a persona"):
        load_persona(tinytroupe_dir / "travel_enthusiast.agent.fragment.json")


# -- fragments -------------------------------------------------------------------------------


def test_merge_rules() -> None:
    base = {
        "beliefs": ["a", "b"],
        "preferences": {"likes": ["tea"], "dislikes": ["noise"]},
        "behaviors": {"routines": {"morning": ["run"]}},
        "style": "terse",
        "age": 40,
        "relationships": [{"name": "Ann", "description": "sister"}],
    }
    overlay = {
        "beliefs": ["b", "c"],
        "preferences": {"likes": ["coffee", "tea"]},
        "behaviors": {"routines": {"morning": ["swim"], "evening": ["read"]}, "travel": ["plans"]},
        "style": "chatty",
        "relationships": [{"name": "Ann", "description": "sister"}, {"name": "Bo", "description": "friend"}],
    }
    merged = merge(base, overlay)
    assert merged["beliefs"] == ["a", "b", "c"]  # lists extend, no duplicates
    assert merged["preferences"] == {"likes": ["tea", "coffee"], "dislikes": ["noise"]}  # mappings merge
    assert merged["behaviors"] == {"routines": {"morning": ["run", "swim"], "evening": ["read"]}, "travel": ["plans"]}
    assert merged["style"] == "chatty" and merged["age"] == 40  # scalars override; others stay
    assert [r["name"] for r in merged["relationships"]] == ["Ann", "Bo"]
    assert base["beliefs"] == ["a", "b"]  # inputs untouched
    assert merge({"x": ["a"]}, {"x": "b"}) == {"x": "b"}  # different kinds: the fragment wins


def test_persona_applies_troupe_and_tinytroupe_fragments_in_order(tinytroupe_dir: Path, write) -> None:
    write(
        "frags/cook.fragment.toml",
        'style = "Chatty"\nbeliefs = ["Food is love."]\n[preferences]\nlikes = ["markets", "olive oil"]\n',
    )
    travel = tinytroupe_dir / "travel_enthusiast.agent.fragment.json"
    # A relative path is resolved next to the persona file; an absolute one is used as is.
    path = write("maria.toml", f'fragments = ["frags/cook.fragment.toml", "{travel}"]\n' + MARIA)

    persona = load_persona(path)
    assert persona.style == "Chatty"
    assert persona.preferences.likes == [
        "olive oil",
        "markets",
        "Travel guides",
        "Planning trips and itineraries",
        "Meeting new people",
        "Taking photographs of scenic locations",
    ]
    assert persona.beliefs[:2] == ["Fresh is best.", "Food is love."]
    assert "Travel broadens the mind and enriches the soul." in persona.beliefs
    assert persona.behaviors.named_lists()["travel"][0].startswith("You meticulously plan")
    assert persona.preferences.interests == ["Traveling", "Exploring new cultures", "Trying local cuisines"]


def test_a_bad_fragment_is_blamed_not_its_persona(write) -> None:
    fragment = write("bad.fragment.toml", '[preferences]\nlikes = "tea"\n')
    persona = write("p.toml", 'name = "X"\nfragments = ["bad.fragment.toml"]\n')
    with pytest.raises(BadInputError) as info:
        load_persona(persona)
    assert str(info.value).startswith(f"{fragment}: preferences.likes: ")


def test_fragments_cannot_nest_and_must_be_fragments(write) -> None:
    nested = write("n.fragment.toml", 'fragments = ["other.fragment.toml"]\n')
    with pytest.raises(BadInputError, match="fragments: a fragment cannot list fragments"):
        load_fragment(nested)
    with pytest.raises(BadInputError, match="not a fragment"):
        load_fragment(write("person.toml", 'name = "X"\n'))


def test_tinytroupe_fragment_loads_as_data(tinytroupe_dir: Path) -> None:
    data = load_fragment(tinytroupe_dir / "travel_enthusiast.agent.fragment.json")
    assert set(data) == {"preferences", "beliefs", "behaviors"}
    assert data["behaviors"]["travel"]


def test_the_documented_example_is_valid(write) -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "personas.md"
    example = docs.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]
    write("fragments/home-cook.fragment.toml", '[behaviors]\ncooking = ["Makes stock on Sundays."]\n')
    persona = load_persona(write("maria-lopez.toml", example))
    assert persona.name == "Maria Lopez" and persona.personality.big_five.score("extraversion") == 0.8
    assert persona.behaviors.named_lists() == {
        "money": ["Keeps a monthly budget in a notebook."],
        "cooking": ["Makes stock on Sundays."],
    }
    assert persona.extra == {"favourite_saint": "Virgen de la Macarena"}
