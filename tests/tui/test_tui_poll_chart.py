"""Bar charts drawn with block characters, from the chart rows every export draws too."""

from troupe.core.poll_stats import Bar
from troupe.tui.widgets.poll_chart import MEDIAN_MARK, bar, bar_chart


def test_bar_lengths_use_eighth_blocks():
    assert bar(0.0, 10) == ""
    assert bar(1.0, 10) == "█" * 10
    assert bar(0.55, 10) == "█████▌"  # 5.5 cells
    assert bar(2.0, 4) == "████"  # clamped


def test_chart_keeps_row_order_scales_to_the_top_count_and_shows_shares_of_respondents():
    rows = [Bar("Disagree", 0, 0.0), Bar("Neutral", 1, 0.25), Bar("Agree", 3, 0.75)]
    lines = bar_chart(rows, width=40).plain.splitlines()
    assert [line.split()[0] for line in lines] == ["Disagree", "Neutral", "Agree"]
    assert lines[0].count("█") == 0 and "0 (  0%)" in lines[0]
    assert lines[2].count("█") == 40 - 8 - 12  # the top count fills the bar width
    assert "3 ( 75%)" in lines[2]
    assert lines[1].count("█") < lines[2].count("█")


def test_multi_choice_shares_are_of_respondents_not_of_mentions():
    rows = [Bar("Supermarket", 3, 0.5), Bar("Online", 3, 0.5), Bar("Market", 2, 2 / 6)]  # 8 mentions, 6 people
    text = bar_chart(rows, width=60).plain
    assert text.count("( 50%)") == 2 and "( 33%)" in text


def test_the_median_bin_is_marked_and_an_empty_chart_says_so():
    rows = [Bar("7", 1, 0.25), Bar("8", 2, 0.5, median=True), Bar("9", 1, 0.25)]
    lines = bar_chart(rows, width=60).plain.splitlines()
    assert [MEDIAN_MARK in line for line in lines] == [False, True, False]
    assert max(len(line) for line in lines) <= 60
    assert bar_chart([]).plain == "no answers"
