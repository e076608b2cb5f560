"""``troupe run`` / ``resume`` / ``branch`` on the command line."""

from __future__ import annotations

import json
import socket
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path

import pytest

from troupe.core.events import EVENT_TYPES
from troupe.sessions.cli import build_parser, main

GUIDE = """
title = "CLI soup"
[panel]
personas = ["maria-lopez", "tom-becker", "aiko-sato"]
[defaults]
policy = "parallel"
rounds = 2
[[sections]]
title = "Talk"
prompt = "What do you think of bottled gazpacho?"
[[sections.polls]]
id = "intent"
question = "Would you buy it?"
kind = "likert5"
"""


@pytest.fixture
def guide_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "soup.toml"
    path.write_text(GUIDE, encoding="utf-8")
    return path


def events(run_dir: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert all(e["type"] in EVENT_TYPES for e in lines)
    return lines


def run_ok(capsys: pytest.CaptureFixture[str], *argv: str) -> Path:
    assert main(list(argv)) == 0, capsys.readouterr().err
    return Path(capsys.readouterr().out.strip())


def test_headless_run_prints_the_run_dir_and_writes_a_complete_log(guide_file: Path, capsys) -> None:
    run_dir = run_ok(capsys, "run", str(guide_file), "--backend", "scripted", "--headless", "--seed", "3")
    assert run_dir.parent == guide_file.parent / "runs" and run_dir.name.endswith("-soup")
    lines = events(run_dir)
    assert lines[0]["personas"] == ["Maria Lopez", "Tom Becker", "Aiko Sato"] and lines[0]["seed"] == 3
    assert lines[-1]["type"] == "session_ended"
    counts = Counter(e["type"] for e in lines)
    assert counts["round_ended"] == 2 and counts["poll_answer"] == 3
    assert json.loads((run_dir / "meta.json").read_text())["ended"] == "completed"


def test_personas_and_rounds_options(guide_file: Path, capsys) -> None:
    run_dir = run_ok(
        capsys,
        "run",
        str(guide_file),
        "--backend",
        "scripted",
        "--headless",
        "--personas",
        "kwame-mensah,Priya Raman",
        "--rounds",
        "1",
        "--out",
        "mine",
    )
    assert run_dir == Path("mine")
    lines = events(run_dir)
    assert lines[0]["personas"] == ["Kwame Mensah", "Priya Raman"]
    assert sum(1 for e in lines if e["type"] == "round_ended") == 1


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--personas", "nobody-at-all"], "nobody-at-all"),
        (["--out", "soup.toml"], "soup.toml: is a file, not a folder; choose another --out"),
        (["--rounds", "-1"], "--rounds"),
    ],
)
def test_bad_input_is_exit_2_with_one_line(guide_file: Path, capsys, argv: list[str], needle: str) -> None:
    with pytest.raises(SystemExit) if "--rounds" in argv else nullcontext():
        code = main(["run", str(guide_file), "--backend", "scripted", "--headless", *argv])
        assert code == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "Traceback" not in err
    if "--rounds" not in argv:
        assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("panel", "argv", "expected"),
    [
        (
            '["maria-lopez", "ghost-person"]',
            [],
            "{guide}: panel.personas[1]: persona 'ghost-person' is not in the library",
        ),
        ('["maria-lopez", "Maria Lopez"]', [], "{guide}: panel.personas[1]: Maria Lopez is seated twice"),
        ('["maria-lopez"]', ["--personas", "tom-becker,ghosty"], "--personas: persona 'ghosty' is not in the library"),
    ],
)
def test_an_unknown_or_repeated_panel_persona_names_the_guide_and_field(
    guide_file: Path, capsys, panel: str, argv: list[str], expected: str
) -> None:
    guide_file.write_text(GUIDE.replace('["maria-lopez", "tom-becker", "aiko-sato"]', panel), encoding="utf-8")
    assert main(["run", str(guide_file), "--backend", "scripted", "--headless", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("troupe: " + expected.format(guide=guide_file)) and "\n" not in err


def test_unknown_session_is_exit_2(guide_file: Path, capsys) -> None:
    assert main(["run", "no-such-guide", "--headless", "--backend", "scripted"]) == 2
    assert "no session named 'no-such-guide'" in capsys.readouterr().err


def test_without_headless_the_tui_is_launched(guide_file: Path, capsys, monkeypatch) -> None:
    import troupe.tui.launch as launch

    calls = []
    monkeypatch.setattr(launch, "launch_session", lambda *a, **kw: calls.append((a, kw)) or 0)
    assert main(["run", str(guide_file), "--backend", "scripted", "--seed", "2", "--rounds", "1"]) == 0
    (guide, cards, backend, run_dir), kw = calls[0]
    assert guide.title == "CLI soup" and [c.name for c in cards] == ["Maria Lopez", "Tom Becker", "Aiko Sato"]
    assert backend.name == "scripted"
    assert {k: kw[k] for k in ("seed", "rounds_cap", "retrieval")} == {"seed": 2, "rounds_cap": 1, "retrieval": None}
    assert kw["settings"] is not None  # the one settings object, applied by troupe.sessions.opening


def test_without_the_tui_it_says_to_use_headless(guide_file: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "troupe.tui.launch", None)
    assert main(["run", str(guide_file), "--backend", "scripted"]) == 1
    assert "--headless" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_down_stops_cleanly_and_resume_finishes_later(
    guide_file: Path, capsys, monkeypatch, fake_openai
) -> None:
    config = guide_file.parent / "troupe.toml"
    config.write_text("max_retries = 0\ntimeout_s = 5\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{_closed_port()}/v1")
    code = main(["--config", str(config), "run", str(guide_file), "--backend", "openai", "--headless", "--out", "down"])
    err = capsys.readouterr().err
    assert code == 1 and "troupe resume down" in err and "Traceback" not in err
    lines = events(Path("down"))
    assert lines[0]["type"] == "session_started" and lines[-1]["type"] == "error"
    assert not any(e["type"] == "session_ended" for e in lines)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)  # the server is back
    assert run_ok(capsys, "--config", str(config), "resume", "down", "--headless") == Path("down")
    lines = events(Path("down"))
    assert lines[-1]["type"] == "session_ended"
    assert sum(1 for e in lines if e["type"] == "llm_call") == len(fake_openai.chat_requests)


def test_branch_copies_a_prefix_that_resumes_differently(guide_file: Path, capsys) -> None:
    source = run_ok(capsys, "run", str(guide_file), "--backend", "scripted", "--headless")
    original = (source / "events.jsonl").read_text()
    at = next(e["seq"] for e in events(source) if e["type"] == "round_ended")
    branch = run_ok(capsys, "branch", str(source), "--at", str(at))
    assert branch.name == f"{source.name}-branch-{at}"
    assert len(events(branch)) == at
    assert json.loads((branch / "meta.json").read_text())["branched_from"]["seq"] == at
    assert run_ok(capsys, "resume", str(branch), "--headless") == branch
    lines = events(branch)
    assert lines[-1]["type"] == "session_ended" and sum(1 for e in lines if e["type"] == "round_ended") == 2
    # every export and the report say which branch this is and where it left its parent
    where = f"a branch of {source} at event #{at}"
    for fmt in ("md", "html", "json"):
        assert main(["export", str(branch), "--format", fmt]) == 0
        assert where in (branch / f"transcript.{fmt}").read_text(encoding="utf-8")
    assert main(["report", str(branch)]) == 0
    assert where in next(branch.glob("report*.md")).read_text(encoding="utf-8")
    assert json.loads((branch / "transcript.json").read_text())["session"]["branched_from"] == {
        "run": str(source),
        "seq": at,
    }
    assert (source / "events.jsonl").read_text() == original
    assert main(["branch", str(source), "--at", "100000"]) == 2
    assert main(["resume", str(source), "--headless"]) == 1  # finished: branch it instead
    assert "already ended" in capsys.readouterr().err
    assert main(["resume", "nowhere", "--headless"]) == 2


@pytest.mark.parametrize("failure", ["500", "429", "404"])
def test_a_server_that_keeps_failing_halts_the_headless_run_instead_of_completing_it(
    guide_file: Path, capsys, monkeypatch, fake_openai, failure: str
) -> None:
    """5xx/429 that outlive the retries (and a 404: wrong model or endpoint) stop an unattended
    run with exit 1 and no lost turn: the failed turn is redone by `troupe resume`."""
    from tests.support.fake_openai import error

    config = guide_file.parent / "troupe.toml"
    config.write_text("max_retries = 1\ntimeout_s = 5\n", encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-QA-distinctive-key-0123456789")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    status = int(failure)
    down = [True]

    def behaviour(body: dict) -> object:
        if down[0]:
            return error(status, retry_after=0.01 if status == 429 else None)
        return fake_openai._generate(body)

    fake_openai.enqueue(*[behaviour] * 100)
    code = main(
        ["--config", str(config), "run", str(guide_file), "--backend", "openai", "--headless", "--out", "flaky"]
    )
    err = capsys.readouterr().err
    assert code == 1 and f"({status}" in err and "troupe resume flaky" in err and "Traceback" not in err
    assert "distinctive" not in err
    lines = events(Path("flaky"))
    failed = [e for e in lines if e["type"] == "error"]
    assert len(failed) == 1 and "round_key" not in failed[0]  # not a taken turn: resume redoes it
    assert not any(e["type"] in ("say", "think", "pass", "session_ended") for e in lines)
    down[0] = False  # the server is back
    assert run_ok(capsys, "--config", str(config), "resume", "flaky", "--headless") == Path("flaky")
    lines = events(Path("flaky"))
    assert lines[-1]["type"] == "session_ended"
    assert sum(1 for e in lines if e["type"] in ("say", "think", "pass")) == 3 * 2  # every turn of both rounds


def test_ctrl_c_in_a_headless_run_says_how_to_resume(guide_file: Path, capsys, monkeypatch) -> None:
    import troupe.sessions.headless as run_module

    real = run_module.run_headless

    async def interrupted(guide, cards, backend, run_dir, **kw):
        from troupe.sessions.session import Session

        session = await Session.start(guide, cards, backend, run_dir)
        await session.step()
        await session.aclose()
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "run_headless", interrupted)
    assert main(["run", str(guide_file), "--backend", "scripted", "--headless", "--out", "cut"]) == 130
    err = capsys.readouterr().err
    assert (
        err.strip().splitlines()[-1]
        == "troupe: interrupted; the run is saved in cut; continue it with `troupe resume cut`"
    )
    monkeypatch.setattr(run_module, "run_headless", real)
    assert run_ok(capsys, "resume", "cut", "--headless") == Path("cut")
    assert events(Path("cut"))[-1]["type"] == "session_ended"


def test_config_and_verbose_are_accepted_after_the_command_too(guide_file: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TROUPE_CONFIG", "")  # main() sets it from --config; monkeypatch restores it
    bad = guide_file.parent / "bad.toml"
    bad.write_text('bakend = "openai"\n', encoding="utf-8")
    for argv in (["--config", str(bad), "run", str(guide_file)], ["run", str(guide_file), "--config", str(bad), "-v"]):
        assert main([*argv, "--backend", "scripted", "--headless", "--out", "never"]) == 2
        assert capsys.readouterr().err.strip() == f"troupe: {bad}: bakend: unknown field"
    # Given only before the command, it is not reset by the subcommand's own (absent) option.
    args = build_parser().parse_args(["--config", "x.toml", "-v", "personas", "list"])
    assert args.config == "x.toml" and args.verbose is True


def test_resuming_a_finished_run_says_so_before_needing_a_backend(guide_file: Path, capsys, monkeypatch) -> None:
    source = run_ok(capsys, "run", str(guide_file), "--backend", "scripted", "--headless", "--out", "done")
    lines = (source / "events.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["backend"] = "openai"  # recorded on openai; no key in this environment
    (source / "events.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    assert main(["resume", "done", "--headless"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "troupe: done: this run has already ended; use `troupe branch` to continue it differently"


def test_quiet_hides_the_headless_progress_bar_of_run_and_resume(guide_file: Path, capsys) -> None:
    assert main(["run", str(guide_file), "--backend", "scripted", "--headless", "--out", "loud"]) == 0
    loud = capsys.readouterr()
    assert "CLI soup" in loud.err and "calls" in loud.err, loud.err  # the bar: title, calls, tokens, cost
    assert main(["run", str(guide_file), "--backend", "scripted", "--headless", "--quiet", "--out", "hush"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out.strip() == "hush"
    assert events(Path("hush"))[-1]["type"] == "session_ended"
    assert [e["type"] for e in events(Path("hush"))] == [e["type"] for e in events(Path("loud"))]

    at = next(e["seq"] for e in events(Path("hush")) if e["type"] == "round_ended")
    assert main(["branch", "hush", "--at", str(at), "--out", "again"]) == 0
    capsys.readouterr()
    assert main(["resume", "again", "--headless", "-q"]) == 0
    resumed = capsys.readouterr()
    assert resumed.err == "" and resumed.out.strip() == "again"
    assert events(Path("again"))[-1]["type"] == "session_ended"


def test_quiet_without_headless_is_bad_input(guide_file: Path, capsys) -> None:
    assert main(["run", str(guide_file), "--backend", "scripted", "--quiet"]) == 2
    assert "--quiet applies to --headless runs" in capsys.readouterr().err
