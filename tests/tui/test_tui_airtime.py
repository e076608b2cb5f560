"""Who is talking: airtime on each pane and who is silent this section, from core/dynamics.py (issue 10)."""

from __future__ import annotations

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, session_screen, settle, submit
from troupe.core.dynamics import airtime, silent_in_section
from troupe.tui.screens.persona_detail import PersonaDetailScreen, airtime_line


async def test_panes_show_airtime_and_who_has_not_spoken_this_section(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        for line in ("/step", "What do you drink at lunch?"):
            await submit(pilot, line)
            await settle(pilot)
        await submit(pilot, "/next")
        await pilot.pause()
        await pilot.press("y")  # beats remain in the section: it asks first
        await settle(pilot)
        first = cards[0].name
        await submit(pilot, f"@{first} and you?")
        await settle(pilot)
        log = events_of(run_dir)
        assert first not in silent_in_section(log)
        assert any(r.turns > 1 for r in airtime(log).rows)
        rows = {r.agent: r for r in airtime(log).rows}
        for pane in screen.grid.panes:
            row = rows[pane.persona]
            turns = f"{row.turns} turn{'s' if row.turns != 1 else ''}"
            shown = f"{turns} · {row.words} words · {row.share:.0%}" if row.turns else ""
            assert str(pane.border_subtitle).startswith(shown)
            silent = pane.persona in silent_in_section(log)
            assert ("silent this section" in str(pane.border_subtitle)) == silent
            assert pane.has_class("-silent") == silent
        # the details screen shows the same numbers
        await submit(pilot, f"/details {first}")
        await pilot.pause()
        assert isinstance(app.screen, PersonaDetailScreen)
        row = rows[first]
        assert f"{row.words:,} words · {row.share:.0%} of the room" in str(airtime_line(app.screen.detail))


def test_silent_in_section_starts_over_at_each_section(cards):
    from troupe.core import events as ev

    names = [c.name for c in cards]
    ts = "2026-01-01T12:00:00Z"
    log = [
        ev.SessionStarted(seq=1, ts=ts, title="t", personas=names, backend="scripted"),
        ev.SectionStarted(seq=2, ts=ts, index=0, title="a"),
        ev.Say(seq=3, ts=ts, agent=names[0], text="hello there", turn=1),
    ]
    assert silent_in_section(log[:1]) == []
    assert silent_in_section(log) == names[1:]
    log.append(ev.SectionStarted(seq=4, ts=ts, index=1, title="b"))
    assert silent_in_section(log) == names
