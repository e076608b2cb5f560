"""``troupe dynamics RUN_DIR [--format md|json] [--embeddings [--backend B] [--embedding-model M]]``:
the group-dynamics readouts of a run.

Reads only ``RUN_DIR/events.jsonl`` (see ``docs/dynamics.md``) and prints to stdout. No model
call unless ``--embeddings`` asks for the embedding readout: then every distinct remark is
embedded through the run's backend (or ``--backend``), its cost printed on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from troupe.core import dynamics
from troupe.core.errors import BadInputError
from troupe.core.events import Event
from troupe.sessions.dynamics_render import dynamics_json, dynamics_markdown
from troupe.sessions.export import load_transcript
from troupe.sessions.transcript import RunInfo


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dynamics",
        help="airtime, who answered whom, opinion drift, conformity and voice similarity of a run",
        description="Group-dynamics readouts computed from RUN_DIR/events.jsonl (docs/dynamics.md).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", "-f", default="md", choices=("md", "json"))
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="also compare the personas' voices by embeddings: one embedding per distinct remark through the "
        "backend (model calls, costed; cached when the record/replay cache is on)",
    )
    p.add_argument("--backend", help="backend for --embeddings (default: the one recorded in the run)")
    p.add_argument(
        "--embedding-model", metavar="M", help="embedding model for --embeddings (default: [memory] embedding_model)"
    )
    p.set_defaults(handler=_dynamics)


def _dynamics(args: argparse.Namespace) -> int:
    if not args.embeddings and (args.backend or args.embedding_model):
        raise BadInputError("--backend and --embedding-model apply with --embeddings only")
    transcript = load_transcript(args.run_dir)
    readouts = dynamics.compute(transcript.events)
    if args.embeddings:
        readouts.embeddings = asyncio.run(
            voice_embeddings(transcript.events, transcript.info, args.backend, args.embedding_model)
        )
        print(f"embeddings: {readouts.embeddings.note}", file=sys.stderr)
    text = dynamics_json(readouts) if args.format == "json" else "\n".join(dynamics_markdown(readouts, heading="#"))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


async def voice_embeddings(
    events: Sequence[Event], info: RunInfo, backend_name: str | None, model: str | None
) -> dynamics.EmbeddingReadout:
    """The embedding readout through the run's backend (:func:`report_backend`'s choice)."""
    from troupe.sessions.report import report_backend
    from troupe.sessions.voice_embeddings import embed_voices

    backend, _, note = report_backend(info, backend_name, None)
    try:
        return await embed_voices(events, backend, model=model, unavailable=note)
    finally:
        if backend is not None:
            await backend.aclose()
