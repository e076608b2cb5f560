"""Exports of a run: Markdown, JSON, CSV and HTML transcripts.

All four are renderings of one :class:`~troupe.sessions.transcript.Transcript` built from
``RUN_DIR/events.jsonl``; :func:`export_run` is what ``troupe export`` calls. Writing follows
the rules in :mod:`troupe.sessions.export.common` (no overwrite without ``force``; no paths
outside the run folder or the current directory).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from troupe.core.errors import BadInputError
from troupe.core.log import read_events
from troupe.sessions.export.common import record_export, resolve_output, write_text
from troupe.sessions.export.csv_export import render_csv
from troupe.sessions.export.html import render_html
from troupe.sessions.export.json_export import render_json
from troupe.sessions.export.markdown import render_markdown
from troupe.sessions.run import read_meta
from troupe.sessions.transcript import Transcript, build_transcript

FORMATS: dict[str, str] = {"md": "md", "json": "json", "csv": "csv", "html": "html"}
"""Format name → file extension."""


def load_transcript(run_dir: str | Path, *, include_thoughts: bool = False) -> Transcript:
    """Read a run's log and shape it; a missing folder or log is bad input (exit 2)."""
    root = Path(run_dir)
    if not root.is_dir():
        raise BadInputError("no such run folder", path=str(root))
    log_path = root / "events.jsonl"
    if not log_path.is_file():
        raise BadInputError("no events.jsonl here; is this a run folder?", path=str(root))
    transcript = build_transcript(read_events(log_path), include_thoughts=include_thoughts)
    transcript.run_dir = root
    branched = read_meta(root).get("branched_from")  # written by troupe branch / the room's /branch
    if isinstance(branched, dict) and isinstance(branched.get("seq"), int):
        transcript.info.branched_from = (str(branched.get("run", "")), branched["seq"])
    return transcript


def render(t: Transcript, fmt: str, *, generated_at: datetime | None = None, bom: bool = False) -> str:
    """The export text of ``t`` in ``fmt`` (``md``, ``json``, ``csv``, ``html``)."""
    renderers: dict[str, Callable[[], str]] = {
        "md": lambda: render_markdown(t, generated_at=generated_at),
        "json": lambda: render_json(t, generated_at=generated_at),
        "csv": lambda: render_csv(t, bom=bom),
        "html": lambda: render_html(t, generated_at=generated_at),
    }
    if fmt not in renderers:
        raise BadInputError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    return renderers[fmt]()


def export_run(
    run_dir: str | Path,
    fmt: str,
    *,
    out: str | Path | None = None,
    force: bool = False,
    include_thoughts: bool = False,
    bom: bool = False,
    generated_at: datetime | None = None,
    cwd: Path | None = None,
    audit: bool = True,
) -> Path:
    """Write one export of a run; returns the path written.

    With ``audit`` (the default) the export is recorded in ``RUN_DIR/exports.jsonl``
    (``common.record_export``); a live session records it as an ``exported`` event instead
    and passes ``audit=False``.
    """
    if fmt not in FORMATS:
        raise BadInputError(f"unknown export format {fmt!r} (choose from {', '.join(FORMATS)})")
    target = resolve_output(Path(run_dir), out, f"transcript.{FORMATS[fmt]}", cwd=cwd)
    if target.exists() and not force:  # fail before doing the work
        raise BadInputError("already exists; use --force to overwrite it", path=str(target))
    transcript = load_transcript(run_dir, include_thoughts=include_thoughts)
    written = write_text(target, render(transcript, fmt, generated_at=generated_at, bom=bom), force=force)
    if audit:
        record_export(run_dir, fmt, written)
    return written


__all__ = ["FORMATS", "export_run", "load_transcript", "render"]
