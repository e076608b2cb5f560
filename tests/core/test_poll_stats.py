"""Poll results (core/poll_stats.py): reading logged values, one result per asking, statistics, bins."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from troupe.core.events import Event, parse_event
from troupe.core.poll_stats import collect_polls, display_value, interpret, number_bins

LIKERT = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]


def log(*items: tuple[str, dict]) -> list[Event]:
    return [
        parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": type, **fields})
        for i, (type, fields) in enumerate(items, start=1)
    ]


def asked(poll_id: str, kind: str, options: list[str] | None = None) -> tuple[str, dict]:
    return ("poll_asked", dict(poll_id=poll_id, question=f"{poll_id}?", kind=kind, options=options, private_first=True))


def answer(poll_id: str, agent: str, value: object) -> tuple[str, dict]:
    return ("poll_answer", dict(poll_id=poll_id, agent=agent, value=value, rationale=""))


def test_values_are_read_by_kind() -> None:
    assert interpret("likert5", LIKERT, "a", 4).choices == ("Agree",)
    assert interpret("likert5", LIKERT, "a", "4").score == 4.0
    assert interpret("likert5", LIKERT, "a", "strongly AGREE").score == 5.0
    assert interpret("likert5", LIKERT, "a", 9).score is None
    assert interpret("single", ["Concept A", "Concept B"], "a", "concept b").choices == ("Concept B",)
    assert interpret("single", ["Concept A", "Concept B"], "a", 1).choices == ("Concept A",)
    assert interpret("multi", ["A", "B", "C"], "a", ["c", 1, "c"]).choices == ("C", "A")
    assert interpret("number", [], "a", "3,5").score == 3.5
    assert interpret("number", [], "a", True).score is None
    assert interpret("likert5", LIKERT, "a", 4).display() == "4 — Agree"
    assert (
        interpret("multi", ["Supermarket", "Online"], "a", ["Supermarket", "Online"]).display() == "Supermarket, Online"
    )
    assert display_value(8.0) == "8" and display_value(["A", "B"]) == "A, B" and display_value(None) == ""


def test_each_asking_is_one_result_with_the_latest_answer_and_failures_counted() -> None:
    results = collect_polls(
        log(
            asked("q", "likert5"),
            answer("q", "Maria", "Agree"),
            answer("q", "Tom", 1),
            answer("q", "Maria", "Disagree"),  # a re-vote
            (
                "error",
                dict(agent="Aiko", kind="invalid_output", message="x", recovered=False, purpose="poll", poll_id="q"),
            ),
            ("poll_closed", dict(poll_id="q", n=2)),
            asked("q", "likert5"),  # asked again: a second result
            answer("q", "Tom", 5),
        )
    )
    first, second = results
    assert [(a.agent, a.score) for a in first.answers] == [("Tom", 1.0), ("Maria", 2.0)]
    assert len(first.all_answers) == 3 and first.failed == ["Aiko"] and first.closed is not None
    assert first.counts == {"Strongly disagree": 1, "Disagree": 1, "Neutral": 0, "Agree": 0, "Strongly agree": 0}
    assert second.n == 1 and second.mean == 5.0 and second.stdev is None and second.ci95 is None
    assert second.closed is None and second.seq > first.seq


def test_multi_choice_shares_are_of_respondents() -> None:
    (where,) = collect_polls(
        log(
            asked("w", "multi", ["Supermarket", "Online", "Market"]),
            *[answer("w", f"p{i}", ["Supermarket", "Online"]) for i in range(3)],
            *[answer("w", f"q{i}", ["Market"]) for i in range(3)],
        )
    )
    assert where.n == 6 and sum(where.counts.values()) == 9  # nine mentions by six people
    assert where.distribution == {"Supermarket": 0.5, "Online": 0.5, "Market": 0.5}
    assert [(b.label, b.share) for b in where.bars()] == [("Supermarket", 0.5), ("Online", 0.5), ("Market", 0.5)]
    assert "top: Supermarket (3 of 6, 50%)" in where.summary()


def test_numeric_statistics_and_the_t_interval() -> None:
    values = [7, 8, 8, 9, 10, 12]
    (poll,) = collect_polls(log(asked("n", "number"), *[answer("n", f"p{i}", v) for i, v in enumerate(values)]))
    assert poll.mean == pytest.approx(statistics.fmean(values)) and poll.median == 8.5
    assert poll.stdev == pytest.approx(statistics.stdev(values))
    low, high = stats.t.interval(0.95, len(values) - 1, loc=statistics.fmean(values), scale=stats.sem(values))
    assert poll.ci95 == pytest.approx((low, high))
    assert dict(poll.stats())["95 % CI"] == f"{low:.2f}–{high:.2f}"
    assert [(b.label, b.count, b.median) for b in poll.bars()] == [
        ("7", 1, False),
        ("8", 2, True),
        ("9", 1, False),
        ("10", 1, False),
        ("11", 0, False),
        ("12", 1, False),
    ]


def test_all_answers_failed() -> None:
    (poll,) = collect_polls(
        log(
            asked("q", "single", ["A", "B"]),
            *[
                ("error", dict(agent=a, kind="k", message="m", recovered=False, purpose="poll", poll_id="q"))
                for a in ("x", "y")
            ],
        )
    )
    assert poll.n == 0 and poll.failed == ["x", "y"] and poll.mean is None and poll.verdict() is None
    assert [b.share for b in poll.bars()] == [0.0, 0.0] and dict(poll.stats()) == {"n": "0", "Failed": "2"}


def test_number_bins_for_integers_wide_ranges_and_decimals() -> None:
    assert [label for label, _, _ in number_bins([1, 100, 50, 20])] == [
        "1–17",
        "18–34",
        "35–51",
        "52–68",
        "69–85",
        "86–102",
    ]
    assert [label for label, _, _ in number_bins([1.5, 2.5, 3, 2])] == ["1.5", "2", "2.5", "3"]
    decimals = number_bins([7.9, 8.1, 9.26, 8.5, 8.6, 8.7, 9.0, 7.95])
    # eight scattered answers: about √8 equal-width bins, not a bar each
    assert len(decimals) == 3 and decimals[0][0] == "7.9–8.35" and decimals[-1][0].endswith("9.26")
    assert number_bins([3.0]) == [("3", 1, True)] and number_bins([]) == []


@given(st.lists(st.one_of(st.integers(-50, 500), st.floats(-1e3, 1e3, allow_nan=False)), min_size=1, max_size=40))
def test_bins_count_every_answer_once_and_mark_one_median(values: list[float]) -> None:
    bins = number_bins(values)
    assert sum(count for _, count, _ in bins) == len(values)
    assert sum(1 for *_, median in bins if median) == 1
    assert len(bins) <= 12


def test_six_different_decimal_answers_are_a_few_bars_not_six_bars_of_one() -> None:
    """Issue 16's example: 0.1, 0.33, 1.8, 2.02, 2.31, 3.33 bottles a week."""
    from troupe.core.poll_stats import number_bins

    bins = number_bins([0.1, 0.33, 1.8, 2.02, 2.31, 3.33])
    assert [(label, count) for label, count, _ in bins] == [("0.1–1.18", 2), ("1.18–2.25", 2), ("2.25–3.33", 2)]
    assert [marked for *_, marked in bins] == [False, True, False]  # the median (1.8) is marked
    assert [label for label, *_ in number_bins([1.5, 2.5, 1.5])] == ["1.5", "2.5"]  # few values: one bar each
