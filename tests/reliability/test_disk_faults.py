"""Defect 3 of issue 15: disk faults end with one line naming the path and the fault, exit 1,
and a log that resumes once the fault is gone.

Tests run as root in CI (a read-only chmod does not stop root) and cannot mount a tmpfs, so
the faults are injected at the event log's append seam (``troupe.core.log.open_append``):
a writer that writes part of a line and then raises ``OSError(ENOSPC)`` — what a full disk
does — or an open that raises ``EROFS``.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest

import troupe.core.log as log_module
from tests.reliability.conftest import GUIDE, copy_run
from troupe.sessions.cli import main

REAL_OPEN = log_module.open_append


class FullDisk:
    """A text handle that accepts ``room`` characters, writes part of the next write and then
    fails like a full disk (every later write fails too)."""

    def __init__(self, fh: Any, room: int) -> None:
        self._fh = fh
        self.room = room

    def write(self, text: str) -> int:
        if len(text) > self.room:
            self._fh.write(text[: self.room])
            self._fh.flush()
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(text)
        return self._fh.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def full_disk_after(room: int):
    return lambda path: FullDisk(REAL_OPEN(path), room)


def read_only(path: Path) -> Any:
    raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))


def events(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]


def fault_exit(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 1, err
    messages = [line for line in err.splitlines() if line.startswith("troupe:")]
    assert "Traceback" not in err and len(messages) == 1 and err.endswith(messages[0]), err
    return messages[0]


@pytest.fixture
def guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "soup.toml"
    path.write_text(GUIDE, encoding="utf-8")
    return path


@pytest.mark.parametrize("room", [14_000, 18_000])
def test_a_full_disk_mid_run_stops_with_one_line_and_the_run_resumes(
    guide: Path, capsys, monkeypatch, clean_run: Path, room: int
) -> None:
    monkeypatch.setattr(log_module, "open_append", full_disk_after(room))
    err = fault_exit(capsys, ["run", str(guide), "--backend", "scripted", "--headless", "--out", "full"])
    assert "full/events.jsonl" in err and "No space left on device" in err and "troupe resume full" in err
    raw = (Path("full") / "events.jsonl").read_text()
    assert not raw.endswith("\n")  # the half-written line is still there, last
    monkeypatch.setattr(log_module, "open_append", REAL_OPEN)  # space was freed
    assert main(["resume", "full", "--headless"]) == 0, capsys.readouterr().err
    lines = events(Path("full"))
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["type"] == "session_ended"
    turns = sum(1 for e in lines if e["type"] in ("say", "think", "pass"))
    assert turns == sum(1 for e in events(clean_run) if e["type"] in ("say", "think", "pass"))


def test_a_full_disk_before_the_first_event_says_nothing_was_recorded(guide: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(log_module, "open_append", full_disk_after(100))
    err = fault_exit(capsys, ["run", str(guide), "--backend", "scripted", "--headless", "--out", "full"])
    assert "No space left on device" in err and "nothing was recorded" in err


def test_a_read_only_folder_for_run_resume_and_branch(guide: Path, capsys, monkeypatch, clean_run: Path) -> None:
    half = copy_run(clean_run, Path("half"))
    lines = (half / "events.jsonl").read_text().splitlines(keepends=True)
    (half / "events.jsonl").write_text("".join(lines[: len(lines) // 2]))
    before = (half / "events.jsonl").read_bytes()
    monkeypatch.setattr(log_module, "open_append", read_only)
    err = fault_exit(capsys, ["run", str(guide), "--backend", "scripted", "--headless", "--out", "ro"])
    assert "ro/events.jsonl" in err and "Read-only file system" in err
    err = fault_exit(capsys, ["resume", "half", "--headless", "--backend", "scripted"])
    assert "half/events.jsonl" in err and "Read-only file system" in err
    assert (half / "events.jsonl").read_bytes() == before

    def no_mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "mkdir", no_mkdir)
        err = fault_exit(capsys, ["branch", "half", "--at", "3", "--out", "b"])
    assert "b" in err and "Read-only file system" in err
    monkeypatch.setattr(log_module, "open_append", REAL_OPEN)
    assert main(["resume", "half", "--headless", "--backend", "scripted"]) == 0
    assert events(half)[-1]["type"] == "session_ended"


def test_a_guide_whose_file_name_is_not_utf8_runs_and_resumes(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    name = os.fsdecode(b"soup-\xff.toml")
    Path(name).write_text(GUIDE, encoding="utf-8")
    assert main(["run", name, "--backend", "scripted", "--headless", "--out", "odd", "--rounds", "1"]) == 0
    lines = events(Path("odd"))
    assert lines[0]["spec"].endswith("soup-\\xff.toml") and lines[-1]["type"] == "session_ended"
    kept = (Path("odd") / "events.jsonl").read_text().splitlines(keepends=True)
    (Path("odd") / "events.jsonl").write_text("".join(kept[:-3]))
    capsys.readouterr()
    assert main(["resume", "odd", "--headless"]) == 0, capsys.readouterr().err
    assert main(["export", "odd", "--format", "md"]) == 0, capsys.readouterr().err
