"""The guide sidebar: sections, goal, what is to come, probes fired with one key, the clocks (issue 10)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.tui.test_tui_session import app_for
from tests.tui.tui_fixtures import events_of, session_screen, settle, submit
from troupe.core import events as ev
from troupe.core.clock import FixedClock
from troupe.sessions.guide import Guide
from troupe.sessions.guide_status import guide_status
from troupe.tui.widgets.guide_sidebar import GuideSidebar

PROBES = ["What would make you switch?", "Who buys [b]lunch[/b] at home?"]


def probe_guide() -> Guide:
    return Guide.model_validate(
        {
            "title": "Cold soup test",
            "defaults": {"policy": "parallel", "rounds": 1},
            "sections": [
                {
                    "title": "Warm-up",
                    "goal": "Find out their lunch habits",
                    "prompt": "What do you usually have for lunch?",
                    "duration_min": 1,
                    "rounds": 1,
                    "probes": PROBES,
                    "stimuli": [{"kind": "concept", "title": "Gazpacho Go", "text": "Bottled gazpacho."}],
                    "polls": [{"id": "intent", "question": "I would buy it.", "kind": "likert5"}],
                },
                {"title": "Wrap-up", "prompt": "One last thing for the makers?", "duration_min": 10, "rounds": 1},
            ],
        }
    )


async def test_the_sidebar_shows_the_section_fires_probes_and_runs_the_clock(cards, tmp_path):
    app, run_dir = app_for(probe_guide(), cards, tmp_path, clock=FixedClock(step=20))
    async with app.run_test(size=(140, 42)) as pilot:
        screen = await session_screen(pilot)
        sidebar = screen.query_one(GuideSidebar)
        assert not sidebar.display
        await submit(pilot, "/step")  # opens the first section
        await settle(pilot)
        screen.set_focus(screen.grid.panes[0])
        await pilot.press("g")
        await pilot.pause()
        assert sidebar.display and sidebar.status is not None
        status = sidebar.status
        assert (status.current, status.goal, status.probes_left) == (0, "Find out their lunch habits", PROBES)
        assert status.stimuli_to_come == ["Gazpacho Go"] and status.polls_to_come == ["I would buy it."]
        assert status.total_minutes == 11
        # a probe fired with one key: a moderator line marked as the guide's probe, answered
        sidebar.query_one("#guide-probes").focus()
        await pilot.press("enter")
        await settle(pilot)
        fired = [e for e in events_of(run_dir) if isinstance(e, ev.Moderator) and e.source == "probe"]
        assert [e.text for e in fired] == [PROBES[0]]
        assert any(isinstance(e, ev.Say) and e.seq > fired[0].seq for e in events_of(run_dir))
        assert sidebar.status.probes_left == [PROBES[1]]
        await submit(pilot, "/probe 1")
        await settle(pilot)
        assert sidebar.status.probes_left == []
        # the clock: every log entry is 20 s apart here, so the 1-minute section is over (red)
        assert sidebar.status.section_over and not sidebar.status.total_over
        clock = str(sidebar.query_one("#guide-clock").render())
        assert "/ 01:00" in clock and "/ 11:00" in clock
        # it folds away on a small terminal, and comes back
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert not sidebar.display
        await pilot.resize_terminal(140, 42)
        await pilot.pause(0.3)
        assert sidebar.display


def test_guide_status_counts_what_is_left_from_the_log(cards, tmp_path):
    guide = probe_guide()
    t0 = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)

    def at(seconds: float) -> str:
        return (t0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    events = [
        ev.SessionStarted(seq=1, ts=at(0), title="t", personas=[], backend="scripted"),
        ev.SectionStarted(seq=2, ts=at(10), index=0, title="Warm-up"),
        ev.Stimulus(seq=3, ts=at(20), source="guide", kind="concept", title="Gazpacho Go", text="x"),
        ev.Moderator(seq=4, ts=at(30), text=PROBES[1], source="probe"),
    ]
    status = guide_status(guide, events, t0 + timedelta(seconds=50))
    assert status.stimuli_to_come == [] and status.probes_left == [PROBES[0]]
    assert (status.section_seconds, status.total_seconds, status.section_over) == (40, 50, False)
    assert guide_status(guide, events, t0 + timedelta(seconds=80)).section_over
