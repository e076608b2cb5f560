"""``kill -9`` at random moments of a real process, then ``troupe resume``-style reopening:
the log stays valid (contiguous ``seq``, at most a torn last line) and the resumed run ends
with the same transcript as an uninterrupted one (see ``test_resume_reproduces.py``)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.test_resume_reproduces import BUDGET, uninterrupted, view
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.session import Session

ROOT = Path(__file__).resolve().parents[2]

CHILD = f"""
import asyncio, sys
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.guide import parse_guide
from troupe.sessions.session import Session
from tests.core.engine_fixtures import guide_data, make_cards

async def main():
    backend = ScriptedBackend(seed=1, latency=0.01)
    session = await Session.start(parse_guide(guide_data()), make_cards(3), backend, sys.argv[1], seed=1, budget={BUDGET})
    await session.run_to_end()

asyncio.run(main())
"""


def kill_after(run: Path, lines: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(run)], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        log = run / "events.jsonl"
        while time.monotonic() < deadline and child.poll() is None:
            if log.exists() and log.read_bytes().count(b"\n") >= lines:
                break
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(10)


@pytest.mark.parametrize("seed", [3, 11])
async def test_kill_9_at_a_random_moment_then_resume_reproduces_the_run(tmp_path: Path, seed: int) -> None:
    full, _ = await uninterrupted(tmp_path / "full")
    total = len((tmp_path / "full" / "events.jsonl").read_text().splitlines())
    run = tmp_path / "killed"
    kill_after(run, random.Random(seed).randrange(2, total - 2))
    session = await Session.reopen(run, ScriptedBackend(seed=1))
    await session.run_to_end()
    await session.aclose()
    assert view(run) == full
