"""A/B studies: personas randomised to arms (matched), the same polls, effect sizes with CIs."""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from pathlib import Path

import pytest
from scipy import stats

from troupe.core.card import PersonaCard
from troupe.core.poll_stats import Answer, PollResult
from troupe.core.polls import LIKERT_LABELS
from troupe.sessions.ab import assign_arms, compare_arms, hedges_g, parse_arm
from troupe.sessions.cli import main
from troupe.sessions.guide import load_guide

LIKERT = LIKERT_LABELS["likert5"]


def card(name: str, gender: str, age: int) -> PersonaCard:
    return PersonaCard(name=name, descriptor="", prompt="", traits={"gender": gender, "age": age})


def poll(kind: str, values: list, options: list[str]) -> PollResult:
    result = PollResult("q", "Q?", kind, options, True, 1, 0, "")
    for i, v in enumerate(values):
        if kind == "likert5":
            result.answers.append(Answer(f"a{i}", v, "", i, False, score=float(v), choices=(options[v - 1],)))
        else:
            result.answers.append(Answer(f"a{i}", v, "", i, False, choices=(v,)))
    return result


def test_arms_are_balanced_on_the_matched_attributes_and_disjoint() -> None:
    pool = [card(f"P{i:02d}", "female" if i % 3 else "male", 20 + (i * 7) % 50) for i in range(20)]
    arms = assign_arms(pool, ["control", "B"], match_on=["gender"], seed=4)
    sizes = [len(v) for v in arms.values()]
    assert sum(sizes) == 20 and max(sizes) - min(sizes) <= 1
    names = [c.name for v in arms.values() for c in v]
    assert len(set(names)) == 20  # nobody sits in two arms
    genders = {a: Counter(c.traits["gender"] for c in v) for a, v in arms.items()}
    for g in ("female", "male"):
        assert abs(genders["control"][g] - genders["B"][g]) <= 1
    assert assign_arms(pool, ["control", "B"], match_on=["gender"], seed=4) == arms
    assert assign_arms(pool, ["control", "B"], match_on=["gender"], seed=5) != arms


def test_numeric_arms_get_a_welch_ci_and_hedges_g() -> None:
    control = [2, 3, 3, 2, 4, 3, 2, 3, 3, 2] * 2
    arm = [4, 4, 5, 3, 4, 5, 4, 3, 4, 4] * 2
    c = compare_arms(poll("likert5", control, LIKERT), poll("likert5", arm, LIKERT), control_name="A", arm_name="B")
    welch = stats.ttest_ind(arm, control, equal_var=False).confidence_interval(0.95)
    assert c.mean_difference is not None
    assert c.mean_difference.estimate == pytest.approx(statistics.fmean(arm) - statistics.fmean(control))
    assert (c.mean_difference.low, c.mean_difference.high) == pytest.approx((welch.low, welch.high))
    sp = math.sqrt((19 * statistics.variance(arm) + 19 * statistics.variance(control)) / 38)
    d = (statistics.fmean(arm) - statistics.fmean(control)) / sp
    assert c.hedges_g is not None and c.hedges_g.estimate == pytest.approx(d * (1 - 3 / (4 * 40 - 9)))
    assert c.hedges_g.low is not None and 0 < c.hedges_g.low < c.hedges_g.estimate < c.hedges_g.high
    assert "large" in c.summary() and c.distribution is not None
    assert hedges_g([1.0], [2.0, 3.0]) is None


def test_choice_arms_get_chi_square_cramers_v_and_share_differences() -> None:
    opts = ["A", "B", "C"]
    control = ["A"] * 12 + ["B"] * 6 + ["C"] * 2
    arm = ["A"] * 4 + ["B"] * 14 + ["C"] * 2
    c = compare_arms(poll("single", control, opts), poll("single", arm, opts), control_name="ctl", arm_name="v")
    expected = stats.chi2_contingency([[4, 14, 2], [12, 6, 2]], correction=False)
    assert c.chi_square is not None and c.chi_square[1] == pytest.approx(expected.pvalue)
    assert c.cramers_v == pytest.approx(math.sqrt(expected.statistic / 40))
    b = c.share_differences["B"]
    assert b.estimate == pytest.approx(0.4) and b.low is not None and b.low > 0


def test_an_ab_study_runs_both_arms_and_reports_effect_sizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = load_guide("ab-test").source
    assert source is not None
    variant = tmp_path / "variant.toml"
    variant.write_text(Path(source).read_text(encoding="utf-8"), encoding="utf-8")
    out = tmp_path / "ab"
    args = ["study", "ab-test", "--groups", "2", "--panel-size", "3", "--backend", "scripted", "--rounds", "0"]
    assert main([*args, "--arm", f"B={variant}", "--match-on", "gender", "--out", str(out)]) == 0
    data = json.loads((out / "ab.json").read_text(encoding="utf-8"))
    arms = {a["name"]: a["personas"] for a in data["arms"]}
    assert set(arms) == {"control", "B"} and not set(arms["control"]) & set(arms["B"])
    polls = {c["poll_id"]: c for c in data["comparisons"]}
    assert set(polls) == {"preferred_variant", "booking_intent"}
    likert = polls["booking_intent"]
    assert likert["hedges_g"]["ci95"] is not None and likert["mean_difference"]["ci95"] is not None
    assert polls["preferred_variant"]["cramers_v"] is not None
    for arm in ("control", "B"):
        study = json.loads((out / arm / "study.json").read_text(encoding="utf-8"))
        seated = {p for g in study["groups"] for p in g["personas"]}
        assert seated <= set(arms[arm])
    assert "Hedges' g" in capsys.readouterr().out
    assert (out / "ab.md").read_text(encoding="utf-8").startswith("# A/B study")
    assert main([*args, "--arm", "control=x.toml", "--out", str(tmp_path / "dup")]) == 2


def test_arm_syntax() -> None:
    assert parse_arm("B=variant.toml") == ("B", "variant.toml")
    with pytest.raises(Exception, match="is not NAME=GUIDE"):
        parse_arm("variant.toml")
