"""Finding things in the feed (issue 10): a selected entry, starring it, filtering to one
persona, jumping to the latest, timestamps. Each test reads the log back (``events.jsonl``):
the feed is a view, and only a star writes to the log."""

from __future__ import annotations

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit
from troupe.core import events as ev
from troupe.tui.verbs import VERBS
from troupe.tui.widgets.feed import SELECTED_STYLE, Feed, ModeratorFeed, feed_row, in_view, row_text, stamp
from troupe.tui.widgets.find_bar import FindBar

SELECTED_BG = SELECTED_STYLE.split()[-1].lstrip("#")


def _drawn_selected(feed: Feed, seq: int) -> bool:
    """Whether ``seq``'s entry is drawn on the selection's background."""
    y = feed.line_y(seq)
    if y is None:
        return False
    return any(
        seg.style is not None and seg.style.bgcolor is not None and SELECTED_BG in str(seg.style.bgcolor.name)
        for seg in list(feed.lines[y])
    )


async def _rounds(pilot, n: int, text: str = "What do you drink at lunch, and why?") -> None:
    for _ in range(n):
        await submit(pilot, text)
        await settle(pilot)


async def test_keys_move_the_selection_entry_by_entry_and_star_stars_the_selected_entry(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await _rounds(pilot, 2)
        feed = screen.feed
        screen.set_focus(screen.grid.panes[0])
        await pilot.press("l")  # from the panel into the feed
        await pilot.pause()
        assert screen.focused is feed and feed.selected is not None
        shown = feed.entries()
        assert shown == [e.seq for e in events_of(run_dir) if feed_row(e, screen.palette) is not None]
        await pilot.press("end")
        assert feed.selected == shown[-1] and _drawn_selected(feed, shown[-1])
        await pilot.press("up", "k")  # entry by entry, however many lines each takes
        assert feed.selected == shown[-3]
        assert _drawn_selected(feed, shown[-3]) and not _drawn_selected(feed, shown[-1])
        await pilot.press("j")
        assert feed.selected == shown[-2]
        target = shown[-2]
        await pilot.press("asterisk")  # with the feed focused: the selected entry, not a persona's line
        await settle(pilot)
        stars = [e for e in events_of(run_dir) if isinstance(e, ev.Highlight)]
        assert [(s.target, s.tag) for s in stars] == [(target, None)]
        assert feed.selected == target and screen.focused is feed  # still there for the next star
        await pilot.press("home")
        assert feed.selected == feed.entries()[0] and feed.scroll_y == 0
        await pilot.press("down")
        assert feed.selected == feed.entries()[1]
        # a click selects the entry under the pointer (the border is the first row)
        await pilot.click(Feed, offset=(12, 1))
        assert feed.selected == feed.entries()[0]
        # away from the feed the selection is not drawn, and * is the persona's latest line again
        await pilot.press("escape")
        assert screen.focused is screen.grid.selected
        assert not _drawn_selected(feed, feed.entries()[0])
        await pilot.press("asterisk")
        await settle(pilot)
        persona = screen.grid.selected.persona
        latest = [e for e in events_of(run_dir) if isinstance(e, ev.Say) and e.agent == persona][-1]
        assert [s.target for s in events_of(run_dir) if isinstance(s, ev.Highlight)] == [target, latest.seq]


async def test_filter_shows_one_persona_and_what_they_were_asked_and_search_stays_inside_it(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await _rounds(pilot, 2)
        await submit(pilot, "@maria and you, Maria?")
        await settle(pilot)
        feed = screen.feed
        everything = feed.entries()
        log = events_of(run_dir)
        await submit(pilot, "/filter tom")  # the one name rule: a first name nobody else has
        await settle(pilot)
        assert feed.only == "Tom Becker" and "only Tom Becker" in feed.border_title
        by_seq = {e.seq: e for e in log}
        kept = feed.entries()
        assert kept == [s for s in everything if in_view(by_seq[s], "Tom Becker")]
        agents = {getattr(by_seq[s], "agent", None) for s in kept}
        assert agents == {"Tom Becker", None}  # Tom's lines, and the questions (no one else's lines)
        assert any(isinstance(by_seq[s], ev.Moderator) for s in kept)
        asked_maria = next(e for e in log if isinstance(e, ev.Moderator) and e.to == ["Maria Lopez"])
        assert asked_maria.seq not in kept  # a question to someone else is not Tom's context
        assert "Maria" not in "".join(row_text(feed.rows[s]) for s in kept if by_seq[s].type == "say")
        # searching inside the filter finds only what it shows
        word = "drink"
        await submit(pilot, f"/find {word}")
        await settle(pilot)
        assert screen.query_one(FindBar).display
        assert screen.found and set(screen.found) <= set(kept)
        assert screen.found == [s for s in kept if word in row_text(feed.rows[s]).casefold()]
        await pilot.press("escape")
        # the selection moves among the filtered entries; the search opened from the feed goes back there
        screen.set_focus(feed)
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert screen.focused is screen.query_one(FindBar).input
        await pilot.press("escape")
        assert screen.focused is feed
        await pilot.press("end", "up")
        assert feed.selected == kept[-2]
        # f in the feed clears the filter (the selected entry is Tom's, the filter's)
        await pilot.press("f")
        await settle(pilot)
        assert feed.only is None and feed.entries() == everything and str(feed.border_title) == "feed"
        assert feed.selected == kept[-2] and screen.focused is feed
        # f on another persona's entry filters to them
        maria_line = next(s for s in reversed(everything) if getattr(by_seq[s], "agent", None) == "Maria Lopez")
        feed.select(maria_line)
        await pilot.press("f")
        await settle(pilot)
        assert feed.only == "Maria Lopez" and asked_maria.seq in feed.entries()
        await submit(pilot, "/filter")
        await settle(pilot)
        assert feed.only is None and feed.entries() == everything
        # a name that names nobody: the command line's notice, and nothing changes
        await submit(pilot, "/filter nobody")
        await settle(pilot)
        assert feed.only is None
        assert any("nobody called “nobody”" in n.message for n in app._notifications)
        assert events_of(run_dir) == log  # a filter is a view: nothing was logged


async def test_jump_to_latest_resumes_following_new_events(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await _rounds(pilot, 3)
        feed = screen.feed
        assert feed.max_scroll_y > 0
        feed.scroll_home(animate=False, immediate=True)
        await _rounds(pilot, 1)  # read further up: the feed does not follow
        await pilot.pause()
        assert feed.scroll_y == 0 and not feed.following
        await submit(pilot, "/latest")
        await pilot.pause()
        assert feed.following and feed.scroll_y == feed.max_scroll_y
        before = feed.max_scroll_y
        await _rounds(pilot, 1)
        await pilot.pause()
        assert feed.max_scroll_y > before and feed.scroll_y == feed.max_scroll_y  # it follows again
        latest = feed.entries()[-1]
        assert feed.line_y(latest) is not None and feed.line_y(latest) >= feed.scroll_y
        # end in the feed: the same, with the latest entry selected
        screen.set_focus(feed)
        await pilot.press("home")
        assert feed.scroll_y == 0
        await pilot.press("end")
        assert feed.selected == feed.entries()[-1] and feed.scroll_y == feed.max_scroll_y


async def test_timestamps_toggle_the_lines_drawn_and_write_nothing(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await _rounds(pilot, 1)
        feed = screen.feed
        log_before = (run_dir / "events.jsonl").read_bytes()
        plain_lines = feed_text(screen)
        await submit(pilot, "/timestamps")
        await settle(pilot)
        assert feed.show_times and "times" in str(feed.border_title)
        timed = feed_text(screen)
        assert timed != plain_lines
        started = events_of(run_dir)[0].ts
        for event in events_of(run_dir):
            y = feed.line_y(event.seq)
            if y is None:
                continue
            when = stamp(event.ts, started)
            assert when.strip() and str(feed.lines[y].text).startswith(f"{event.seq:>5} {when} ")
        # T from the panel hides them again: the feed is drawn as before
        screen.set_focus(screen.grid.panes[0])
        await pilot.press("T")
        await settle(pilot)
        assert not feed.show_times and feed_text(screen) == plain_lines
        assert (run_dir / "events.jsonl").read_bytes() == log_before


def test_stamps_count_from_the_session_start():
    assert stamp("2026-01-01T12:00:07.000Z", "2026-01-01T12:00:00.000Z") == "  00:07"
    assert stamp("2026-01-01T13:02:03.500Z", "2026-01-01T12:00:00.000Z") == "1:02:03"
    assert stamp("2026-01-01T12:00:07.000Z", None) == ""


def test_a_filter_keeps_the_personas_entries_and_the_room_context():
    say = ev.Say(seq=5, ts="t", agent="Tom Becker", text="hi", turn=1)
    other = ev.Say(seq=6, ts="t", agent="Maria Lopez", text="hi", turn=1)
    to_tom = ev.Say(seq=7, ts="t", agent="Maria Lopez", text="hi", turn=1, to="Tom Becker")
    room = ev.Moderator(seq=8, ts="t", text="all of you?")
    to_maria = ev.Moderator(seq=9, ts="t", text="you?", to=["Maria Lopez"])
    star = ev.Highlight(seq=10, ts="t", target=5)
    assert [in_view(e, "Tom Becker") for e in (say, other, to_tom, room, to_maria, star)] == [
        True,
        False,
        True,
        True,
        False,
        False,
    ]
    assert all(in_view(e, None) for e in (say, other, to_tom, room, to_maria, star))


def test_the_verbs_marked_for_the_feed_are_its_keys():
    keys = {b.key: b.action for b in ModeratorFeed.BINDINGS}
    for verb in VERBS:
        if verb.in_feed and verb.key:
            assert keys[verb.key] == f"screen.{verb.key_action or f'verb({verb.name!r})'}"
    assert keys["asterisk"] == "screen.verb('star')" and keys["f"] == "screen.filter_selected"
    assert keys["escape"] == "screen.leave_feed"
