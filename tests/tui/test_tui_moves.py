"""The moves against dominance and conformity from the command line: /quiet, /devil, /hold."""

from __future__ import annotations

import pytest

from tests.tui.test_tui_session import SIZE, app_for
from tests.tui.tui_fixtures import events_of, feed_text, session_screen, settle, submit
from troupe.core import events as ev
from troupe.tui.command_line import Command, CommandError, parse_line

NAMES = ["Maria Lopez", "Tom Becker", "Aiko Sato"]


def test_move_commands_parse_name_and_rest() -> None:
    assert parse_line("/quiet", NAMES) == Command("quiet", "")
    assert parse_line("/quiet 2", NAMES) == Command("quiet", "2")
    assert parse_line("/hold aiko 3", NAMES) == Command("hold", "Aiko Sato", "3")
    assert parse_line("/devil Tom bottled soup is worth it", NAMES) == Command(
        "devil", "Tom Becker", "bottled soup is worth it"
    )
    with pytest.raises(CommandError, match="/hold needs a name"):
        parse_line("/hold", NAMES)


async def test_moves_from_the_command_line_are_logged(guide, cards, tmp_path):
    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await session_screen(pilot)
        first = cards[0].name.split()[0]
        await submit(pilot, f"/hold {first} 1")
        await settle(pilot)
        await submit(pilot, "/quiet 1")
        await settle(pilot)
        await submit(pilot, f"/devil {cards[1].name} cold soup is a treat")
        await settle(pilot)
        log = events_of(run_dir)
        held = next(e for e in log if isinstance(e, ev.AgentHeld))
        assert (held.agent, held.rounds) == (cards[0].name, 1)
        quiet = next(e for e in log if isinstance(e, ev.QuietCalled))
        assert len(quiet.agents) == 1 and cards[0].name not in quiet.agents
        devil = next(e for e in log if isinstance(e, ev.DevilsAdvocate))
        assert (devil.agent, devil.position) == (cards[1].name, "cold soup is a treat")
        turns = [e for e in log if isinstance(e, (ev.Say, ev.Think, ev.Pass)) and e.seq > devil.seq]
        assert turns and {e.agent for e in turns} == {cards[1].name}
        says = [e for e in turns if isinstance(e, ev.Say)]
        assert all(e.role == "devils_advocate" for e in says)
        await submit(pilot, "/dynamics")
        await settle(pilot)
        assert screen.show_dynamics().startswith("Airtime (words): ")


async def test_branch_here_copies_the_prefix_and_the_branch_replays_it_with_no_call(guide, cards, tmp_path):
    from troupe.core.llm.scripted import ScriptedBackend
    from troupe.sessions.run import read_meta
    from troupe.sessions.session import Session

    app, run_dir = app_for(guide, cards, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await session_screen(pilot)
        await submit(pilot, "What do you drink at lunch?")
        await settle(pilot)
        log = events_of(run_dir)
        last_say = max(e.seq for e in log if isinstance(e, ev.Say))
        backend = app.session.backend
        calls_before = backend.calls
        await submit(pilot, f"/branch {last_say}")
        branch = run_dir.with_name(f"{run_dir.name}-branch-{last_say}")
        for _ in range(200):  # the room goes on in the branch, in the same window
            if app.session is not None and app.session.run_dir == branch:
                break
            await pilot.pause(0.02)
        assert app.session.run_dir == branch
        screen = await session_screen(pilot)
        assert backend.calls == calls_before  # the prefix is rebuilt from the log: no call
        assert "What do you drink at lunch?" in feed_text(screen)
        await submit(pilot, "In the branch: and at dinner?")
        await settle(pilot)
        in_branch = events_of(branch)
        assert any(e.type == "moderator" and e.text == "In the branch: and at dinner?" for e in in_branch)
        assert not any(e.type == "moderator" and e.text == "In the branch: and at dinner?" for e in events_of(run_dir))
    copied = events_of(branch)[:last_say]
    assert [e.seq for e in copied] == list(range(1, last_say + 1))
    assert [e.to_json_dict() for e in copied] == [e.to_json_dict() for e in log if e.seq <= last_say]
    assert read_meta(branch)["branched_from"]["seq"] == last_say
    backend = ScriptedBackend(seed=9)
    session = await Session.reopen(branch, backend)
    assert backend.calls == 0  # the prefix is rebuilt from the log
    await session.say("Something else entirely?")
    assert backend.calls > 0 and session.log.last_seq > last_say
    assert [e.seq for e in events_of(branch)][:last_say] == list(range(1, last_say + 1))
    assert not any(e.type == "moderator" and e.text == "Something else entirely?" for e in events_of(run_dir))
    await session.aclose()
