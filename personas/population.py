"""The population spec: who a generated population should be made of (``troupe personas generate``).

A spec is a TOML file (see ``docs/personas.md``) with the population's size and seed, the
study ``context``, one distribution per demographic attribute (age as weighted bands or a
bounded normal; gender, countries → cities, occupations, income brackets and education as
weighted categories), attitude dimensions on ``Low``/``Medium``/``High`` with weights, optional
quotas ("at least 30 % aged 55 or more") and fragments applied to everyone.

Every table forbids unknown keys; a bad value is a one-line :class:`BadInputError` naming the
file and the field (``spec.toml: quotas[0].gender: 'Other' is not one of the spec's genders``).
Weights are relative (``{Female = 52, Male = 48}`` and ``{Female = 0.52, Male = 0.48}`` are the
same); a plain list means equal weights. Sampling lives in ``factory.py``; this module is data
plus the one predicate both sampling and profiling share, :meth:`Quota.matches`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from troupe.core.errors import BadInputError
from troupe.core.validation import LocatedValueError, bad_input_from_validation, read_toml

from .load import load_fragment
from .model import IncomeBracket

LEVELS: tuple[str, ...] = ("Low", "Medium", "High")
INCOME_BRACKETS: tuple[str, ...] = ("low", "lower-middle", "middle", "upper-middle", "high")
Level = Literal["Low", "Medium", "High"]
MAX_SIZE = 10_000
MANIFEST = "population.json"
"""The file a generated population's folder describes itself in (``factory.py`` writes it)."""
DEFAULT_CONCURRENCY = 8
QUOTA_SELECTORS = ("age_min", "age_max", "gender", "country", "city", "occupation", "income", "education", "attitude")


def _weights(value: Any) -> Any:
    """A list of names means equal weights: ``["a", "b"]`` → ``{"a": 1.0, "b": 1.0}``."""
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise LocatedValueError((), "expected a list of names or a table of name = weight")
        if len(set(value)) != len(value):
            raise LocatedValueError((), "a name is listed twice")
        return {v: 1.0 for v in value}
    return value


Weights = Annotated[dict[str, float], BeforeValidator(_weights)]
"""Relative weights by category name; a TOML table ``{a = 3, b = 1}`` or a list ``["a", "b"]``."""


def check_weights(weights: dict[str, float], loc: tuple[str | int, ...] = ()) -> dict[str, float]:
    """Weights must be non-empty, finite, ≥ 0 and not all zero; names must be non-empty."""
    if not weights:
        raise LocatedValueError(loc, "needs at least one entry")
    for name, weight in weights.items():
        if not name.strip():
            raise LocatedValueError(loc, "a name is empty")
        if not math.isfinite(weight) or weight < 0:
            raise LocatedValueError((*loc, name), "a weight must be a number ≥ 0")
    if sum(weights.values()) <= 0:
        raise LocatedValueError(loc, "the weights add up to 0")
    return weights


def shares(weights: dict[str, float]) -> dict[str, float]:
    """Weights normalised to sum to 1."""
    total = sum(weights.values())
    return {k: w / total for k, w in weights.items()}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgeBand(_Strict):
    min: int = Field(ge=0, le=120)
    max: int = Field(ge=0, le=120)
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        if self.max < self.min:
            raise LocatedValueError(("max",), f"must be ≥ min ({self.min})")
        return self

    @property
    def label(self) -> str:
        return f"{self.min}–{self.max}"


