"""Highlights and private notes: starring feed entries, the highlights dialog, /note (issue 10)."""

from __future__ import annotations

import json

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit
from troupe.core import events as ev
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.export import export_run
from troupe.tui.screens.highlights import HighlightsScreen

SECRET = "zebracorn-budget-is-fake"


async def test_star_key_and_command_log_highlights_and_the_dialog_jumps_to_them(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        for _ in range(3):
            await submit(pilot, "What do you drink at lunch, and why?")
            await settle(pilot)
        says = [e for e in events_of(run_dir) if isinstance(e, ev.Say)]
        first = says[0]
        await submit(pilot, f"/star {first.seq} price")
        await settle(pilot)
        # the key: the selected persona's latest line (panel keys act while a pane has focus)
        screen.set_focus(screen.grid.panes[1])
        await pilot.press("asterisk")
        await settle(pilot)
        log = events_of(run_dir)
        stars = [e for e in log if isinstance(e, ev.Highlight)]
        assert (stars[0].target, stars[0].tag) == (first.seq, "price")
        latest = [e for e in says if e.agent == screen.grid.panes[1].persona][-1]
        assert (stars[1].target, stars[1].tag) == (latest.seq, None)
        assert "★ STARRED" in feed_text(screen) and f"#{first.seq}" in feed_text(screen)
        # a seq that does not exist is refused with a notice, nothing logged
        await submit(pilot, "/star 99999")
        await settle(pilot)
        assert len([e for e in events_of(run_dir) if isinstance(e, ev.Highlight)]) == 2
        # the dialog lists both and jumps to the first one in the feed
        screen.feed.scroll_end(animate=False, immediate=True)
        screen.set_focus(screen.grid.panes[0])
        await pilot.press("h")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, HighlightsScreen) and len(dialog.highlights) == 2
        assert dialog.highlights[0].speaker == first.agent
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert screen.feed.scroll_y == screen.feed.line_y(first.seq)


async def test_a_note_never_reaches_a_prompt_or_a_memory_and_exports_mark_it_the_moderators(guide, cards, tmp_path):
    backend = ScriptedBackend(seed=3)
    app, run_dir = app_for(guide, cards, tmp_path, backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        await submit(pilot, f"/note {SECRET} [b]not markup[/b]")
        await settle(pilot)
        await submit(pilot, "What do you drink at lunch?")
        await settle(pilot)
        await submit(pilot, "/star 3 opening")
        await settle(pilot)
        for _ in range(2):
            await submit(pilot, "/step")
            await settle(pilot)
        assert f"{SECRET} [b]not markup[/b]" in feed_text(screen)
        session = screen.session
        for agent in session.room.agents.values():  # type: ignore[attr-defined]
            assert SECRET not in json.dumps(
                [str(item) for item in agent.memory.window] + [str(i) for i in agent.memory.pending]
            )
            assert SECRET not in agent.memory.notes
    notes = [e for e in events_of(run_dir) if isinstance(e, ev.Note)]
    assert notes and notes[0].text == f"{SECRET} [b]not markup[/b]"
    assert backend.requests  # the personas were prompted after the note, and none of it saw it
    assert not any(SECRET in m.content for r in backend.requests for m in r.messages)
    md = export_run(run_dir, "md").read_text()
    assert "## Highlights" in md and "## Moderator notes" in md and SECRET in md
    assert "`opening`" in md
    html = export_run(run_dir, "html").read_text()
    assert 'id="highlights"' in html and "not markup[/b]" in html and "<b>not markup" not in html
    data = json.loads(export_run(run_dir, "json").read_text())
    assert data["highlights"][0]["target"] == 3 and data["highlights"][0]["by"] == "moderator"
    assert data["moderator_notes"][0]["author"] == "Moderator"
    csv_text = export_run(run_dir, "csv").read_text()
    assert "highlight" in csv_text and "starred #3" in csv_text and SECRET in csv_text


def test_the_moderators_marks_are_never_among_what_personas_perceive():
    from troupe.core.room import HELD_TYPES

    assert ev.MODERATOR_ONLY_TYPES == {"highlight", "note", "observer_note"}
    assert not ev.MODERATOR_ONLY_TYPES & HELD_TYPES
