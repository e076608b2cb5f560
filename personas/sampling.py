"""Population sampling: demographic skeletons drawn from a spec or matched to a survey.

:func:`sample_skeletons` draws ``size`` skeletons (age, gender, country and city, occupation,
income, education, attitude levels) from a :class:`PopulationSpec`, deterministically for a
seed; :func:`skeletons_like` makes one per survey respondent, or a sample matching the joint
distribution of chosen columns. The factory (``personas/factory.py``) then turns each
skeleton into a persona with one LLM call; nothing here calls a model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import truncnorm

from troupe.core.errors import BadInputError

from .model import IncomeBracket
from .population import Level, PopulationSpec, Quota, shares


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
