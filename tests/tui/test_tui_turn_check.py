"""The session header shows the per-turn check's counts when the check is on."""

from __future__ import annotations

from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit, tui_config
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.turn_check import tally
from troupe.tui.launch import new_session_app
from troupe.tui.widgets.session_header import HeaderInfo, SessionHeader, header_text

INFO = HeaderInfo(
    title="Gazpacho Go — bottled chilled gazpacho concept test",
    section_index=2,
    section_count=5,
    section_title="Concept reactions",
    tokens=97_100,
    cost_usd=0.08,
    backend="scripted",
    model="scripted-1",
)


def test_the_header_shows_the_counts_when_there_is_room_and_drops_them_before_the_figures() -> None:
    info = HeaderInfo(**{**INFO.__dict__, "checks": "checks 12 · regen 2"})
    assert "checks 12 · regen 2" in header_text(info, "02:56", 200).plain
    narrow = header_text(info, "02:56", 80).plain
    assert "checks" not in narrow and "97.1k" in narrow and "$0.08" in narrow and len(narrow) <= 80
    assert "checks" not in header_text(INFO, "02:56", 200).plain  # off: nothing shown


async def test_a_live_session_with_the_check_on_counts_checks_in_the_header(guide, cards, tmp_path) -> None:
    run_dir = tmp_path / "run"
    app = new_session_app(
        guide,
        cards,
        ScriptedBackend(seed=4),
        run_dir,
        seed=4,
        turn_check_threshold=10,  # every score (0-9) is below: every utterance is regenerated
        config=tui_config(tmp_path),
    )
    async with app.run_test(size=(220, 50)) as pilot:
        screen = await session_screen(pilot)
        assert screen.query_one(SessionHeader).info.checks == "checks 0 · regen 0"
        await submit(pilot, "How much would you pay?")
        await settle(pilot)
        screen.flush()
        await pilot.pause()
        counts = tally(events_of(run_dir))
        assert counts.checks > 0 and counts.regenerated == counts.checks
        shown = screen.query_one(SessionHeader).info.checks
        assert shown == f"checks {counts.checks} · regen {counts.regenerated}" == counts.short()
        assert shown in header_text(screen.query_one(SessionHeader).info, "00:00", 220).plain
        # the feed says a turn was asked again, and never shows the rejected answer
        text = " ".join(feed_text(screen).split())
        rejected = [e for e in events_of(run_dir) if e.type == "turn_checked"]
        assert text.count("by the persona check; asked again") == len(rejected)
        for verdict in rejected:
            assert " ".join(str(verdict.rejected_text).split()) not in text
