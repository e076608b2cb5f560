"""``troupe personas profile``: the numbers on a known set (the library), the comparison with a
spec's targets (TVD, χ²), and the command's inputs and outputs."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import chi2 as chi2_dist
from scipy.stats import truncnorm

from troupe.core.validation import tomllib  # tomli on Python 3.10
from troupe.personas.library import library_dir
from troupe.personas.model import BIG_FIVE, level_score
from troupe.personas.population import load_spec
from troupe.personas.profile import (
    OTHER,
    collect_personas,
    compare_distribution,
    compare_to_spec,
    profile_personas,
)
from troupe.sessions.cli import main


def library_raw() -> list[dict]:
    """The library files read with tomllib alone: an independent source for expected numbers."""
    return [tomllib.loads(p.read_text(encoding="utf-8")) for p in sorted(library_dir().glob("*.toml"))]


# -- the profile on the library ---------------------------------------------------------------


def test_library_profile_numbers() -> None:
    raw = library_raw()
    profile = profile_personas(collect_personas([]))
    assert profile.count == len(raw) == 14
    ages = [r["age"] for r in raw]
    assert profile.age is not None
    assert (profile.age.n, profile.age.min, profile.age.max) == (14, 18, 78)
    assert profile.age.mean == pytest.approx(statistics.fmean(ages))
    assert profile.age.median == statistics.median(ages)
    assert profile.age.sd == pytest.approx(statistics.stdev(ages))
    assert sum(profile.age_buckets.values()) == 14
    assert profile.age_buckets["18–24"] == sum(18 <= a <= 24 for a in ages)
    assert profile.age_buckets["75+"] == sum(a >= 75 for a in ages) == 1
    assert profile.categories["gender"] == Counter(r["gender"] for r in raw)
    assert profile.categories["income"] == Counter(r["income"] for r in raw)
    assert list(profile.categories["income"]) == ["low", "lower-middle", "middle", "upper-middle", "high"]
    assert profile.categories["country"] == Counter(r["residence"].split(",")[-1].strip() for r in raw)
    assert profile.categories["country"]["USA"] == 2
    assert profile.categories["occupation"]["nurse"] == 1 and sum(profile.categories["occupation"].values()) == 14
    for factor in BIG_FIVE:
        scores = [level_score(r["personality"]["big_five"][factor]) for r in raw]
        summary = profile.big_five[factor]
        assert summary is not None and summary.n == 14
        assert summary.mean == pytest.approx(statistics.fmean(scores))
    talk = profile.talkativeness
    assert talk is not None and talk.n == 14
    assert (talk.min, talk.max) == (0.1, 0.95)  # Lars Nilsson, Zoé Tremblay (docs/personas.md)
    assert talk.mean == pytest.approx(statistics.fmean(r["talkativeness"] for r in raw))
    assert not any(k.startswith("attitude.") for k in profile.categories)


def test_profile_cli_tables_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "profile"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "Profile of 14 personas (the library)",
        "Big five",
        "openness",
        "lower-middle",
        "talkativeness",
        "education: free text, 14 distinct values",
    ):
        assert needle in out, needle
    assert main(["personas", "profile", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["comparison"] is None
    assert data["profile"]["count"] == 14 and data["profile"]["categories"]["gender"] == {"Female": 7, "Male": 7}
    assert data["profile"]["talkativeness"]["min"] == 0.1


def test_profile_of_names_files_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "panel"
    folder.mkdir()
    (folder / "a.toml").write_text(
        'name = "Ann Lee"\nage = 30\ngender = "Female"\nresidence = "Leeds, UK"\n', encoding="utf-8"
    )
    (folder / "b.json").write_text(
        '{"name": "Bo Chan", "age": 61, "extra": {"attitudes": {"price_sensitivity": "High"}}}', encoding="utf-8"
    )
    (folder / "home.fragment.toml").write_text('beliefs = ["x"]\n', encoding="utf-8")
    (folder / "population.json").write_text("{}", encoding="utf-8")
    assert main(["personas", "profile", str(folder), "maria-lopez", "--json"]) == 0
    profile = json.loads(capsys.readouterr().out)["profile"]
    assert profile["names"] == ["Ann Lee", "Bo Chan", "Maria Lopez"]
    assert profile["categories"]["city"] == {"Leeds, UK": 1, "Seville, Spain": 1}
    assert profile["categories"]["attitude.price_sensitivity"] == {"High": 1}
    assert profile["age_buckets"]["25–34"] == 1 and profile["age_buckets"]["55–64"] == 1

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["personas", "profile", str(empty)]) == 2
    assert capsys.readouterr().err == f"troupe: {empty}: no persona files (*.toml, *.json) in this folder\n"
    assert main(["personas", "profile", "nobody-at-all"]) == 2


# -- comparison with a spec ---------------------------------------------------------------------


def test_compare_distribution_math() -> None:
    targets = {"a": 0.5, "b": 0.3, "c": 0.2}
    result = compare_distribution("x", ["a"] * 6 + ["B"] * 2 + ["c"] * 2 + [None], targets)
    assert result.n == 10 and [r.observed for r in result.rows] == [6, 2, 2]
    assert result.tvd == pytest.approx(0.5 * (0.1 + 0.1 + 0.0))
    stat = (6 - 5) ** 2 / 5 + (2 - 3) ** 2 / 3 + (2 - 2) ** 2 / 2
    assert result.chi2 == pytest.approx(stat) and result.dof == 2
    assert result.p_value == pytest.approx(chi2_dist.sf(stat, 2))
    assert "1 without a value, left out" in result.notes

    outside = compare_distribution("x", ["a", "a", "z"], targets)
    assert outside.rows[-1].category == OTHER and outside.rows[-1].observed == 1
    assert outside.tvd == pytest.approx(0.5 * (abs(2 / 3 - 0.5) + 0.3 + 0.2 + 1 / 3))
    assert outside.chi2 is None and any("outside" in n for n in outside.notes)

    single = compare_distribution("x", ["a", "a"], {"a": 1.0})
    assert single.tvd == 0 and single.chi2 is None


SPEC = """\
size = 12
seed = 4
gender = { Female = 1, Male = 1 }
occupations = { nurse = 1, teacher = 1, "bus driver" = 2 }
retirement_age = 60
income = { low = 1, middle = 2, high = 1 }

