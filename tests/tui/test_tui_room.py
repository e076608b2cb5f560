"""The moderator's room (issue 9, items 3, 4, 11, 12): no accidental actions, private stays private.

Driven as a moderator would (keys, pastes, the control bar), on the real Session with the
scripted backend; the event log is the truth.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.widgets import Input, OptionList, Select, SelectionList, Static

from tests.tui import snapshot_app as apps
from tests.tui.tui_fixtures import events_of, plain, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.actions import TurnAction
from troupe.core.config import Settings
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.llm.structured import to_json_text
from troupe.core.polls import PollSpec
from troupe.tui.app import TroupeApp
from troupe.tui.launch import new_session_app
from troupe.tui.screens.confirm import ConfirmDialog
from troupe.tui.screens.export import ExportDialog
from troupe.tui.screens.help import help_renderable
from troupe.tui.screens.poll import PollDialog
from troupe.tui.screens.poll_results import PollResultsScreen
from troupe.tui.screens.stimulus import StimulusDialog
from troupe.tui.verbs import VERBS, panel_bindings
from troupe.tui.widgets.persona_grid import PersonaGrid

SIZE = (120, 40)


def app_for(guide, cards, tmp_path, backend=None):
    run_dir = tmp_path / "run"
    app = new_session_app(guide, cards, backend or ScriptedBackend(seed=3), run_dir, config=tui_config(tmp_path))
    return app, run_dir


def mode(screen) -> str:
    return str(screen.query_one("#mode", Static).content)


# -- 4. the mode is impossible to miss, and keys act only on the panel -------------------------


async def test_the_mode_indicator_says_input_or_keys(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        assert mode(screen) == "INPUT" and screen.focused is screen.control_bar.input
        await pilot.press("escape")
        assert mode(screen) == "KEYS" and screen.query_one("#mode").has_class("-keys")
        await pilot.press("i")
        assert mode(screen) == "INPUT" and screen.control_bar.input.value == ""
        await pilot.press("escape", "slash")
        assert mode(screen) == "INPUT" and screen.control_bar.input.value == "/"


async def test_typing_now_in_keys_mode_skips_nothing_and_opens_nothing(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "space")  # the first section opens; its round is still to come
        await settle(pilot)
        await pilot.press(*"now")  # meant for the control bar
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)  # n asks first; o and w did nothing
        await pilot.press("enter")  # the focus is on Cancel
        await settle(pilot)
        assert not isinstance(app.screen, (ConfirmDialog, PollDialog))
        assert [e.index for e in events_of(run_dir) if isinstance(e, ev.SectionStarted)] == [0]
        assert not any(e.type == "section_ended" for e in events_of(run_dir))


async def test_panel_keys_do_nothing_with_the_focus_nowhere_and_typing_types(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        screen.set_focus(None)
        await pilot.press(*"export")
        await pilot.pause()
        assert not isinstance(app.screen, ExportDialog)
        assert screen.control_bar.input.value == "export"


async def test_a_paste_in_keys_mode_goes_whole_into_the_control_bar(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape")
        app.post_message(events.Paste("Let me describe the next idea:\nsoup in a can."))
        await pilot.pause()
        assert app.screen is screen  # no e (export), no n, no s
        assert screen.control_bar.input.value == "Let me describe the next idea:\nsoup in a can."  # lines kept
        assert mode(screen) == "INPUT"
        assert not any(isinstance(e, ev.Moderator) for e in events_of(run_dir))  # nothing was sent


async def test_pasting_a_command_right_after_a_dialog_closes_keeps_all_of_it(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "s")
        assert isinstance(app.screen, StimulusDialog)
        await pilot.press("escape")
        app.post_message(events.Paste("/stimulus A new soup, €1.99"))
        await pilot.pause()
        assert screen.control_bar.input.value == "/stimulus A new soup, €1.99"


async def test_end_asks_first_and_cancel_keeps_the_session_open(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/end")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "Nobody can speak in this run" in plain(app.screen.query_one("#confirm-message").content)
        await pilot.press("escape")
        await settle(pilot)
        assert not any(isinstance(e, ev.SessionEnded) for e in events_of(run_dir))


async def test_quit_with_no_round_running_quits_at_once_and_says_how_to_resume(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("ctrl+q")
    assert app.return_code == 0
    assert app.exit_message() == f"The run is in {run_dir}.\nContinue it:  troupe resume {run_dir}"


# -- the verbs table feeds keys, help, palette and commands ------------------------------------


def test_one_table_feeds_the_keys_the_help_and_the_commands():
    keys = {b.key for b in panel_bindings()}
    assert {v.key for v in VERBS if v.key and v.key != "enter"} <= keys
    assert next(b for b in PersonaGrid.BINDINGS if b.key == "n").action == "screen.verb('next')"
    text = plain(help_renderable())
    for verb in VERBS:
        if verb.command:
            assert verb.syntax in text
    assert "/export [md|json|csv|html]" in text  # the brackets are text, not markup


async def test_every_slash_command_runs_its_verb(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        ran: list[tuple[str, str]] = []
        screen.run_verb = lambda name, argument="", rest="": ran.append((name, argument))  # type: ignore[method-assign]
        for verb in VERBS:
            if verb.command:
                await submit(pilot, f"/{verb.command} {'Tom' if verb.needs_argument else ''}".strip())
        # a persona's name is resolved (Tom → Tom Becker); any other argument (/note TEXT) is kept
        expected = [
            (v.name, ("Tom Becker" if v.name_argument else "Tom") if v.needs_argument else "")
            for v in VERBS
            if v.command
        ]
        assert ran == expected


# -- 3. private thoughts are never drawn while hidden, not even while they stream --------------


class ThinksSlowly(ScriptedBackend):
    """Every turn is a private thought, streamed a few characters at a time."""

    async def complete(self, request, *, on_delta=None):
        response = await super().complete(request)
        if request.output_model is TurnAction:
            text = to_json_text(TurnAction(action="think", text="SECRET plan to say no", to=None, feeling=None))
            response.text, response.parsed = text, TurnAction.model_validate_json(text)
            if on_delta is not None:
                for i in range(0, len(text), 4):
                    on_delta(text[i : i + 4])
                    await asyncio.sleep(0.02)
        return response


async def test_a_thought_streams_without_its_words_while_thoughts_are_hidden(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards[:2], tmp_path, backend=ThinksSlowly(seed=1))
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        pane = screen.grid.pane("Maria Lopez")
        await submit(pilot, "What do you really think?")
        seen_thinking = False
        while any(w.is_running for w in app.workers if w.group == "turns"):
            await pilot.pause(0.01)
            drawn = pane.render().plain
            assert "SECRET" not in drawn
            seen_thinking |= pane.partial is not None and "thinking" in drawn
        await settle(pilot)
        assert seen_thinking  # it streamed, and only the badge showed
        assert "SECRET" not in pane.render().plain and "thought privately" in pane.render().plain
        assert any(isinstance(e, ev.Think) for e in events_of(run_dir))
        pane.set_activity("thinking", "SECRET again")  # shown thoughts: the stream is drawn too
        await pilot.press("escape", "t")
        assert "SECRET again" in pane.render().plain


# -- 11. discuss the results of a revealed poll ------------------------------------------------


async def test_the_results_dialog_offers_a_discussion_round_logged_as_such(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards[:3], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await screen.session.poll(PollSpec(id="buy", question="Would you buy it?", kind="likert5"))
        await settle(pilot)
        await pilot.press("escape", "r")
        assert isinstance(app.screen, PollResultsScreen) and app.screen.discussable == "buy"
        await pilot.press("d")
        await settle(pilot)
        log = events_of(run_dir)
        opened = next(e for e in log if isinstance(e, ev.Moderator) and e.source == "discuss_results")
        assert opened.poll_id == "buy" and "Would you buy it?" in opened.text
        later = log[log.index(opened) + 1 :]
        assert later[0].type == "round_started"
        assert {e.reply_to for e in later if isinstance(e, ev.Say)} == {opened.seq}


async def test_discuss_before_any_revealed_poll_says_so(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards[:2], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/discuss")
        await settle(pilot)
        assert any("No poll's results" in n.message for n in app._notifications)
        assert not any(isinstance(e, ev.Moderator) for e in events_of(run_dir))


# -- 12. the home screen --------------------------------------------------------------------


def home(tmp_path, **settings) -> TroupeApp:
    config = tui_config(
        tmp_path / "runs",
        guides=lambda: sorted(apps.SNAPSHOT_DATA.glob("*.toml")),
        library=apps.library,
        settings=lambda: Settings(**settings),
    )
    return TroupeApp(config)


async def test_home_keeps_ticks_made_by_hand_when_the_guide_cursor_moves(tmp_path):
    app = home(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        panel = app.screen.query_one("#panel", SelectionList)
        ticked_by_guide = set(panel.selected)
        panel.focus()
        panel.highlighted = 5
        await pilot.press("space")  # a tick of the moderator's own
        await pilot.pause()
        mine = set(panel.selected)
        assert mine != ticked_by_guide
        guides = app.screen.query_one("#guides", OptionList)
        guides.focus()
        await pilot.press("down")
        await pilot.pause()
        assert set(panel.selected) == mine


async def test_home_preselects_a_backend_that_runs_here_and_says_why_others_cannot(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    app = home(tmp_path)  # no key, no base URL: openai and local (the default) cannot run
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.query_one("#backend", Select).value == "scripted"
        note = str(app.screen.query_one("#backend-note", Static).content)
        assert "pip install 'troupe[local]'" in note and "OPENAI_API_KEY" in note
    configured = home(tmp_path, api_key="sk-test")
    async with configured.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert configured.screen.query_one("#backend", Select).value == "auto"


async def test_home_highlights_the_newest_run_and_tells_runs_apart(tmp_path):
    from tests.tui.tui_fixtures import make_cards, make_guide
    from troupe.sessions.session import Session

    runs = tmp_path / "runs"
    for n, name in enumerate(("older", "newer")):
        session = await Session.start(make_guide(), make_cards(2 + n), ScriptedBackend(seed=n), runs / name)
        await session.step()
        if n == 0:
            await session.end()
        await session.aclose()
        await asyncio.sleep(0.05)
    app = home(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        listed = app.screen.query_one("#runs", OptionList)
        assert listed.highlighted == 0
        first, second = (str(listed.get_option_at_index(i).prompt) for i in range(2))
        assert "Maria, Tom, Aiko" in first and "stopped, resumable" in first and "last: Warm-up" in first
        assert "Maria, Tom" in second and "ended" in second
        assert first.splitlines()[1] != second.splitlines()[1]


async def test_the_poll_dialog_opens_on_its_question_from_the_command_line(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/poll Is [b]this[/b] fair?")
        assert app.screen.query_one("#poll-question", Input).value == "Is [b]this[/b] fair?"


# -- 15. cosmetics -----------------------------------------------------------------------------


async def test_changing_the_stimulus_kind_moves_the_focus_to_the_field_to_type_in(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        assert isinstance(dialog, StimulusDialog)
        dialog.query_one("#stimulus-kind", Select).focus()
        dialog.query_one("#stimulus-kind", Select).value = "image"
        await pilot.pause()
        assert dialog.focused is dialog.query_one("#stimulus-path")
        await pilot.press(*"pics/a.png")
        assert dialog.query_one("#stimulus-path", Input).value == "pics/a.png"


async def test_panes_list_oldest_first_and_use_the_height_of_a_tall_terminal(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(200, 55)) as pilot:
        screen = await session_screen(pilot)
        assert screen.grid.plan is not None and screen.grid.plan.pane_height > 8
        pane = screen.grid.pane("Maria Lopez")
        for n in range(3):
            pane.add_said(f"Utterance number {n}. " + "And then some more words. " * 3)
        await pilot.pause()
        text = pane.text().plain
        assert text.index("Utterance number 0") < text.index("Utterance number 2")
        for n in range(4):  # more than fits: the oldest go, and the cut is marked
            pane.add_said(f"Long point {n}: " + "words and words " * 80)
        await pilot.pause()
        drawn = pane.render().plain.splitlines()
        assert len(drawn) <= pane.content_size.height
        assert drawn[1].startswith("…") and drawn[-1].endswith("”")  # the newest words stay


async def test_notices_never_pile_up(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        for n in range(6):
            await submit(pilot, f"/pause nobody{n}")
        await pilot.pause()
        assert len(app._notifications) == 3
        assert "nobody5" in list(app._notifications)[-1].message


# -- 14. an image stimulus is kept in the run, embedded by HTML, linked by Markdown ---------------


async def test_an_image_stimulus_is_copied_into_the_run_and_embedded_in_the_html(guide, cards, tmp_path):
    import base64

    from troupe.sessions.export import export_run

    picture = tmp_path / "pics" / "bottle.png"
    picture.parent.mkdir()
    picture.write_bytes(
        base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
        )
    )
    app, run_dir = app_for(guide, cards[:2], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        dialog.query_one("#stimulus-kind", Select).value = "image"
        await pilot.pause()
        dialog.query_one("#stimulus-path", Input).value = str(picture)
        dialog.query_one("#stimulus-text").text = "A green bottle of gazpacho."
        await pilot.press("ctrl+s")
        await settle(pilot)
    shown = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
    assert shown.path == "stimuli/bottle.png"
    assert (run_dir / "stimuli" / "bottle.png").read_bytes() == picture.read_bytes()
    picture.unlink()  # the run no longer needs the original
    page = export_run(run_dir, "html").read_text(encoding="utf-8")
    assert '<img src="data:image/png;base64,iVBORw0KGgo' in page
    markdown = export_run(run_dir, "md").read_text(encoding="utf-8")
    assert "](stimuli/bottle.png)" in markdown


# -- 13. exports of an ended run are recorded beside the log, never in it ---------------------


async def test_an_export_after_the_end_goes_to_the_exports_file_not_the_closed_log(guide, cards, tmp_path):
    import json

    app, run_dir = app_for(guide, cards[:2], tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/export md")  # live: an `exported` event
        await settle(pilot)
        await submit(pilot, "/end")
        await pilot.press("y")
        await settle(pilot)
        await submit(pilot, "/export json")  # ended: nothing more may be appended to the log
        await settle(pilot)
    log = events_of(run_dir)
    assert [(e.format, e.path) for e in log if e.type == "exported"] == [
        ("md", str(run_dir.resolve() / "transcript.md"))
    ]
    assert log[-1].type == "session_ended"
    audit = [json.loads(line) for line in (run_dir / "exports.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(a["format"], a["path"]) for a in audit] == [("json", str(run_dir.resolve() / "transcript.json"))]
