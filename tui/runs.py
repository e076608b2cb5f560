"""Recent runs for the home screen, read cheaply from their logs.

Only the first line (``session_started``: title, panel) and the last line (is it ended?)
of each ``events.jsonl`` are read, so listing fifty runs of ten thousand events each is
instant. (New run folders are named by ``troupe.sessions.run.default_run_dir``.)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from troupe.sessions.run import read_meta


@dataclass(frozen=True)
class RunSummary:
    path: Path
    title: str
    personas: list[str]
    backend: str | None
    """The backend the run was started with (a resume uses it unless told otherwise)."""
    model: str | None
    last_type: str
    last_seq: int
    modified: datetime
    started: str = ""
    """``ts`` of ``session_started`` (ISO 8601 UTC)."""
    last_section: str = ""
    """The title of the latest section started ("" before the first)."""
    branched_from: tuple[Path, int] | None = None
    """``(parent run folder, last shared seq)`` for a branch (``troupe branch``, ``/branch``)."""
    depth: int = 0
    """How deep in its branch tree the home screen shows it (0: a run of its own)."""

    @property
    def ended(self) -> bool:
        return self.last_type == "session_ended"

    @property
    def status(self) -> str:
        if self.ended:
            return "ended"
        return "crashed, resumable" if self.last_type == "torn" else "stopped, resumable"

    def describe(self) -> str:
        """One line that tells this run from the others: when, who, how far, in what state."""
        when = self.started[:16].replace("T", " ") if self.started else self.modified.strftime("%Y-%m-%d %H:%M")
        panel = ", ".join(p.split(" ", 1)[0] for p in self.personas[:4]) + ("…" if len(self.personas) > 4 else "")
        where = f"last: {self.last_section}" if self.last_section else "not started"
        branch = f"branch at #{self.branched_from[1]} · " if self.branched_from else ""
        return f"{branch}{when} · {panel} · {self.status} · {where} · {self.last_seq} events"


def _last_line(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 8192))
        lines = [line for line in fh.read().split(b"\n") if line.strip()]
    return lines[-1] if lines else b""


SECTION_MARK = b'"section_started"'
TAIL_BYTES = 65536


def _last_section(path: Path) -> str:
    """The title of the latest ``section_started`` in the log: looked for in its tail first,
    then (a long section) in the whole file, parsing only the lines that can be one."""
    with open(path, "rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - TAIL_BYTES))
        lines = [line for line in fh.read().split(b"\n") if SECTION_MARK in line]
        if not lines and size > TAIL_BYTES:
            fh.seek(0)
            lines = [line for line in fh if SECTION_MARK in line]
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("type") == "section_started":
            return str(event.get("title", ""))
    return ""


def summarize_run(run_dir: Path) -> RunSummary | None:
    """The summary of one run folder, or ``None`` if it holds no readable log."""
    log = run_dir / "events.jsonl"
    try:
        with open(log, "rb") as fh:
            first = json.loads(fh.readline() or b"{}")
        last: dict = {}
        try:
            last = json.loads(_last_line(log) or b"{}")
        except ValueError:  # a torn last line: the run crashed mid-write, still resumable
            last = {"type": "torn", "seq": first.get("seq", 0)}
    except (OSError, ValueError):
        return None
    if first.get("type") != "session_started":
        return None
    return RunSummary(
        path=run_dir,
        title=str(first.get("title", run_dir.name)),
        personas=list(first.get("personas", [])),
        backend=first.get("backend") if first.get("backend") in ("openai", "local", "scripted") else None,
        model=first.get("model"),
        last_type=str(last.get("type", "")),
        last_seq=int(last.get("seq", 0) or 0),
        modified=datetime.fromtimestamp(log.stat().st_mtime),
        started=str(first.get("ts", "")),
        last_section=_last_section(log),
        branched_from=_branched_from(run_dir),
    )


def _branched_from(run_dir: Path) -> tuple[Path, int] | None:
    meta = read_meta(run_dir).get("branched_from")
    if not isinstance(meta, dict) or not isinstance(meta.get("seq"), int) or not meta.get("run"):
        return None
    return Path(str(meta["run"])), int(meta["seq"])


def recent_runs(runs_dir: Path, limit: int = 30) -> list[RunSummary]:
    """Runs under ``runs_dir`` as a tree: the most recently touched run of its own first, each
    followed by its branches (and theirs), newest first, with their ``depth``."""
    if not runs_dir.is_dir():
        return []
    found = [summarize_run(p) for p in runs_dir.iterdir() if (p / "events.jsonl").is_file()]
    runs = sorted((r for r in found if r is not None), key=lambda r: r.modified, reverse=True)[:limit]
    by_path = {_key(r.path): r for r in runs}
    children: dict[str, list[RunSummary]] = {}
    roots: list[RunSummary] = []
    for run in runs:
        parent = _key(run.branched_from[0]) if run.branched_from else None
        if parent is not None and parent in by_path and parent != _key(run.path):
            children.setdefault(parent, []).append(run)
        else:
            roots.append(run)
    ordered: list[RunSummary] = []

    def visit(run: RunSummary, depth: int) -> None:
        if any(r.path == run.path for r in ordered):
            return  # a cycle in hand-edited meta.json: show each run once
        ordered.append(replace(run, depth=depth))
        for child in children.get(_key(run.path), []):
            visit(child, depth + 1)

    for root in roots:
        visit(root, 0)
    for run in runs:  # anything a cycle kept from the roots
        if not any(r.path == run.path for r in ordered):
            ordered.append(run)
    return ordered


def _key(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path)
