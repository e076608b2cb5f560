"""The population factory: sample demographic skeletons from a spec, enrich each into a persona.

Two stages, as in the TinyTroupe paper's population sampling:

1. :func:`sample_skeletons` draws ``size`` demographic *skeletons* (age, gender, country and
   city, occupation, income, education, attitude levels) from a :class:`PopulationSpec`,
   deterministically for a seed. ``stratified`` sampling (the default) gives each attribute
   the counts its weights ask for, as closely as whole people allow (largest remainders; a
   normal age by stratified quantiles), then shuffles each attribute independently; ``random``
   draws independently. Quotas are then met by redrawing, for as few people as possible, only
   the attributes the quota selects on (conditioned on the quota), so the other attributes'
   distributions are untouched.
2. :class:`PopulationFactory` turns each skeleton into a full :class:`Persona` with **one**
   structured LLM call (:class:`PersonaNarrative`: name, style, traits, big five, beliefs,
   likes, habits, routines, goals…), run concurrently under a bound. The skeleton's fields
   are written over whatever the model or a fragment says, so the demographics are always the
   sampled ones. Names must be plausible (``names.plausible_name``) and unique: a clash or an
   implausible name gets one short name-only retry, then a common name for the country from
   the built-in bank (the scripted backend always ends there — its text is generic).

Names are accepted in skeleton order, whatever order the calls finish in, so a deterministic
backend gives the same files for the same seed. Each persona is written as Troupe TOML into
the output folder as soon as it is accepted; ``population.json`` (spec, seed, skeletons,
backend, model, usage, failures) is written last.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.stats import truncnorm

from troupe.core.errors import BackendError, BadInputError, InvalidOutputError
from troupe.core.llm.protocol import CallUsage, ChatBackend, ChatRequest, Message
from troupe.core.slugs import slugify
from troupe.core.validation import read_json

from .card import descriptor
from .fragments import merge_all
from .load import load_fragment
from .model import IncomeBracket, Persona
from .names import clean_name, fallback_name, plausible_name
from .population import DEFAULT_CONCURRENCY, MANIFEST, Level, PopulationSpec, Quota, shares
from .writer import persona_toml

MANIFEST_FORMAT = "troupe.population/1"


# -- skeletons -------------------------------------------------------------------------------


class Skeleton(BaseModel):
    """One sampled person's demographic facts; the LLM writes everything else."""

    model_config = ConfigDict(extra="forbid")

    index: int
    age: int
    gender: str
    country: str
    city: str | None = None
    nationality: str | None = None
    languages: list[str] = Field(default_factory=list)
    occupation: str | None = None
    """The sampled occupation (what quotas and profiles count), retired or not."""
    retired: bool = False
    income: IncomeBracket | None = None
    education: str | None = None
    attitudes: dict[str, Level] = Field(default_factory=dict)
    survey: dict[str, str] = Field(default_factory=dict)
    """A twin's answers to the survey it stands for (``--like``): column → value, verbatim."""
    source_row: int | None = None
    """The survey row (as a spreadsheet numbers it) a twin was made from."""

    @property
    def residence(self) -> str:
        return f"{self.city}, {self.country}" if self.city else self.country

    @property
    def occupation_title(self) -> str | None:
        """The persona's job title: ``"retired nurse"`` for a retired nurse."""
        if self.occupation and self.retired and not self.occupation.lower().startswith("retired"):
            return f"retired {self.occupation}"
        return self.occupation

    def facts(self) -> dict[str, Any]:
        """The values quotas and profiles compare (see :meth:`Quota.matches`)."""
        return {
            "age": self.age,
            "gender": self.gender,
            "country": self.country,
            "city": self.city,
            "occupation": self.occupation,
            "income": self.income,
            "education": self.education,
            "attitudes": self.attitudes,
        }


def sample_skeletons(spec: PopulationSpec, *, size: int | None = None, seed: int | None = None) -> list[Skeleton]:
    """``size`` skeletons (default ``spec.size``) drawn with ``seed`` (default ``spec.seed``).

    The same spec, size and seed always give the same skeletons. Quotas are met or the spec is
    bad input (``quotas[i]: cannot be met …``).
    """
    n = spec.size if size is None else size
    if n < 1:
        raise BadInputError("must be at least 1", field="--size")
    sampler = _Sampler(spec, np.random.default_rng(spec.seed if seed is None else seed))
    people = sampler.population(n)
    if spec.quotas:
        _meet_quotas(spec, people, sampler)
    return [p.model_copy(update={"index": i}) for i, p in enumerate(people)]


