"""The public Python API, used only through ``import troupe`` (docs/api.md)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

import troupe

PANEL = "maria-lopez,tom-becker,aiko-sato"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("api") / "run"
    troupe.run_session("concept-test", personas=PANEL, backend="scripted", out=out, rounds=1)
    return out


def test_every_public_name_resolves() -> None:
    for name in troupe.__all__:
        assert getattr(troupe, name) is not None, name
    with pytest.raises(AttributeError):
        troupe.no_such_thing  # noqa: B018


def test_import_is_light() -> None:
    code = "import sys, troupe; print(sorted(m for m in sys.modules if m.startswith(('textual', 'pandas', 'troupe.sessions', 'troupe.personas'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_run_session_returns_the_run(run_dir: Path) -> None:
    run = troupe.load_run(run_dir)
    assert isinstance(run, troupe.Run)
    assert run.personas == ["Maria Lopez", "Tom Becker", "Aiko Sato"]
    assert run.ended and run.events[0].type == "session_started"
    assert [p.poll_id for p in run.polls()] == ["preferred_concept", "purchase_intent", "fair_price"]
    intent = run.poll("purchase_intent")
    assert intent.n == 3 and intent.mean is not None
    assert run.transcript().polls[1].poll_id == "purchase_intent"


def test_dataframe_rows_match_the_log(run_dir: Path) -> None:
    run = troupe.load_run(run_dir)
    assert isinstance(run, troupe.Run)
    df = run.to_pandas()
    lines = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert list(df["seq"]) == [e["seq"] for e in lines]
    assert list(df["type"]) == [e["type"] for e in lines]
    says = df[df["type"] == "say"]
    assert list(says["text"]) == [e["text"] for e in lines if e["type"] == "say"]
    answers = df[(df["type"] == "poll_answer") & (df["poll_id"] == "purchase_intent")]
    logged = [e for e in lines if e["type"] == "poll_answer" and e["poll_id"] == "purchase_intent"]
    assert list(answers["agent"]) == [e["agent"] for e in logged]
    assert list(answers["value"]) == [e["value"] for e in logged]
    assert sorted(answers["score"].astype(float)) == sorted(a.score for a in run.poll("purchase_intent").answers)


def test_missing_pandas_is_a_troupe_error(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    run = troupe.load_run(run_dir)
    with pytest.raises(troupe.TroupeError, match="needs pandas"):
        run.to_pandas()


def test_errors_are_troupe_errors(tmp_path: Path) -> None:
    with pytest.raises(troupe.BadInputError):
        troupe.load_run(tmp_path / "nowhere")
    with pytest.raises(troupe.BadInputError, match="no-such-guide"):
        troupe.load_guide("no-such-guide")
    with pytest.raises(troupe.BadInputError, match="sections"):
        troupe.load_guide({"title": "x", "sections": []})
    with pytest.raises(troupe.BadInputError):
        troupe.load_persona("nobody-at-all")
    with pytest.raises(troupe.BadInputError, match="not an empty"):
        (tmp_path / "full").mkdir()
        (tmp_path / "full" / "x").write_text("x")
        troupe.run_session("concept-test", backend="scripted", out=tmp_path / "full")


def test_personas_and_guides() -> None:
    assert "concept-test" in troupe.list_guides()
    names = [p.name for p in troupe.list_personas()]
    assert "Maria Lopez" in names
    assert troupe.load_persona("maria-lopez").name == "Maria Lopez"


def test_a_guide_built_in_code_runs(tmp_path: Path) -> None:
    guide = troupe.load_guide(
        {
            "title": "Lunch",
            "sections": [
                {
                    "title": "Only",
                    "prompt": "What did you eat?",
                    "polls": [{"id": "hungry", "question": "Hungry?", "kind": "single", "options": ["yes", "no"]}],
                }
            ],
        }
    )
    assert isinstance(guide, troupe.Guide)
    personas = [troupe.load_persona("maria-lopez"), "tom-becker"]
    run = troupe.run_session(guide, personas=personas, backend="scripted", out=tmp_path / "r", rounds=1)
    assert run.personas == ["Maria Lopez", "Tom Becker"]
    assert run.poll("hungry").n == 2


async def test_run_session_in_a_running_loop_points_to_arun(tmp_path: Path) -> None:
    with pytest.raises(troupe.TroupeError, match="arun_session"):
        troupe.run_session("concept-test", backend="scripted", out=tmp_path / "r")
    run = await troupe.arun_session(
        "concept-test", personas="maria-lopez,tom-becker", backend="scripted", out=tmp_path / "a", rounds=0
    )
    assert run.ended


async def test_session_step_by_step(tmp_path: Path) -> None:
    out = tmp_path / "live"
    async with troupe.open_session("concept-test", personas=PANEL, backend="scripted", out=out, rounds=1) as session:
        assert isinstance(session, troupe.Session)
        assert await session.step()  # the first beat of the guide
        said = await session.say("What do you drink at lunch?")
        assert {e.agent for e in said if e.type == "say"} <= {"Maria Lopez", "Tom Becker", "Aiko Sato"}
        asked = await session.ask("Tom Becker", "Why?")
        assert {e.agent for e in asked if e.type in ("say", "pass")} == {"Tom Becker"}
        await session.show(troupe.StimulusSpec(kind="concept", title="C", text="A bottled soup."))
        result = await session.poll(
            troupe.PollSpec(id="try", question="Would you try it?", kind="single", options=["yes", "no"])
        )
        assert result.n == 3
        session.pause()
        assert session.state.paused
        session.resume()
        await session.end()
    run = troupe.load_run(out)
    assert isinstance(run, troupe.Run)
    types = [e.type for e in run.events]
    assert types[0] == "session_started" and types[-1] == "session_ended"
    assert "session_paused" in types and run.poll("try").n == 3


def test_load_a_study_folder(tmp_path: Path) -> None:
    study_dir = tmp_path / "study"
    for i, seed in enumerate((0, 1), start=1):
        troupe.run_session(
            "concept-test", personas=PANEL, backend="scripted", out=study_dir / f"group-0{i}", seed=seed, rounds=0
        )
    study = troupe.load_run(study_dir)
    assert isinstance(study, troupe.Study)
    assert list(study.runs) == ["group-01", "group-02"]
    df = study.to_pandas()
    assert list(df.columns[:2]) == ["group", "seq"]
    assert len(df) == sum(len(r.events) for r in study.runs.values())
    pooled = {p.poll_id: p for p in study.polls()}
    assert pooled["purchase_intent"].n == 6


def test_py_typed_ships() -> None:
    assert (Path(troupe.__file__).parent / "py.typed").is_file()
    assert asyncio.iscoroutinefunction(troupe.arun_session)


def test_docs_cover_every_public_name() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    missing = [name for name in troupe.__all__ if f"troupe.{name}" not in docs]
    assert missing == []


def test_load_what_troupe_study_wrote(tmp_path: Path) -> None:
    out = tmp_path / "study"
    done = subprocess.run(
        [sys.executable, "-m", "troupe.sessions.cli", "study", "concept-test", "--groups", "2", "--rounds", "0"]
        + ["--backend", "scripted", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    study = troupe.load_study(out)
    assert list(study.runs) == ["group-01", "group-02"] and study.meta["groups"]
    df = study.to_pandas()
    assert set(df["group"]) == {"group-01", "group-02"}
    for name, run in study.runs.items():
        assert list(df[df["group"] == name]["seq"]) == [e.seq for e in run.events]
    with pytest.raises(troupe.BadInputError, match="run folder"):
        troupe.load_study(out / "group-01")


def test_the_per_turn_check_is_an_argument(tmp_path: Path) -> None:
    run = troupe.run_session(
        "concept-test", personas=PANEL, backend="scripted", out=tmp_path / "run", rounds=1, turn_check=True
    )
    checked = {(e.agent, e.turn) for e in run.events if e.type == "turn_checked"}
    spoken = {(e.agent, e.turn) for e in run.events if e.type == "say"}
    assert spoken and spoken <= checked  # every utterance was judged (a regenerated one may become a pass)
    assert {e.purpose for e in run.events if e.type == "llm_call"} >= {"turn", "turn_check"}
