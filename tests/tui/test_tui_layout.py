"""The grid rule: panes fit from 2 to 12 personas at 80×24 and at 120×40."""

import pytest

from troupe.tui.layout import MIN_FEED_ROWS, MIN_PANE_WIDTH, plan_grid


@pytest.mark.parametrize("count", range(2, 13))
@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
def test_every_panel_fits_and_leaves_the_feed_room(count, size):
    width, height = size
    rows_left = height - 3  # header, control bar, footer
    plan = plan_grid(count, width, rows_left)
    assert plan.columns * plan.rows >= count
    assert plan.height <= rows_left - MIN_FEED_ROWS
    if not plan.compact:
        assert width // plan.columns >= MIN_PANE_WIDTH
        assert plan.pane_height >= 4


def test_four_personas_get_a_two_by_two_grid_of_bordered_panes():
    plan = plan_grid(4, 120, 37)
    assert (plan.columns, plan.rows, plan.compact) == (2, 2, False)
    assert plan.pane_height >= 6


def test_twelve_personas_at_80x24_collapse_to_one_line_panes():
    plan = plan_grid(12, 80, 21)
    assert plan.compact and plan.pane_height == 1
    assert (plan.columns, plan.rows) == (2, 6)


def test_a_wider_terminal_gives_more_columns():
    assert plan_grid(8, 200, 57).columns > plan_grid(8, 80, 57).columns
