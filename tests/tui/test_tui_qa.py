"""Regressions found by driving the TUI in a real terminal (tmux) as a moderator would."""

from __future__ import annotations

from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit, tui_config
from troupe.core import events as ev
from troupe.core.llm.scripted import ScriptedBackend
from troupe.tui.launch import new_session_app
from troupe.tui.widgets.session_header import HeaderInfo, SessionHeader, header_text


def app_for(guide, cards, tmp_path, backend=None, **config):
    run_dir = tmp_path / "run"
    app = new_session_app(
        guide, cards, backend or ScriptedBackend(seed=4), run_dir, seed=4, config=tui_config(tmp_path, **config)
    )
    return app, run_dir


LONG = HeaderInfo(
    title="Gazpacho Go — bottled chilled gazpacho concept test",
    section_index=2,
    section_count=5,
    section_title="Concept reactions",
    tokens=97_100,
    cost_usd=0.08,
    backend="scripted",
    model="scripted-1",
    paused=True,
)


def test_header_keeps_the_paused_flag_figures_and_model_at_80_columns():
    for width in (80, 100, 120):
        line = header_text(LONG, "02:56", width).plain
        assert len(line) <= width, line
        for part in ("PAUSED", "3 / 5", "02:56", "97.1k", "$0.08", "scripted-1"):
            assert part in line, (width, line)
    auto = header_text(HeaderInfo(**{**LONG.__dict__, "auto": True}), "02:56", 80).plain
    assert "AUTO" in auto and "PAUSED" in auto and len(auto) <= 80
    assert "Concept reactions" in header_text(LONG, "02:56", 160).plain


def test_header_projects_the_rest_of_the_guide_when_there_is_room() -> None:
    from troupe.core.budget import Projection, projection_text

    rest = projection_text(Projection(units=30, cost=0.12, tokens=41_000, seconds=170))
    assert rest == "rest ≈ $0.12 · 41k tok · 3 min"
    info = HeaderInfo(**{**LONG.__dict__, "projection": rest})
    assert rest in header_text(info, "02:56", 200).plain
    narrow = header_text(info, "02:56", 80).plain  # the first thing to give way
    assert rest not in narrow and "97.1k" in narrow and len(narrow) <= 80
    ended = HeaderInfo(**{**info.__dict__, "ended": True})
    assert "rest ≈" not in header_text(ended, "02:56", 200).plain


async def test_the_session_header_shows_the_projection(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "How much would you pay?")
        await settle(pilot)
        screen.flush()
        await pilot.pause()
        assert "rest ≈" in header_text(screen.query_one(SessionHeader).info, "00:00", 200).plain