class AgeSpec(_Strict):
    """Either weighted ``bands`` (uniform ages within each) or a normal ``mean``/``sd`` clipped
    to ``min``..``max`` (inclusive; also the bounds of the bands' default)."""

    bands: list[AgeBand] | None = None
    mean: float | None = Field(default=None, allow_inf_nan=False)
    sd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    min: int = Field(default=18, ge=0, le=120)
    max: int = Field(default=80, ge=0, le=120)

    @model_validator(mode="after")
    def _one_shape(self) -> AgeSpec:
        if self.max < self.min:
            raise LocatedValueError(("max",), f"must be ≥ min ({self.min})")
        normal = self.mean is not None or self.sd is not None
        if self.bands is not None and normal:
            raise LocatedValueError(("bands",), "give either bands or mean/sd, not both")
        if normal and (self.mean is None or self.sd is None):
            raise LocatedValueError(("sd" if self.sd is None else "mean",), "a normal age needs both mean and sd")
        if self.bands is not None:
            if not self.bands:
                raise LocatedValueError(("bands",), "needs at least one band")
            if sum(b.weight for b in self.bands) <= 0:
                raise LocatedValueError(("bands",), "the weights add up to 0")
            ordered = sorted(range(len(self.bands)), key=lambda i: self.bands[i].min)  # type: ignore[index]
            for a, b in zip(ordered, ordered[1:]):
                if self.bands[b].min <= self.bands[a].max:
                    raise LocatedValueError(("bands", b), f"overlaps bands[{a}] ({self.bands[a].label})")
        elif not normal:
            self.bands = [AgeBand(min=self.min, max=self.max)]
        return self

    @property
    def normal(self) -> bool:
        return self.mean is not None

    @property
    def support(self) -> tuple[int, int]:
        """The youngest and oldest age this spec can produce."""
        if self.bands is not None:
            live = [b for b in self.bands if b.weight > 0]
            return min(b.min for b in live), max(b.max for b in live)
        return self.min, self.max


class Country(_Strict):
    name: str = Field(min_length=1)
    """As it should read in ``residence`` ("City, Country"): ``United Kingdom``, ``Spain``."""
    weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    nationality: str | None = None
    """Written to every persona from this country (``British``); omitted when unset."""
    languages: list[str] = Field(default_factory=list)
    cities: Weights = Field(default_factory=dict)
    """Weighted within the country; empty → ``residence`` is the country alone."""

    @field_validator("cities")
    @classmethod
    def _cities(cls, value: dict[str, float]) -> dict[str, float]:
        return check_weights(value) if value else value


class Quota(_Strict):
    """A floor or ceiling on the share of people who match every given selector.

    ``age_min = 55`` with ``at_least = 0.3``: at least 30 % of the population is 55 or older.
    """

    age_min: int | None = Field(default=None, ge=0, le=120)
    age_max: int | None = Field(default=None, ge=0, le=120)
    gender: str | None = None
    country: str | None = None
    city: str | None = None
    occupation: str | None = None
    income: IncomeBracket | None = None
    education: str | None = None
    attitude: str | None = None
    level: Level | None = None
    """With ``attitude``: the level that counts (``attitude = "price_sensitivity"``, ``level = "High"``)."""
    at_least: float | None = Field(default=None, ge=0, le=1)
    at_most: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _shape(self) -> Quota:
        if all(getattr(self, s) is None for s in QUOTA_SELECTORS):
            raise LocatedValueError(
                (), "say who counts: age_min/age_max, gender, country, city, occupation, income, education or attitude"
            )
        if self.at_least is None and self.at_most is None:
            raise LocatedValueError(("at_least",), "give at_least and/or at_most (a share from 0 to 1)")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise LocatedValueError(("at_most",), "must be ≥ at_least")
        if self.age_min is not None and self.age_max is not None and self.age_max < self.age_min:
            raise LocatedValueError(("age_max",), "must be ≥ age_min")
        if (self.attitude is None) != (self.level is None):
            raise LocatedValueError(("level" if self.level is None else "attitude",), "attitude and level go together")
        return self

    def matches(self, facts: dict[str, Any]) -> bool:
        """Whether one person (a skeleton's or persona's facts, see ``Skeleton.facts``) counts.

        Text compares case-insensitively; a person without the attribute does not match.
        """
        age = facts.get("age")
        if self.age_min is not None and (age is None or age < self.age_min):
            return False
        if self.age_max is not None and (age is None or age > self.age_max):
            return False
        for key in ("gender", "country", "city", "occupation", "income", "education"):
            wanted = getattr(self, key)
            if wanted is not None and not _same(facts.get(key), wanted):
                return False
        if self.attitude is not None:
            return _same((facts.get("attitudes") or {}).get(self.attitude), self.level)
        return True

    def need(self, n: int) -> tuple[int, int]:
        """The allowed count of matching people in a population of ``n``: ``(low, high)``."""
        low = math.ceil(self.at_least * n - 1e-9) if self.at_least is not None else 0
        high = math.floor(self.at_most * n + 1e-9) if self.at_most is not None else n
        return low, high

    def describe(self) -> str:
        """``"age 55+ ≥ 30%"``, ``"gender Female, country Spain 40%–60%"``."""
        who = []
        if self.age_min is not None or self.age_max is not None:
            if self.age_max is None:
                who.append(f"age {self.age_min}+")
            elif self.age_min is None:
                who.append(f"age ≤ {self.age_max}")
            else:
                who.append(f"age {self.age_min}–{self.age_max}")
        for key in ("gender", "country", "city", "occupation", "income", "education"):
            if getattr(self, key) is not None:
                who.append(f"{key} {getattr(self, key)}")
        if self.attitude is not None:
            who.append(f"{self.attitude} {self.level}")
        if self.at_least is not None and self.at_most is not None:
            bound = f"{self.at_least:.0%}–{self.at_most:.0%}"
        elif self.at_least is not None:
            bound = f"≥ {self.at_least:.0%}"
        else:
            bound = f"≤ {self.at_most:.0%}"
        return f"{', '.join(who)} {bound}"


