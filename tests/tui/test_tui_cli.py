"""``troupe`` and ``troupe demo``: the CLI wiring of the UI (the UI itself is not started here)."""

from __future__ import annotations

import subprocess
import sys

import troupe.tui.app as tui_app
import troupe.tui.launch as launch
from troupe.core.llm.scripted import ScriptedBackend
from troupe.sessions.cli import build_parser, main
from troupe.sessions.commands import ui


def test_demo_seats_the_concept_test_panel_on_a_paced_scripted_backend(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    seen = {}

    def fake_launch(guide, cards, backend, run_dir, *, seed=0, rounds_cap=None, settings=None, **opening):
        seen.update(guide=guide, cards=cards, backend=backend, run_dir=run_dir, seed=seed, **opening)
        return 0

    monkeypatch.setattr(launch, "launch_session", fake_launch)
    assert main(["demo", "--backend", "scripted", "--seed", "4"]) == 0
    assert seen["turn_check"] is None and seen["turn_check_threshold"] is None  # the config and guide decide
    assert seen["guide"].title.startswith("Gazpacho Go")
    assert [c.name for c in seen["cards"]] and len(seen["cards"]) == len(seen["guide"].panel.personas)
    backend = getattr(seen["backend"], "inner", seen["backend"])
    assert isinstance(backend, ScriptedBackend) and backend.stream_delay == ui.DEMO_SCRIPTED_DELAY_S
    assert seen["run_dir"].parent.name == "runs" and seen["run_dir"].name.endswith("concept-test")
    assert seen["seed"] == 4
    assert main(["demo", "--backend", "scripted", "--turn-check-threshold", "3", "--out", "second"]) == 0
    assert seen["turn_check_threshold"] == 3
    assert main(["demo", "--backend", "scripted", "--no-turn-check", "--out", "third"]) == 0
    assert seen["turn_check"] is False


def test_demo_refuses_an_out_folder_that_holds_a_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "events.jsonl").write_text("{}\n", encoding="utf-8")
    monkeypatch.setattr(launch, "launch_session", lambda *a, **k: 0)
    assert main(["demo", "--backend", "scripted", "--out", str(tmp_path / "taken")]) == 2
    assert "taken" in capsys.readouterr().err


def test_troupe_alone_opens_the_home_screen(monkeypatch):
    opened = []
    monkeypatch.setattr(tui_app, "run_app", lambda app: opened.append(app) or 0)
    assert main([]) == 0
    assert isinstance(opened[0], tui_app.TroupeApp) and opened[0].opener is None


def test_the_cli_does_not_load_textual_until_the_ui_is_opened():
    code = (
        "import sys; from troupe.sessions.cli import build_parser; build_parser(); "
        "print('textual' in sys.modules, 'troupe.tui' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_demo_is_listed_in_help():
    assert "demo" in build_parser().format_help()
