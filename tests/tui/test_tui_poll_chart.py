"""Bar charts drawn with block characters."""

from troupe.tui.widgets.poll_chart import bar, bar_chart, histogram


def test_bar_lengths_use_eighth_blocks():
    assert bar(0.0, 10) == ""
    assert bar(1.0, 10) == "█" * 10
    assert bar(0.55, 10) == "█████▌"  # 5.5 cells
    assert bar(2.0, 4) == "████"  # clamped


def test_chart_keeps_option_order_scales_to_the_top_count_and_shows_percentages():
    text = bar_chart({"Agree": 3, "Neutral": 1}, order=["Disagree", "Neutral", "Agree"], width=40).plain
    lines = text.splitlines()
    assert [line.split()[0] for line in lines] == ["Disagree", "Neutral", "Agree"]
    assert lines[0].count("█") == 0 and "0 (  0%)" in lines[0]
    assert lines[2].count("█") == 40 - 8 - 12  # the top count fills the bar width
    assert "3 ( 75%)" in lines[2]
    assert lines[1].count("█") < lines[2].count("█")


def test_histogram_bins_numbers():
    text = histogram([1.0, 1.5, 2.0, 4.0], bins=3, width=40).plain
    assert len(text.splitlines()) == 3
    assert text.splitlines()[0].startswith("1–2")
    assert histogram([]).plain == "no answers"