def _same(value: Any, wanted: Any) -> bool:
    return isinstance(value, str) and isinstance(wanted, str) and value.strip().casefold() == wanted.strip().casefold()


class PopulationSpec(_Strict):
    """A population to sample and enrich (the TOML file's top level)."""

    title: str | None = None
    context: str = ""
    """The study in one or two sentences ("UK grocery shoppers who buy ready meals"); every
    persona is written to belong to it."""
    size: int = Field(default=10, ge=1, le=MAX_SIZE)
    seed: int = Field(default=0, ge=0)
    sampling: Literal["stratified", "random"] = "stratified"
    """``stratified``: each attribute's counts follow its weights as closely as whole people
    allow (largest remainders), then shuffled; ``random``: independent draws."""
    age: AgeSpec = Field(default_factory=AgeSpec)
    gender: Weights = Field(default_factory=lambda: {"Female": 1.0, "Male": 1.0})
    countries: list[Country] = Field(min_length=1)
    occupations: Weights | None = None
    """Unset: the model picks an occupation that fits the context."""
    retirement_age: int | None = Field(default=None, ge=0, le=120)
    """People this old or older are retired from their sampled occupation ("retired nurse")."""
    income: dict[IncomeBracket, float] | None = None
    education: Weights | None = None
    attitudes: dict[str, Weights] = Field(default_factory=dict)
    """``price_sensitivity = { Low = 20, Medium = 40, High = 40 }``; levels are Low/Medium/High."""
    quotas: list[Quota] = Field(default_factory=list)
    fragments: list[str] = Field(default_factory=list)
    """Fragment files (relative to the spec) merged into every persona."""

    _path: Path | None = PrivateAttr(default=None)

    @field_validator("gender", "occupations", "education")
    @classmethod
    def _categorical(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else check_weights(value)

    @field_validator("income")
    @classmethod
    def _income(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        return None if value is None else check_weights(value)

    @field_validator("attitudes")
    @classmethod
    def _attitudes(cls, value: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for name, levels in value.items():
            if not name.replace("_", "").isalnum() or not name[:1].isalpha():
                raise LocatedValueError((name,), "use a name made of letters, digits and '_' (price_sensitivity)")
            for level in levels:
                if level not in LEVELS:
                    raise LocatedValueError((name, level), "levels are Low, Medium and High")
            check_weights(levels, (name,))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PopulationSpec:
        names = [c.name.casefold() for c in self.countries]
        for i, country in enumerate(self.countries):
            if names.index(country.name.casefold()) != i:
                raise LocatedValueError(("countries", i, "name"), f"{country.name!r} is listed twice")
        if sum(c.weight for c in self.countries) <= 0:
            raise LocatedValueError(("countries",), "the weights add up to 0")
        for i, quota in enumerate(self.quotas):
            self._check_quota(quota, ("quotas", i))
        return self

    def _check_quota(self, quota: Quota, loc: tuple[str | int, ...]) -> None:
        """A quota may only select values the spec can produce (else it could never be met)."""
        if quota.at_least is not None and quota.at_least > 0:
            lo, hi = self.age.support
            a, b = (
                quota.age_min if quota.age_min is not None else 0,
                quota.age_max if quota.age_max is not None else 120,
            )
            if b < lo or a > hi:
                raise LocatedValueError(
                    (*loc, "age_min" if quota.age_min is not None else "age_max"),
                    f"no one in the spec's ages ({lo}–{hi}) matches",
                )
        checks: list[tuple[str, dict[str, float] | None, str]] = [
            ("gender", self.gender, "genders"),
            ("country", {c.name: c.weight for c in self.countries}, "countries"),
            ("city", {city: w for c in self.countries if c.weight > 0 for city, w in c.cities.items()}, "cities"),
            ("occupation", self.occupations, "occupations"),
            ("income", self.income, "income brackets"),
            ("education", self.education, "education levels"),
        ]
        for key, weights, plural in checks:
            wanted = getattr(quota, key)
            if wanted is None:
                continue
            if weights is None:
                raise LocatedValueError((*loc, key), f"the spec has no {key} distribution to select from")
            if not any(_same(name, wanted) and (w > 0 or not quota.at_least) for name, w in weights.items()):
                raise LocatedValueError(
                    (*loc, key), f"{wanted!r} is not one of the spec's {plural} (with a weight above 0)"
                )
        if quota.attitude is not None:
            levels = self.attitudes.get(quota.attitude)
            if levels is None:
                raise LocatedValueError((*loc, "attitude"), f"{quota.attitude!r} is not one of the spec's attitudes")
            if quota.at_least and not levels.get(quota.level or "", 0) > 0:
                raise LocatedValueError((*loc, "level"), f"{quota.level!r} has no weight in attitudes.{quota.attitude}")

    # -- derived -------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file the spec was read from (fragments resolve relative to it)."""
        return self._path

    def fragment_paths(self) -> list[Path]:
        base = self._path.parent if self._path else Path.cwd()
        out = []
        for item in self.fragments:
            p = Path(item).expanduser()
            out.append(p if p.is_absolute() else base / p)
        return out

    def city_shares(self) -> dict[str, float]:
        """Overall share of each ``"City, Country"`` (country share × city share within it)."""
        countries = shares({c.name: c.weight for c in self.countries})
        out: dict[str, float] = {}
        for c in self.countries:
            if c.cities:
                for city, share in shares(c.cities).items():
                    out[f"{city}, {c.name}"] = out.get(f"{city}, {c.name}", 0.0) + countries[c.name] * share
        return out


def load_spec(path: str | Path) -> PopulationSpec:
    """Read and check a population spec; fragments are loaded (and checked) too.

    Every problem is one :class:`BadInputError` naming the file and the field.
    """
    p = Path(path)
    if p.suffix.lower() != ".toml":
        raise BadInputError("a population spec is a .toml file", path=str(p))
    data = read_toml(p)
    try:
        spec = PopulationSpec.model_validate(data)
    except ValidationError as exc:
        raise bad_input_from_validation(exc, p) from None
    spec._path = p
    for i, fragment in enumerate(spec.fragment_paths()):
        if not fragment.is_file():
            raise BadInputError(f"fragment file not found: {fragment}", path=str(p), field=f"fragments[{i}]")
        load_fragment(fragment)  # a bad fragment is reported against its own file
    return spec


def spec_from_data(
    data: dict[str, Any], path: str | Path | None = None, *, prefix: tuple[str, ...] = ()
) -> PopulationSpec:
    """A spec from already-parsed data (the copy in a population's manifest, under ``prefix``
    there); errors as :func:`load_spec`. Fragments are not loaded."""
    try:
        spec = PopulationSpec.model_validate(data)
    except ValidationError as exc:
        raise bad_input_from_validation(exc, path, prefix=prefix) from None
    spec._path = Path(path) if path else None
    return spec
