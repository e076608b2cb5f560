"""Observers behind the mirror: following a run read-only, and passing notes to the moderator.

``events.jsonl`` has one writer, the session. A ``troupe watch`` observer only reads it
(:class:`LogTail`), and sends notes by appending one JSON line to the run's inbox,
``RUN_DIR/observer_notes.jsonl`` (:func:`send_note`; several observers may append at once:
each line is one ``O_APPEND`` write). The live session reads the inbox from where it last
stopped (:func:`read_inbox`) and logs each note as an ``observer_note`` event whose
``inbox_end`` says how far the inbox was read, so a resumed session never logs a note twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from troupe.core.events import Event, parse_event

INBOX = "observer_notes.jsonl"
"""The observers' inbox in a run folder (never ``events.jsonl``)."""


@dataclass(frozen=True)
class InboxNote:
    text: str
    observer: str
    end: int
    """The inbox's byte offset just after this note's line."""


def send_note(run_dir: str | os.PathLike[str], text: str, observer: str = "observer") -> None:
    """Append one note to the run's inbox (one write of one line: safe with several observers)."""
    if not text.strip():
        return
    line = json.dumps(
        {
            "ts": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "observer": observer.strip() or "observer",
            "text": text.strip(),
        },
        ensure_ascii=False,
    )
    fd = os.open(Path(run_dir) / INBOX, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def read_inbox(run_dir: str | os.PathLike[str], offset: int = 0) -> list[InboxNote]:
    """The notes after byte ``offset`` of the inbox (complete lines only; a bad line is skipped)."""
    path = Path(run_dir) / INBOX
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return []
    notes: list[InboxNote] = []
    at = offset
    for raw in data.splitlines(keepends=True):
        if not raw.endswith(b"\n"):
            break  # a note being written: read it next time
        at += len(raw)
        try:
            item = json.loads(raw)
            text, observer = str(item["text"]), str(item.get("observer") or "observer")
        except (ValueError, KeyError, TypeError):
            continue
        if text.strip():
            notes.append(InboxNote(text, observer, at))
    return notes


class LogTail:
    """Follows a run's ``events.jsonl`` from another process: each :meth:`read` returns the
    events completed since the last one (a line still being written waits for its newline)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.path = Path(run_dir) / "events.jsonl"
        self.offset = 0

    def read(self) -> list[Event]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        out: list[Event] = []
        for raw in data.splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            self.offset += len(raw)
            try:
                out.append(parse_event(json.loads(raw)))
            except ValueError:
                continue
        return out
