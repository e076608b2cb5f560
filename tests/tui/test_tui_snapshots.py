"""Snapshot tests: few, fixed-size, deterministic (see ``snapshot_app.py``).

Update after an intended change with ``pytest tests/tui --snapshot-update`` and look at
the SVGs in ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import SelectionList

from tests.tui import snapshot_app as apps
from tests.tui.tui_fixtures import feed_settled, session_screen
from troupe.tui.watch import WatchScreen


async def _ready(pilot: Pilot) -> None:
    screen = await session_screen(pilot)
    screen.flush()
    pilot.app.clear_notifications()
    await pilot.pause()


async def _ready_with_panel_keys(pilot: Pilot) -> None:
    await _ready(pilot)
    await pilot.press("escape")  # focus the panel: the footer shows the panel keys
    await pilot.pause()


def test_home(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await pilot.pause()
        pilot.app.screen.query_one("#guides").highlighted = 1  # "Cold soup test": its panel gets ticked
        await pilot.pause()
        panel = pilot.app.screen.query_one("#panel", SelectionList)
        panel.focus()
        panel.highlighted = 0
        await pilot.pause()

    assert snap_compare(apps.home_app(tmp_path / "runs"), terminal_size=(120, 40), run_before=run_before)


def test_session_with_four_personas(snap_compare, tmp_path):
    app = apps.session_app(tmp_path / "run", 4, apps.one_question)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_ready)


def test_session_with_eight_personas(snap_compare, tmp_path):
    app = apps.session_app(tmp_path / "run", 8, apps.first_section)
    assert snap_compare(app, terminal_size=(120, 40), run_before=_ready_with_panel_keys)


def test_paused_and_muted_personas_at_80x24(snap_compare, tmp_path):
    app = apps.session_app(tmp_path / "run", 4, apps.paused_and_muted)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_ready_with_panel_keys)


def test_poll_results(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("escape", "r")
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 6, apps.a_poll)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_help(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("escape", "question_mark")
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 4, apps.one_question)
    assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)


def test_confirm_next_section_in_keys_mode(snap_compare, tmp_path):
    """The KEYS mode indicator, and the confirmation before a section with beats left is skipped."""

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press("escape", "n")
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 4, apps.first_section_opened)
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_guide_sidebar_at_140x42(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready_with_panel_keys(pilot)
        await pilot.press("g")
        await feed_settled(pilot)  # the sidebar narrowed the feed: its lines are wrapped again

    app = apps.session_app(tmp_path / "run", 4, apps.starred_and_noted, apps.guided_guide())
    assert snap_compare(app, terminal_size=(140, 42), run_before=run_before)


def test_guide_sidebar_folds_away_at_80x24(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready_with_panel_keys(pilot)
        await pilot.press("g")
        await feed_settled(pilot)

    app = apps.session_app(tmp_path / "run", 4, apps.starred_and_noted, apps.guided_guide())
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_feed_selected_and_filtered_at_120x40(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready_with_panel_keys(pilot)
        await pilot.press("f")  # only the selected persona's entries and what they were asked
        await feed_settled(pilot)
        await pilot.press("l", "up")  # into the feed: the latest entry, then the one before
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 4, apps.starred_and_noted)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_highlights_dialog(snap_compare, tmp_path):
    async def run_before(pilot: Pilot) -> None:
        await _ready_with_panel_keys(pilot)
        await pilot.press("h")
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 4, apps.starred_and_noted)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_multi_line_composer_at_100x30(snap_compare, tmp_path):
    """A line sent in three lines, in the feed; the next one being written grows the control bar."""

    async def run_before(pilot: Pilot) -> None:
        await _ready(pilot)
        await pilot.press(*"Two questions:", "ctrl+j", *"1. Would you buy it?", "ctrl+j", *"2. At what price?")
        await pilot.pause()

    app = apps.session_app(tmp_path / "run", 4, apps.a_multi_line_stimulus)
    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_tall_terminal_panes_at_200x55(snap_compare, tmp_path):
    """Panes take their share of a tall terminal and fill it with the latest lines."""
    app = apps.session_app(tmp_path / "run", 5, apps.many_long_turns)
    assert snap_compare(app, terminal_size=(200, 55), run_before=_ready)


async def _watching(pilot: Pilot) -> None:
    for _ in range(250):
        screen = pilot.app.screen
        if isinstance(screen, WatchScreen) and screen.seen:
            break
        await pilot.pause(0.02)
    else:
        raise AssertionError("the watch screen never read the log")
    await pilot.pause()


def test_watch_at_140x42(snap_compare, tmp_path):
    app = apps.watch_app(tmp_path / "run", 4, apps.starred_and_noted)
    assert snap_compare(app, terminal_size=(140, 42), run_before=_watching)


def test_watch_at_80x24(snap_compare, tmp_path):
    app = apps.watch_app(tmp_path / "run", 4, apps.paused_and_muted)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_watching)
