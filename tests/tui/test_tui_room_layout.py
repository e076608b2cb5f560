"""The room's layout (issue 10): panes grow with the terminal, showing as many of the latest
lines as fit, and the feed is wrapped again when the guide sidebar takes or gives back width."""

from __future__ import annotations

import pytest

from tests.tui.snapshot_app import StableScripted
from tests.tui.test_tui_session import app_for
from tests.tui.tui_fixtures import feed_settled, feed_text, make_cards, make_guide, session_screen, settle, submit
from troupe.tui.screens.session import REWRAP_DELAY


@pytest.mark.parametrize(("size", "rows"), [((200, 55), 13), ((140, 42), 5)])
async def test_after_many_long_turns_each_pane_shows_as_many_of_the_latest_lines_as_fit(size, rows, tmp_path):
    """5 personas: 3×2 panes of 15 rows at 200×55, 2×3 panes of 7 rows at 140×42 (borders aside)."""
    app, _ = app_for(make_guide(), make_cards(5), tmp_path, backend=StableScripted())
    async with app.run_test(size=size) as pilot:
        screen = await session_screen(pilot)
        for n in range(9):
            await submit(pilot, f"Question {n}: tell us more about lunch.")
            await settle(pilot)
        await pilot.pause()
        for pane in screen.grid.panes:
            assert len(pane.said) == 9 and pane.content_size.height == rows
            drawn = pane.render().plain.splitlines()
            assert len(drawn) == rows  # full: no blank rows under the text
            assert drawn[0].startswith("○ idle") and drawn[1].startswith("…")  # older lines gave way
            assert drawn[-1].endswith(pane.said[-1].split()[-1] + "”")  # the newest words are the last line
            shown = " ".join(line.removeprefix("…") for line in drawn[2:])
            assert shown in " ".join(pane.text().plain.split("\n"))  # the end of all it said, in order
        # a full pane keeps the words streaming in: they are the newest, drawn last
        pane = screen.grid.panes[0]
        pane.set_activity("speaking", "And one more thing about the price")
        drawn = pane.render().plain.splitlines()
        assert len(drawn) == rows and drawn[0].startswith("● speaking")
        assert drawn[-1].endswith("about the price▍")


async def test_opening_and_closing_the_guide_sidebar_wraps_the_feed_to_its_new_width(guide, cards, tmp_path):
    """No resize of the terminal here: only the sidebar moves the feed's edge. (The re-wrap used
    to wait for a resize, so whether it happened depended on a timer left from the opening.)"""
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(140, 42)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Tell us, in as many words as you like, what you usually have for lunch on a busy day?")
        await settle(pilot)
        await pilot.pause(REWRAP_DELAY * 2)  # the opening's own re-wrap timer is spent
        for shown in (True, False):
            wide = screen.feed.scrollable_content_region.width
            await pilot.press("escape", "g")
            await feed_settled(pilot)
            assert screen.sidebar.display is shown
            width = screen.feed.scrollable_content_region.width
            assert (width < wide) if shown else (width > wide)
            assert screen.feed.wrapped_at == width
            assert all(strip.cell_length <= width for strip in screen.feed.lines)
            assert "what you usually have for lunch on a busy day?" in " ".join(feed_text(screen).split())
