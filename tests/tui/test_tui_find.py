"""Searching the feed: /find and ctrl+f, plain text in any case, moving between matches (issue 10)."""

from __future__ import annotations

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, session_screen, settle, submit
from troupe.core import events as ev
from troupe.tui.widgets.find_bar import FindBar


def _marked(screen, seq: int) -> bool:
    feed = screen.feed
    y = feed.line_y(seq)
    return (
        any(
            seg.style is not None and seg.style.bgcolor is not None and "e5c07b" in str(seg.style.bgcolor.name)
            for seg in list(feed.lines[y])
        )
        if y is not None
        else False
    )


async def test_find_moves_between_plain_text_matches_and_highlights_the_one_shown(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Is a Quokka [b]cute[/b] at lunch?")
        await settle(pilot)
        await submit(pilot, "quokka .* again?")
        await settle(pilot)
        mods = [e.seq for e in events_of(run_dir) if isinstance(e, ev.Moderator)]
        await submit(pilot, "/find QUOKKA")
        await settle(pilot)
        bar = screen.query_one(FindBar)
        assert bar.display and screen.focused is bar.input
        expected = [e.seq for e in events_of(run_dir) if "quokka" in (getattr(e, "text", "") or "").casefold()]
        assert screen.found == expected and set(mods) <= set(expected)
        assert screen.found_at == expected[-1] and _marked(screen, expected[-1])
        await pilot.press("up")  # the next older match, highlighted instead
        assert screen.found_at == expected[-2]
        assert _marked(screen, expected[-2]) and not _marked(screen, expected[-1])
        await pilot.press("down")
        assert screen.found_at == expected[-1]
        await pilot.press("enter")  # enter: older, like ↑
        assert screen.found_at == expected[-2]
        # plain text: markup and regex characters are looked for as typed
        bar.input.value = "[b]cute[/b]"
        await pilot.pause()
        assert screen.found == [mods[0]]
        bar.input.value = ".*"
        await pilot.pause()
        assert screen.found == [mods[1]]
        bar.input.value = "no such words anywhere"
        await pilot.pause()
        assert screen.found == [] and screen.found_at is None
        await pilot.press("escape")
        assert not bar.display and screen.feed.marked is None
        # ctrl+f from the panel opens the bar on what was typed last
        screen.set_focus(screen.grid.panes[0])
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert bar.display and screen.focused is bar.input
