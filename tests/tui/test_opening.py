"""One way to open a session: `troupe run` (headless and TUI), `troupe demo`, the home screen
and studies all go through ``troupe.sessions.opening``, so the config applies the same way
whichever door the moderator uses (issue 11)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from textual.widgets import OptionList, Select

from tests.tui.tui_fixtures import session_screen, tui_config
from troupe.sessions.cli import main
from troupe.tui.app import TroupeApp
from troupe.tui.screens.home import HomeScreen

CONFIG = """
max_concurrency = 7

[memory]
retrieval = "embeddings"
"""


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("TROUPE_CONFIG", str(config))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def opened_with(run_dir: Path) -> tuple[int, str]:
    first = json.loads((run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()[0])
    return first["max_concurrency"], first["retrieval"]


def test_troupe_run_headless_applies_the_config(configured: Path) -> None:
    args = ["run", "concept-test", "--backend", "scripted", "--headless", "--rounds", "0", "--out", "r"]
    assert main(args) == 0
    assert opened_with(configured / "r") == (7, "embeddings")


def test_troupe_study_applies_the_config(configured: Path) -> None:
    args = ["study", "concept-test", "--groups", "1", "--backend", "scripted", "--rounds", "0", "--out", "s"]
    assert main(args) == 0
    [group] = [p for p in (configured / "s").iterdir() if (p / "events.jsonl").is_file()]
    assert opened_with(group) == (7, "embeddings")


def test_troupe_demo_and_troupe_run_in_the_tui_apply_the_config(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import troupe.tui.launch as launch

    def run_briefly(app: TroupeApp) -> int:
        async def drive() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await session_screen(pilot)

        asyncio.run(drive())
        return 0

    monkeypatch.setattr(launch, "run_app", run_briefly)
    assert main(["demo", "--backend", "scripted", "--out", "d"]) == 0
    assert opened_with(configured / "d") == (7, "embeddings")
    assert main(["run", "concept-test", "--backend", "scripted", "--out", "t"]) == 0
    assert opened_with(configured / "t") == (7, "embeddings")


async def test_the_home_screen_applies_the_config(configured: Path) -> None:
    app = TroupeApp(tui_config(configured / "runs"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        home = app.screen
        assert isinstance(home, HomeScreen)
        guides = home.query_one("#guides", OptionList)
        guides.highlighted = next(i for i, p in enumerate(home.guides) if p.stem == "concept-test")
        await pilot.pause(0.1)
        home.query_one("#backend", Select).value = "scripted"
        await pilot.click("#start")
        await session_screen(pilot)
        [run_dir] = list((configured / "runs").iterdir())
        assert opened_with(run_dir) == (7, "embeddings")
        await pilot.press("ctrl+q")
