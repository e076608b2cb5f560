"""The population factory: spec validation, skeleton sampling (weights, quotas, seeds), and
``troupe personas generate`` end to end with the scripted backend and the fake OpenAI server."""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from scipy.stats import truncnorm

from tests.support.fake_openai import reply
from troupe.core.errors import BackendError, BackendUnavailableError, BadInputError, InvalidOutputError
from troupe.core.llm.protocol import ChatRequest, ChatResponse
from troupe.core.validation import tomllib  # tomli on Python 3.10
from troupe.personas.factory import MANIFEST, NameChoice, PersonaNarrative, PopulationFactory, build_persona
from troupe.personas.library import list_library, resolve_persona
from troupe.personas.load import load_persona
from troupe.personas.model import Persona
from troupe.personas.names import fallback_name, plausible_name
from troupe.personas.population import load_spec, shares, spec_from_data
from troupe.personas.sampling import Skeleton, apportion, sample_skeletons
from troupe.personas.writer import persona_toml
from troupe.sessions.cli import main

SPEC = """\
title = "UK ready-meal buyers"
context = "UK grocery shoppers who buy a supermarket ready meal at least once a week."
size = 6
seed = 11
gender = { Female = 52, Male = 46, "Non-binary" = 2 }
occupations = { nurse = 3, teacher = 2, "software developer" = 2, "retail assistant" = 3, electrician = 1 }
retirement_age = 67
income = { low = 20, lower-middle = 30, middle = 30, upper-middle = 15, high = 5 }
education = ["Secondary school", "Vocational qualification", "University degree"]

[age]
bands = [
  { min = 18, max = 34, weight = 30 },
  { min = 35, max = 54, weight = 45 },
  { min = 55, max = 80, weight = 25 },
]

[[countries]]
name = "United Kingdom"
weight = 4
nationality = "British"
languages = ["English"]
cities = { London = 3, Leeds = 1, Glasgow = 1 }

[[countries]]
name = "Ireland"
nationality = "Irish"
cities = ["Dublin", "Cork"]

[attitudes]
price_sensitivity = { Low = 20, Medium = 40, High = 40 }
brand_loyalty = { Low = 1, Medium = 1, High = 2 }
"""


