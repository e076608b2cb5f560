"""The rest of the UI: auto-run, palette, details, help, thoughts, streaming, small terminals, home."""

from __future__ import annotations

import asyncio

from textual.widgets import OptionList, Select, SelectionList

from tests.tui.tui_fixtures import events_of, make_cards, plain, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.llm.scripted import ScriptedBackend
from troupe.tui.app import TroupeApp
from troupe.tui.launch import new_session_app
from troupe.tui.screens.confirm import ConfirmDialog
from troupe.tui.screens.help import HelpScreen
from troupe.tui.screens.home import HomeScreen
from troupe.tui.screens.persona_detail import PersonaDetailScreen
from troupe.tui.screens.session import SessionScreen


def app_for(guide, cards, tmp_path, backend=None, **config):
    return new_session_app(
        guide,
        cards,
        backend or ScriptedBackend(seed=2),
        tmp_path / "run",
        seed=2,
        config=tui_config(tmp_path, **config),
    )


async def test_auto_run_steps_the_guide_to_its_end_and_turns_itself_off(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "a")  # with an instant backend the guide may already be done
        for _ in range(300):
            if not screen.auto:
                break
            await pilot.pause(0.05)
        assert not screen.auto
        log = events_of(tmp_path / "run")
        assert [e.index for e in log if isinstance(e, ev.SectionStarted)] == [0, 1, 2]
        assert any(isinstance(e, ev.PollAnswer) for e in log)  # the guide's poll ran
        assert not any(isinstance(e, ev.SessionEnded) for e in log)  # ending is the moderator's call
        assert any(n.title == "Guide finished" for n in app._notifications)


