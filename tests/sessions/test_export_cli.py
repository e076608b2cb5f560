"""`troupe export` through the CLI: default paths, --force, and the folder rule for -o.

The rule (docs/guides.md): an export goes to RUN_DIR/transcript.<ext> by default; ``-o PATH``
must resolve — after ``..`` and symlinks — inside the run folder or the current directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.sessions.export_support import write_run
from troupe.core.log import read_events
from troupe.sessions.cli import main


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(cwd, run_dir): a working directory, and a run folder outside it."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd, write_run(tmp_path / "runs" / "r1")


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err, err
    return err


def test_default_path_then_refuse_overwrite_then_force(
    workspace: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = workspace
    assert main(["export", str(run), "--format", "md"]) == 0
    target = run / "transcript.md"
    first = target.read_text(encoding="utf-8")
    target.write_text("edited by hand", encoding="utf-8")
    capsys.readouterr()
    assert main(["export", str(run), "--format", "md"]) == 2
    assert "already exists; use --force to overwrite it" in one_line_error(capsys)
    assert target.read_text(encoding="utf-8") == "edited by hand"
    assert main(["export", str(run), "--format", "md", "--force"]) == 0
    assert target.read_text(encoding="utf-8").splitlines()[0] == first.splitlines()[0]
    assert not [p for p in run.iterdir() if p.name.startswith(".transcript")]  # no temp file left


@pytest.mark.parametrize("fmt", ["md", "json", "csv", "html"])
def test_every_format_writes_its_default_file(workspace: tuple[Path, Path], fmt: str) -> None:
    _, run = workspace
    assert main(["export", str(run), "--format", fmt]) == 0
    assert (run / f"transcript.{fmt}").stat().st_size > 500


def test_output_inside_run_dir_or_cwd_is_allowed(workspace: tuple[Path, Path]) -> None:
    cwd, run = workspace
    assert main(["export", str(run), "--format", "csv", "-o", str(run / "sub.csv")]) == 0
    assert main(["export", str(run), "--format", "csv", "-o", "here.csv"]) == 0
    assert (cwd / "here.csv").is_file()
    (cwd / "out").mkdir()
    assert main(["export", str(run), "--format", "json", "-o", "out"]) == 0  # a folder: default name inside
    assert (cwd / "out" / "transcript.json").is_file()


def test_output_goes_where_the_user_says_even_outside_the_run_and_cwd(
    workspace: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 9 item 13: ``-o ~/Documents/x.md`` is written there; only overwriting is refused."""
    cwd, run = workspace
    elsewhere = tmp_path / "Documents"
    elsewhere.mkdir()
    assert main(["export", str(run), "--format", "md", "-o", str(elsewhere / "x.md")]) == 0
    assert (elsewhere / "x.md").is_file()
    capsys.readouterr()
    assert main(["export", str(run), "--format", "md", "-o", str(elsewhere / "x.md")]) == 2
    assert "already exists" in one_line_error(capsys)
    assert main(["export", str(run), "--format", "md", "-o", str(elsewhere / "x.md"), "--force"]) == 0
    assert main(["export", str(run), "--format", "md", "-o", "../up.md"]) == 0
    assert (cwd.parent / "up.md").is_file()
    capsys.readouterr()
    assert main(["export", str(run), "--format", "md", "-o", str(tmp_path / "missing" / "x.md")]) == 2
    assert "folder does not exist" in one_line_error(capsys)
    audit = [json.loads(line) for line in (run / "exports.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(a["format"], a["path"]) for a in audit] == [
        ("md", str((elsewhere / "x.md").resolve())),
        ("md", str((elsewhere / "x.md").resolve())),
        ("md", str((cwd.parent / "up.md").resolve())),
    ]
    assert not any(e.type == "exported" for e in read_events(run / "events.jsonl"))  # an ended run's log is closed


def test_bad_run_dirs_and_flags_exit_2(
    workspace: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, run = workspace
    assert main(["export", str(tmp_path / "missing"), "--format", "md"]) == 2
    assert "no such run folder" in one_line_error(capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(empty), "--format", "md"]) == 2
    assert "no events.jsonl here" in one_line_error(capsys)
    assert main(["export", str(run), "--format", "md", "--bom"]) == 2
    assert "--bom applies to --format csv only" in one_line_error(capsys)
    with pytest.raises(SystemExit) as info:
        main(["export", str(run), "--format", "pdf"])
    assert info.value.code == 2


def test_export_of_a_crashed_run_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = write_run(tmp_path / "crashed", ended=False)
    with open(run / "events.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"seq": 99, "ts": "2026-01-01T12:')  # a torn last line
    assert main(["export", str(run), "--format", "md"]) == 0
    assert "not ended (stopped or still running)" in (run / "transcript.md").read_text(encoding="utf-8")