def write_spec(tmp_path: Path, text: str = SPEC, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def shares_of(values: list[Any]) -> dict[Any, float]:
    return {k: v / len(values) for k, v in Counter(values).items()}


# -- sampling ---------------------------------------------------------------------------------


def test_stratified_sampling_gives_each_attribute_its_weights(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    n = 4000
    people = sample_skeletons(spec, size=n)
    assert [p.index for p in people] == list(range(n))
    for key, weights in (
        ("gender", spec.gender),
        ("occupation", spec.occupations),
        ("income", spec.income),
        ("education", spec.education),
    ):
        got = shares_of([getattr(p, key) for p in people])
        for value, share in shares(weights).items():  # largest remainders: within one person
            assert abs(got.get(value, 0) - share) <= 1 / n + 1e-12, (key, value)
    for name, levels in spec.attitudes.items():
        got = shares_of([p.attitudes[name] for p in people])
        for level, share in shares(levels).items():
            assert abs(got[level] - share) <= 1 / n + 1e-12
    countries = shares_of([p.country for p in people])
    assert abs(countries["United Kingdom"] - 0.8) <= 1 / n and abs(countries["Ireland"] - 0.2) <= 1 / n
    london = [p.city for p in people if p.country == "United Kingdom"]
    assert abs(shares_of(london)["London"] - 0.6) < 0.001
    assert {p.city for p in people if p.country == "Ireland"} == {"Dublin", "Cork"}
    bands = Counter(0 if p.age <= 34 else 1 if p.age <= 54 else 2 for p in people)
    assert [bands[i] / n for i in range(3)] == pytest.approx([0.30, 0.45, 0.25], abs=1 / n)
    assert min(p.age for p in people) >= 18 and max(p.age for p in people) <= 80
    # uniform within a band
    young = Counter(p.age for p in people if p.age <= 34)
    assert set(young) == set(range(18, 35)) and max(young.values()) < 3 * min(young.values())
    # demographics that follow from the country
    assert all(p.nationality == ("British" if p.country == "United Kingdom" else "Irish") for p in people)
    assert all(p.languages == (["English"] if p.country == "United Kingdom" else []) for p in people)
    assert all(p.retired == (p.age >= 67) for p in people)
    assert {p.occupation_title for p in people if p.retired} <= {f"retired {o}" for o in spec.occupations or {}}


def test_random_sampling_matches_weights_within_tolerance(tmp_path: Path) -> None:
    text = SPEC.replace("seed = 11", 'seed = 11\nsampling = "random"')
    spec = load_spec(write_spec(tmp_path, text))
    n = 20_000
    people = sample_skeletons(spec, size=n)
    for key, weights in (("gender", spec.gender), ("income", spec.income), ("occupation", spec.occupations)):
        got = shares_of([getattr(p, key) for p in people])
        for value, share in shares(weights).items():  # 4 standard errors at most
            assert abs(got.get(value, 0) - share) < 4 * (share * (1 - share) / n) ** 0.5 + 1e-9, (key, value)
    got = shares_of([p.attitudes["brand_loyalty"] for p in people])
    assert got["High"] == pytest.approx(0.5, abs=0.015)


def test_normal_age_is_clipped_and_has_the_right_mean(tmp_path: Path) -> None:
    text = SPEC.replace(
        "bands = [\n  { min = 18, max = 34, weight = 30 },\n  { min = 35, max = 54, weight = 45 },\n  { min = 55, max = 80, weight = 25 },\n]",
        "mean = 40\nsd = 15\nmin = 21\nmax = 70",
    )
    spec = load_spec(write_spec(tmp_path, text))
    ages = [p.age for p in sample_skeletons(spec, size=5000)]
    assert min(ages) >= 21 and max(ages) <= 70
    a, b = (20.5 - 40) / 15, (70.5 - 40) / 15
    assert sum(ages) / len(ages) == pytest.approx(truncnorm.mean(a, b, loc=40, scale=15), abs=0.3)
    # stratified quantiles: the share under 30 is the distribution's, within a person or two
    expected = truncnorm.cdf(29.5, a, b, loc=40, scale=15)
    assert sum(x < 30 for x in ages) / 5000 == pytest.approx(expected, abs=0.002)


def test_apportion_largest_remainders() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    counts = apportion(np.array([0.52, 0.46, 0.02]), 10, rng)
    assert counts.tolist() == [5, 5, 0] and counts.sum() == 10
    assert apportion(np.array([0.5, 0.5]), 7, rng).sum() == 7


def test_quotas_are_met_and_touch_only_their_attribute(tmp_path: Path) -> None:
    base = load_spec(write_spec(tmp_path))
    quotas = '\n[[quotas]]\nage_min = 55\nat_least = 0.4\n\n[[quotas]]\ncountry = "Ireland"\nat_most = 0.1\n'
    spec = load_spec(write_spec(tmp_path, SPEC + quotas, "quota.toml"))
    for n in (5, 7, 10, 200, 3000):
        plain = sample_skeletons(base, size=n)
        people = sample_skeletons(spec, size=n)
        old = sum(p.age >= 55 for p in people)
        assert old >= 0.4 * n - 1e-9, n
        assert sum(p.country == "Ireland" for p in people) <= 0.1 * n + 1e-9, n
        # the redraws change only the quota's attributes: the rest is the plain sample's
        for key in ("gender", "occupation", "income", "education", "attitudes"):
            assert [getattr(p, key) for p in people] == [getattr(p, key) for p in plain], (n, key)
    # without the quota the older share is only the band weight (~25 %): the quota did work
    assert sum(p.age >= 55 for p in sample_skeletons(base, size=3000)) / 3000 < 0.3


def test_attitude_city_and_gender_quotas(tmp_path: Path) -> None:
    quotas = (
        '\n[[quotas]]\nattitude = "price_sensitivity"\nlevel = "Low"\nat_least = 0.5\n'
        '\n[[quotas]]\ncity = "Glasgow"\nat_least = 0.3\n'
        '\n[[quotas]]\ngender = "female"\nage_max = 40\nat_least = 0.2\nat_most = 0.3\n'
    )
    spec = load_spec(write_spec(tmp_path, SPEC + quotas))
    for n in (10, 50, 400):
        people = sample_skeletons(spec, size=n)
        assert sum(p.attitudes["price_sensitivity"] == "Low" for p in people) >= 0.5 * n
        assert sum(p.city == "Glasgow" for p in people) >= 0.3 * n
        young_women = sum(p.gender == "Female" and p.age <= 40 for p in people)
        assert 0.2 * n - 1e-9 <= young_women <= 0.3 * n + 1e-9
        assert all(p.country == "United Kingdom" for p in people if p.city == "Glasgow")


def test_sampling_is_deterministic_per_seed(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path, SPEC + "\n[[quotas]]\nage_min = 60\nat_least = 0.3\n"))
    first = sample_skeletons(spec, size=50)
    assert first == sample_skeletons(spec, size=50)
    assert first == sample_skeletons(spec, size=50, seed=11)  # the spec's seed
    assert first != sample_skeletons(spec, size=50, seed=12)


def test_quotas_that_cannot_be_met_together_are_bad_input(tmp_path: Path) -> None:
    text = SPEC + "\n[[quotas]]\nage_min = 60\nat_least = 0.6\n\n[[quotas]]\nage_max = 40\nat_least = 0.6\n"
    spec = load_spec(write_spec(tmp_path, text))
    with pytest.raises(BadInputError) as info:
        sample_skeletons(spec, size=10)
    assert re.match(r".*spec\.toml: quotas\[\d\]: cannot be met", str(info.value))


# -- spec files -------------------------------------------------------------------------------

COUNTRY = '\n[[countries]]\nname = "Spain"\n'


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("size = 4\ncolour = 3" + COUNTRY, "colour: unknown field"),
        ("size = 0" + COUNTRY, "size:"),
        ("size = 4", "countries: required field is missing"),
        ("gender = { Female = -1, Male = 1 }" + COUNTRY, "gender.Female:"),
        ("gender = { Female = 0 }" + COUNTRY, "gender: the weights add up to 0"),
        ("income = { rich = 1 }" + COUNTRY, "income.rich"),
        ('occupations = ["nurse", "nurse"]' + COUNTRY, "occupations: a name is listed twice"),
        ("[age]\nmean = 40" + COUNTRY, "age.sd:"),
        ("[age]\nbands = [{ min = 30, max = 20 }]" + COUNTRY, "age.bands[0].max:"),
        ("[age]\nbands = [{ min = 20, max = 40 }, { min = 30, max = 50 }]" + COUNTRY, "age.bands[1]: overlaps"),
        ("[attitudes]\nprice = { Hi = 1 }" + COUNTRY, "attitudes.price.Hi:"),
        ('[[countries]]\nname = "Spain"\ncities = { Madrid = "big" }', "countries[0].cities.Madrid:"),
        ('[[countries]]\nname = "Spain"\n[[countries]]\nname = "spain"', "countries[1].name:"),
        (COUNTRY + '[[quotas]]\ngender = "Other"\nat_least = 0.2', "quotas[0].gender:"),
        (COUNTRY + "[[quotas]]\nage_min = 55", "quotas[0].at_least:"),
        (COUNTRY + "[[quotas]]\nat_least = 0.2", "quotas[0]:"),
        (COUNTRY + '[[quotas]]\noccupation = "nurse"\nat_least = 0.2', "quotas[0].occupation:"),
        (COUNTRY + "[[quotas]]\nage_min = 90\nat_least = 0.2", "quotas[0].age_min:"),
        (COUNTRY + '[[quotas]]\nattitude = "x"\nlevel = "High"\nat_least = 0.2', "quotas[0].attitude:"),
        ('fragments = ["missing.fragment.toml"]' + COUNTRY, "fragments[0]: fragment file not found"),
        ("size = [", "invalid TOML"),
    ],
)
def test_bad_spec_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    spec = write_spec(tmp_path, text, "bad.toml")
    assert main(["personas", "generate", str(spec), "--out", str(tmp_path / "out"), "--backend", "scripted"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"troupe: {spec}: ") and field in err, err
    assert not (tmp_path / "out").exists()


def test_a_bad_fragment_is_reported_against_its_own_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "cook.fragment.toml").write_text("[preferences]\nlike = ['x']\n", encoding="utf-8")
    spec = write_spec(tmp_path, 'fragments = ["cook.fragment.toml"]' + COUNTRY)
    assert main(["personas", "generate", str(spec), "--out", str(tmp_path / "out"), "--backend", "scripted"]) == 2
    assert "cook.fragment.toml: preferences.like: unknown field" in capsys.readouterr().err