[age]
bands = [{ min = 20, max = 39, weight = 1 }, { min = 40, max = 79, weight = 1 }]

[[countries]]
name = "Spain"
weight = 3
cities = ["Madrid", "Seville"]

[[countries]]
name = "Mexico"

[attitudes]
price_sensitivity = { Low = 1, High = 3 }

[[quotas]]
age_min = 60
at_least = 0.25
"""


def test_spec_comparison_of_a_generated_population(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["personas", "generate", str(spec_path), "--out", str(out), "--backend", "scripted"]) == 0
    capsys.readouterr()
    assert main(["personas", "profile", str(out), "--spec", str(spec_path), "--json"]) == 0
    comparison = json.loads(capsys.readouterr().out)["comparison"]
    by_attr = {a["attribute"]: a for a in comparison["attributes"]}
    assert list(by_attr) == ["age", "gender", "country", "city", "occupation", "income", "attitude.price_sensitivity"]
    assert comparison["n"] == 12

    manifest = json.loads((out / "population.json").read_text(encoding="utf-8"))
    skeletons = [e["skeleton"] for e in manifest["personas"]]
    # the realised counts are the skeletons' (retired bus drivers count as bus drivers)
    occupation = {r["category"]: r["observed"] for r in by_attr["occupation"]["categories"]}
    realised = Counter(s["occupation"] for s in skeletons)
    assert occupation == {k: realised.get(k, 0) for k in ("nurse", "teacher", "bus driver")}
    titles = [p.occupation.title for p in collect_personas([str(out)])]
    assert sum(t.startswith("retired ") for t in titles) == sum(s["age"] >= 60 for s in skeletons) >= 3
    gender = by_attr["gender"]
    assert [r["observed"] for r in gender["categories"]] == [6, 6] and gender["total_variation_distance"] == 0
    assert gender["chi2"] == 0 and gender["p_value"] == 1
    country = {r["category"]: (r["target"], r["observed"]) for r in by_attr["country"]["categories"]}
    assert country == {"Spain": (0.75, 9), "Mexico": (0.25, 3)}
    city = {r["category"]: (r["target"], r["observed"]) for r in by_attr["city"]["categories"]}
    assert set(city) == {"Madrid, Spain", "Seville, Spain"} and sum(o for _, o in city.values()) == 9
    assert city["Madrid, Spain"][0] == 0.5  # within the countries that have cities
    income = {r["category"]: r["target"] for r in by_attr["income"]["categories"]}
    assert income == {"low": 0.25, "middle": 0.5, "high": 0.25}
    attitude = by_attr["attitude.price_sensitivity"]
    assert [r["category"] for r in attitude["categories"]] == ["Low", "Medium", "High"]
    assert [r["target"] for r in attitude["categories"]] == [0.25, 0.0, 0.75]
    assert [r["observed"] for r in attitude["categories"]] == [3, 0, 9]
    assert comparison["quotas"] == [
        {
            "quota": 0,
            "description": "age 60+ ≥ 25%",
            "count": sum(s["age"] >= 60 for s in skeletons),
            "min": 3,
            "max": 12,
            "met": True,
        }
    ]

    assert main(["personas", "profile", str(out), "--spec", str(spec_path)]) == 0
    text = capsys.readouterr().out
    assert "Compared with" in text and "TVD" in text and "Quotas" in text and "met" in text


def test_normal_age_targets_use_the_clipped_normal(tmp_path: Path) -> None:
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(
        '[age]\nmean = 45\nsd = 12\nmin = 30\nmax = 70\n[[countries]]\nname = "Spain"\n', encoding="utf-8"
    )
    spec = load_spec(spec_path)
    result = compare_to_spec(collect_personas([]), spec)
    age = result.attributes[0]
    assert age.attribute == "age"
    labels = [r.category for r in age.rows if r.category != OTHER]
    assert labels == ["30–34", "35–44", "45–54", "55–64", "65–70"]
    assert sum(r.target for r in age.rows) == pytest.approx(1.0)
    a, b = (29.5 - 45) / 12, (70.5 - 45) / 12
    expected = truncnorm.cdf(44.5, a, b, loc=45, scale=12) - truncnorm.cdf(34.5, a, b, loc=45, scale=12)
    assert age.rows[1].target == pytest.approx(expected)
    # library ages outside 30..70 fall in (other): χ² is then not defined
    outside = sum(not 30 <= p.age <= 70 for p in collect_personas([]) if p.age is not None)
    assert age.rows[-1].category == OTHER and age.rows[-1].observed == outside and age.chi2 is None


def test_a_generated_folder_is_compared_with_its_recorded_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_path = tmp_path / "spec.toml"
    spec_path.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "out"
    assert (
        main(["personas", "generate", str(spec_path), "--out", str(out), "--backend", "scripted", "--size", "4"]) == 0
    )
    capsys.readouterr()
    assert main(["personas", "profile", str(out), "--json"]) == 0
    recorded = json.loads(capsys.readouterr().out)["comparison"]
    assert recorded["spec"] == str(out / "population.json") and recorded["n"] == 4
    assert main(["personas", "profile", str(out), "--spec", str(spec_path), "--json"]) == 0
    explicit = json.loads(capsys.readouterr().out)["comparison"]
    assert explicit["attributes"] == recorded["attributes"] and explicit["quotas"] == recorded["quotas"]

    manifest = out / "population.json"
    data = json.loads(manifest.read_text(encoding="utf-8"))
    data["spec"]["size"] = "many"
    manifest.write_text(json.dumps(data), encoding="utf-8")
    assert main(["personas", "profile", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"troupe: {manifest}: spec.size: ")
