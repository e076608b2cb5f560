"""`troupe personas generate --like`: panels that look like a survey's respondents.

A twin panel must match the CSV's marginals and joint counts exactly; a sample of N must get
each joint cell its largest-remainder share of N, deterministically for a seed.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from troupe.core.validation import tomllib
from troupe.personas.population import Country, PopulationSpec
from troupe.personas.sampling import skeletons_like
from troupe.personas.survey import (
    age_band,
    age_in_band,
    apportion,
    column_role,
    read_survey,
    sample_rows,
    skeleton_gender,
)
from troupe.sessions.cli import main

COLUMNS = ["Age Range", "Gender Identity", "Region"]
AGES = ["18-24", "25-34", "35-54", "55+"]
GENDERS = ["Woman", "Man", "Non-binary"]


def survey(tmp_path: Path, n: int = 23, seed: int = 1) -> Path:
    r = random.Random(seed)
    lines = ["id,Age Range,Gender Identity,Region,Purchase intent"]
    for i in range(n):
        lines.append(f"{i},{r.choice(AGES)},{r.choice(GENDERS)},{r.choice(['North', 'South'])},{r.randint(1, 5)}")
    path = tmp_path / "survey.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def csv_rows(path: Path) -> list[dict[str, str]]:
    header, *rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    return [dict(zip(header, row, strict=True)) for row in rows]


def generate(path: Path, out: Path, *extra: str) -> int:
    return main(
        [
            "personas",
            "generate",
            "--like",
            str(path),
            "--columns",
            "Age Range,Gender Identity",
            "--columns",
            "Region",
            "--country",
            "United Kingdom",
            "--backend",
            "scripted",
            "--out",
            str(out),
            *extra,
        ]
    )


def personas_in(folder: Path) -> list[dict[str, Any]]:
    return [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.toml"))]


def test_a_twin_panel_matches_marginals_and_joint_counts_exactly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = survey(tmp_path)
    assert generate(path, tmp_path / "panel") == 0
    people = personas_in(tmp_path / "panel")
    rows = csv_rows(path)
    assert len(people) == len(rows)
    joint = Counter(tuple(p["extra"]["survey"][c] for c in COLUMNS) for p in people)
    assert joint == Counter(tuple(r[c] for c in COLUMNS) for r in rows)
    for p in people:
        band = p["extra"]["survey"]["Age Range"]
        assert age_in_band(p["age"], band), (p["age"], band)
        assert p["gender"] == skeleton_gender(p["extra"]["survey"]["Gender Identity"])
        assert p["residence"] == "United Kingdom"
    manifest = json.loads((tmp_path / "panel" / "population.json").read_text(encoding="utf-8"))
    assert manifest["like"] == {"csv": str(path), "columns": COLUMNS, "mode": "twins", "respondents": len(rows)}
    # `profile` compares with the survey it was made from, column by column and jointly.
    capsys.readouterr()
    assert main(["personas", "profile", str(tmp_path / "panel"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["survey"]
    assert [a["attribute"] for a in report["attributes"]] == [*COLUMNS, "joint"]
    for attribute in report["attributes"]:
        assert attribute["total_variation_distance"] == 0
        for row in attribute["categories"]:
            assert row["observed"] == round(row["target"] * len(rows))
    joint_rows = {r["category"]: r["observed"] for r in report["attributes"][-1]["categories"]}
    assert joint_rows == {" · ".join(k): v for k, v in joint.items()}


def test_a_sample_of_n_gets_each_joint_cell_its_largest_remainder_share(tmp_path: Path) -> None:
    lines = ["Age Range,Gender"] + ["18-24,Woman"] * 50 + ["25-34,Man"] * 30 + ["55+,Woman"] * 15 + ["55+,Man"] * 5
    path = tmp_path / "s.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = read_survey(path, ["age range", "GENDER"])  # matched ignoring case
    assert table.columns == ["Age Range", "Gender"]
    rows = sample_rows(table, 10, seed=3)
    counts = Counter((r["Age Range"], r["Gender"]) for r in rows)
    # 10 × (50, 30, 15, 5) % = 5, 3, 1.5, 0.5: the two halves go one to each by the seed's tie-break.
    assert counts[("18-24", "Woman")] == 5 and counts[("25-34", "Man")] == 3
    assert counts[("55+", "Woman")] + counts[("55+", "Man")] == 2
    assert sorted([counts[("55+", "Woman")], counts[("55+", "Man")]]) == [1, 1]
    assert sample_rows(table, 10, seed=3) == rows  # deterministic for a seed
    twenty = Counter((r["Age Range"], r["Gender"]) for r in sample_rows(table, 20, seed=9))
    assert twenty == {("18-24", "Woman"): 10, ("25-34", "Man"): 6, ("55+", "Woman"): 3, ("55+", "Man"): 1}


def test_apportion_is_hamilton_in_exact_integers() -> None:
    rng = np.random.default_rng(0)
    assert apportion([29, 29, 42], 100, rng) == [29, 29, 42]  # no float drift at exact shares
    assert apportion([1, 1, 1], 2, np.random.default_rng(0)) == apportion([1, 1, 1], 2, np.random.default_rng(0))
    assert sum(apportion([1, 1, 1], 2, rng)) == 2
    assert apportion([7, 2, 1], 4, rng) == [3, 1, 0]  # 2.8, 0.8, 0.4 → 2+1, 0+1, 0


def test_sampled_skeletons_are_deterministic_and_carry_the_survey(tmp_path: Path) -> None:
    path = survey(tmp_path, n=40)
    table = read_survey(path, COLUMNS)
    spec = PopulationSpec(countries=[Country(name="Spain")], retirement_age=66)
    a = skeletons_like(spec, sample_rows(table, 12, seed=5), seed=5, where=str(path))
    b = skeletons_like(spec, sample_rows(table, 12, seed=5), seed=5, where=str(path))
    assert a == b and len(a) == 12
    for s in a:
        assert age_in_band(s.age, s.survey["Age Range"]) and s.country == "Spain"
        assert s.retired == (s.occupation is not None and s.age >= 66)
    assert skeletons_like(spec, sample_rows(table, 12, seed=6), seed=6, where=str(path)) != a


def test_twin_generation_needs_known_columns_and_a_country(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = survey(tmp_path)
    capsys.readouterr()
    args = ["personas", "generate", "--like", str(path), "--columns", "Age Range,Income", "--backend", "scripted"]
    assert main([*args, "--country", "Spain", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"troupe: {path}: column 'Income': no such column") and "\n" not in err
    base = ["personas", "generate", "--like", str(path), "--columns", "Age Range", "--backend", "scripted"]
    assert main([*base, "--out", str(tmp_path / "y")]) == 2
    assert "--country NAME" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("Age\nforty\n", encoding="utf-8")
    a = ["personas", "generate", "--like", str(bad), "--columns", "Age", "--country", "Spain", "--backend", "scripted"]
    assert main([*a, "--out", str(tmp_path / "z")]) == 2
    assert "column 'Age': 'forty' is not an age or an age band" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "z").exists()


def test_column_roles_and_bands() -> None:
    assert [
        column_role(c) for c in ("Age Range", "age_group", "Gender Identity", "Region", "Country of residence")
    ] == [
        "age",
        "age",
        "gender",
        None,
        "country",
    ]
    assert column_role("Page views") is None  # "age" inside a word is not an age
    assert age_band("25 to 34") == (25, 34) and age_band("65+") == (65, 79) and age_band("Under 18") == (15, 17)
    assert age_band("42") == (42, 42) and age_band("old") is None
    assert skeleton_gender("woman") == "Female" and skeleton_gender("Non-binary") == "Non-binary"