async def test_the_feed_is_rewrapped_when_the_terminal_gets_narrower(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Tell us, in as many words as you like, what you usually have for lunch on a busy day?")
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        for _ in range(100):
            await pilot.pause(0.05)
            if screen.history_loaded and not screen.feed.needs_rewrap():
                break
        await settle(pilot)
        width = screen.feed.scrollable_content_region.width
        assert screen.feed.wrapped_at == max(20, width) < 100
        assert all(strip.cell_length <= width for strip in screen.feed.lines)
        text = " ".join(feed_text(screen).split())
        said = [e for e in events_of(run_dir) if isinstance(e, (ev.Moderator, ev.Say))]
        for event in said:  # every word is still on screen, wrapped rather than clipped
            assert " ".join(event.text.split()) in text
        assert screen.feed.shown == sum(
            1 for e in events_of(run_dir) if e.type in ("session_started", "section_started", "moderator", "say")
        )


async def test_a_verb_sent_while_the_session_is_paused_says_it_waits(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "/pause")
        await submit(pilot, "What do you think of the price?")
        await pilot.pause(0.3)
        screen.flush()
        assert any(n.title == "Session paused" for n in app._notifications)
        assert "waiting" in str(screen.control_bar.query_one("#run-status").content)
        log = events_of(run_dir)
        assert [e.text for e in log if isinstance(e, ev.Moderator)] == ["What do you think of the price?"]
        assert not any(isinstance(e, ev.Say) for e in log)
        await submit(pilot, "/resume")
        await settle(pilot)
        assert any(isinstance(e, ev.Say) for e in events_of(run_dir))
        assert "waiting" not in str(screen.control_bar.query_one("#run-status").content)


async def test_home_opens_on_a_template_with_its_panel_ticked_and_a_card_previewed(tmp_path):
    from textual.widgets import OptionList, SelectionList, Static

    from troupe.tui.app import TroupeApp

    app = TroupeApp(tui_config(tmp_path / "runs"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        home = app.screen
        assert home.query_one("#guides", OptionList).highlighted == 0
        panel = home.query_one("#panel", SelectionList)
        assert 2 <= len(panel.selected) <= 12
        highlighted = panel.get_option_at_index(panel.highlighted).value
        assert highlighted in panel.selected
        preview = str(home.query_one("#preview", Static).content)
        assert home._cards[highlighted].name in preview and "You are" in preview


def test_a_compact_pane_says_when_the_latest_turn_was_silent():
    from troupe.tui.widgets.persona_pane import PersonaPane

    pane = PersonaPane("Lucas Oliveira", "19 · student · Porto", "#61afef")
    pane.set_compact(True)
    pane.add_pass()
    assert "(passed: stayed silent)" in pane.render().plain
    pane.add_said("Too dear for me.")
    assert "Too dear for me." in pane.render().plain and "passed" not in pane.render().plain
    pane.add_thought("Not sure what to say.")
    assert "(thought privately)" in pane.render().plain


async def test_an_outage_is_one_notice_however_many_turns_and_workers_fail(guide, cards, tmp_path):
    from tests.tui.test_tui_resilience import FailingFor
    from troupe.core.errors import BackendUnavailableError

    backend = FailingFor("Maria Lopez", BackendUnavailableError("connection refused: http://127.0.0.1:9"))
    app, run_dir = app_for(guide, cards, tmp_path, backend=backend)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "Hello?")
        await settle(pilot)
        await pilot.pause(0.3)
        shown = [n for n in app._notifications if "connection refused" in n.message]
        assert len(shown) == 1, [(n.title, n.message) for n in shown]
        assert screen.grid.pane("Maria Lopez").badge_key == "error"
        assert any(isinstance(e, ev.Error) for e in events_of(run_dir))


async def test_the_footer_shows_the_essential_keys_and_quit_at_80_columns(guide, cards, tmp_path):
    from textual.widgets import Footer

    app, _ = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape")
        await pilot.pause(0.2)
        keys = list(screen.query_one(Footer).query("FooterKey"))
        palette = next(k for k in keys if "palette" in str(k.render()))
        shown = {str(k.render()).split()[0] for k in keys if k is not palette and k.region.right <= palette.region.x}
        assert {"space", "p", "m", "n", "e", "?", "^q"} <= shown, shown


async def test_the_dynamics_panel_shows_the_readouts_live(guide, cards, tmp_path):
    from troupe.core.dynamics import compute
    from troupe.sessions.dynamics_render import dynamics_summary
    from troupe.tui.widgets.dynamics_panel import DynamicsPanel, readouts_text

    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(140, 42)) as pilot:
        screen = await session_screen(pilot)
        panel = screen.query_one(DynamicsPanel)
        assert not panel.display
        await submit(pilot, "What would you pay for it?")
        await settle(pilot)
        await pilot.press("escape", "y")  # a panel key: it acts while the panel has focus
        await pilot.pause()
        assert panel.display
        shown = readouts_text(compute(events_of(run_dir))).plain
        assert str(panel.render()) == shown  # what the panel draws is the log's readouts
        assert dynamics_summary(compute(events_of(run_dir))).splitlines()[0] in shown
        assert "Airtime (words)" in shown and "Who answered whom" in shown
        await pilot.press("y")
        await pilot.pause()
        assert not panel.display


async def test_moves_against_conformity_have_keys_on_the_selected_persona(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=(140, 42)) as pilot:
        screen = await session_screen(pilot)
        await pilot.press("escape")
        selected = screen.grid.selected.persona
        await pilot.press("b")  # hold back the selected persona
        await settle(pilot)
        held = [e for e in events_of(run_dir) if e.type == "agent_held"]
        assert [e.agent for e in held] == [selected] and held[0].rounds == 2
        await pilot.press("c")  # call on the quiet ones: a round for those with least airtime
        await settle(pilot)
        assert any(e.type == "quiet_called" for e in events_of(run_dir))


async def test_a_question_typed_during_a_round_shows_as_queued_until_the_panel_hears_it(guide, cards, tmp_path):
    from troupe.core.llm.scripted import ScriptedBackend

    app, run_dir = app_for(guide, cards, tmp_path, backend=ScriptedBackend(seed=2, latency=1.5))
    async with app.run_test(size=(140, 42)) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, "First: would you try it?")
        for _ in range(100):  # the first round is under way
            await pilot.pause(0.02)
            if any(e.type == "moderator" for e in events_of(run_dir)):
                break
        await submit(pilot, "Second: [b]and at two euros?")
        for _ in range(50):
            await pilot.pause(0.02)
            if "queued" in screen.control_bar._status:
                break
        assert "1 queued: “Second: [b]and at two euros?”" in screen.control_bar._status
        assert "Second:" not in feed_text(screen)  # not logged, so not in the feed, until heard
        await settle(pilot)
        lines = [e for e in events_of(run_dir) if e.type in ("moderator", "say")]
        second = next(i for i, e in enumerate(lines) if e.type == "moderator" and e.text.startswith("Second"))
        first_seq = lines[0].seq
        assert all(e.reply_to == first_seq for e in lines[1:second])  # the first round's answers first
        assert "queued" not in screen.control_bar._status


async def test_the_export_notice_never_wraps_a_path_mid_word(guide, cards, tmp_path):
    from troupe.tui.screens.moderator import NOTICE_WIDTH

    deep = tmp_path / ("a-rather-long-folder-name-for-runs-" * 3)
    deep.mkdir()
    app, run_dir = app_for(guide, cards, deep)
    async with app.run_test(size=(120, 40)) as pilot:
        await session_screen(pilot)
        await submit(pilot, "/export md")
        for _ in range(100):
            await pilot.pause(0.02)
            notices = [n for n in app._notifications if n.title == "Exported md"]
            if notices:
                break
        folder, name = notices[-1].message.split("\n")
        assert len(folder) <= NOTICE_WIDTH and folder.startswith("…") and folder.endswith("run/")
        assert name == "transcript.md" and (run_dir / "transcript.md").is_file()