def test_spec_from_data_round_trips_a_manifest_copy(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    again = spec_from_data(spec.model_dump(mode="json"))
    assert again.model_dump() == spec.model_dump()


# -- generate ---------------------------------------------------------------------------------


def generate(tmp_path: Path, out: str = "out", *extra: str, spec: Path | None = None) -> int:
    spec = spec or write_spec(tmp_path)
    return main(["personas", "generate", str(spec), "--out", str(tmp_path / out), "--backend", "scripted", *extra])


def test_generate_with_scripted_backend_writes_valid_distinct_personas(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generate(tmp_path) == 0
    out = tmp_path / "out"
    files = sorted(out.glob("*.toml"))
    assert len(files) == 6
    captured = capsys.readouterr()
    assert "6 personas in" in captured.out and "population.json" in captured.out
    assert "✓" in captured.err  # per-persona progress lines on stderr
    assert main(["personas", "validate", str(out)]) == 0
    assert capsys.readouterr().out.count("OK  ") == 6

    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["size"] == 6 and manifest["seed"] == 11 and manifest["backend"] == "scripted"
    assert manifest["model"] == "scripted-1" and manifest["failed"] == []
    assert manifest["spec"]["context"].startswith("UK grocery shoppers")
    assert manifest["usage"]["calls"] >= 6
    personas = [resolve_persona(str(f)) for f in files]
    assert len({p.name for p in personas}) == 6 and len({p.slug for p in personas}) == 6
    assert all(plausible_name(p.name) for p in personas)
    spec = load_spec(tmp_path / "spec.toml")
    skeletons = sample_skeletons(spec)
    assert [s.model_dump(mode="json") for s in skeletons] == [e["skeleton"] for e in manifest["personas"]]
    for entry, skeleton in zip(manifest["personas"], skeletons):
        persona = load_persona(out / entry["file"])
        assert persona.name == entry["name"] and persona.slug == Path(entry["file"]).stem
        assert (persona.age, persona.gender, persona.residence) == (skeleton.age, skeleton.gender, skeleton.residence)
        assert (persona.income, persona.education, persona.nationality) == (
            skeleton.income,
            skeleton.education,
            skeleton.nationality,
        )
        assert persona.occupation.title == skeleton.occupation_title
        assert persona.extra["attitudes"] == skeleton.attitudes
        # the narrative is filled in
        assert persona.style and persona.beliefs and persona.preferences.likes and persona.personality.traits
        assert all(persona.personality.big_five.score(f) is not None for f in ("openness", "neuroticism"))
        assert persona.talkativeness is not None and persona.behaviors.routines
        text = (out / entry["file"]).read_text(encoding="utf-8")
        assert text.startswith(f"# {persona.name} — ") and "troupe personas generate" in text


def test_generate_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    assert generate(tmp_path, "a") == 0
    assert generate(tmp_path, "b") == 0
    assert generate(tmp_path, "c", "--seed", "12") == 0
    a, b, c = ({p.name: p.read_text(encoding="utf-8") for p in (tmp_path / d).glob("*.toml")} for d in "abc")
    assert a == b
    assert a != c


def test_size_flag_and_no_overwrite_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert generate(tmp_path, "out", "--size", "5") == 0
    before = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()}
    assert len(before) == 6  # 5 personas + the manifest
    capsys.readouterr()
    assert generate(tmp_path, "out", "--size", "3", "--seed", "99") == 2
    err = capsys.readouterr().err
    assert err == f"troupe: {out}: already holds population.json; use --force to replace them\n"
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == before

    # a folder with a persona file but no manifest is protected too
    other = tmp_path / "other"
    other.mkdir()
    (other / "mine.toml").write_text('name = "Mine Person"\n', encoding="utf-8")
    assert generate(tmp_path, "other") == 2
    assert "already holds 1 persona file" in capsys.readouterr().err

    # --force replaces the population: the old manifest's files go, the new ones come
    assert generate(tmp_path, "out", "--size", "3", "--seed", "99", "--force") == 0
    assert len(list(out.glob("*.toml"))) == 3
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["seed"] == 99 and sorted(e["file"] for e in manifest["personas"]) == sorted(
        p.name for p in out.glob("*.toml")
    )


def test_fragments_apply_to_everyone_but_never_override_demographics(tmp_path: Path) -> None:
    (tmp_path / "cook.fragment.toml").write_text(
        'age = 99\nincome = "high"\nbeliefs = ["Dinner takes twenty minutes on a weekday."]\n'
        '[behaviors]\ncooking = ["Keeps two ready meals in the freezer."]\n',
        encoding="utf-8",
    )
    spec = write_spec(tmp_path, 'fragments = ["cook.fragment.toml"]\n' + SPEC)
    assert generate(tmp_path, spec=spec) == 0
    for file in (tmp_path / "out").glob("*.toml"):
        persona = load_persona(file)
        assert "Dinner takes twenty minutes on a weekday." in persona.beliefs
        assert persona.behaviors.named_lists()["cooking"] == ["Keeps two ready meals in the freezer."]
        assert persona.age != 99


def _narrative(name: str, **changes: Any) -> dict[str, Any]:
    """A hand-written reply, as a capable model would give it."""
    factor = {"level": "medium", "note": "it depends on the day"}
    data = {
        "name": name,
        "occupation_title": "astronaut",
        "occupation_organization": "St James's Hospital",
        "occupation_description": "You work twelve-hour shifts on a surgical ward.",
        "household": "You live with your partner and a teenage son.",
        "languages": ["English", "some French"],
        "style": "Brisk and practical; you answer with an example from your week.",
        "verbal_tics": ["to be fair", "at the end of the day"],
        "traits": ["You are practical.", "You are sceptical of hype."],
        "big_five": {
            f: dict(factor, level=lvl)
            for f, lvl in zip(
                ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"),
                ("medium-high", "high", "low", "medium", "very low"),
            )
        },
        "talkativeness": 0.35,
        "beliefs": ["Ready meals are a tool, not a failure.", "Supermarket own brands are as good as the big names."],
        "interests": ["parkrun"],
        "likes": ["Tesco Finest lasagne", "oven-ready trays"],
        "dislikes": ["plastic sleeves", "tiny portions"],
        "skills": ["Meal planning"],
        "habits": ["Checks the price per kilo."],
        "money_habits": ["Uses a Clubcard."],
        "shopping_habits": [],
        "routines": {"morning": ["Up at 6."], "evening": [], "weekend": ["Big shop on Saturday."]},
        "health": "Fine, if tired.",
        "relationships": [{"name": "Sam", "description": "Your son, 15."}],
        "long_term_goals": ["To pay off the car."],
        "other_facts": ["You shop at the Headingley Tesco."],
    }
    data.update(changes)
    PersonaNarrative.model_validate(data)
    return data


class NamingBackend:
    """Scripted replies with chosen names: narratives by panel position, then retries in order."""

    name = "scripted"
    model = "naming-1"

    def __init__(self, names: list[str], retries: list[str], fail: dict[int, BackendError] | None = None) -> None:
        self.names = names
        self.retries = list(retries)
        self.fail = fail or {}
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest, *, on_delta: Any = None) -> ChatResponse:
        self.requests.append(request)
        await asyncio.sleep(random.random() / 200)  # finish out of order
        if request.output_model is NameChoice:
            parsed: Any = NameChoice(name=self.retries.pop(0))
        else:
            index = int(re.search(r"Panel member (\d+) of", request.messages[-1].content).group(1)) - 1  # type: ignore[union-attr]
            if index in self.fail:
                raise self.fail[index]
            parsed = PersonaNarrative.model_validate(_narrative(self.names[index]))
        return ChatResponse(text=parsed.model_dump_json(), parsed=parsed, model=self.model)

    async def aclose(self) -> None:
        return None