class _Sampler:
    def __init__(self, spec: PopulationSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.stratified = spec.sampling == "stratified"
        self.countries = {c.name: c for c in spec.countries}

    # whole populations

    def population(self, n: int) -> list[Skeleton]:
        spec = self.spec
        ages = self.ages(n)
        genders = self.categorical(spec.gender, n)
        countries = self.categorical({c.name: c.weight for c in spec.countries}, n)
        cities: list[str | None] = [None] * n
        for name, country in self.countries.items():
            members = [i for i, c in enumerate(countries) if c == name]
            if country.cities and members:
                for i, city in zip(members, self.categorical(country.cities, len(members))):
                    cities[i] = city
        occupations = self.categorical(spec.occupations, n) if spec.occupations else [None] * n
        incomes = self.categorical(spec.income, n) if spec.income else [None] * n
        educations = self.categorical(spec.education, n) if spec.education else [None] * n
        attitudes = {name: self.categorical(levels, n) for name, levels in spec.attitudes.items()}
        return [
            self._skeleton(
                i,
                ages[i],
                genders[i],
                countries[i],
                cities[i],
                occupations[i],
                incomes[i],
                educations[i],
                {name: values[i] for name, values in attitudes.items()},
            )
            for i in range(n)
        ]

    def categorical(self, weights: dict[str, float], n: int) -> list[str]:
        names = list(weights)
        p = np.array([weights[k] for k in names], dtype=float)
        p /= p.sum()
        if not self.stratified:
            return [names[i] for i in self.rng.choice(len(names), size=n, p=p)]
        labels = np.repeat(np.arange(len(names)), apportion(p, n, self.rng))
        return [names[i] for i in self.rng.permutation(labels)]

    def ages(self, n: int) -> list[int]:
        age = self.spec.age
        if age.bands is not None:
            bands = age.bands
            p = np.array([b.weight for b in bands], dtype=float)
            p /= p.sum()
            if self.stratified:
                labels = self.rng.permutation(np.repeat(np.arange(len(bands)), apportion(p, n, self.rng)))
            else:
                labels = self.rng.choice(len(bands), size=n, p=p)
            return [int(self.rng.integers(bands[k].min, bands[k].max + 1)) for k in labels]
        if self.stratified:  # one draw from each of n equal-probability strata, shuffled
            u = (self.rng.permutation(n) + self.rng.random(n)) / n
        else:
            u = self.rng.random(n)
        return [int(a) for a in self._normal_ages(u, age.min, age.max)]

    def _normal_ages(self, u: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Ages for uniform ``u`` through the normal clipped to ``lo..hi`` (then rounded)."""
        mean, sd = float(self.spec.age.mean or 0.0), float(self.spec.age.sd or 1.0)
        a, b = (lo - 0.5 - mean) / sd, (hi + 0.5 - mean) / sd
        x = truncnorm.ppf(u, a, b, loc=mean, scale=sd)
        return np.clip(np.rint(x), lo, hi).astype(int)

    # one person, optionally conditioned on a quota's selectors

    def one(self, quota: Quota | None = None) -> Skeleton:
        spec, q = self.spec, quota
        age = self._age_one(q.age_min if q else None, q.age_max if q else None)
        gender = self._pick(_restrict(spec.gender, q.gender if q else None))
        country_weights = {c.name: c.weight for c in spec.countries}
        if q and q.country:
            country_weights = _restrict(country_weights, q.country)
        if q and q.city:
            country_weights = {
                name: w * sum(s for city, s in shares(self.countries[name].cities).items() if _same(city, q.city))
                for name, w in country_weights.items()
                if self.countries[name].cities
            }
        country = self._pick(country_weights)
        cities = self.countries[country].cities
        city = self._pick(_restrict(cities, q.city if q else None)) if cities else None
        occupation = self._pick(_restrict(spec.occupations, q.occupation if q else None)) if spec.occupations else None
        income = self._pick(_restrict(spec.income, q.income if q else None)) if spec.income else None
        education = self._pick(_restrict(spec.education, q.education if q else None)) if spec.education else None
        attitudes = {
            name: self._pick(_restrict(levels, q.level if q and q.attitude == name else None))
            for name, levels in spec.attitudes.items()
        }
        return self._skeleton(0, age, gender, country, city, occupation, income, education, attitudes)

    def redraw(self, person: Skeleton, quota: Quota, *, match: bool, tries: int = 10_000) -> Skeleton | None:
        """``person`` with only the attributes ``quota`` selects on drawn again, so that the
        quota counts them (``match``) or does not.

        The other attributes stay as they are, so their realised distribution is untouched:
        since attributes are sampled independently, keeping them is still a draw from the
        spec. Matching draws are exact (conditioned per attribute); non-matching ones use
        rejection sampling and give ``None`` if nothing turns up in ``tries``.
        """
        for _ in range(1 if match else tries):
            fresh = self.one(quota if match else None)
            values = person.facts()
            if quota.age_min is not None or quota.age_max is not None:
                values["age"] = fresh.age
            for key in ("gender", "occupation", "income", "education"):
                if getattr(quota, key) is not None:
                    values[key] = getattr(fresh, key)
            if quota.country is not None or quota.city is not None:
                values["country"], values["city"] = fresh.country, fresh.city
            if quota.attitude is not None:
                values["attitudes"] = {**values["attitudes"], quota.attitude: fresh.attitudes[quota.attitude]}
            candidate = self._skeleton(
                person.index,
                values["age"],
                values["gender"],
                values["country"],
                values["city"],
                values["occupation"],
                values["income"],
                values["education"],
                values["attitudes"],
            )
            if quota.matches(candidate.facts()) == match:
                return candidate
        return None

    def _age_one(self, age_min: int | None, age_max: int | None) -> int:
        age = self.spec.age
        lo_q = -1 if age_min is None else age_min
        hi_q = 999 if age_max is None else age_max
        if age.bands is not None:
            options = []
            for band in age.bands:
                lo, hi = max(band.min, lo_q), min(band.max, hi_q)
                if lo <= hi and band.weight > 0:
                    options.append((lo, hi, band.weight * (hi - lo + 1) / (band.max - band.min + 1)))
            if not options:
                raise BadInputError("no age in the spec's bands fits a quota's age range", field="quotas")
            k = self._pick({str(i): w for i, (_, _, w) in enumerate(options)})
            lo, hi, _ = options[int(k)]
            return int(self.rng.integers(lo, hi + 1))
        lo, hi = max(age.min, lo_q), min(age.max, hi_q)
        if lo > hi:
            raise BadInputError("no age in the spec's range fits a quota's age range", field="quotas")
        return int(self._normal_ages(self.rng.random(1), lo, hi)[0])

    def _pick(self, weights: dict[str, float]) -> str:
        names = list(weights)
        p = np.array([weights[k] for k in names], dtype=float)
        if not names or p.sum() <= 0:
            raise BadInputError("a quota selects a value with no weight in the spec", field="quotas")
        return names[int(self.rng.choice(len(names), p=p / p.sum()))]

    def _skeleton(
        self,
        index: int,
        age: int,
        gender: str,
        country: str,
        city: str | None,
        occupation: str | None,
        income: str | None,
        education: str | None,
        attitudes: dict[str, str],
    ) -> Skeleton:
        c = self.countries[country]
        retired = occupation is not None and self.spec.retirement_age is not None and age >= self.spec.retirement_age
        return Skeleton.model_validate(
            {
                "index": index,
                "age": age,
                "gender": gender,
                "country": country,
                "city": city,
                "nationality": c.nationality,
                "languages": list(c.languages),
                "occupation": occupation,
                "retired": retired,
                "income": income,
                "education": education,
                "attitudes": attitudes,
            }
        )


def skeletons_like(
    spec: PopulationSpec, rows: list[dict[str, str]], *, seed: int, where: str, lines: list[int] | None = None
) -> list[Skeleton]:
    """One skeleton per survey row: the spec samples what the survey does not say, then the
    row's columns set what they name (:func:`troupe.personas.survey.overrides`) and are kept
    verbatim in ``survey``. Deterministic for ``seed``; the spec's quotas do not apply (the
    survey is the target)."""
    from .survey import overrides

    if not rows:
        raise BadInputError("no respondents to make personas like", path=where)
    base = sample_skeletons(spec.model_copy(update={"quotas": []}), size=len(rows), seed=seed)
    rng = np.random.default_rng([seed, 0x5EED])
    out: list[Skeleton] = []
    for i, (skeleton, row) in enumerate(zip(base, rows, strict=True)):
        update: dict[str, Any] = overrides(row, rng, where)
        if "country" in update and update["country"].casefold() != skeleton.country.casefold():
            update.update(nationality=None, languages=[], city=update.get("city"))
        age = update.get("age", skeleton.age)
        occupation = update.get("occupation", skeleton.occupation)
        update["retired"] = bool(occupation and spec.retirement_age is not None and age >= spec.retirement_age)
        update["survey"] = {k: v for k, v in row.items() if v}
        update["source_row"] = lines[i] if lines else None
        out.append(skeleton.model_copy(update=update))
    return out


def apportion(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Whole counts summing to ``n`` as close to ``p * n`` as possible (largest remainders;
    ties broken at random)."""
    exact = p * n
    counts = np.floor(exact).astype(int)
    left = n - int(counts.sum())
    if left > 0:
        frac = exact - counts
        order = np.lexsort((rng.random(len(p)), -frac))  # largest remainder first, random ties
        counts[order[:left]] += 1
    return counts


def _restrict(weights: dict[str, float], wanted: str | None) -> dict[str, float]:
    return weights if wanted is None else {k: w for k, w in weights.items() if _same(k, wanted)}


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _meet_quotas(spec: PopulationSpec, people: list[Skeleton], sampler: _Sampler) -> None:
    """Redraw as few people as needed, one at a time, until every quota holds.

    The person to change is chosen at random among those whose change breaks no other quota's
    floor; the quota's attributes are redrawn conditioned on the violated quota (or on not
    matching it) and, when possible, without breaking another quota's ceiling.
    """
    quotas, n, rng = spec.quotas, len(people), sampler.rng
    bounds = np.array([q.need(n) for q in quotas])
    low, high = bounds[:, 0], bounds[:, 1]
    match = np.array([[q.matches(p.facts()) for q in quotas] for p in people], dtype=bool)
    counts = match.sum(axis=0)
    for _ in range(4 * n * len(quotas) + 10):
        bad = np.flatnonzero((counts < low) | (counts > high))
        if bad.size == 0:
            return
        i = int(bad[0])
        short = counts[i] < low[i]
        candidates = np.flatnonzero(~match[:, i] if short else match[:, i])
        floors = (counts <= low) & (low > 0)
        floors[i] = False
        safe = candidates[~match[candidates][:, floors].any(axis=1)] if floors.any() else candidates
        pool = safe if safe.size else candidates
        victim = int(pool[rng.integers(pool.size)])
        newcomer = _newcomer(sampler, people[victim], quotas, i, short, counts - match[victim], high)
        if newcomer is None:
            break
        row = np.array([q.matches(newcomer.facts()) for q in quotas], dtype=bool)
        counts += row.astype(int) - match[victim].astype(int)
        match[victim] = row
        people[victim] = newcomer
    bad = np.flatnonzero((counts < low) | (counts > high))
    i = int(bad[0])
    where = str(spec.path) if spec.path else None
    raise BadInputError(
        f"cannot be met together with the other quotas for a population of {n} ({quotas[i].describe()})",
        path=where,
        field=f"quotas[{i}]",
    )


def _newcomer(
    sampler: _Sampler,
    victim: Skeleton,
    quotas: list[Quota],
    i: int,
    short: bool,
    counts: np.ndarray,
    high: np.ndarray,
) -> Skeleton | None:
    """The victim redrawn to fix quota ``i``; prefers a draw that breaks no other ceiling."""
    last: Skeleton | None = None
    for _ in range(30):
        person = sampler.redraw(victim, quotas[i], match=short)
        if person is None:
            return None
        last = person
        over = [k for k, q in enumerate(quotas) if k != i and q.matches(person.facts()) and counts[k] + 1 > high[k]]
        if not over:
            return person
    return last


# -- the narrative the model writes ----------------------------------------------------------

FactorLevel = Literal["very low", "low", "medium-low", "medium", "medium-high", "high", "very high"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactorSketch(_Out):
    level: FactorLevel
    note: str = Field(description="How this shows in the person's daily life, in one short clause.")


class BigFiveSketch(_Out):
    openness: FactorSketch
    conscientiousness: FactorSketch
    extraversion: FactorSketch
    agreeableness: FactorSketch
    neuroticism: FactorSketch


class RoutinesSketch(_Out):
    morning: list[str] = Field(max_length=4, description="One to three habits, second person.")
    evening: list[str] = Field(max_length=4, description="One to three habits, second person.")
    weekend: list[str] = Field(max_length=4, description="One to three habits, second person.")


class RelationshipSketch(_Out):
    name: str = Field(description="First name of someone close (partner, child, friend, colleague).")
    description: str = Field(description="Who they are to the persona, second person ('Your sister, …').")


class PersonaNarrative(_Out):
    """What one enrichment call returns: everything about a persona except the demographics."""

    name: str = Field(
        description="Full name (given and family name) that fits the country, gender and age, in the Latin alphabet."
    )
    occupation_title: str = Field(description="Short job title. Exactly the given occupation when one is given.")
    occupation_organization: str = Field(description="Where the person works (a kind of employer or a plausible name).")
    occupation_description: str = Field(
        description="Two or three sentences, second person: what the work is like and what is hard about it."
    )
    household: str = Field(description="Who the person lives with; partner, children, parents.")
    languages: list[str] = Field(max_length=4, description="Languages spoken, with level when not native.")
    style: str = Field(description="How the person speaks, as direction to an actor: two or three sentences.")
    verbal_tics: list[str] = Field(
        min_length=1, max_length=5, description="Two to four phrases the person keeps using."
    )
    traits: list[str] = Field(
        min_length=2, max_length=7, description="Four to six personality traits, second person ('You are …')."
    )
    big_five: BigFiveSketch
    talkativeness: float = Field(
        ge=0.0, le=1.0, description="0 = speaks only when asked, 1 = always has something to add."
    )
    beliefs: list[str] = Field(
        min_length=2, max_length=8, description="Four to six opinions relevant to the study, with their reasons."
    )
    interests: list[str] = Field(min_length=1, max_length=8, description="Three to six specific interests.")
    likes: list[str] = Field(
        min_length=2, max_length=8, description="Four to six concrete likes (products, places, habits)."
    )
    dislikes: list[str] = Field(min_length=2, max_length=8, description="Four to six concrete dislikes.")
    skills: list[str] = Field(max_length=6, description="Two to four skills.")
    habits: list[str] = Field(min_length=1, max_length=6, description="Two to four general behaviours.")
    money_habits: list[str] = Field(
        max_length=5, description="Two or three habits with money, shaped by income and attitudes."
    )
    shopping_habits: list[str] = Field(
        max_length=5, description="Two or three habits when shopping, relevant to the study."
    )
    routines: RoutinesSketch
    health: str = Field(description="One or two sentences.")
    relationships: list[RelationshipSketch] = Field(
        max_length=4, description="Two or three people close to the persona."
    )
    long_term_goals: list[str] = Field(max_length=4, description="Two or three goals.")
    other_facts: list[str] = Field(
        max_length=6, description="Three to five specific facts: places, brands, history, quirks."
    )


class NameChoice(_Out):
    name: str = Field(
        description="Full name (given and family name) that fits the country, gender and age, in the Latin alphabet."
    )


SYSTEM_PROMPT = (
    "You create realistic personas for simulated qualitative research (focus groups and interviews), "
    "in the manner of TinyTroupe. A persona is one specific person, not an average: concrete places, brands, "
    "numbers and routines, opinions with their reasons, small contradictions. Write descriptions in the "
    "second person (You …) and the speaking style as direction to an actor. Keep every fixed fact exactly as "
    "given and make the rest consistent with it: age, gender, place, occupation, income (relative to the "
    "country), education and the stated attitudes must show in the beliefs, habits, likes and dislikes. "
    "Avoid stereotypes and caricature, and do not make everyone agreeable: real panels have sceptics, quiet "
    "people and contrarians. Reply with one JSON object that matches the schema."
)


def fixed_facts(skeleton: Skeleton) -> list[str]:
    """The skeleton as ``- label: value`` lines for the prompt."""
    s = skeleton
    lines = [f"age: {s.age}", f"gender: {s.gender}", f"lives in: {s.residence}"]
    if s.nationality:
        lines.append(f"nationality: {s.nationality}")
    if s.languages:
        lines.append(f"languages: {', '.join(s.languages)}")
    lines.append(
        f"occupation: {s.occupation_title}"
        if s.occupation
        else "occupation: choose one that fits the study and the person"
    )
    if s.income:
        lines.append(f"income bracket: {s.income} for {s.country}")
    if s.education:
        lines.append(f"education: {s.education}")
    for name, level in s.attitudes.items():
        lines.append(f"{name.replace('_', ' ')}: {level}")
    for column, value in s.survey.items():
        lines.append(f"survey answer, {column}: {value}")
    return [f"- {line}" for line in lines]


def narrative_messages(
    spec: PopulationSpec, skeleton: Skeleton, total: int, shared: list[dict[str, Any]]
) -> list[Message]:
    parts = []
    if spec.context.strip():
        parts.append(f"Study context: {spec.context.strip()}")
    parts.append(f"Panel member {skeleton.index + 1} of {total}.")
    parts.append("Fixed facts (do not change them):\n" + "\n".join(fixed_facts(skeleton)))
    if shared:
        parts.append(
            "Everyone in this study also has the following, which is added to the persona afterwards; stay "
            "consistent with it and do not repeat it:\n" + json.dumps(merge_all({}, shared), ensure_ascii=False)
        )
    parts.append(
        f"Write the rest of this person. The name: a full name that a {skeleton.gender.lower()} person aged "
        f"{skeleton.age} living in {skeleton.residence} would plausibly have, typical of the country and generation, "
        "not a celebrity, written in the Latin alphabet (romanised if the country uses another script)."
    )
    return [Message("system", SYSTEM_PROMPT), Message("user", "\n\n".join(parts))]


def name_messages(skeleton: Skeleton, taken: list[str]) -> list[Message]:
    facts = "\n".join(fixed_facts(skeleton))
    recent = ", ".join(taken[-60:]) if taken else "none"
    return [
        Message(
            "system",
            "You suggest realistic full names for simulated research participants. Reply with one JSON object.",
        ),
        Message(
            "user",
            f"A person with these facts:\n{facts}\n\nSuggest a full name (given and family name) typical of the "
            f"country for a {skeleton.gender.lower()} person aged {skeleton.age} living in {skeleton.residence}, in the "
            "Latin alphabet. "
            "These names are already "
            f"taken, choose a clearly different one: {recent}.",
        ),
    ]


def build_persona(skeleton: Skeleton, narrative: PersonaNarrative, name: str, shared: list[dict[str, Any]]) -> Persona:
    """Assemble the persona: the narrative, then the shared fragments, then the skeleton on top.

    Raises :class:`InvalidOutputError` if the result does not validate (a bug, or a fragment
    that clashes with generated values).
    """
    n = narrative
    data: dict[str, Any] = {
        "name": name,
        "household": n.household,
        "languages": n.languages,
        "talkativeness": round(n.talkativeness, 2),
        "style": n.style,
        "verbal_tics": n.verbal_tics,
        "occupation": {
            "title": n.occupation_title,
            "organization": n.occupation_organization,
            "description": n.occupation_description,
        },
        "personality": {
            "traits": n.traits,
            "big_five": {f: _factor_text(getattr(n.big_five, f)) for f in BigFiveSketch.model_fields},
        },
        "preferences": {"interests": n.interests, "likes": n.likes, "dislikes": n.dislikes},
        "beliefs": n.beliefs,
        "skills": n.skills,
        "behaviors": {
            "general": n.habits,
            "routines": {k: v for k, v in n.routines.model_dump().items() if v},
            **({"money": n.money_habits} if n.money_habits else {}),
            **({"shopping": n.shopping_habits} if n.shopping_habits else {}),
        },
        "health": n.health,
        "relationships": [r.model_dump() for r in n.relationships if r.name.strip()],
        "long_term_goals": n.long_term_goals,
        "other_facts": n.other_facts,
    }
    data = merge_all(data, shared)
    s = skeleton
    data.update({"name": name, "age": s.age, "gender": s.gender, "residence": s.residence})
    for key, value in (("nationality", s.nationality), ("income", s.income), ("education", s.education)):
        if value is not None:
            data[key] = value
    if s.languages:
        data["languages"] = list(s.languages)
    if s.occupation:
        data["occupation"] = {**data.get("occupation", {}), "title": s.occupation_title}
    if s.attitudes:
        extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
        data["extra"] = {**extra, "attitudes": dict(s.attitudes)}
    if s.survey:
        extra = data.get("extra") if isinstance(data.get("extra"), dict) else {}
        data["extra"] = {**extra, "survey": dict(s.survey)}
    data["slug"] = slugify(name)
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        raise InvalidOutputError(f"the generated persona did not validate: {exc.errors()[0]['msg']}") from None


def _factor_text(factor: FactorSketch) -> str:
    note = factor.note.strip()
    if note:
        note = note[0].upper() + note[1:]
        if note[-1] not in ".!?":
            note += "."
    return f"{factor.level.capitalize()}. {note}".strip()


# -- the factory ------------------------------------------------------------------------------


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, calls: list[CallUsage]) -> None:
        for c in calls:
            self.calls += 1
            self.prompt_tokens += c.prompt_tokens
            self.completion_tokens += c.completion_tokens
            self.cost_usd += c.cost_usd


@dataclass
class Generated:
    skeleton: Skeleton
    persona: Persona
    path: Path
    name_source: Literal["model", "retry", "fallback"]


@dataclass
class Failed:
    skeleton: Skeleton
    error: str


Outcome = Generated | Failed


@dataclass
class PopulationResult:
    out_dir: Path
    manifest: Path
    generated: list[Generated] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    aborted: str | None = None
    """Set when a backend failure stopped the run (the message)."""


def check_out_dir(out_dir: str | Path, *, force: bool) -> Path:
    """Refuse a folder that already holds a population or persona files, unless ``force``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BadInputError("not a folder", path=str(out))
    if out.is_dir() and not force:
        held = [p.name for p in out.iterdir() if p.name == MANIFEST or p.suffix.lower() == ".toml"]
        if held:
            what = MANIFEST if MANIFEST in held else f"{len(held)} persona file{'s' if len(held) > 1 else ''}"
            raise BadInputError(f"already holds {what}; use --force to replace them", path=str(out))
    return out


def _clear_previous(out: Path) -> None:
    """With ``--force``: remove the persona files the previous population's manifest lists."""
    manifest = out / MANIFEST
    if not manifest.is_file():
        return
    try:
        data = read_json(manifest)
    except BadInputError:
        return
    for item in data.get("personas", []) if isinstance(data, dict) else []:
        name = item.get("file") if isinstance(item, dict) else None
        if isinstance(name, str) and Path(name).name == name and name.endswith(".toml"):
            (out / name).unlink(missing_ok=True)


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class PopulationFactory:
    """Enrich skeletons into personas with one structured call each (see the module docstring)."""

    def __init__(
        self,
        spec: PopulationSpec,
        backend: ChatBackend,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        temperature: float = 0.9,
        max_tokens: int = 4096,
        like: dict[str, Any] | None = None,
        name_retry: bool = True,
    ) -> None:
        self.spec = spec
        self.name_retry = name_retry
        """Ask the model again for a name it gave implausible or taken. Off for batch engines:
        names are settled one persona at a time, so each retry would be a batch of its own
        (hours); the name bank is used at once instead."""
        self.like = like
        """For a panel made from a survey (``--like``): the CSV, its columns and the mode, for the manifest."""
        self.backend = backend
        self.concurrency = max(1, concurrency)
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.shared = [load_fragment(p) for p in spec.fragment_paths()]
        self.usage = Usage()

    async def narrate(self, skeleton: Skeleton, total: int, seed: int) -> PersonaNarrative:
        """The one enrichment call (a second, fresh attempt only if the reply stays invalid
        after the backend's own repair)."""
        messages = narrative_messages(self.spec, skeleton, total, self.shared)
        for attempt in range(2):
            request = ChatRequest(
                messages=messages,
                output_model=PersonaNarrative,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=seed * 100_003 + skeleton.index + attempt * 7919,
                purpose="persona",
                metadata={"card": {"traits": _flavour(skeleton)}},
            )
            try:
                response = await self.backend.complete(request)
            except InvalidOutputError as exc:
                self.usage.add(exc.calls)
                if attempt:
                    raise
                continue
            self.usage.add(response.calls)
            assert isinstance(response.parsed, PersonaNarrative)
            return response.parsed
        raise AssertionError("unreachable")  # pragma: no cover

    async def choose_name(
        self, skeleton: Skeleton, proposed: str, taken: dict[str, str], seed: int
    ) -> tuple[str, Literal["model", "retry", "fallback"]]:
        """The model's name if plausible and unused; else one name-only retry; else the bank."""
        name = clean_name(proposed)
        if plausible_name(name) and slugify(name) not in taken:
            return name, "model"
        if not self.name_retry:
            rng = random.Random(f"{seed}|{skeleton.index}|name")
            return fallback_name(skeleton.country, skeleton.gender, taken, rng), "fallback"
        request = ChatRequest(
            messages=name_messages(skeleton, list(taken.values())),
            output_model=NameChoice,
            temperature=1.0,
            max_tokens=60,
            seed=seed * 100_003 + skeleton.index,
            purpose="persona_name",
            metadata={"card": {"traits": _flavour(skeleton)}},
        )
        try:
            response = await self.backend.complete(request)
            self.usage.add(response.calls)
            assert isinstance(response.parsed, NameChoice)
            name = clean_name(response.parsed.name)
            if plausible_name(name) and slugify(name) not in taken:
                return name, "retry"
        except InvalidOutputError as exc:
            self.usage.add(exc.calls)
        rng = random.Random(f"{seed}|{skeleton.index}|name")
        return fallback_name(skeleton.country, skeleton.gender, taken, rng), "fallback"

    async def generate(
        self,
        skeletons: list[Skeleton],
        out_dir: str | Path,
        *,
        seed: int,
        force: bool = False,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> PopulationResult:
        """Enrich every skeleton, writing each persona file as it is accepted, then the manifest."""
        out = check_out_dir(out_dir, force=force)
        if force:
            _clear_previous(out)
        out.mkdir(parents=True, exist_ok=True)
        result = PopulationResult(out_dir=out, manifest=out / MANIFEST, usage=self.usage)
        bound = asyncio.Semaphore(self.concurrency)
        total = len(skeletons)

        async def bounded(s: Skeleton) -> PersonaNarrative:
            async with bound:
                return await self.narrate(s, total, seed)

        tasks = [asyncio.ensure_future(bounded(s)) for s in skeletons]
        taken: dict[str, str] = {}
        try:
            for skeleton, task in zip(skeletons, tasks):
                outcome = await self._accept(skeleton, task, taken, out, seed, result)
                if isinstance(outcome, Generated):
                    result.generated.append(outcome)
                else:
                    result.failed.append(outcome)
                if on_outcome is not None:
                    on_outcome(outcome)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.write_manifest(result, skeletons, seed)
        return result

    async def _accept(
        self,
        skeleton: Skeleton,
        task: asyncio.Future[PersonaNarrative],
        taken: dict[str, str],
        out: Path,
        seed: int,
        result: PopulationResult,
    ) -> Outcome:
        if result.aborted:
            return Failed(skeleton, f"not generated: {result.aborted}")
        try:
            narrative = await task
            name, source = await self.choose_name(skeleton, narrative.name, taken, seed)
            persona = build_persona(skeleton, narrative, name, self.shared)
        except BackendError as exc:
            if exc.fatal:  # will not get better by trying the next persona: stop at once
                result.aborted = str(exc)
            return Failed(skeleton, str(exc))
        taken[persona.slug] = persona.name
        path = out / f"{persona.slug}.toml"
        _write_text(path, persona_toml(persona, header=self._header(persona, skeleton, seed)))
        return Generated(skeleton, persona, path, source)

    def _header(self, persona: Persona, skeleton: Skeleton, seed: int) -> str:
        spec_name = self.spec.path.name if self.spec.path else "a population spec"
        if self.like is not None:
            row = f", twin of row {skeleton.source_row}" if skeleton.source_row is not None else ""
            spec_name = f"the survey {Path(str(self.like.get('csv', '?'))).name}{row}"
        model = getattr(self.backend, "model", None) or "default model"
        return (
            f"{persona.name} — {descriptor(persona)}.\n"
            f"Generated by `troupe personas generate` from {spec_name} (seed {seed}, skeleton {skeleton.index}) "
            f"with the {getattr(self.backend, 'name', 'unknown')} backend ({model}).\n"
            "A simulated participant: edit freely; `troupe personas validate` checks the file."
        )

    def write_manifest(self, result: PopulationResult, skeletons: list[Skeleton], seed: int) -> None:
        by_index: dict[int, Outcome] = {o.skeleton.index: o for o in [*result.generated, *result.failed]}
        manifest = {
            "format": MANIFEST_FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spec_path": str(self.spec.path) if self.spec.path else None,
            "spec": self.spec.model_dump(mode="json"),
            "size": len(skeletons),
            "seed": seed,
            **({"like": self.like} if self.like is not None else {}),
            "backend": getattr(self.backend, "name", None),
            "model": getattr(self.backend, "model", None),
            "personas": [
                {
                    "file": o.path.name,
                    "name": o.persona.name,
                    "name_source": o.name_source,
                    "skeleton": o.skeleton.model_dump(mode="json"),
                }
                for o in result.generated
            ],
            "failed": [{"error": o.error, "skeleton": o.skeleton.model_dump(mode="json")} for o in result.failed]
            + [
                {"error": "not generated", "skeleton": s.model_dump(mode="json")}
                for s in skeletons
                if s.index not in by_index
            ],
            "usage": {
                "calls": result.usage.calls,
                "prompt_tokens": result.usage.prompt_tokens,
                "completion_tokens": result.usage.completion_tokens,
                "cost_usd": round(result.usage.cost_usd, 6),
            },
        }
        _write_text(result.manifest, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")


def _flavour(skeleton: Skeleton) -> dict[str, Any]:
    """Traits for backends that do not read the prompt (the scripted backend's flavour)."""
    return {
        "age": skeleton.age,
        "gender": skeleton.gender,
        "occupation": skeleton.occupation_title or "",
        "city": skeleton.city or "",
        "country": skeleton.country,
        "income": skeleton.income,
    }


async def generate_population(
    spec: PopulationSpec,
    backend: ChatBackend,
    out_dir: str | Path,
    *,
    size: int | None = None,
    seed: int | None = None,
    force: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> PopulationResult:
    """Sample ``size`` skeletons with ``seed`` and enrich them into persona files in ``out_dir``."""
    used_seed = spec.seed if seed is None else seed
    skeletons = sample_skeletons(spec, size=size, seed=used_seed)
    factory = PopulationFactory(spec, backend, concurrency=concurrency)
    return await factory.generate(skeletons, out_dir, seed=used_seed, force=force, on_outcome=on_outcome)
