"""Panels that look like the respondents: personas seated from a survey's own rows.

Why: a panel sampled from a spec's marginal shares can match every column on its own and
still miss the people (young women, older men…). When real respondents exist, the honest
panel is made of them: ``troupe personas generate --like survey.csv --columns "Age Range,Gender"``
writes one *twin* persona per respondent carrying that row's values, or, with ``--size N``, a
sample of N whose joint distribution over those columns follows the survey's as exactly as
whole people allow (largest-remainder apportionment of the joint cells, ties broken by the
seed). ``troupe personas profile DIR --like survey.csv`` compares the panel with the CSV
column by column, and over the joint cells.

Each twin keeps the survey's values verbatim in ``extra.survey`` (``{"Age Range": "25-34"}``)
and its card's traits, so that ``troupe validate --by "Age Range"`` groups its answers exactly as
the CSV groups the respondents. Columns that name a skeleton attribute also set it: an age
column (a number, or a band such as ``25-34``, ``65+`` or ``Under 18``, drawn within the band by
the seed), gender (``Woman`` → ``Female``), country, city, occupation, education, and income
when it is one of the factory's brackets. Everything else the factory samples from the spec.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from troupe.core.errors import BadInputError
from troupe.core.validation import csv_column, read_csv_rows

from .population import INCOME_BRACKETS

BLANK = ""
"""A blank cell: a value of its own in the joint cells (the respondent did not say)."""

_AGE_BAND = re.compile(
    r"^\s*(?:(?P<lo>\d+)\s*(?:-|–|to)\s*(?P<hi>\d+)|(?P<plus>\d+)\s*(?:\+|or (?:more|older|over)|and (?:over|older))"
    r"|(?:under|below|less than)\s*(?P<under>\d+)|(?P<exact>\d+))\s*(?:years(?: old)?)?\s*$"
)
_GENDER_WORDS = {
    "woman": "female",
    "women": "female",
    "f": "female",
    "girl": "female",
    "man": "male",
    "men": "male",
    "m": "male",
    "boy": "male",
}
OPEN_BAND_WIDTH = 15
"""``65+`` is drawn from 65 to 79; ``Under 18`` from 15 to 17."""


# -- reading the survey -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SurveyTable:
    """The chosen columns of a survey CSV, one dict per respondent (blank cells as ``""``)."""

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]
    lines: list[int]
    """Each row's line in the file, as a spreadsheet numbers it (the header is row 1)."""

    def cell(self, row: dict[str, str]) -> tuple[str, ...]:
        return tuple(row[c] for c in self.columns)

    def joint_counts(self) -> Counter[tuple[str, ...]]:
        return Counter(self.cell(r) for r in self.rows)


def parse_columns(items: list[str] | None) -> list[str]:
    """``--columns "Age Range,Gender Identity"`` (or repeated): names, in order, without duplicates."""
    names: list[str] = []
    for item in items or []:
        for name in item.split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    if not names:
        raise BadInputError("name at least one column", field="--columns")
    return names


def read_survey(path: str | Path, columns: list[str]) -> SurveyTable:
    """The ``columns`` of a CSV with a header row (UTF-8, ``,`` ``;`` or tab, whichever the
    header uses most). A missing column is a one-line error naming the file and the column;
    a column is matched exactly, then ignoring case."""
    p = Path(path)
    records = list(read_csv_rows(p))
    if not records:
        raise BadInputError("the file is empty", path=str(p))
    header = [h.strip() for h in records[0][1]]
    indexes = [csv_column(header, c, p) for c in columns]
    names = [header[i] for i in indexes]
    rows: list[dict[str, str]] = []
    lines: list[int] = []
    for line, row in records[1:]:
        if not any(c.strip() for c in row):
            continue
        rows.append({name: (row[i].strip() if i < len(row) else BLANK) for name, i in zip(names, indexes, strict=True)})
        lines.append(line)
    if not rows:
        raise BadInputError("no respondents (only a header row)", path=str(p))
    return SurveyTable(p, names, rows, lines)


# -- choosing the panel ------------------------------------------------------------------------


