"""The multi-line composer (issue 10): enter sends, ctrl+j starts a new line, a paste keeps its
lines, the box grows to a few lines then scrolls, and history and completion still work."""

from __future__ import annotations

from textual import events

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, plain, session_screen, settle
from troupe.core import events as ev
from troupe.tui.command_line import Ask, Command, Speak, parse_line
from troupe.tui.screens.help import help_renderable
from troupe.tui.widgets.control_bar import MAX_LINES

NAMES = ["Maria Lopez", "Tom Becker", "Aiko Sato"]


def test_a_line_break_ends_the_name_or_the_verb_and_the_rest_keeps_its_lines():
    assert parse_line("first\nsecond", NAMES) == Speak("first\nsecond")
    assert parse_line("@Tom\nwhat would\nchange your mind?", NAMES) == Ask(
        "Tom Becker", "what would\nchange your mind?"
    )
    assert parse_line("/stimulus\nGazpacho Go\n330 ml, €2.49", NAMES) == Command(
        "stimulus", "Gazpacho Go\n330 ml, €2.49"
    )
    assert parse_line("/devil Tom\nit is too dear", NAMES) == Command("devil", "Tom Becker", "it is too dear")
    assert parse_line("//stimulus\nis a word", NAMES) == Speak("/stimulus\nis a word")


async def test_ctrl_j_starts_a_line_enter_sends_them_all_and_the_box_grows_then_scrolls(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        feed_rows = screen.feed.size.height
        assert command.size.height == 1
        await pilot.press(*"First", "ctrl+j", *"second")
        await pilot.pause()
        assert command.value == "First\nsecond" and command.size.height == 2
        assert screen.feed.size.height == feed_rows - 1  # the feed gives the row; the panes stay
        for n in range(MAX_LINES + 3):
            await pilot.press("ctrl+j", *f"more {n}")
        await pilot.pause()
        assert command.size.height == MAX_LINES  # no taller: it scrolls
        assert command.scroll_y > 0 and command.cursor_location[0] == MAX_LINES + 4
        sent = command.value
        await pilot.press("enter")
        await settle(pilot)
        said = [e for e in events_of(run_dir) if isinstance(e, ev.Moderator)]
        assert [e.text for e in said] == [sent] and sent.count("\n") == MAX_LINES + 4
        assert command.value == "" and command.size.height == 1


async def test_a_paste_keeps_its_lines_and_a_multi_line_stimulus_is_one_stimulus(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        await pilot.press(*"/stimulus ")
        app.post_message(events.Paste("Gazpacho Go\r\n330 ml, €2.49\r\nchilled aisle"))
        await pilot.pause()
        assert command.value == "/stimulus Gazpacho Go\n330 ml, €2.49\nchilled aisle"  # once, \r\n as \n
        await pilot.press("enter")
        await settle(pilot)
        stimuli = [e for e in events_of(run_dir) if isinstance(e, ev.Stimulus)]
        assert [(s.source, s.text) for s in stimuli] == [("moderator", "Gazpacho Go\n330 ml, €2.49\nchilled aisle")]


async def test_up_walks_history_only_from_the_first_line_and_down_only_from_the_last(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        await pilot.press(*"/thoughts", "enter")
        await pilot.press(*"one", "ctrl+j", *"two")
        await pilot.press("up")  # on the second line: to the first, the draft stays
        assert command.value == "one\ntwo" and command.cursor_location[0] == 0
        await pilot.press("up")  # on the first line: the line sent before
        assert command.value == "/thoughts"
        await pilot.press("down")  # back to the draft, all of it
        assert command.value == "one\ntwo"
        await pilot.press("up", "up")
        assert command.value == "/thoughts"
        # completion works as before: → or tab takes it, with the proper capitals
        command.value = ""
        await pilot.press(*"@ai")
        assert command.suggestion == "ko Sato"
        await pilot.press("right")
        assert command.value == "@Aiko Sato"
        await pilot.press("ctrl+j", *"/pa")
        assert command.suggestion == ""  # a command only completes on the first line


async def test_control_characters_go_out_as_typed_and_are_drawn_as_symbols(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        hostile = "a\rb\x0bc\x1b[2Jd\x85e\u2028f"
        command.value = hostile
        assert command.value == hostile and command.document.line_count == 1
        assert command.get_line(0).plain == "a␍b␋c␛[2Jd\ufffde\u2424f"
        await pilot.press("enter")
        await settle(pilot)
        assert [e.text for e in events_of(run_dir) if isinstance(e, ev.Moderator)] == [hostile]


def test_the_help_says_which_key_sends_and_which_starts_a_line():
    text = plain(help_renderable(), width=140)
    assert "enter" in text and "send" in text
    assert "ctrl+j" in text and "a new line" in text


async def test_a_burst_of_keys_keeps_the_line_break_where_it_was_typed(guide, cards, tmp_path):
    """Keys that arrive in one read (a fast typist, a paste the terminal does not bracket) are
    handled in order: the line break goes between the characters it was typed between."""
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        for key, character in [("x", "x"), ("ctrl+j", "\n"), ("y", "y"), ("ctrl+j", "\n"), ("z", "z")]:
            app.post_message(events.Key(key, character))  # all queued before any is handled
        await pilot.pause()
        await pilot.pause()
        assert command.value == "x\ny\nz"


async def test_enter_twice_in_one_burst_sends_the_line_once(guide, cards, tmp_path):
    """A double tap of enter queued before the first is handled sends one message, not two; a
    line the bar refuses stays, and enter may be pressed on it again."""
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        command.value = "What do you drink at lunch?"
        for _ in range(3):
            app.post_message(events.Key("enter", "\r"))  # all queued before any is handled
        await settle(pilot)
        said = [e.text for e in events_of(run_dir) if isinstance(e, ev.Moderator)]
        assert said == ["What do you drink at lunch?"] and command.value == ""
        command.value = "/nosuchcommand"
        for _ in range(2):
            await pilot.press("enter")
        assert command.value == "/nosuchcommand"
        assert sum("nosuchcommand" in str(n.message) for n in app._notifications) >= 1
