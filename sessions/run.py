"""Run directories: where they go, their small ``meta.json``, and branching one run into another.

A run directory holds ``events.jsonl`` — the whole truth of the run — and ``meta.json``, a small
convenience summary (title, personas, backend, when it started, how it ended) for listings.
Nothing reads ``meta.json`` to resume: ``session_started`` carries the guide and every card.

Default location: ``runs/<YYYYmmdd-HHMMSS>-<guide-slug>`` under the current directory.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troupe.core.errors import BadInputError, BadRunError, RunStateError
from troupe.core.events import SessionStarted
from troupe.core.log import read_events, write_events
from troupe.core.slugs import slugify

if TYPE_CHECKING:
    from .guide import Guide

EVENTS_FILE = "events.jsonl"
META_FILE = "meta.json"
RUNS_DIR = "runs"


def default_run_dir(guide: Guide, *, base: str | Path | None = None, now: datetime | None = None) -> Path:
    """A new, unused ``runs/<timestamp>-<slug>`` path (``-2``, ``-3``… if taken)."""
    root = Path(base) if base is not None else Path.cwd() / RUNS_DIR
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    slug = slugify(guide.source.stem if guide.source else guide.title, limit=40) or "session"
    candidate = root / f"{stamp}-{slug}"
    k = 2
    while candidate.exists():
        candidate = root / f"{stamp}-{slug}-{k}"
        k += 1
    return candidate


def check_new_run_dir(path: str | Path) -> Path:
    """``--out`` must be a new or empty directory (never overwrite a run)."""
    p = Path(path)
    try:
        if p.exists() and not p.is_dir():
            raise BadInputError("is a file, not a folder; choose another --out", path=str(p))
        for parent in p.parents:  # the nearest existing ancestor must be a folder
            if parent.exists():
                if not parent.is_dir():
                    raise BadInputError(f"{parent} is not a folder; choose another --out", path=str(p))
                break
    except OSError as exc:  # a name too long, a permission the OS refuses to even look through
        raise BadInputError(
            f"cannot use this folder: {exc.strerror or exc}; choose another --out", path=str(p)
        ) from None
    if p.exists() and any(p.iterdir()):
        raise BadInputError("already exists and is not an empty directory; choose another --out", path=str(p))
    return p


def already_ended(run_dir: str | Path) -> RunStateError:
    """The error for resuming a run whose log holds ``session_ended``."""
    return RunStateError(f"{run_dir}: this run has already ended; use `troupe branch` to continue it differently")


# -- meta.json --------------------------------------------------------------------------------


def read_meta(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / META_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_meta(run_dir: str | Path, **fields: Any) -> None:
    """Write ``meta.json`` atomically (temp file + rename)."""
    path = Path(run_dir) / META_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(fields, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def update_meta(run_dir: str | Path, **fields: Any) -> None:
    write_meta(run_dir, **{**read_meta(run_dir), **fields})


# -- branch -----------------------------------------------------------------------------------


def branch_run(run_dir: str | Path, at_seq: int, out: str | Path | None = None) -> Path:
    """A new run made of events ``1..at_seq`` of ``run_dir`` (``session_ended`` dropped).

    The copy is self-contained (``session_started`` carries guide and cards) and can be
    resumed to go on differently — another backend, moderator, or seed of chance.
    """
    source = Path(run_dir)
    events = read_events(source / EVENTS_FILE)
    if not events or not isinstance(events[0], SessionStarted):
        raise BadRunError("does not start with session_started", path=str(source / EVENTS_FILE))
    last = events[-1].seq
    if not 1 <= at_seq <= last:
        raise BadInputError(f"--at must be between 1 and {last} (the run's last event)", path=str(source))
    target = Path(out) if out is not None else _sibling(source, f"branch-{at_seq}")
    check_new_run_dir(target)
    kept = [e for e in events if e.seq <= at_seq and e.type != "session_ended"]
    target.mkdir(parents=True, exist_ok=True)
    write_events(target / EVENTS_FILE, kept)
    meta = read_meta(source)
    meta.pop("ended", None)
    meta.update(events=len(kept), branched_from={"run": str(source), "seq": at_seq})
    write_meta(target, **meta)
    return target


def _sibling(path: Path, suffix: str) -> Path:
    candidate = path.with_name(f"{path.name}-{suffix}")
    k = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.name}-{suffix}-{k}")
        k += 1
    return candidate


__all__ = [
    "EVENTS_FILE",
    "META_FILE",
    "already_ended",
    "branch_run",
    "check_new_run_dir",
    "default_run_dir",
    "read_meta",
    "update_meta",
    "write_meta",
]
