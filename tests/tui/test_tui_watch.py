"""``troupe watch``: observers follow a live run read-only and pass notes to the moderator (issue 10)."""

from __future__ import annotations

import asyncio

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, session_screen, settle, submit
from troupe.core import events as ev
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.observers import INBOX, read_inbox, send_note
from troupe.sessions.session import Session
from troupe.tui.watch import WatchApp, WatchScreen


async def _watch_screen(pilot) -> WatchScreen:
    for _ in range(200):
        if isinstance(pilot.app.screen, WatchScreen) and pilot.app.screen.seen:
            return pilot.app.screen
        await pilot.pause(0.02)
    raise AssertionError("no watch screen")


async def _until(pilot, predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await pilot.pause(0.05)


async def test_two_watchers_follow_a_live_run_and_their_notes_reach_the_moderators_log(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        log_before = (run_dir / "events.jsonl").read_bytes()
        ana, ben = WatchApp(run_dir, "Ana"), WatchApp(run_dir, "Ben")
        async with ana.run_test(size=(140, 42)) as watch_a, ben.run_test(size=(80, 24)) as watch_b:
            seen_a, seen_b = await _watch_screen(watch_a), await _watch_screen(watch_b)
            await submit(pilot, "What do you drink at lunch?")
            await settle(pilot)
            said = [e for e in events_of(run_dir) if isinstance(e, ev.Say)]
            await _until(watch_a, lambda: said[-1].seq in {e.seq for e in seen_a.seen})
            await _until(watch_b, lambda: said[-1].seq in {e.seq for e in seen_b.seen})
            assert "What do you drink at lunch?" in "\n".join(s.text for s in seen_a.feed.lines)
            assert seen_a.grid.pane(said[-1].agent) is not None
            # each observer passes a note: the moderator's app logs both (observer_note)
            for watch, text in ((watch_a, "Ask Tom about price"), (watch_b, "Probe [b]taste[/b]")):
                box = watch.app.screen.query_one("#observer-note")
                box.value = text
                box.focus()
                await watch.press("enter")
            assert [n.observer for n in read_inbox(run_dir)] == ["Ana", "Ben"]
            await _until(pilot, lambda: len([e for e in events_of(run_dir) if isinstance(e, ev.ObserverNote)]) == 2)
            await settle(pilot)
            notes = [e for e in events_of(run_dir) if isinstance(e, ev.ObserverNote)]
            assert [(n.observer, n.text) for n in notes] == [
                ("Ana", "Ask Tom about price"),
                ("Ben", "Probe [b]taste[/b]"),
            ]
            # the watchers see the notes come back through the log, and never wrote to it
            await _until(watch_a, lambda: notes[-1].seq in {e.seq for e in seen_a.seen})
        assert (run_dir / "events.jsonl").read_bytes().startswith(log_before)
        assert [e.seq for e in events_of(run_dir)] == list(range(1, len(events_of(run_dir)) + 1))
        assert "Probe [b]taste[/b]" in "\n".join(s.text for s in screen.feed.lines)


async def test_a_resumed_session_never_logs_an_observer_note_twice(guide, cards, tmp_path):
    run_dir = tmp_path / "run"
    session = await Session.start(guide, cards, ScriptedBackend(seed=1), run_dir)
    send_note(run_dir, "first", "Ana")
    assert [e.text for e in session.pick_up_observer_notes()] == ["first"]
    assert session.pick_up_observer_notes() == []
    await session.aclose()
    send_note(run_dir, "second", "Ben")
    with open(run_dir / INBOX, "a", encoding="utf-8") as fh:
        fh.write('{"text": "half-writ')  # a note being written is read next time
    again = await Session.reopen(run_dir, ScriptedBackend(seed=1))
    assert [(e.observer, e.text) for e in again.pick_up_observer_notes()] == [("Ben", "second")]
    await again.end()
    send_note(run_dir, "too late", "Ana")
    assert again.pick_up_observer_notes() == []
    await again.aclose()


def test_troupe_watch_on_a_folder_without_a_run_is_bad_input(tmp_path, capsys):
    from troupe.sessions.cli import build_parser, main

    args = build_parser().parse_args(["watch", str(tmp_path), "--as", "Ana"])
    assert (args.run_dir, args.observer) == (str(tmp_path), "Ana")
    assert main(["watch", str(tmp_path / "nope")]) == 2
    assert "no event log" in capsys.readouterr().err


async def test_the_watch_panes_show_who_is_paused_and_muted_as_the_log_says(guide, cards, tmp_path):
    run_dir = tmp_path / "run"
    session = await Session.start(guide, cards, ScriptedBackend(seed=1), run_dir)
    session.pause_agent("Tom Becker")
    session.mute_agent("Aiko Sato")
    session.mute_agent("Maria Lopez")
    session.unmute_agent("Maria Lopez")
    await session.aclose()
    async with WatchApp(run_dir, "Ana").run_test(size=(120, 40)) as pilot:
        screen = await _watch_screen(pilot)
        flags = {p.persona: (p.paused, p.muted, p.badge_key) for p in screen.grid.panes}
        assert flags == {
            "Maria Lopez": (False, False, "idle"),
            "Tom Becker": (True, False, "paused"),
            "Aiko Sato": (False, True, "muted"),
            "Kwame Mensah": (False, False, "idle"),
        }


async def test_observers_never_see_the_moderators_private_notes(guide, cards, tmp_path):
    run_dir = tmp_path / "run"
    session = await Session.start(guide, cards, ScriptedBackend(seed=1), run_dir)
    await session.say("What do you drink at lunch?")
    session.note("Tom seems bored; move on soon")
    said = [e for e in session.events if isinstance(e, ev.Say)]
    session.highlight(said[0].seq, "lunch")
    await session.aclose()
    async with WatchApp(run_dir, "Ana").run_test(size=(120, 40)) as pilot:
        screen = await _watch_screen(pilot)
        await _until(pilot, lambda: any(isinstance(e, ev.Highlight) for e in screen.seen))
        await pilot.pause()
        drawn = "\n".join(s.text for s in screen.feed.lines)
        assert "What do you drink at lunch?" in drawn
        assert "STARRED" in drawn  # stars are for the debrief the client reads too
        assert "Tom seems bored" not in drawn
        assert any(isinstance(e, ev.Note) for e in events_of(run_dir))  # logged, only not shown


async def test_the_watch_panes_show_the_same_airtime_as_the_moderators(guide, cards, tmp_path):
    from troupe.core.dynamics import airtime, silent_in_section

    run_dir = tmp_path / "run"
    session = await Session.start(guide, cards, ScriptedBackend(seed=1), run_dir)
    await session.say("What do you drink at lunch?")
    await session.ask("Tom Becker", "And you, Tom?")
    await session.aclose()
    log = events_of(run_dir)
    expected = {r.agent: (r.turns, r.words, r.share) for r in airtime(log).rows}
    silent = set(silent_in_section(log))
    async with WatchApp(run_dir, "Ana").run_test(size=(140, 42)) as pilot:
        screen = await _watch_screen(pilot)
        await pilot.pause()
        for pane in screen.grid.panes:
            turns, words, share, quiet = pane.airtime
            assert (turns, words, share) == expected.get(pane.persona, (0, 0, 0.0))
            assert quiet == (pane.persona in silent)
        tom = screen.grid.pane("Tom Becker")
        assert tom is not None and tom.airtime[0] >= 1 and "turn" in str(tom.border_subtitle)


async def test_a_long_observer_note_is_a_short_toast_and_whole_in_the_feed(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    long_note = "[/x] " + "price " * 400
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        send_note(run_dir, long_note, "[b]Ana[/b]")
        await _until(pilot, lambda: any(isinstance(e, ev.ObserverNote) for e in events_of(run_dir)))
        await settle(pilot)
        [toast] = [n for n in app._notifications if n.title == "Note from [b]Ana[/b]"]
        assert len(toast.message) <= 201 and toast.message.endswith("…") and toast.message.startswith("[/x] price")
        feed = "\n".join(s.text for s in screen.feed.lines)
        assert "[/x] price" in feed and feed.count("price") == 400  # the whole note, as typed


async def test_the_note_box_sends_once_per_note_and_keeps_every_pasted_line(guide, cards, tmp_path):
    from textual import events

    run_dir = tmp_path / "run"
    session = await Session.start(guide, cards, ScriptedBackend(seed=1), run_dir)
    async with WatchApp(run_dir, "Ana").run_test(size=(120, 40)) as pilot:
        await _watch_screen(pilot)
        box = pilot.app.screen.query_one("#observer-note")
        box.value = "Ask about price"
        for _ in range(3):  # three enters the box handles before the screen hears the first
            await box.action_submit()
        await pilot.pause()
        box.post_message(events.Paste("Probe taste\n  and [b]texture[/b]\n\n"))
        await pilot.pause()
        assert box.value == "Probe taste and [b]texture[/b]"
        await pilot.press("enter")
    assert [n.text for n in read_inbox(run_dir)] == ["Ask about price", "Probe taste and [b]texture[/b]"]
    await session.aclose()
