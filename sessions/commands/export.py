"""``troupe export`` and ``troupe report``: files made from a finished (or stopped) run.

::

    troupe export RUN_DIR --format md|json|csv|html [-o PATH] [--force] [--include-thoughts] [--bom]
    troupe report RUN_DIR [--format md|html] [-o PATH] [--force] [--backend B --model M]
                  [--themes auto|lexical] [--judge] [--embeddings]

Both read only ``RUN_DIR/events.jsonl`` and never change it. Output rules (default path, no
overwrite without ``--force``, no path outside the run folder or the current directory) are
in :mod:`troupe.sessions.export.common`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path

from troupe.core.errors import BadInputError
from troupe.core.llm.protocol import ChatBackend
from troupe.sessions.export import FORMATS, export_run, load_transcript
from troupe.sessions.export.common import resolve_output, write_text
from troupe.sessions.report import ThemeMode, build_report, report_backend
from troupe.sessions.report_render import render_report_html, render_report_markdown

REPORT_FORMATS = ("md", "html")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "export",
        help="write a run's transcript as Markdown, JSON, CSV or HTML",
        description="Write a run's transcript. Default output: RUN_DIR/transcript.<ext>.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", "-f", required=True, choices=list(FORMATS))
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file (or existing folder) to write; inside RUN_DIR or the current directory",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.add_argument("--include-thoughts", action="store_true", help="include the personas' private thoughts")
    p.add_argument(
        "--bom", action="store_true", help="CSV only: start with a UTF-8 byte-order mark (for Excel on Windows)"
    )
    p.set_defaults(handler=_export)

    r = subparsers.add_parser(
        "report",
        help="write a findings report: themes with verbatim quotes, poll statistics, profiles",
        description="Write a findings report. Default output: RUN_DIR/report.<ext>.",
    )
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("--format", "-f", default="md", choices=REPORT_FORMATS)
    r.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file (or existing folder) to write; inside RUN_DIR or the current directory",
    )
    r.add_argument("--force", action="store_true", help="overwrite an existing file")
    r.add_argument("--backend", help="backend for the theme analysis (default: the one recorded in the run)")
    r.add_argument("--model", help="model for the theme analysis (default: the run's model)")
    r.add_argument(
        "--themes",
        choices=("auto", "lexical"),
        default="auto",
        help="auto: ask the model, fall back to lexical clustering; lexical: no model call",
    )
    r.add_argument(
        "--judge",
        action="store_true",
        help="also score each persona per section for adherence to its card and self-consistency (0-9) with "
        "an LLM judge: one call per persona per section, costed; writes RUN_DIR/judge.md and judge.json",
    )
    r.add_argument(
        "--embeddings",
        action="store_true",
        help="also compare the personas' voices by embeddings in the group-dynamics section: one embedding per "
        "distinct remark through the backend (model calls, costed; cached when the record/replay cache is on)",
    )
    r.set_defaults(handler=_report)


def _export(args: argparse.Namespace) -> int:
    if args.bom and args.format != "csv":
        raise BadInputError("--bom applies to --format csv only")
    path = export_run(
        args.run_dir,
        args.format,
        out=args.output,
        force=args.force,
        include_thoughts=args.include_thoughts,
        bom=args.bom,
    )
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    if args.judge:  # refuse before any model call
        for name in ("judge.md", "judge.json"):
            if (Path(args.run_dir) / name).exists() and not args.force:
                raise BadInputError("already exists; use --force to overwrite it", path=str(Path(args.run_dir) / name))
    path = asyncio.run(
        write_report(
            args.run_dir,
            args.format,
            out=args.output,
            force=args.force,
            backend_name=args.backend,
            model=args.model,
            mode=args.themes,
            embeddings=args.embeddings,
        )
    )
    print(f"wrote {path}", file=sys.stderr)
    if args.judge:
        judged = asyncio.run(write_judge(args.run_dir, report_path=path, backend_name=args.backend, model=args.model))
        print(f"wrote {judged}", file=sys.stderr)
    return 0


async def write_judge(
    run_dir: str | Path,
    *,
    report_path: Path | None = None,
    backend_name: str | None = None,
    model: str | None = None,
    backend: ChatBackend | None = None,
) -> Path:
    """``--judge``: score the personas, write ``judge.md``/``judge.json`` in the run folder and
    add the section to a Markdown report. Returns the ``judge.md`` path."""
    import json

    from troupe.sessions.judge import judge_run

    transcript = load_transcript(run_dir)
    owned = False
    if backend is None:
        backend, model, note = report_backend(transcript.info, backend_name, model)
        if backend is None:
            raise BadInputError(f"the judge needs a model: {note}; choose one with --backend/--model", field="--judge")
        owned = True
    try:
        result = await judge_run(transcript, backend, model=model)
    finally:
        if owned:
            await backend.aclose()
    folder = Path(run_dir)
    (folder / "judge.json").write_text(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n", "utf-8")
    target = folder / "judge.md"
    target.write_text(result.render_markdown(), encoding="utf-8")
    if report_path is not None and report_path.suffix == ".md":
        with report_path.open("a", encoding="utf-8") as fh:
            fh.write("\n" + result.render_markdown(heading="##"))
    print(f"judge: {result.cost_line()}", file=sys.stderr)
    return target


async def write_report(
    run_dir: str | Path,
    fmt: str = "md",
    *,
    out: str | Path | None = None,
    force: bool = False,
    backend_name: str | None = None,
    model: str | None = None,
    mode: ThemeMode = "auto",
    backend: ChatBackend | None = None,
    generated_at: datetime | None = None,
    cwd: Path | None = None,
    embeddings: bool = False,
) -> Path:
    """Analyse a run and write its report; returns the path. ``backend`` overrides selection
    (tests inject a scripted backend); otherwise :func:`report_backend` picks one.
    ``embeddings``: add the embedding readout to the group-dynamics section (model calls)."""
    if fmt not in REPORT_FORMATS:
        raise BadInputError(f"unknown report format {fmt!r} (choose from {', '.join(REPORT_FORMATS)})")
    target = resolve_output(Path(run_dir), out, f"report.{fmt}", cwd=cwd)
    if target.exists() and not force:  # fail before any model call
        raise BadInputError("already exists; use --force to overwrite it", path=str(target))
    transcript = load_transcript(run_dir)
    note = None
    owned = False
    if backend is None and (mode == "auto" or embeddings):
        backend, model, note = report_backend(transcript.info, backend_name, model)
        owned = backend is not None
    try:
        report = await build_report(
            transcript,
            backend=backend,
            model=model,
            mode=mode,
            backend_note=note,
            generated_at=generated_at,
            embeddings=embeddings,
        )
    finally:
        if owned and backend is not None:
            await backend.aclose()
    if embeddings and report.dynamics is not None:
        print(f"embeddings: {report.dynamics.embeddings.note}", file=sys.stderr)
    if fmt == "html":
        beside = target.parent / "transcript.html"
        text = render_report_html(report, transcript_href="transcript.html" if beside.exists() else None)
    else:
        text = render_report_markdown(report)
    return write_text(target, text, force=force)
