"""`troupe validate`: one simulated poll against a CSV column of real answers.

Every statistic is recomputed here with scipy from values read straight out of the log lines
and the CSV, and compared with the command's JSON output.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from troupe.core.errors import BadInputError
from troupe.core.poll_stats import Answer, PollResult
from troupe.core.polls import LIKERT_LABELS
from troupe.sessions.cli import main
from troupe.sessions.human_validation import compare, read_human_answers

LIKERT = LIKERT_LABELS["likert5"]
VARIANTS = ["Variant A — Slow travel", "Variant B — Save a night", "No difference"]
LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "TROUPE_CONFIG",
    "TROUPE_MODEL",
    "TROUPE_BACKEND",
    "TROUPE_CACHE",
    "TROUPE_CACHE_PATH",
)

# Real answers as a survey tool exports them: labels in any case, scale numbers, blanks.
HUMAN_CSV = """respondent,Intent,preferred
1,Agree,Variant B — Save a night
2,4,variant b
3,,No difference
4,strongly agree,1
5,2,Variant B — Save a night
6,Neutral,3
7,5,Variant A — Slow travel
8,disagree,
9,1,Variant B
10,3,Variant B — Save a night
"""
HUMAN_INTENT = [4, 4, 5, 2, 3, 5, 2, 1, 3]
HUMAN_PREFERRED = ["Variant B — Save a night"] * 2 + [
    "No difference",
    VARIANTS[0],
    VARIANTS[1],
    "No difference",
    VARIANTS[0],
    VARIANTS[1],
    VARIANTS[1],
]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 2-group study of ab-test (it has a single-choice poll and a Likert poll)."""
    root = tmp_path_factory.mktemp("validate")
    out = root / "s"
    with pytest.MonkeyPatch.context() as mp:  # the suite's hermetic env is function-scoped
        for name in LEAKY_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        args = [
            "study",
            "ab-test",
            "--groups",
            "2",
            "--panel-size",
            "4",
            "--backend",
            "scripted",
            "--rounds",
            "1",
            "--out",
            str(out),
        ]
        assert main(args) == 0
    (root / "human.csv").write_text(HUMAN_CSV, encoding="utf-8")
    yield out


def simulated(run_dirs: list[Path], poll_id: str) -> list[Any]:
    """Each participant's latest logged value, from the raw lines of every run."""
    values: list[Any] = []
    for run in run_dirs:
        latest: dict[str, Any] = {}
        for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            if e["type"] == "poll_answer" and e["poll_id"] == poll_id:
                latest[e["agent"]] = e["value"]
        values += latest.values()
    return values


def as_likert(value: Any) -> int:
    return int(value) if str(value).isdigit() else [x.lower() for x in LIKERT].index(str(value).lower()) + 1


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