def test_model_names_are_used_deduplicated_with_one_retry_then_the_bank(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    skeletons = sample_skeletons(spec, size=4)
    backend = NamingBackend(
        ["Claire Hughes", "Claire Hughes", "the nurse", "  Siobhán   O'Brien "],
        retries=["Rachel Walker", "Claire Hughes"],
    )
    result = asyncio.run(PopulationFactory(spec, backend, concurrency=3).generate(skeletons, tmp_path / "out", seed=11))
    got = [(g.persona.name, g.name_source) for g in result.generated]
    assert got[0] == ("Claire Hughes", "model")
    assert got[1] == ("Rachel Walker", "retry")
    assert got[2][1] == "fallback" and got[2][0] not in ("Claire Hughes", "Rachel Walker") and plausible_name(got[2][0])
    assert got[3] == ("Siobhán O'Brien", "model")
    retry_prompts = [r.messages[-1].content for r in backend.requests if r.output_model is NameChoice]
    assert "already taken" in retry_prompts[0] and "Claire Hughes" in retry_prompts[0]
    assert "Rachel Walker" in retry_prompts[1]
    # the model's occupation never replaces the sampled one
    assert all(g.persona.occupation.title == g.skeleton.occupation_title for g in result.generated)
    assert (tmp_path / "out" / "siobhan-obrien.toml").is_file()


def test_one_call_per_persona_with_study_context_and_fixed_facts(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    skeletons = sample_skeletons(spec, size=5)
    backend = NamingBackend(["Ann Lee", "Bob Marsh", "Cara Dunn", "Dev Patel", "Eve Stone"], retries=[])
    asyncio.run(PopulationFactory(spec, backend).generate(skeletons, tmp_path / "out", seed=11))
    assert len(backend.requests) == 5 and all(r.output_model is PersonaNarrative for r in backend.requests)
    prompt = backend.requests[0].messages[-1].content
    s = skeletons[0]
    assert "UK grocery shoppers who buy a supermarket ready meal" in prompt
    for fact in (
        f"age: {s.age}",
        f"gender: {s.gender}",
        f"lives in: {s.residence}",
        f"income bracket: {s.income}",
        f"price sensitivity: {s.attitudes['price_sensitivity']}",
        f"occupation: {s.occupation_title}",
    ):
        assert fact in prompt


def test_failures_are_reported_and_the_rest_is_written(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    skeletons = sample_skeletons(spec, size=4)
    bad = InvalidOutputError("the reply did not match the schema")
    backend = NamingBackend(["Ann Lee", "Bob Marsh", "Cara Dunn", "Dev Patel"], retries=[], fail={1: bad})
    result = asyncio.run(PopulationFactory(spec, backend).generate(skeletons, tmp_path / "out", seed=11))
    assert [g.persona.name for g in result.generated] == ["Ann Lee", "Cara Dunn", "Dev Patel"]
    assert [f.skeleton.index for f in result.failed] == [1] and result.aborted is None
    assert sum(r.output_model is PersonaNarrative for r in backend.requests) == 5  # one fresh attempt for #1
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["failed"][0]["skeleton"]["index"] == 1 and "did not match" in manifest["failed"][0]["error"]


def test_an_outage_stops_the_run(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path))
    skeletons = sample_skeletons(spec, size=4)
    down = BackendUnavailableError("cannot reach the model server", kind="connection")
    backend = NamingBackend(["Ann Lee", "Bob Marsh", "Cara Dunn", "Dev Patel"], retries=[], fail={1: down})
    result = asyncio.run(PopulationFactory(spec, backend, concurrency=1).generate(skeletons, tmp_path / "out", seed=11))
    assert result.aborted == "cannot reach the model server"
    assert [g.persona.name for g in result.generated] == ["Ann Lee"]
    assert [f.skeleton.index for f in result.failed] == [1, 2, 3]


def test_generate_cli_exits_1_when_personas_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from troupe.personas import factory

    async def broken(self: Any, skeleton: Skeleton, total: int, seed: int) -> PersonaNarrative:
        raise InvalidOutputError("garbled reply")

    monkeypatch.setattr(factory.PopulationFactory, "narrate", broken)
    assert generate(tmp_path) == 1
    err = capsys.readouterr().err
    assert "troupe: 6 of 6 personas failed: garbled reply" in err


def test_generate_through_the_openai_backend(
    tmp_path: Path, fake_openai, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Real wire format: strict json_schema requests, the model's names used as given."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    names = iter(["Priya Shah", "Tom Walsh", "Aoife Byrne"])
    fake_openai.enqueue(*[lambda body: reply(_narrative(next(names)))] * 3)
    spec = write_spec(tmp_path)
    assert (
        main(
            [
                "personas",
                "generate",
                str(spec),
                "--out",
                str(tmp_path / "out"),
                "--size",
                "3",
                "--model",
                "gpt-4.1-mini",
            ]
        )
        == 0
    )
    assert sorted(p.stem for p in (tmp_path / "out").glob("*.toml")) == ["aoife-byrne", "priya-shah", "tom-walsh"]
    body = fake_openai.chat_requests[0].body
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["name"] == "PersonaNarrative" and body["model"] == "gpt-4.1-mini"
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["backend"] == "openai" and manifest["model"] == "gpt-4.1-mini"
    persona = load_persona(tmp_path / "out" / "priya-shah.toml")
    assert persona.personality.big_five.score("conscientiousness") == 0.8
    assert persona.behaviors.named_lists() == {"money": ["Uses a Clubcard."]}


# -- pieces -----------------------------------------------------------------------------------


def test_build_persona_keeps_the_skeleton_on_top() -> None:
    skeleton = Skeleton(
        index=0,
        age=71,
        gender="Male",
        country="Ireland",
        city="Cork",
        nationality="Irish",
        occupation="nurse",
        retired=True,
        income="low",
        education="Secondary school",
        attitudes={"price_sensitivity": "High"},
    )
    shared = [{"age": 30, "income": "high", "residence": "Paris, France", "preferences": {"likes": ["Barry's Tea"]}}]
    persona = build_persona(skeleton, PersonaNarrative.model_validate(_narrative("Seán Murphy")), "Seán Murphy", shared)
    assert (persona.age, persona.income, persona.residence, persona.occupation.title) == (
        71,
        "low",
        "Cork, Ireland",
        "retired nurse",
    )
    assert persona.occupation.organization == "St James's Hospital"
    assert persona.personality.big_five.extraversion == "Low. It depends on the day."
    assert persona.personality.big_five.score("neuroticism") == 0.1
    assert persona.preferences.likes == ["Tesco Finest lasagne", "oven-ready trays", "Barry's Tea"]
    assert persona.languages == ["English", "some French"]  # the spec gave Ireland no languages
    assert persona.extra == {"attitudes": {"price_sensitivity": "High"}}


def test_persona_toml_round_trips_the_library() -> None:
    for persona in list_library():
        text = persona_toml(persona, header="a header\nline two")
        assert text.startswith("# a header\n# line two\n\n")
        data = tomllib.loads(text)
        assert Persona.model_validate({**data, "slug": persona.slug}) == persona


def test_fallback_names_are_plausible_unique_and_fit_the_country() -> None:
    rng = random.Random(0)
    taken: set[str] = set()
    from troupe.core.slugs import slugify

    for _ in range(300):
        name = fallback_name("UK", "Female", taken, rng)
        assert plausible_name(name)
        assert slugify(name) not in taken
        taken.add(slugify(name))
    assert (
        fallback_name("China", "Male", set(), random.Random(1)).split()[0]
        in "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun".split()
    )
    assert plausible_name(fallback_name("Atlantis", None, set(), random.Random(2)))
    for bad in (
        "Price",
        "the nurse",
        "John 3",
        "A very long name with far too many words",
        "john smith",
        "Дмитрий Волков",
    ):
        assert not plausible_name(bad), bad
    for good in ("Anne van den Berg", "Seán O'Brien", "Ji-woo Kim", "Wang Fang"):
        assert plausible_name(good), good
