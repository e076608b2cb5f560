"""Profile a set of personas, and compare it with a population spec's targets.

:func:`profile_personas` counts what a panel is made of: age (summary and ten-year buckets),
gender, country, city, occupation, income, education, attitude levels (``extra.attitudes``,
as the population factory writes them), big-five means (factors read as 0..1 the way the
card does) and the spread of talkativeness (explicit, or derived from extraversion like the
card). :func:`compare_to_spec` sets the realised distribution of every attribute the spec
constrains against the spec's target shares — total variation distance (0 = identical,
1 = disjoint) and Pearson's χ² goodness of fit (scipy) — and checks the quotas.

Pure functions of the personas: the CLI (``troupe personas profile``) renders the result as
rich tables or JSON (:meth:`Profile.to_json`, :meth:`SpecComparison.to_json`).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scipy.stats import chisquare, truncnorm

from troupe.core.errors import BadInputError
from troupe.core.validation import read_json

from .card import traits
from .library import list_library, resolve_persona
from .load import SUFFIXES, persona_from_source, read_source
from .model import BIG_FIVE, Persona
from .population import INCOME_BRACKETS, LEVELS, MANIFEST, PopulationSpec, shares, spec_from_data

AGE_BUCKETS: tuple[tuple[int, int], ...] = (
    (0, 17),
    (18, 24),
    (25, 34),
    (35, 44),
    (45, 54),
    (55, 64),
    (65, 74),
    (75, 120),
)
OTHER = "(other)"
CATEGORICAL = ("gender", "country", "city", "occupation", "income", "education")


def bucket_label(lo: int, hi: int) -> str:
    if lo == 0:
        return f"under {hi + 1}"
    return f"{lo}+" if hi >= 120 else f"{lo}–{hi}"


# -- reading a set of personas -----------------------------------------------------------------


def collect_personas(items: list[str]) -> list[Persona]:
    """Personas from folders, files and library names; no items → the whole library.

    A folder contributes every persona file in it (``*.toml`` / ``*.json``), skipping
    fragments and a population's ``population.json``.
    """
    if not items:
        return list_library()
    out: list[Persona] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found = []
            for file in sorted(path.iterdir()):
                if not file.is_file() or not file.name.lower().endswith(SUFFIXES) or file.name == MANIFEST:
                    continue
                source = read_source(file)
                if source.kind == "persona":
                    found.append(persona_from_source(source))
            if not found:
                raise BadInputError("no persona files (*.toml, *.json) in this folder", path=str(path))
            out.extend(found)
        else:
            out.append(resolve_persona(item))
    return out


def recorded_spec(folder: str | Path) -> PopulationSpec | None:
    """The spec a generated population's ``population.json`` recorded, or ``None`` if the
    folder has no manifest. A manifest that cannot be read is bad input."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return None
    data = read_json(manifest)
    if not isinstance(data, dict) or not isinstance(data.get("spec"), dict):
        raise BadInputError("expected the population's spec here", path=str(manifest), field="spec")
    return spec_from_data(data["spec"], manifest, prefix=("spec",))


def persona_facts(persona: Persona) -> dict[str, Any]:
    """What profiles count and quotas select on (the same keys as ``Skeleton.facts``)."""
    attitudes = persona.extra.get("attitudes")
    return {
        "age": persona.age,
        "gender": persona.gender or None,
        "country": persona.country or None,
        "city": persona.city if persona.residence and "," in persona.residence else None,
        "occupation": persona.occupation.title or None,
        "income": persona.income,
        "education": persona.education or None,
        "attitudes": {str(k): str(v) for k, v in attitudes.items()} if isinstance(attitudes, dict) else {},
    }


# -- the profile --------------------------------------------------------------------------------


@dataclass
class Summary:
    """Numbers summarised: count, mean, standard deviation (n−1), quartiles, range."""

    n: int
    mean: float
    sd: float
    min: float
    q1: float
    median: float
    q3: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> Summary | None:
        if not values:
            return None
        v = sorted(values)
        q1, median, q3 = statistics.quantiles(v, n=4, method="inclusive") if len(v) > 1 else (v[0], v[0], v[0])
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        return cls(len(v), statistics.fmean(v), sd, v[0], q1, median, q3, v[-1])

    def to_json(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            **{k: round(float(getattr(self, k)), 4) for k in ("mean", "sd", "min", "q1", "median", "q3", "max")},
        }


@dataclass
class Profile:
    count: int
    names: list[str]
    age: Summary | None
    age_buckets: dict[str, int]
    categories: dict[str, Counter[str]]
    """``gender``, ``country``, ``city``, ``occupation``, ``income``, ``education`` and
    ``attitude.<name>`` → counts of each value (people without a value are left out)."""
    big_five: dict[str, Summary | None]
    talkativeness: Summary | None

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "names": self.names,
            "age": self.age.to_json() if self.age else None,
            "age_buckets": self.age_buckets,
            "categories": {k: dict(c.most_common()) for k, c in self.categories.items()},
            "big_five": {k: (s.to_json() if s else None) for k, s in self.big_five.items()},
            "talkativeness": self.talkativeness.to_json() if self.talkativeness else None,
        }


