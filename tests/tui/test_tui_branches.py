"""The home screen shows a run's branches as a tree (issue 13: rewind and branch)."""

from __future__ import annotations

import os
import time

from textual.widgets import OptionList

from tests.tui.tui_fixtures import tui_config
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.run import branch_run
from troupe.sessions.session import Session
from troupe.tui.app import TroupeApp
from troupe.tui.runs import recent_runs


async def test_branches_are_listed_under_the_run_they_left(guide, cards, tmp_path):
    runs = tmp_path / "runs"
    session = await Session.start(guide, cards, ScriptedBackend(), runs / "20260101-120000-soup")
    await session.say("Before the branch.")
    await session.aclose()
    at = session.events[2].seq
    branch = branch_run(session.run_dir, at, runs / "soup-branch")
    nested = branch_run(branch, at - 1, runs / "soup-branch-of-branch")
    other = await Session.start(guide, cards, ScriptedBackend(), runs / "20260102-120000-other")
    await other.aclose()
    now = time.time()
    for i, path in enumerate((nested, branch, session.run_dir, other.run_dir)):  # oldest first
        os.utime(path / "events.jsonl", (now + i, now + i))

    listed = recent_runs(runs)
    assert [(r.path.name, r.depth) for r in listed] == [
        ("20260102-120000-other", 0),
        ("20260101-120000-soup", 0),
        ("soup-branch", 1),
        ("soup-branch-of-branch", 2),
    ]
    assert listed[2].branched_from is not None and listed[2].branched_from[1] == at
    assert listed[2].describe().startswith(f"branch at #{at} · ")

    app = TroupeApp(tui_config(runs))
    async with app.run_test(size=(140, 42)) as pilot:
        await pilot.pause(0.2)
        options = app.screen.query_one("#runs", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[2].startswith("└─ ") and prompts[3].startswith("   └─ ")
        assert f"branch at #{at}" in prompts[2]
