"""`troupe validate` judges the whole distribution: centre, spread, extremes and shape.

The human and simulated CSVs are synthesised here with known counts, so every figure has a
known answer (recomputed with scipy from the same numbers).
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from troupe.sessions.cli import main
from troupe.sessions.fidelity import Scale, assess, merged_chi_square
from troupe.sessions.human_validation import age_in_band, parse_scale, persona_value

LABELS = {
    1: "Definitely would not buy",
    2: "Probably would not buy",
    3: "Might or might not buy",
    4: "Probably would buy",
    5: "Definitely would buy",
}
MAP = ";".join(f"{label}={value}" for value, label in LABELS.items())
# The gazpacho-like case: 50 people, mean 3, SD 1.34, 36 % at the two ends of the scale.
HUMAN = {1: 9, 2: 8, 3: 16, 4: 8, 5: 9}
# A collapsed panel: the same mean, half the SD, no extremes.
COLLAPSED = {2: 11, 3: 28, 4: 11}


def expand(counts: dict[int, int]) -> list[int]:
    return [v for v, n in counts.items() for _ in range(n)]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    lines = [",".join(header)] + [",".join(f'"{c}"' if "," in c else c for c in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def human_csv(tmp_path: Path) -> Path:
    """Labels as a survey tool exports them, two blanks and three "don't know"s among them,
    and a gender column (30 women, 20 men)."""
    rows = [
        [str(i), LABELS[v] if i % 2 else LABELS[v].upper(), "Woman" if i % 5 < 3 else "Man", str(v)]
        for i, v in enumerate(expand(HUMAN))
    ]
    rows += [["50", "", "Woman", ""], ["51", "Don't know", "Man", ""], ["52", "don’t KNOW", "Man", "DK"]]
    rows += [["53", "", "Woman", "n/a"], ["54", "Don't know", "Other", "3"]]
    return write_csv(tmp_path / "human.csv", ["id", "Purchase intent", "Gender", "wave2"], rows)


def simulated_csv(tmp_path: Path, counts: dict[int, int], name: str = "sim.csv") -> Path:
    rows = [[str(v), "Woman" if i % 5 < 3 else "Man"] for i, v in enumerate(expand(counts))]
    return write_csv(tmp_path / name, ["intent", "Gender"], rows)


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["validate", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def one_line_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(["validate", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def csv_args(human: Path, sim: Path) -> list[str]:
    return ["--simulated", str(sim), "--simulated-column", "intent", "--human", str(human)]


def test_a_collapsed_panel_gets_a_variance_collapse_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    human, sim = human_csv(tmp_path), simulated_csv(tmp_path, COLLAPSED)
    out = run_json(capsys, *csv_args(human, sim), "--column", "Purchase intent", "--map", MAP)
    x, y = expand(COLLAPSED), expand(HUMAN)
    assert statistics.fmean(x) == statistics.fmean(y) == 3.0
    ratio = statistics.stdev(x) / statistics.stdev(y)
    assert ratio == pytest.approx(0.5, abs=0.005)
    assert out["headline"].startswith("variance collapse: simulated SD is 0.50× the human SD (0.67 vs 1.34)")
    assert "0 % vs 36 % extreme answers" in out["headline"]
    assert out["verdicts"][1].startswith("too few extreme answers: 0 % vs 36 % of answers at the ends of the scale")
    assert any(v.startswith("centre matches: mean 3.00 vs 3.00") for v in out["verdicts"])
    f = out["fidelity"]
    assert [a["aspect"] for a in f["aspects"]][:2] == ["spread", "extremes"]
    assert f["spread"]["sd_ratio"] == pytest.approx(ratio)
    lo, hi = f["spread"]["sd_ratio_ci95"]
    assert lo < ratio < hi < 1
    bf = stats.levene(x, y, center="median")
    assert f["spread"]["brown_forsythe"]["p"] == pytest.approx(bf.pvalue) and bf.pvalue < 0.05
    fisher = stats.fisher_exact([[0, 50], [18, 32]])
    assert f["extremes"]["fisher_exact"]["p"] == pytest.approx(fisher.pvalue)
    assert f["extremes"]["extreme_share"] == {"simulated": 0.0, "human": 0.36}
    assert f["extremes"]["low_share"] == {"simulated": 0.0, "human": 0.18}
    assert f["shape"]["wasserstein"] == pytest.approx(stats.wasserstein_distance(x, y))

    def ecdf(sample: list[int], z: int) -> float:
        return sum(1 for v in sample if v <= z) / len(sample)

    cvm = 50 * 50 / 100**2 * sum((ecdf(x, z) - ecdf(y, z)) ** 2 for z in x + y)
    assert f["shape"]["distribution_test"]["test"] == "cramer_von_mises"
    assert f["shape"]["distribution_test"]["statistic"] == pytest.approx(cvm)
    # A permutation p-value: on a 5-point scale nearly every answer is tied, and CvM sees a
    # symmetric narrowing only weakly — spread and extremes are the aspects that catch collapse.
    assert 0.01 < f["shape"]["distribution_test"]["p"] < 0.2
    # The old verdict looked at means only: it would have passed this panel.
    assert out["welch_t"]["p"] == pytest.approx(1.0)
    # Blanks and "don't know" are dropped and counted, never an error.
    assert out["dropped"]["human"] == {"blank": 2, "don't know": 3}
    assert out["human"]["n"] == 50


def test_a_matched_panel_gets_no_collapse_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    matched = {1: 8, 2: 9, 3: 16, 4: 9, 5: 8}
    human, sim = human_csv(tmp_path), simulated_csv(tmp_path, matched)
    out = run_json(capsys, *csv_args(human, sim), "--column", "Purchase intent", "--map", MAP)
    assert not any("collapse" in v for v in out["verdicts"])
    severities = {a["aspect"]: a["severity"] for a in out["fidelity"]["aspects"]}
    assert severities == {"centre": "ok", "spread": "ok", "extremes": "ok", "shape": "ok"}
    assert out["headline"].startswith("centre matches")
    lo, hi = out["fidelity"]["spread"]["sd_ratio_ci95"]
    assert lo < 1 < hi


def test_cramer_von_mises_is_ties_safe() -> None:
    """scipy's rank formula calls two near-identical 5-point samples different (p < 0.001);
    the permutation p-value does not."""
    human = expand(HUMAN)
    close = [1, 1, 3, 4, 4, 5, 5, 3]
    assert stats.cramervonmises_2samp(close, human).pvalue < 0.01  # the trap
    f = assess(close, human, Scale(1, 5))
    assert f.ks is not None and f.ks.p > 0.5
    assert assess(human, human, Scale(1, 5)).ks.p == 1.0  # type: ignore[union-attr]


def test_the_bootstrap_ci_is_seeded_and_deterministic() -> None:
    x, y = expand(COLLAPSED), expand(HUMAN)
    a, b = assess(x, y, Scale(1, 5)), assess(x, y, Scale(1, 5))
    assert a.sd_ratio_ci == b.sd_ratio_ci is not None
    assert assess(x, y, Scale(1, 5), seed=99).sd_ratio_ci != a.sd_ratio_ci  # the seed is what fixes it


def test_an_inflated_spread_and_a_shifted_centre_are_named() -> None:
    human = expand({2: 10, 3: 30, 4: 10})
    wide = expand({1: 20, 3: 10, 5: 20})
    f = assess(wide, human, Scale(1, 5))
    assert f.headline().startswith("spread inflated: simulated SD is")
    assert f.aspect("extremes") is not None and f.aspect("extremes").text.startswith("too many extreme answers")  # type: ignore[union-attr]
    high = expand({4: 25, 5: 25})
    g = assess(high, expand(HUMAN), Scale(1, 5))
    assert g.aspect("centre").severity == 2  # type: ignore[union-attr]
    assert g.aspect("centre").text.startswith("centre shifted: simulated answers are higher (mean 4.50 vs 3.00")  # type: ignore[union-attr]


def test_sparse_chi_square_cells_are_merged_with_their_neighbours() -> None:
    x = expand({1: 1, 2: 3, 3: 20, 4: 4, 5: 2})
    y = expand({1: 6, 2: 6, 3: 8, 4: 6, 5: 4})
    test, bins = merged_chi_square(x, y, [1, 2, 3, 4, 5]) or (None, [])
    assert bins == ["1–2", "3", "4–5"]
    expected = stats.chi2_contingency([[4, 20, 6], [12, 8, 10]], correction=False)
    assert test is not None and test.p == pytest.approx(expected.pvalue) and test.df == 2
    table = np.array([[4, 20, 6], [12, 8, 10]])
    assert (table.sum(axis=0) * 30 / 60 >= 5).all()  # every merged cell's expected count is at least 5


def test_several_columns_at_once_and_a_csv_with_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    human, sim = human_csv(tmp_path), simulated_csv(tmp_path, COLLAPSED)
    out = run_json(capsys, *csv_args(human, sim), "--column", "Purchase intent", "--column", "wave2", "--map", MAP)
    first, second = out["validations"]
    assert first["human"]["column"] == "Purchase intent" and second["human"]["column"] == "wave2"
    assert second["human"]["n"] == 51 and second["dropped"]["human"] == {"blank": 2, "dk": 1, "n/a": 1}
    assert second["headline"].startswith("variance collapse")


def test_bad_columns_and_cells_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    human, sim = human_csv(tmp_path), simulated_csv(tmp_path, COLLAPSED)
    err = one_line_error(capsys, *csv_args(human, sim), "--column", "Intent to buy")
    assert err.startswith(f"troupe: {human}: column 'Intent to buy': no such column (the columns are 'id',")
    # Labels without --map are not on a 1–5 scale: the row is named, and --map suggested.
    err = one_line_error(capsys, *csv_args(human, sim), "--column", "Purchase intent")
    assert err.startswith(f"troupe: {human}: column 'Purchase intent': row 2: 'DEFINITELY WOULD NOT BUY' is not an")
    assert "--map" in err
    bad = write_csv(tmp_path / "seven.csv", ["intent"], [["3"], ["7"]])
    err = one_line_error(capsys, *csv_args(bad, sim), "--column", "intent")
    assert err.startswith(f"troupe: {bad}: column 'intent': row 3: '7' is not an answer")
    err = one_line_error(
        capsys, *csv_args(human, sim), "--column", "Purchase intent", "--map", "Definitely would buy=9"
    )
    assert err.startswith("troupe: --map: 'Definitely would buy' maps to '9', which is not on the poll's scale")
    err = one_line_error(capsys, *csv_args(human, sim), "--column", "Purchase intent", "--scale", "ten")
    assert "--scale" in err and "is not a scale" in err
    tens = write_csv(tmp_path / "tens.csv", ["intent"], [["0"], ["10"], ["11"]])
    err = one_line_error(capsys, *csv_args(tens, sim), "--column", "intent", "--scale", "0-10")
    assert "row 4: '11' is not an answer" in err and "from 0–10" in err
    err = one_line_error(capsys, "--human", str(human), "--column", "x")
    assert "RUN_DIR" in err
    err = one_line_error(capsys, str(tmp_path), "--simulated-column", "intent", "--human", str(human), "--column", "x")
    assert "--simulated-column goes with --simulated" in err


def test_a_0_to_10_scale_has_its_own_extremes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    human = write_csv(tmp_path / "h.csv", ["nps"], [[str(v)] for v in [0, 10] * 10 + list(range(11)) * 2])
    sim = write_csv(tmp_path / "s.csv", ["nps"], [[str(v)] for v in [5, 6, 7] * 14])
    out = run_json(capsys, "--simulated", str(sim), "--human", str(human), "--column", "nps", "--scale", "0-10")
    assert out["kind"] == "number"
    ext = out["fidelity"]["extremes"]["extreme_share"]
    assert ext == {"simulated": 0.0, "human": pytest.approx(24 / 42)}
    assert out["headline"].startswith("variance collapse")


def test_breakdown_by_a_demographic_column_flags_small_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    human, sim = human_csv(tmp_path), simulated_csv(tmp_path, COLLAPSED)
    out = run_json(capsys, *csv_args(human, sim), "--column", "Purchase intent", "--map", MAP, "--by", "Gender")
    cells = {c["value"]: c for c in out["breakdown"]["cells"]}
    assert set(cells) == {"Woman", "Man"}  # "Other" only answered "don't know"
    assert (cells["Woman"]["n_simulated"], cells["Woman"]["n_human"]) == (30, 30)
    assert (cells["Man"]["n_simulated"], cells["Man"]["n_human"]) == (20, 20)
    assert all(c["tested"] for c in cells.values())
    assert cells["Woman"]["verdict"].startswith("variance collapse")
    small = write_csv(
        tmp_path / "small.csv",
        ["intent", "Gender"],
        [[str(v), "Woman"] for v in expand(HUMAN)] + [["1", "Other"], ["5", "Other"], ["3", "Other"]],
    )
    out = run_json(capsys, *csv_args(small, sim), "--column", "intent", "--by", "Gender")
    cells = {c["value"]: c for c in out["breakdown"]["cells"]}
    assert cells["Other"]["tested"] is False and cells["Other"]["fidelity"] is None
    assert cells["Other"]["verdict"].startswith("not tested: no simulated answers")
    assert cells["Man"]["verdict"].startswith("not tested: no real answers")
    capsys.readouterr()
    assert main(["validate", *csv_args(small, sim), "--column", "intent", "--by", "Gender"]) == 0
    md = capsys.readouterr().out
    assert "## By Gender" in md and "| Other | 0 | 3 | not tested" in md
    assert "**variance collapse" in md and "## Centre, spread, extremes, shape" in md


def test_personas_are_matched_to_csv_values_by_band_word_or_twin_value() -> None:
    assert age_in_band(34, "25-34") and age_in_band(25, "25 – 34") and not age_in_band(35, "25-34")
    assert age_in_band(70, "65+") and age_in_band(65, "65 or older") and age_in_band(16, "Under 18")
    bands = ["18-24", "25-34", "35-54", "55+"]
    assert persona_value({"age": 41}, "Age Range", bands) == "35-54"
    assert persona_value({"gender": "female"}, "Gender Identity", ["Man", "Woman"]) == "Woman"
    assert persona_value({"gender": "Non-binary"}, "Gender", ["Man", "Woman"]) is None
    twin = {"age": 41, "survey": {"Age Range": "35-44"}}
    assert persona_value(twin, "age range", ["25-34", "35-44"]) == "35-44"
    assert persona_value({"country": "Spain"}, "Country", ["spain", "France"]) == "spain"


def test_scales() -> None:
    assert parse_scale(None) == ("likert5", Scale(1, 5))
    assert parse_scale("likert7") == ("likert7", Scale(1, 7))
    assert parse_scale("0-10") == ("number", Scale(0, 10))
    assert parse_scale("0..100:continuous") == ("number", Scale(0, 100, ordinal=False))


def test_extremes_at_the_wrong_end_are_caught_even_when_the_totals_match() -> None:
    low = expand({1: 20, 2: 10, 3: 20})
    high = expand({5: 20, 4: 10, 3: 20})
    f = assess(low, high, Scale(1, 5))
    extremes = f.aspect("extremes")
    assert f.extreme_share == (0.4, 0.4)
    assert extremes is not None and extremes.severity == 2
    assert extremes.text.startswith("extreme answers at the wrong end: 40 % vs 40 % of answers at the ends")
    assert f.fisher_high is not None and f.fisher_high.p == pytest.approx(
        stats.fisher_exact([[0, 50], [20, 30]]).pvalue
    )


def test_the_fidelity_benchmark_runs_plain_and_with_tools(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("bench_fidelity", root / "bench" / "fidelity.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    human = write_csv(tmp_path / "h.csv", ["intent"], [[str(v)] for v in expand(HUMAN)])
    args = ["ab-test", "--poll", "booking_intent", "--human", str(human), "--column", "intent", "--groups", "1"]
    args += ["--panel-size", "3", "--rounds", "0", "--backend", "scripted", "--poll-draws", "2", "--json"]
    capsys.readouterr()
    assert bench.main([*args, "--out", str(tmp_path / "b")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"plain", "tools"}
    plain, tools = out["plain"]["validation"], out["tools"]["validation"]
    assert tools["usage"]["calls"] > plain["usage"]["calls"]  # the draws' cost, shown
    assert out["tools"]["row"]["verdict"] == tools["headline"]