def profile_personas(personas: list[Persona]) -> Profile:
    """The demographic and attitudinal make-up of ``personas`` (see the module docstring)."""
    facts = [persona_facts(p) for p in personas]
    ages = [f["age"] for f in facts if f["age"] is not None]
    buckets = {bucket_label(lo, hi): sum(lo <= a <= hi for a in ages) for lo, hi in AGE_BUCKETS}
    if not buckets["under 18"]:
        buckets.pop("under 18")
    categories: dict[str, Counter[str]] = {key: Counter(f[key] for f in facts if f[key]) for key in CATEGORICAL}
    if categories["city"]:
        categories["city"] = Counter(
            f"{f['city']}, {f['country']}" if f["country"] else f["city"] for f in facts if f["city"]
        )
    if categories["income"]:
        order = {b: i for i, b in enumerate(INCOME_BRACKETS)}
        categories["income"] = Counter(dict(sorted(categories["income"].items(), key=lambda kv: order.get(kv[0], 99))))
    for name in sorted({a for f in facts for a in f["attitudes"]}):
        categories[f"attitude.{name}"] = Counter(f["attitudes"][name] for f in facts if name in f["attitudes"])
    big_five = {
        factor: Summary.of([s for p in personas if (s := p.personality.big_five.score(factor)) is not None])
        for factor in BIG_FIVE
    }
    talk = Summary.of([float(traits(p)["talkativeness"]) for p in personas])
    return Profile(
        len(personas),
        [p.name for p in personas],
        Summary.of([float(a) for a in ages]),
        buckets,
        categories,
        big_five,
        talk,
    )


# -- comparison with a spec --------------------------------------------------------------------


@dataclass
class CategoryRow:
    category: str
    target: float
    """The spec's share (0..1)."""
    observed: int
    share: float


@dataclass
class AttributeComparison:
    attribute: str
    n: int
    """People with a value for the attribute (the others are left out of the comparison)."""
    rows: list[CategoryRow]
    tvd: float | None
    chi2: float | None = None
    dof: int | None = None
    p_value: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "n": self.n,
            "categories": [
                {
                    "category": r.category,
                    "target": round(r.target, 4),
                    "observed": r.observed,
                    "share": round(r.share, 4),
                }
                for r in self.rows
            ],
            "total_variation_distance": _round(self.tvd),
            "chi2": _round(self.chi2),
            "dof": self.dof,
            "p_value": _round(self.p_value, 6),
            "notes": self.notes,
        }


@dataclass
class QuotaCheck:
    index: int
    description: str
    count: int
    low: int
    high: int

    @property
    def met(self) -> bool:
        return self.low <= self.count <= self.high

    def to_json(self) -> dict[str, Any]:
        return {
            "quota": self.index,
            "description": self.description,
            "count": self.count,
            "min": self.low,
            "max": self.high,
            "met": self.met,
        }


@dataclass
class SpecComparison:
    spec: str | None
    n: int
    attributes: list[AttributeComparison]
    quotas: list[QuotaCheck]

    def to_json(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "n": self.n,
            "attributes": [a.to_json() for a in self.attributes],
            "quotas": [q.to_json() for q in self.quotas],
        }


def compare_to_spec(personas: list[Persona], spec: PopulationSpec) -> SpecComparison:
    """Each attribute the spec constrains: realised shares against the spec's, with TVD and χ²."""
    facts = [persona_facts(p) for p in personas]
    out: list[AttributeComparison] = []
    out.append(_compare_age(facts, spec))
    out.append(compare_distribution("gender", [f["gender"] for f in facts], shares(spec.gender)))
    out.append(
        compare_distribution(
            "country", [f["country"] for f in facts], shares({c.name: c.weight for c in spec.countries})
        )
    )
    city_targets = spec.city_shares()
    if city_targets:
        with_cities = {c.name.casefold() for c in spec.countries if c.cities}
        values = [
            f"{f['city']}, {f['country']}" if f["city"] else None
            for f in facts
            if f["country"] and f["country"].casefold() in with_cities
        ]
        out.append(compare_distribution("city", values, shares(city_targets)))
    if spec.occupations:
        out.append(
            compare_distribution(
                "occupation", [_occupation(f["occupation"], spec) for f in facts], shares(spec.occupations)
            )
        )
    if spec.income:
        out.append(compare_distribution("income", [f["income"] for f in facts], shares(spec.income)))
    if spec.education:
        out.append(compare_distribution("education", [f["education"] for f in facts], shares(spec.education)))
    for name, levels in spec.attitudes.items():
        ordered = {level: levels.get(level, 0.0) for level in LEVELS}
        out.append(compare_distribution(f"attitude.{name}", [f["attitudes"].get(name) for f in facts], shares(ordered)))
    n = len(personas)
    quotas = []
    for i, q in enumerate(spec.quotas):
        low, high = q.need(n)
        quotas.append(QuotaCheck(i, q.describe(), sum(q.matches(f) for f in facts), low, high))
    return SpecComparison(str(spec.path) if spec.path else None, n, out, quotas)