def test_likert_poll_against_labels_and_numbers(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = str(study.parent / "human.csv")
    out = run_json(capsys, str(study), "--human", csv_path, "--column", "intent", "--poll", "booking_intent")
    sim = [as_likert(v) for v in simulated([study / "group-01", study / "group-02"], "booking_intent")]
    hum = HUMAN_INTENT
    assert out["simulated"]["groups"] == ["group-01", "group-02"]
    assert (out["simulated"]["n"], out["human"]["n"]) == (len(sim), len(hum)) == (8, 9)
    assert out["simulated"]["mean"] == pytest.approx(statistics.fmean(sim))
    assert out["human"]["mean"] == pytest.approx(statistics.fmean(hum))
    assert out["human"]["stdev"] == pytest.approx(statistics.stdev(hum))
    assert out["mean_difference"] == pytest.approx(statistics.fmean(sim) - statistics.fmean(hum))
    welch = stats.ttest_ind(sim, hum, equal_var=False)
    assert out["welch_t"]["statistic"] == pytest.approx(welch.statistic)
    assert out["welch_t"]["p"] == pytest.approx(welch.pvalue)
    assert out["welch_t"]["df"] == pytest.approx(welch.df)
    mwu = stats.mannwhitneyu(sim, hum, alternative="two-sided")
    assert (out["mann_whitney_u"]["statistic"], out["mann_whitney_u"]["p"]) == pytest.approx(
        (mwu.statistic, mwu.pvalue)
    )
    p = [sim.count(k) / len(sim) for k in range(1, 6)]
    q = [hum.count(k) / len(hum) for k in range(1, 6)]
    assert out["total_variation_distance"] == pytest.approx(0.5 * sum(abs(a - b) for a, b in zip(p, q)))
    assert [(r["option"], r["simulated"], r["human"]) for r in out["distribution"]] == [
        (LIKERT[k - 1], sim.count(k), hum.count(k)) for k in range(1, 6)
    ]
    assert out["chi_square"] is None  # Likert: the ordinal tests apply
    assert any(v.startswith("caution: small samples (n = 8 simulated, 9 real)") for v in out["verdicts"])


def test_choice_poll_chi_square_drops_empty_options(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = str(study.parent / "human.csv")
    out = run_json(capsys, str(study), "--human", csv_path, "--column", "preferred", "--poll", "preferred_variant")
    sim = simulated([study / "group-01", study / "group-02"], "preferred_variant")
    sim_counts = [sim.count(o) for o in VARIANTS]
    hum_counts = [HUMAN_PREFERRED.count(o) for o in VARIANTS]
    assert out["simulated"]["counts"] == dict(zip(VARIANTS, sim_counts))
    assert out["human"]["counts"] == dict(zip(VARIANTS, hum_counts))
    kept = [i for i in range(3) if sim_counts[i] or hum_counts[i]]
    chi = stats.chi2_contingency([[sim_counts[i] for i in kept], [hum_counts[i] for i in kept]])
    assert out["chi_square"]["statistic"] == pytest.approx(chi.statistic)
    assert out["chi_square"]["p"] == pytest.approx(chi.pvalue)
    assert out["chi_square"]["df"] == chi.dof == len(kept) - 1
    assert out["welch_t"] is None and out["mann_whitney_u"] is None and out["simulated"]["mean"] is None


def test_a_single_group_folder_compares_that_group_only(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = str(study.parent / "human.csv")
    out = run_json(
        capsys, str(study / "group-02"), "--human", csv_path, "--column", "Intent", "--poll", "booking_intent"
    )
    assert out["simulated"]["n"] == len(simulated([study / "group-02"], "booking_intent")) == 4
    assert out["simulated"]["groups"] == ["group-02"]


def test_markdown_report_has_the_tables_and_the_verdict(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    args = [str(study), "--human", str(study.parent / "human.csv"), "--column", "intent", "--poll", "booking_intent"]
    assert main(["validate", *args]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Simulated vs real: booking_intent (likert5)")
    assert "| n | 8 | 9 |" in text and "Welch's t-test: t = " in text and "| Strongly agree |" in text
    assert "## Verdict" in text and "simulated participants are not people" in text


def test_several_polls_without_poll_lists_them(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_error(capsys, str(study), "--human", str(study.parent / "human.csv"), "--column", "intent")
    assert "has several polls; choose one with --poll (preferred_variant, booking_intent)" in err


def test_missing_column_names_file_and_column(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv_path = study.parent / "human.csv"
    err = one_line_error(capsys, str(study), "--human", str(csv_path), "--column", "age", "--poll", "booking_intent")
    assert (
        err == f"troupe: {csv_path}: column 'age': no such column (the columns are 'respondent', 'Intent', 'preferred')"
    )


def test_unknown_label_names_file_column_and_row(
    study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("id;intent\n1;Agree\n2;\n3;Kind of\n", encoding="utf-8")  # ';'-separated, as many locales export
    err = one_line_error(capsys, str(study), "--human", str(bad), "--column", "intent", "--poll", "booking_intent")
    assert err.startswith(f"troupe: {bad}: column 'intent': row 4: 'Kind of' is not an answer to poll 'booking_intent'")
    bad.write_text("id,intent\n1,6\n", encoding="utf-8")  # off the 1–5 scale
    assert "row 2: '6' is not an answer" in one_line_error(
        capsys, str(study), "--human", str(bad), "--column", "intent", "--poll", "booking_intent"
    )


def test_missing_file_and_unknown_poll(study: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = one_line_error(
        capsys, str(study), "--human", str(tmp_path / "nope.csv"), "--column", "x", "--poll", "booking_intent"
    )
    assert err == f"troupe: {tmp_path / 'nope.csv'}: file not found"
    err = one_line_error(
        capsys, str(study), "--human", str(study.parent / "human.csv"), "--column", "intent", "--poll", "nps"
    )
    assert "--poll: no poll 'nps' in this run (polls: preferred_variant, booking_intent)" in err
    err = one_line_error(capsys, str(tmp_path), "--human", str(study.parent / "human.csv"), "--column", "intent")
    assert "not a run or study folder" in err


def likert_result(scores: list[int], name: str) -> PollResult:
    result = PollResult(
        poll_id="intent",
        question="I would buy it",
        kind="likert5",
        options=list(LIKERT),
        private_first=True,
        seq=1,
        section_index=0,
        section_title="",
    )
    result.answers = [
        Answer(
            agent=f"{name}{i}", value=s, rationale="", seq=i, revealed=False, score=float(s), choices=(LIKERT[s - 1],)
        )
        for i, s in enumerate(scores)
    ]
    return result


def test_verdict_says_which_side_is_more_positive_and_less_varied() -> None:
    sim = likert_result([4, 5] * 20, "s")
    hum = likert_result([1, 2, 3, 4, 5, 2, 3, 3] * 5, "h")
    v = compare(sim, hum, source="runs/x", groups=["group-01"], csv_path="h.csv", column="intent")
    p = stats.ttest_ind(sim.scores, hum.scores, equal_var=False).pvalue
    assert p < 0.001
    verdicts = v.verdicts()
    assert verdicts[0] == "centre shifted: simulated answers are higher (mean 4.50 vs 2.88, +1.62, Welch p < 0.001)"
    assert verdicts[1].startswith("variance collapse: simulated SD is 0.43× the human SD (0.51 vs 1.18)")
    assert not any("small samples" in line for line in verdicts)  # 40 a side


def test_identical_constant_answers_skip_welch_with_a_note() -> None:
    v = compare(
        likert_result([3, 3, 3], "s"),
        likert_result([3, 3], "h"),
        source="r",
        groups=["r"],
        csv_path="h.csv",
        column="c",
    )
    assert v.welch is None and any("undefined" in n for n in v.notes)
    assert v.tvd == 0.0 and v.mann_whitney is not None and v.mann_whitney.p == pytest.approx(1.0)


def test_multi_choice_cells_list_options_separated_by_semicolons(tmp_path: Path) -> None:
    poll = PollResult(
        poll_id="extras",
        question="Which extras?",
        kind="multi",
        options=["Wi-Fi", "Dinner, wine", "Shower"],
        private_first=True,
        seq=1,
        section_index=0,
        section_title="",
    )
    path = tmp_path / "m.csv"
    path.write_text('q\n"Wi-Fi; Dinner, wine"\n3\n"shower;wi-fi"\n', encoding="utf-8")
    human = read_human_answers(path, "q", poll)
    assert [a.choices for a in human.answers] == [("Wi-Fi", "Dinner, wine"), ("Shower",), ("Shower", "Wi-Fi")]
    assert human.counts == {"Wi-Fi": 2, "Dinner, wine": 1, "Shower": 2}
    path.write_text('q\n"Wi-Fi; Sauna"\n', encoding="utf-8")
    with pytest.raises(BadInputError, match=r"column 'q': row 2: 'Wi-Fi; Sauna' is not an answer"):
        read_human_answers(path, "q", poll)


def test_number_polls_compare_means_without_a_distribution() -> None:
    def numbers(values: list[float], name: str) -> PollResult:
        result = PollResult(
            poll_id="price",
            question="Fair price in euros?",
            kind="number",
            options=[],
            private_first=True,
            seq=1,
            section_index=0,
            section_title="",
        )
        result.answers = [
            Answer(agent=f"{name}{i}", value=x, rationale="", seq=i, revealed=False, score=x)
            for i, x in enumerate(values)
        ]
        return result

    sim, hum = [49.0, 55.0, 60.0, 52.0, 58.0] * 8, [79.0, 90.0, 65.0, 85.0, 99.0] * 8
    v = compare(numbers(sim, "s"), numbers(hum, "h"), source="r", groups=["r"], csv_path="h.csv", column="price")
    assert v.distribution == [] and v.tvd is None and v.chi_square is None
    assert v.welch is not None and v.welch.p == pytest.approx(stats.ttest_ind(sim, hum, equal_var=False).pvalue)
    assert v.cohen_d is not None and v.cohen_d < -2
    assert (
        v.verdicts()[0] == "centre shifted: simulated answers are lower (mean 54.80 vs 83.60, -28.80, Welch p < 0.001)"
    )
    assert v.fidelity is not None and v.fidelity.extreme_share is None  # a number poll has no known ends


def test_breakdown_of_a_run_matches_personas_by_their_card(study: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--by Gender` groups each simulated answer by the gender on its persona's card."""
    genders: dict[str, str] = {}
    runs = sorted(p for p in study.iterdir() if (p / "events.jsonl").is_file())
    for run in runs:
        first = json.loads((run / "events.jsonl").read_text(encoding="utf-8").splitlines()[0])
        genders.update({name: card["traits"]["gender"] for name, card in first["persona_cards"].items()})
    latest: dict[tuple[str, str], Any] = {}
    for run in runs:
        for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines():
            e = json.loads(line)
            if e["type"] == "poll_answer" and e["poll_id"] == "booking_intent":
                latest[(run.name, e["agent"])] = e["value"]
    words = sorted({g for g in genders.values() if g})
    human = study.parent / "gender.csv"
    human.write_text(
        "intent,Gender\n" + "".join(f"{1 + i % 5},{words[i % len(words)].upper()}\n" for i in range(30)),
        encoding="utf-8",
    )
    out = run_json(
        capsys, str(study), "--human", str(human), "--column", "intent", "--poll", "booking_intent", "--by", "Gender"
    )
    cells = {c["value"].lower(): c["n_simulated"] for c in out["breakdown"]["cells"]}
    expected: dict[str, int] = {}
    for _, agent in latest:
        expected[genders[agent].lower()] = expected.get(genders[agent].lower(), 0) + 1
    assert cells == expected and sum(cells.values()) == len(latest)
    assert all(not c["tested"] for c in out["breakdown"]["cells"])  # 8 answers: every cell is small
    assert out["poll_instructions"] == ["default"]
