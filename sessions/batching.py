"""Long headless jobs: the ``--batch`` options and one rich progress bar for all of them.

``troupe study``, ``troupe personas generate`` and ``troupe poll`` share:

* :func:`add_batch_options` — ``--batch`` (the provider's Batch API), ``--batch-file OUT.jsonl``
  (only write the requests, for ``vllm run-batch``), ``--batch-results IN.jsonl`` (answer from
  such an output file), ``--batch-poll S`` (seconds between status checks) and ``--quiet``;
* :func:`add_quiet_option` — ``--quiet``/``-q`` alone, for every long headless job (``troupe run
  --headless`` and ``troupe resume --headless`` too): no progress bar, for scripts;
* :func:`batch_backend` — the job's backend wrapped in a :class:`~troupe.core.llm.batch.BatchBackend`
  whose state (batch ids, finished results) lives in the job's folder, so a job killed while its
  batch runs attaches to that batch when it is run again;
* :func:`run_job` — runs the job; in ``--batch-file`` mode it stops once a wave of requests is
  written and says how to continue;
* :class:`JobProgress` — counts, rate, cost so far and ETA on stderr (nothing with ``--quiet``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from troupe.core.errors import BadInputError
from troupe.core.llm.protocol import ChatBackend

if TYPE_CHECKING:  # the openai SDK is imported only when a batch job runs (`troupe --help` stays fast)
    from troupe.core.llm.batch import BatchProgress

T = TypeVar("T")

BATCH_STATE = ".batch"
"""Folder (inside the run, study or population folder) where a batch job keeps its state."""


def add_batch_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("batch engines (about half the price; results in minutes to hours)")
    group.add_argument(
        "--batch", action="store_true", help="send the requests through the provider's Batch API (files + batches)"
    )
    group.add_argument(
        "--batch-file",
        metavar="OUT.jsonl",
        help="only write the next wave of requests as an OpenAI batch file (e.g. for `vllm run-batch`), then stop",
    )
    group.add_argument(
        "--batch-results",
        metavar="IN.jsonl",
        help="read the answers from a batch output file (the OpenAI / `vllm run-batch` format) and go on",
    )
    group.add_argument(
        "--batch-poll", type=float, default=10.0, metavar="S", help="seconds between batch status checks (default 10)"
    )
    add_quiet_option(parser)


def add_quiet_option(parser: argparse.ArgumentParser, *, note: str = "") -> None:
    """``--quiet``/``-q``: a long headless job shows no progress bar (errors are still shown)."""
    parser.add_argument("--quiet", "-q", action="store_true", help=f"no progress bar (for scripts){note}")


def batching(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "batch", False) or getattr(args, "batch_file", None) or getattr(args, "batch_results", None)
    )


def make_job_backend(settings: Any, args: argparse.Namespace) -> ChatBackend:
    """The job's backend (``--backend``/``--model``). Writing or reading batch files needs no
    key or server: the requests only have to be written in the OpenAI format."""
    from troupe.core.errors import BackendUnavailableError
    from troupe.core.llm.factory import make_backend
    from troupe.core.llm.openai_backend import OpenAIBackend

    try:
        return make_backend(settings, args.backend, args.model)
    except BackendUnavailableError:
        if (getattr(args, "batch_file", None) or getattr(args, "batch_results", None)) and args.backend in (
            None,
            "openai",
        ):
            return OpenAIBackend(api_key="unused", model=args.model or settings.model)
        raise


def batch_backend(
    backend: ChatBackend, args: argparse.Namespace, job_dir: Path, progress: JobProgress | None = None
) -> ChatBackend:
    """``backend`` as a :class:`BatchBackend` when a ``--batch*`` option is given, else as is."""
    if not batching(args):
        return backend
    from troupe.core.llm.batch import BatchBackend
    from troupe.core.llm.openai_backend import OpenAIBackend

    if not isinstance(backend, OpenAIBackend):
        if args.batch or not (args.batch_file or args.batch_results):
            raise BadInputError("batch engines speak the OpenAI batch format: use --backend openai", field="--batch")
        backend = OpenAIBackend(api_key="unused", model=getattr(backend, "model", None))
    if args.batch and args.batch_file:
        raise BadInputError("--batch submits the requests; --batch-file only writes them: choose one", field="--batch")
    results = Path(args.batch_results) if args.batch_results else None
    if results is not None and not results.is_file():
        raise BadInputError("no such file", path=str(results), field="--batch-results")
    out = Path(args.batch_file) if args.batch_file else None
    if out is not None and out.exists():
        raise BadInputError("already exists (a batch file is never overwritten)", path=str(out), field="--batch-file")
    return BatchBackend(
        backend,
        job_dir / BATCH_STATE,
        mode="submit" if args.batch else "file",
        out_file=out,
        results_file=results,
        poll_interval_s=max(0.01, args.batch_poll),
        gather_s=0.5,
        on_progress=progress.on_batch if progress is not None else None,
    )


async def run_job(job: Awaitable[T], backend: ChatBackend) -> tuple[T | None, int]:
    """Run ``job``; with a batch backend writing a file, stop once it has written a wave.

    Returns ``(result, lines_written)``: ``result`` is None when the job stopped at a file.
    """
    from troupe.core.llm.batch import BatchBackend

    task = asyncio.ensure_future(job)
    if not isinstance(backend, BatchBackend) or backend.out_file is None:
        return await task, 0
    written = asyncio.ensure_future(backend.written.wait())
    await asyncio.wait([task, written], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        written.cancel()
        return task.result(), backend.lines_written
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return None, backend.lines_written


def file_written_note(backend: ChatBackend, lines: int, again: str) -> str:
    out = getattr(backend, "out_file", None)
    return (
        f"wrote {lines} request{'s' if lines != 1 else ''} to {out}. Run them, e.g. "
        f"`vllm run-batch -i {out} -o results.jsonl --model MODEL`, then continue with `{again} --batch-results "
        "results.jsonl` (add --batch-file NEXT.jsonl when more waves follow)"
    )


class JobProgress:
    """A rich progress bar on stderr: done/total, rate, cost so far, ETA, batch status.

    ``quiet`` → nothing is shown, but the counts are still kept (for the closing line).
    """

    def __init__(self, description: str, total: int, *, quiet: bool = False) -> None:
        self.description = description
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.failed = 0
        self.cost_usd = 0.0
        self.batch = ""
        self.lines_written = 0
        self.started = time.perf_counter()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> JobProgress:
        if not self.quiet:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("{task.fields[cost]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[batch]}"),
                console=Console(file=sys.stderr, highlight=False),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.description, total=self.total or None, **self._fields())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._refresh()
            self._bar.__exit__(None, None, None)
            self._bar = None

    def _fields(self) -> dict[str, str]:
        elapsed = max(1e-6, time.perf_counter() - self.started)
        rate = (self.done + self.failed) / elapsed
        return {
            "rate": f"{rate:,.1f}/s",
            "cost": f"${self.cost_usd:.4f}" if self.cost_usd else "$0",
            "batch": self.batch,
        }

    def _refresh(self) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done + self.failed, total=self.total or None, **self._fields())

    def advance(self, *, ok: bool = True, cost_usd: float = 0.0) -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        self.cost_usd += cost_usd
        self._refresh()

    def add_cost(self, cost_usd: float) -> None:
        self.cost_usd += cost_usd
        self._refresh()

    def on_batch(self, progress: BatchProgress) -> None:
        n = len(progress.batch_ids)
        self.batch = f"batch {progress.status}" + (f" ({n} submitted)" if n else "")
        self._refresh()

    def print(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False)
        elif not self.quiet:
            print(text, file=sys.stderr)


EventCallback = Callable[[Any], None]


def event_counter(progress: JobProgress, counts: Callable[[Any], bool | None]) -> EventCallback:
    """A log subscriber feeding ``progress``: ``counts(event)`` → True (done), False (failed),
    None (not a unit of work); ``llm_call`` costs are added as they are logged."""

    def on_event(event: Any) -> None:
        if event.type == "llm_call":
            progress.add_cost(float(getattr(event, "cost_usd", 0.0) or 0.0))
            return
        verdict = counts(event)
        if verdict is not None:
            progress.advance(ok=verdict)

    return on_event


__all__ = [
    "BATCH_STATE",
    "JobProgress",
    "add_batch_options",
    "add_quiet_option",
    "batch_backend",
    "batching",
    "event_counter",
    "file_written_note",
    "make_job_backend",
    "run_job",
]
