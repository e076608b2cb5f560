"""Pilot tests for every moderator action, driving the real Session (scripted backend).

Each test asserts on the event log (``events.jsonl`` read back with ``read_events``) and on
the screen: the log is the truth, the screen must show it.
"""

from __future__ import annotations

from textual.widgets import Input, Select, Static

from tests.tui.tui_fixtures import events_of, feed_text, plain, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.llm.scripted import ScriptedBackend
from troupe.tui.launch import new_session_app, resume_app
from troupe.tui.screens.confirm import ConfirmDialog
from troupe.tui.screens.export import ExportDialog
from troupe.tui.screens.poll import PollDialog
from troupe.tui.screens.poll_results import PollResultsScreen
from troupe.tui.screens.stimulus import StimulusDialog

SIZE = (120, 40)


def app_for(guide, cards, tmp_path, backend=None, **config):
    run_dir = tmp_path / "run"
    app = new_session_app(
        guide, cards, backend or ScriptedBackend(seed=3), run_dir, seed=3, config=tui_config(tmp_path, **config)
    )
    return app, run_dir


def after(events, predicate):
    """Events after the first one matching ``predicate``."""
    for i, event in enumerate(events):
        if predicate(event):
            return events[i + 1 :]
    raise AssertionError("no such event")


async def test_typing_a_line_speaks_to_the_room_and_everyone_answers(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        assert screen.focused is screen.control_bar.input  # the moderator can type at once
        await pilot.press(*"What do you drink at lunch?", "enter")
        await settle(pilot)
        log = events_of(run_dir)
        said = [e for e in log if isinstance(e, ev.Moderator)]
        assert [(m.text, m.to, m.source) for m in said] == [("What do you drink at lunch?", None, "moderator")]
        answers = [
            e for e in after(log, lambda e: isinstance(e, ev.Moderator)) if isinstance(e, (ev.Say, ev.Think, ev.Pass))
        ]
        assert {e.agent for e in answers} == {c.name for c in cards}
        text = feed_text(screen)
        assert "MODERATOR" in text and "What do you drink at lunch?" in text
        first_say = next(e for e in answers if isinstance(e, ev.Say))
        assert first_say.text[:30] in text.replace("\n", " ").replace("  ", " ") or first_say.text[:20] in text
        assert screen.grid.pane(first_say.agent).said[-1] == first_say.text
        assert screen.control_bar.input.value == ""


async def test_at_name_asks_only_that_persona(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "@tom what would change your mind?")
        await settle(pilot)
        log = events_of(run_dir)
        asked = next(e for e in log if isinstance(e, ev.Moderator))
        assert asked.to == ["Tom Becker"] and asked.text == "what would change your mind?"
        turns = [
            e
            for e in after(log, lambda e: e is asked or e.seq == asked.seq)
            if isinstance(e, (ev.Say, ev.Think, ev.Pass))
        ]
        assert turns and {e.agent for e in turns} == {"Tom Becker"}


async def test_stimulus_dialog_shows_a_concept_card(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "s")
        dialog = app.screen
        assert isinstance(dialog, StimulusDialog)
        dialog.query_one("#stimulus-kind", Select).value = "concept"
        await pilot.press(*"Cold soup in a bottle.")  # the body has focus
        await pilot.press("ctrl+s")  # a concept needs a title: refused, explained, still open
        assert app.screen is dialog
        assert "title" in str(dialog.query_one("#dialog-error", Static).content)
        dialog.query_one("#stimulus-title", Input).value = "Gazpacho Go"
        await pilot.press("ctrl+s")
        await settle(pilot)
        log = events_of(run_dir)
        stimulus = next(e for e in log if isinstance(e, ev.Stimulus))
        assert (stimulus.source, stimulus.kind, stimulus.title, stimulus.text) == (
            "moderator",
            "concept",
            "Gazpacho Go",
            "Cold soup in a bottle.",
        )
        assert any(isinstance(e, ev.Say) for e in after(log, lambda e: isinstance(e, ev.Stimulus)))
        assert "STIMULUS" in feed_text(screen) and "Gazpacho Go" in feed_text(screen)


async def test_slash_stimulus_with_text_shows_it_at_once(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/stimulus A chilled bottle, 2 euros")
        await settle(pilot)
        stimulus = next(e for e in events_of(run_dir) if isinstance(e, ev.Stimulus))
        assert (stimulus.kind, stimulus.text) == ("text", "A chilled bottle, 2 euros")


async def test_poll_dialog_runs_a_poll_and_charts_the_results(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/poll Which size?")
        dialog = app.screen
        assert isinstance(dialog, PollDialog)
        assert dialog.query_one("#poll-question", Input).value == "Which size?"
        dialog.query_one("#poll-kind", Select).value = "single"
        dialog.query_one("#poll-options", Input).value = "Small, Large"
        await pilot.press("ctrl+s")
        await settle(pilot)
        log = events_of(run_dir)
        asked = next(e for e in log if isinstance(e, ev.PollAsked))
        assert (asked.question, asked.kind, asked.options, asked.private_first) == (
            "Which size?",
            "single",
            ["Small", "Large"],
            True,
        )
        answers = [e for e in log if isinstance(e, ev.PollAnswer) and e.poll_id == asked.poll_id]
        assert {a.agent for a in answers} == {c.name for c in cards}
        results = app.screen
        assert isinstance(results, PollResultsScreen)
        chart = plain(results.query_one(".poll-result", Static).content)
        assert "Which size?" in chart and "█" in chart
        assert sum(
            int(line.split("(")[0].split()[-1]) for line in chart.splitlines() if line.startswith(("Small", "Large"))
        ) == len(cards)
        await pilot.press("escape")
        assert not isinstance(app.screen, PollResultsScreen)


async def test_pause_stops_the_selected_personas_turns(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "right")  # selection: Maria → Tom
        assert screen.grid.selected.persona == "Tom Becker"
        await pilot.press("p")
        await submit(pilot, "Anything else?")
        await settle(pilot)
        log = events_of(run_dir)
        paused = next(e for e in log if isinstance(e, ev.AgentPaused))
        assert paused.agent == "Tom Becker"
        later = [
            e for e in after(log, lambda e: isinstance(e, ev.AgentPaused)) if isinstance(e, (ev.Say, ev.Think, ev.Pass))
        ]
        assert later and "Tom Becker" not in {e.agent for e in later}
        pane = screen.grid.pane("Tom Becker")
        assert pane.badge_key == "paused" and pane.has_class("-paused")
        await pilot.press("escape", "p")  # p again resumes
        assert isinstance(events_of(run_dir)[-1], ev.AgentResumed)


async def test_mute_keeps_turns_but_marks_them_unheard(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "/mute aiko")
        await submit(pilot, "Tell me more.")
        await settle(pilot)
        log = events_of(run_dir)
        assert any(isinstance(e, ev.AgentMuted) and e.agent == "Aiko Sato" for e in log)
        aiko = [e for e in log if isinstance(e, ev.Say) and e.agent == "Aiko Sato"]
        others = [e for e in log if isinstance(e, ev.Say) and e.agent != "Aiko Sato"]
        assert all(e.muted for e in aiko) and not any(e.muted for e in others)
        assert screen.grid.pane("Aiko Sato").muted
        assert "(muted)" in feed_text(screen) or not aiko


async def test_next_section_key_moves_through_the_guide(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "n")  # before the first section: nothing to skip, no question
        await settle(pilot)
        await pilot.press("n")  # the warm-up's round has not run: asks first
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        log = events_of(run_dir)
        sections = [(e.index, e.title) for e in log if isinstance(e, ev.SectionStarted)]
        assert sections == [(0, "Warm-up"), (1, "Concept")]
        assert any(e.type == "section_ended" and e.index == 0 and e.skipped for e in log)
        header = screen.query_one("#session-header", Static).content
        assert "2 / 3: Concept" in plain(header)


async def test_space_advances_the_guide_one_beat(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "space")
        await settle(pilot)
        assert [e.type for e in events_of(run_dir)][1:3] == ["section_started", "moderator"]
        await pilot.press("space")
        await settle(pilot)
        assert any(isinstance(e, ev.Say) for e in events_of(run_dir))


async def test_export_dialog_writes_the_transcript(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "Hello panel")
        await settle(pilot)
        await pilot.press("escape", "e")
        assert isinstance(app.screen, ExportDialog)
        await pilot.press("ctrl+s")
        await settle(pilot)
        written = run_dir / "transcript.md"
        assert written.is_file() and "Hello panel" in written.read_text(encoding="utf-8")
        await submit(pilot, "/export json")
        await settle(pilot)
        assert (run_dir / "transcript.json").is_file()
        before = (run_dir / "transcript.json").read_text(encoding="utf-8")
        await submit(pilot, "Second line")
        await settle(pilot)
        await submit(pilot, "/export json")  # exists, no force: the dialog says so, nothing written
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, ExportDialog)
        error = str(dialog.query_one("#dialog-error", Static).content)
        assert "already exists" in error and "Overwrite" in error and "--force" not in error
        assert (run_dir / "transcript.json").read_text(encoding="utf-8") == before
        assert dialog.focused is dialog.query_one("#export-force")  # the fix is one key away
        await pilot.press("space", "ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
        assert "Second line" in (run_dir / "transcript.json").read_text(encoding="utf-8")
        await pilot.press("escape", "e")  # from the dialog: a folder that does not exist stays in it
        dialog = app.screen
        dialog.query_one("#export-path", Input).value = str(tmp_path / "nowhere" / "t.md")
        await pilot.press("ctrl+s")
        assert app.screen is dialog
        assert "does not exist" in str(dialog.query_one("#dialog-error", Static).content)
        elsewhere = tmp_path / "Documents"  # outside the run folder and the current directory: fine
        elsewhere.mkdir()
        dialog.query_one("#export-path", Input).value = str(elsewhere / "t.md")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert (elsewhere / "t.md").is_file()
        await pilot.press("escape", "e")  # again: the file exists, so it asks before replacing it
        dialog = app.screen
        dialog.query_one("#export-path", Input).value = str(elsewhere / "t.md")
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("y")
        await settle(pilot)
        assert not isinstance(app.screen, (ExportDialog, ConfirmDialog))
        exported = [e for e in events_of(run_dir) if e.type == "exported"]
        assert [(e.format, e.path) for e in exported] == [
            ("md", str(run_dir.resolve() / "transcript.md")),
            ("json", str(run_dir.resolve() / "transcript.json")),
            ("json", str(run_dir.resolve() / "transcript.json")),
            ("md", str(elsewhere.resolve() / "t.md")),
            ("md", str(elsewhere.resolve() / "t.md")),
        ]
        assert not (run_dir / "exports.jsonl").exists()  # a live run logs its exports as events
        assert not any(n.severity == "error" for n in app._notifications)


async def test_typing_never_fires_the_one_key_bindings(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await pilot.press(*"pause mute next space export")
        assert screen.control_bar.input.value == "pause mute next space export"
        await settle(pilot)
        assert [e.type for e in events_of(run_dir)] == ["session_started"]


async def test_history_and_completion_in_the_control_bar(guide, cards, tmp_path):
    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        command = screen.control_bar.input
        await pilot.press(*"/thoughts", "enter")
        assert screen.show_thoughts
        await pilot.press(*"@ai")
        await pilot.pause(0.1)
        await pilot.press("tab")
        assert command.value == "@Aiko Sato"
        command.value = ""
        await pilot.press("up")
        assert command.value == "/thoughts"
        await pilot.press("down")
        assert command.value == ""


async def test_quit_mid_session_then_resume_continues_the_same_log(guide, cards, tmp_path):
    slow = ScriptedBackend(seed=3, latency=5.0)  # the round is still running when ctrl+q lands, however loaded
    app, run_dir = app_for(guide, cards, tmp_path, backend=slow)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        screen = await session_screen(pilot)
        await submit(pilot, "First question?")
        for _ in range(100):  # turns in flight (however loaded the machine is)
            if screen.round_running() and any(isinstance(e, ev.Moderator) for e in events_of(run_dir)):
                break
            await pilot.pause(0.02)
        await pilot.press("ctrl+q")
        for _ in range(50):
            if isinstance(app.screen, ConfirmDialog):
                break
            await pilot.pause(0.02)
        assert isinstance(app.screen, ConfirmDialog)  # a round runs: quitting asks first
        await pilot.press("ctrl+q")  # ctrl+q again confirms
    assert app.return_code == 0
    assert app.exit_message() == f"The run is in {run_dir}.\nContinue it:  troupe resume {run_dir}"
    before = events_of(run_dir)
    assert [e.seq for e in before] == list(range(1, len(before) + 1))
    assert any(isinstance(e, ev.Moderator) for e in before)
    assert not any(isinstance(e, ev.SessionEnded) for e in before)

    again = resume_app(run_dir, ScriptedBackend(seed=3), config=tui_config(tmp_path))
    async with again.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        assert "First question?" in feed_text(screen)
        await submit(pilot, "Second question?")
        await settle(pilot)
    after_resume = events_of(run_dir)
    assert [e.seq for e in after_resume] == list(range(1, len(after_resume) + 1))
    assert after_resume[: len(before)] == before
    assert [e.text for e in after_resume if isinstance(e, ev.Moderator)] == ["First question?", "Second question?"]