def twin_rows(table: SurveyTable) -> list[dict[str, str]]:
    """One persona per respondent, in the file's order."""
    return [dict(r) for r in table.rows]


def sample_rows(table: SurveyTable, size: int, seed: int) -> list[dict[str, str]]:
    """``size`` rows whose joint counts over the columns are the survey's shares × ``size``,
    rounded by largest remainders (ties broken by ``seed``); the order shuffled by ``seed``.

    Each joint cell's count is ⌊share × size⌋ or one more, and they sum to ``size``; with
    ``size`` equal to the number of respondents the counts are the survey's own."""
    if size < 1:
        raise BadInputError("must be at least 1", field="--size")
    counts = table.joint_counts()
    cells = list(counts)  # first appearance order: deterministic
    rng = np.random.default_rng(seed)
    allotted = apportion([counts[c] for c in cells], size, rng)
    chosen: list[dict[str, str]] = []
    for cell, k in zip(cells, allotted, strict=True):
        chosen += [dict(zip(table.columns, cell, strict=True)) for _ in range(int(k))]
    order = rng.permutation(len(chosen))
    return [chosen[i] for i in order]


def apportion(counts: list[int], size: int, rng: np.random.Generator) -> list[int]:
    """Whole numbers summing to ``size`` in proportion to ``counts``, by largest remainders
    (Hamilton's method) in exact integer arithmetic; equal remainders are ordered by ``rng``."""
    total = sum(counts)
    floors = [c * size // total for c in counts]
    remainders = [c * size % total for c in counts]
    left = size - sum(floors)
    ties = rng.random(len(counts))
    for i in sorted(range(len(counts)), key=lambda i: (-remainders[i], ties[i]))[:left]:
        floors[i] += 1
    return floors


# -- what a row says about a person --------------------------------------------------------------


def column_role(column: str) -> str | None:
    """The skeleton attribute a survey column sets, from its name (``Age Range`` → ``age``)."""
    name = " ".join(column.casefold().replace("_", " ").split())
    words = set(re.split(r"[^a-z]+", name))
    if "age" in words or name.startswith("age"):
        return "age"
    if "gender" in name or name == "sex":
        return "gender"
    if "country" in name:
        return "country"
    if "city" in words or "town" in words:
        return "city"
    if words & {"occupation", "job", "profession"}:
        return "occupation"
    if "education" in name:
        return "education"
    if "income" in name:
        return "income"
    return None


def age_band(band: str) -> tuple[int, int] | None:
    """``25-34`` → (25, 34); ``65+`` → (65, 79); ``Under 18`` → (15, 17); ``42`` → (42, 42)."""
    m = _AGE_BAND.match(band.casefold())
    if m is None:
        return None
    if m.group("lo"):
        lo, hi = int(m.group("lo")), int(m.group("hi"))
        return (lo, hi) if lo <= hi else None
    if m.group("plus"):
        return int(m.group("plus")), min(int(m.group("plus")) + OPEN_BAND_WIDTH - 1, 120)
    if m.group("under"):
        top = int(m.group("under")) - 1
        return max(0, top - 2), top
    return int(m.group("exact")), int(m.group("exact"))


def age_in_band(age: int, band: str) -> bool:
    """``34`` is in ``25-34``; ``70`` in ``65+`` (open-ended); ``16`` in ``Under 18``."""
    m = _AGE_BAND.match(band.casefold())
    if m is None:
        return False
    if m.group("plus"):
        return age >= int(m.group("plus"))
    if m.group("under"):
        return age < int(m.group("under"))
    bounds = age_band(band)
    return bounds is not None and bounds[0] <= age <= bounds[1]


def skeleton_gender(value: str) -> str:
    """``Woman`` → ``Female``, ``m`` → ``Male``; anything else as written (``Non-binary``)."""
    word = _GENDER_WORDS.get(value.strip().casefold(), value.strip().casefold())
    return word.capitalize() if word in ("female", "male") else value.strip()


def overrides(row: dict[str, str], rng: np.random.Generator, where: str) -> dict[str, Any]:
    """The skeleton fields a row sets (age drawn within its band by ``rng``)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if not value:
            continue
        role = column_role(column)
        if role == "age":
            bounds = age_band(value)
            if bounds is None:
                raise BadInputError(
                    f"{value!r} is not an age or an age band (42, 25-34, 65+, Under 18)",
                    path=where,
                    field=f"column {column!r}",
                )
            out["age"] = int(rng.integers(bounds[0], bounds[1] + 1))
        elif role == "gender":
            out["gender"] = skeleton_gender(value)
        elif role in ("country", "city", "occupation", "education"):
            out[role] = value
        elif role == "income" and value.casefold() in INCOME_BRACKETS:
            out["income"] = value.casefold()
    return out


def persona_value(traits: dict[str, Any], column: str, values: list[str]) -> str | None:
    """The value of ``column`` (one of ``values``, the CSV's) that a persona carries.

    A twin persona keeps the CSV's own values in ``survey``; other personas are matched by
    attribute: an age column by band, a gender column by word (``Woman`` = ``female``),
    anything else by an attribute of the same name or role."""
    survey = traits.get("survey")
    folded = {_fold(v): v for v in values}
    if isinstance(survey, dict):
        for key, value in survey.items():
            if _fold(str(key)) == _fold(column) and _fold(str(value)) in folded:
                return folded[_fold(str(value))]
    role = column_role(column)
    if role == "age":
        age = traits.get("age")
        return next((v for v in values if age_in_band(age, v)), None) if isinstance(age, int) else None
    if role == "gender":
        gender = traits.get("gender")
        if not isinstance(gender, str):
            return None
        return next((v for v in values if skeleton_gender(v).casefold() == skeleton_gender(gender).casefold()), None)
    for key, value in traits.items():
        if (_fold(key) == _fold(column) or key == role) and isinstance(value, str) and _fold(value) in folded:
            return folded[_fold(value)]
    return None


def _fold(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


__all__ = [
    "SurveyTable",
    "JOINT",
    "NO_VALUE",
    "age_band",
    "compare_to_survey",
    "panel_values",
    "survey_values",
    "age_in_band",
    "apportion",
    "column_role",
    "overrides",
    "parse_columns",
    "persona_value",
    "read_survey",
    "sample_rows",
    "skeleton_gender",
    "twin_rows",
]


# -- comparing a panel with the survey ----------------------------------------------------------

NO_VALUE = "(no value)"
JOINT = "joint"


def panel_values(personas: list[Any], table: SurveyTable) -> dict[str, list[str]]:
    """Per column, the value each persona carries (:func:`persona_value`; ``(no value)`` when
    none), and under ``joint`` the combination of all columns, ``" · "``-joined."""
    from .card import traits

    out: dict[str, list[str]] = {c: [] for c in table.columns}
    joint: list[str] = []
    for persona in personas:
        t = traits(persona)
        combo = []
        for column in table.columns:
            known = sorted({r[column] for r in table.rows if r[column]})
            value = persona_value(t, column, known) or NO_VALUE
            out[column].append(value)
            combo.append(value)
        joint.append(" · ".join(combo))
    out[JOINT] = joint
    return out


def survey_values(table: SurveyTable) -> dict[str, list[str]]:
    """The same for the respondents (a blank cell is ``(no value)``)."""
    out = {c: [r[c] or NO_VALUE for r in table.rows] for c in table.columns}
    out[JOINT] = [" · ".join(r[c] or NO_VALUE for c in table.columns) for r in table.rows]
    return out


def compare_to_survey(personas: list[Any], table: SurveyTable) -> Any:
    """Column by column, then over the joint cells: the panel's shares against the survey's,
    with total variation distance and χ² (:func:`troupe.personas.profile.compare_distribution`)."""
    from .profile import SpecComparison, compare_distribution

    panel, survey = panel_values(personas, table), survey_values(table)
    attributes = []
    for column in [*table.columns, JOINT]:
        counts = Counter(survey[column])
        targets = {k: v / len(table.rows) for k, v in counts.items()}
        attributes.append(compare_distribution(column, list(panel[column]), targets))
    return SpecComparison(f"{table.path} ({len(table.rows)} respondents)", len(personas), attributes, [])
