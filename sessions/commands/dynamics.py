"""``troupe dynamics RUN_DIR [--format md|json]``: the group-dynamics readouts of a run.

Reads only ``RUN_DIR/events.jsonl`` (see ``docs/dynamics.md``) and prints to stdout; no model call.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from troupe.core import dynamics
from troupe.sessions.dynamics_render import dynamics_json, dynamics_markdown
from troupe.sessions.export import load_transcript


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dynamics",
        help="airtime, who answered whom, opinion drift, conformity and voice similarity of a run",
        description="Group-dynamics readouts computed from RUN_DIR/events.jsonl (docs/dynamics.md).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--format", "-f", default="md", choices=("md", "json"))
    p.set_defaults(handler=_dynamics)


def _dynamics(args: argparse.Namespace) -> int:
    events = load_transcript(args.run_dir).events
    readouts = dynamics.compute(events)
    text = dynamics_json(readouts) if args.format == "json" else "\n".join(dynamics_markdown(readouts, heading="#"))
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0