def _occupation(title: str | None, spec: PopulationSpec) -> str | None:
    """A retired person counts under the occupation they retired from (``retired nurse`` → nurse)."""
    if title and spec.retirement_age is not None and title.lower().startswith("retired "):
        base = title[len("retired ") :].strip()
        known = {k.casefold() for k in spec.occupations or {}}
        if title.casefold() not in known and base.casefold() in known:
            return base
    return title


def _compare_age(facts: list[dict[str, Any]], spec: PopulationSpec) -> AttributeComparison:
    ages = [f["age"] for f in facts]
    age = spec.age
    if age.bands is not None:
        bands = sorted(age.bands, key=lambda b: b.min)
        targets = shares({b.label: b.weight for b in bands})
        labels = [
            next((b.label for b in bands if a is not None and b.min <= a <= b.max), OTHER) if a is not None else None
            for a in ages
        ]
        return compare_distribution("age", labels, targets)
    mean, sd = float(age.mean or 0.0), float(age.sd or 1.0)
    a, b = (age.min - 0.5 - mean) / sd, (age.max + 0.5 - mean) / sd
    targets: dict[str, float] = {}
    for lo, hi in AGE_BUCKETS:
        lo, hi = max(lo, age.min), min(hi, age.max)
        if lo <= hi:  # P(round(X) in lo..hi) for the clipped normal the sampler uses
            label = bucket_label(lo, hi)
            targets[label] = float(
                truncnorm.cdf(hi + 0.5, a, b, loc=mean, scale=sd) - truncnorm.cdf(lo - 0.5, a, b, loc=mean, scale=sd)
            )
    bounds = {label: _bounds(label) for label in targets}
    labels = [
        next((label for label, (lo, hi) in bounds.items() if lo <= x <= hi), OTHER) if x is not None else None
        for x in ages
    ]
    return compare_distribution("age", labels, targets)


def _bounds(label: str) -> tuple[int, int]:
    if label.startswith("under "):
        return 0, int(label[6:]) - 1
    if label.endswith("+"):
        return int(label[:-1]), 120
    lo, hi = label.split("–")
    return int(lo), int(hi)


def compare_distribution(attribute: str, values: list[str | None], targets: dict[str, float]) -> AttributeComparison:
    """Observed values (``None`` = no value, left out) against target shares summing to 1.

    Values match the target categories case-insensitively; anything else counts as
    ``(other)`` with a target of 0. TVD is ½ Σ |observed share − target share|. χ² is
    scipy's goodness-of-fit test over the categories with a target above 0; it is left out
    when a value falls outside them (the expected count there is 0) or when there is only
    one category.
    """
    by_fold = {k.casefold(): k for k in targets}
    present = [v for v in values if v is not None and str(v).strip()]
    counts: Counter[str] = Counter(by_fold.get(str(v).strip().casefold(), OTHER) for v in present)
    n = len(present)
    notes: list[str] = []
    missing = len(values) - n
    if missing:
        notes.append(f"{missing} without a value, left out")
    rows = [CategoryRow(k, t, counts.get(k, 0), counts.get(k, 0) / n if n else 0.0) for k, t in targets.items()]
    if counts.get(OTHER):
        rows.append(CategoryRow(OTHER, 0.0, counts[OTHER], counts[OTHER] / n))
    if not n:
        return AttributeComparison(attribute, 0, rows, None, notes=[*notes, "no values to compare"])
    tvd = 0.5 * sum(abs(r.share - r.target) for r in rows)
    result = AttributeComparison(attribute, n, rows, tvd, notes=notes)
    live = [r for r in rows if r.target > 0]
    if counts.get(OTHER):
        result.notes.append(f"{counts[OTHER]} value(s) outside the spec's categories: χ² not defined")
    elif len(live) >= 2:
        expected = [r.target * n for r in live]
        total = sum(expected)
        expected = [e * n / total for e in expected]  # exact sums for scipy
        stat, p = chisquare([r.observed for r in live], expected)
        result.chi2, result.dof, result.p_value = float(stat), len(live) - 1, float(p)
        if min(expected) < 5:
            result.notes.append("expected counts < 5: p approximate")
    return result


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, digits)