async def test_space_stops_auto_run(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path, backend=ScriptedBackend(seed=2, latency=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape", "a")
        await pilot.pause(0.1)
        await pilot.press("space")
        assert not screen.auto
        rounds_started = sum(e.type == "round_started" for e in screen.session.events)
        while any(w.is_running for w in app.workers if w.group == "auto"):
            await pilot.pause(0.05)  # the beat in flight finishes…
        await settle(pilot)
        log = events_of(tmp_path / "run")
        assert sum(e.type == "round_started" for e in log) == rounds_started  # …and no new one starts
        assert log[-1].type in ("round_ended", "section_ended", "section_started", "moderator", "stimulus")


async def test_command_palette_offers_every_moderator_action(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        titles = [a.title for a in screen.palette_actions()]
        assert {
            "Next round",
            "Toggle auto-run",
            "Show a stimulus…",
            "Poll the panel…",
            "Next section",
            "Export…",
            "End the session",
            "Pause Tom Becker",
            "Mute Tom Becker",
        } <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.press(*"pause tom")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(pilot)
        assert any(isinstance(e, ev.AgentPaused) and e.agent == "Tom Becker" for e in events_of(tmp_path / "run"))
        await pilot.press("ctrl+p", *"theme")  # Textual's own commands are still there
        await pilot.pause(0.3)
        assert "theme" in str(app.screen.query("CommandList").first().get_option_at_index(0).prompt).lower()


async def test_end_command_ends_the_session(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "/end")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)  # an end cannot be undone: asked first
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(events_of(tmp_path / "run")[-1], ev.SessionEnded)
        assert "ENDED" in plain(screen.query_one("#session-header").content)


async def test_persona_detail_shows_card_memory_answers_and_airtime(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/poll Is it tasty?")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("escape")  # close the results
        await submit(pilot, "Tell us why.")
        await settle(pilot)
        await submit(pilot, "/details maria")
        detail = app.screen
        assert isinstance(detail, PersonaDetailScreen)
        airtime = plain(detail.query_one("#detail-airtime").content)
        from troupe.core.dynamics import airtime as airtime_of

        row = next(r for r in airtime_of(events_of(tmp_path / "run")).rows if r.agent == "Maria Lopez")
        assert f"{row.words:,} words · {row.share:.0%} of the room" in airtime  # /dynamics' numbers
        assert "Is it tasty?" in plain(detail.query_one("#detail-answers").content, width=160)
        assert "You are Maria Lopez" in plain(detail.query_one("#detail-card").content)
        await pilot.press("escape")
        await pilot.press("escape", "enter")  # enter on the selected pane opens it too
        assert isinstance(app.screen, PersonaDetailScreen)


async def test_help_lists_keys_and_commands(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await session_screen(pilot)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = plain(app.screen.query_one("Static").content)
        assert "/stimulus" in text and "ctrl+p" in text and "space" in text
        await pilot.press("escape")
        assert isinstance(app.screen, SessionScreen)


async def test_thoughts_toggle_shows_private_thoughts_in_the_panes(guide, cards, tmp_path):
    app = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        pane = screen.grid.pane("Maria Lopez")
        pane.add_thought("I should not say this out loud.")
        assert "thinks" not in pane.render().plain
        await pilot.press("escape", "t")
        assert "(thinks) I should not say this out loud." in pane.render().plain


async def test_streaming_text_reaches_the_pane_before_the_turn_ends(guide, cards, tmp_path):
    backend = ScriptedBackend(seed=2, stream_chunk=3, stream_delay=0.03)
    app = app_for(guide, cards, tmp_path, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Go ahead.")
        seen: set[str] = set()
        for _ in range(200):
            await pilot.pause(0.05)
            for pane in screen.grid.panes:
                if pane.partial:
                    seen.add(pane.persona)
                    assert "▍" in pane.render().plain
            if not any(w.is_running for w in app.workers if w.group == "turns"):
                break
        await settle(pilot)
        assert seen, "no pane showed text while it was being generated"
        assert all(p.partial is None for p in screen.grid.panes)


async def test_twelve_personas_fit_an_80x24_terminal(guide, tmp_path):
    app = app_for(guide, make_cards(12), tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await session_screen(pilot)
        assert screen.grid.plan.compact
        for pane in screen.grid.panes:
            region = pane.region
            assert region.height == 1 and region.bottom <= 24 and region.right <= 80, pane.persona
        assert screen.feed.region.height >= 5
        assert screen.control_bar.region.y == 22


async def test_panes_are_laid_out_again_on_resize(guide, tmp_path):
    app = app_for(guide, make_cards(8), tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        wide = screen.grid.plan
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.1)
        assert screen.grid.plan != wide
        assert all(p.region.right <= 80 for p in screen.grid.panes)


async def test_home_screen_starts_a_session_with_the_ticked_panel(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = TroupeApp(tui_config(tmp_path / "runs"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        home = app.screen
        assert isinstance(home, HomeScreen)
        guides = home.query_one("#guides", OptionList)
        assert guides.option_count >= 1
        guides.highlighted = next(i for i, p in enumerate(home.guides) if p.stem == "concept-test")
        await pilot.pause(0.1)
        panel = home.query_one("#panel", SelectionList)
        ticked = list(panel.selected)
        assert 2 <= len(ticked) <= 12  # the guide's own panel
        panel.deselect(ticked[-1])
        home.query_one("#backend", Select).value = "scripted"
        await pilot.click("#start")
        screen = await session_screen(pilot)
        assert len(screen.grid.panes) == len(ticked) - 1
        run_dirs = list((tmp_path / "runs").iterdir())
        assert len(run_dirs) == 1 and (run_dirs[0] / "events.jsonl").is_file()
        await pilot.press("ctrl+q")


async def test_home_screen_resumes_a_recent_run(guide, cards, tmp_path, monkeypatch):
    from troupe.sessions.session import Session

    run_dir = tmp_path / "runs" / "20260101-120000-cold-soup"
    session = await Session.start(guide, cards, ScriptedBackend(), run_dir)
    await session.say("Before the break.")
    await session.aclose()
    app = TroupeApp(tui_config(tmp_path / "runs"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        home = app.screen
        runs = home.query_one("#runs", OptionList)
        assert "Cold soup test" in str(runs.get_option_at_index(0).prompt)
        home.query_one("#backend", Select).value = "scripted"
        runs.highlighted = 0
        await pilot.press("ctrl+r")
        screen = await session_screen(pilot)
        assert len(screen.grid.panes) == 4
        assert screen.feed.shown > 4
        await asyncio.sleep(0)
