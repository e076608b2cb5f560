"""Shared helpers for the reliability suite: one small scripted run made once per session,
copied into each test that damages it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from troupe.sessions.cli import main

GUIDE = """
title = "Reliability soup"
[panel]
personas = ["maria-lopez", "tom-becker", "aiko-sato"]
[defaults]
policy = "parallel"
rounds = 2
[[sections]]
title = "Talk"
prompt = "What do you think of bottled gazpacho?"
stimuli = [{ kind = "text", text = "Gazpacho Go: 330 ml, 2.49 EUR" }]
[[sections.polls]]
id = "intent"
question = "Would you buy it?"
kind = "likert5"
"""


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished scripted run (read-only by convention: copy it with :func:`copy_run`)."""
    root = tmp_path_factory.mktemp("clean")
    guide = root / "soup.toml"
    guide.write_text(GUIDE, encoding="utf-8")
    out = root / "run"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("TROUPE_CONFIG", raising=False)
        assert main(["run", str(guide), "--backend", "scripted", "--headless", "--out", str(out)]) == 0
    return out


def copy_run(run: Path, dest: Path) -> Path:
    shutil.copytree(run, dest)
    return dest
