"""`troupe run --poll-draws/--poll-jitter/--poll-instructions` and `[defaults.poll_sampling]`:
the tools reach the polls, their cost is shown, the log records them and `validate` names the
instruction set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from troupe.sessions.cli import main
from troupe.sessions.guide import load_guide


def lines(run: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def test_run_with_k_draws_records_them_and_validate_names_the_instructions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    args = ["run", "ab-test", "--backend", "scripted", "--headless", "--rounds", "1", "--out", str(run)]
    assert main([*args, "--poll-draws", "3", "--poll-instructions", "individual-v1"]) == 0
    err = capsys.readouterr().err
    assert "troupe: poll sampling: 3× poll calls (3 draws per persona, mode used)" in err
    events = lines(run)
    asked = [e for e in events if e["type"] == "poll_asked"]
    assert asked and all(e["instructions"] == "individual-v1" and e["sampling"]["draws"] == 3 for e in asked)
    answers = [e for e in events if e["type"] == "poll_answer"]
    assert answers and all(len(a["draws"]) == 3 and a["value"] == a["draws"][a["draw_used"]] for a in answers)
    poll_calls = [e for e in events if e["type"] == "llm_call" and e["purpose"] == "poll"]
    assert len(poll_calls) == 3 * len(answers)  # the cost: K calls per answer, each logged and costed
    started = events[0]
    assert started["guide"]["defaults"]["poll_sampling"]["draws"] == 3  # a resume samples the same way
    human = tmp_path / "h.csv"
    human.write_text("intent\n" + "\n".join(str(1 + i % 5) for i in range(20)) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert (
        main(
            [
                "validate",
                str(run),
                "--poll",
                "booking_intent",
                "--human",
                str(human),
                "--column",
                "intent",
                "-f",
                "json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["poll_instructions"] == ["individual-v1"]


def test_bad_poll_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", "ab-test", "--backend", "scripted", "--headless", "--out", str(tmp_path / "r")]
    assert main([*args, "--poll-jitter", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("troupe: --poll-jitter:") and "\n" not in err
    assert not (tmp_path / "r").exists()


def test_a_guide_can_turn_poll_sampling_on(tmp_path: Path) -> None:
    guide = tmp_path / "g.toml"
    guide.write_text(
        """title = "Soup"
[panel]
personas = ["maria-lopez", "tom-becker"]
[defaults]
rounds = 0
[defaults.poll_sampling]
draws = 2
temperature_jitter = 0.1
instructions = "individual-v1"
[[sections]]
title = "Poll"
[[sections.polls]]
id = "intent"
question = "Would you buy it?"
""",
        encoding="utf-8",
    )
    sampling = load_guide(str(guide)).defaults.poll_sampling
    assert sampling is not None and sampling.draws == 2 and sampling.instructions == "individual-v1"
    guide.write_text(guide.read_text(encoding="utf-8").replace('"individual-v1"', '"typical"'), encoding="utf-8")
    with pytest.raises(Exception, match="unknown poll instruction set 'typical'"):
        load_guide(str(guide))


def test_a_study_writes_its_validation_into_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    human = tmp_path / "h.csv"
    human.write_text("intent,Gender\n" + "".join(f"{1 + i % 5},{'Woman' if i % 2 else 'Man'}\n" for i in range(30)))
    out = tmp_path / "study"
    args = ["study", "ab-test", "--groups", "2", "--panel-size", "3", "--backend", "scripted", "--rounds", "0"]
    bad = [*args, "--out", str(out), "--human", str(human), "--column", "intnet"]
    assert main(bad) == 2
    assert "column 'intnet': no such column" in capsys.readouterr().err and not out.exists()
    assert (
        main([*args, "--out", str(out), "--human", str(human), "--column", "intent", "--poll", "booking_intent"]) == 0
    )
    data = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert data["poll_id"] == "booking_intent" and data["simulated"]["n"] == 6 and data["human"]["n"] == 30
    assert data["fidelity"]["aspects"] and data["headline"] == data["verdicts"][0]
    report = (out / "study.md").read_text(encoding="utf-8")
    assert "## Validation against real answers" in report and data["headline"] in report
    assert (out / "validation.md").read_text(encoding="utf-8").startswith("# Simulated vs real: booking_intent")
    assert "<svg" in (out / "validation.html").read_text(encoding="utf-8")
