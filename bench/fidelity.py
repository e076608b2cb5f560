"""How close do Troupe's panels come to real people on one poll — with and without the tools?

    python bench/fidelity.py GUIDE --poll ID --human CSV --column COL [--groups K] [--panel-size N]
                             [--backend B] [--model M] [--map "LABEL=VALUE;…"] [--seed S]
                             [--poll-draws K] [--poll-use mode|draw] [--poll-jitter J]
                             [--poll-instructions NAME] [--out DIR] [--json]

Runs ``troupe study GUIDE`` on whatever endpoint is configured (``--backend``/``--model``, or the
usual environment), validates the poll against the CSV column (``troupe validate``), and prints
the figures per aspect: centre, spread (SD ratio and its CI), extremes, shape (Wasserstein). When
any ``--poll-*`` tool is given, the study is run twice — plain, then with the tools — and the two
are printed side by side, so a user with a capable model can see what the tools buy, and at what
cost (the calls and tokens of each run are shown).

``--backend scripted`` runs offline in seconds (its answers are filler: a smoke test of the
pipeline, not a measurement).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from troupe.sessions.cli import main as troupe  # noqa: E402

TOOLS = ("poll_draws", "poll_use", "poll_jitter", "poll_instructions")


def run_arm(args: argparse.Namespace, out: Path, tools: bool) -> dict[str, Any]:
    """One study and its validation: the validation JSON plus the study's calls and tokens."""
    study = ["study", args.guide, "--groups", str(args.groups), "--seed", str(args.seed), "--out", str(out)]
    if args.panel_size:
        study += ["--panel-size", str(args.panel_size)]
    if args.backend:
        study += ["--backend", args.backend]
    if args.model:
        study += ["--model", args.model]
    if args.rounds is not None:
        study += ["--rounds", str(args.rounds)]
    if tools:
        for name in TOOLS:
            value = getattr(args, name)
            if value is not None:
                study += [f"--{name.replace('_', '-')}", str(value)]
    with contextlib.redirect_stdout(io.StringIO()):
        code = troupe(study)
    if code not in (0, 1):
        raise SystemExit(code)
    validate = ["validate", str(out), "--poll", args.poll, "--human", args.human, "--column", args.column, "-f", "json"]
    for item in args.map or []:
        validate += ["--map", item]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = troupe(validate)
    if code != 0:
        raise SystemExit(code)
    result: dict[str, Any] = json.loads(buffer.getvalue())
    result["usage"] = usage(out)
    return result


def usage(study_dir: Path) -> dict[str, float]:
    calls = tokens = 0
    cost = 0.0
    for log in study_dir.glob("*/events.jsonl"):
        for line in log.read_text(encoding="utf-8").splitlines():
            if '"llm_call"' in line:
                event = json.loads(line)
                calls += 1
                tokens += int(event.get("prompt_tokens") or 0) + int(event.get("completion_tokens") or 0)
                cost += float(event.get("cost_usd") or 0.0)
    return {"calls": calls, "tokens": tokens, "cost_usd": round(cost, 6)}


def row(result: dict[str, Any]) -> dict[str, str]:
    f = result.get("fidelity") or {}
    spread, extremes, shape = f.get("spread") or {}, f.get("extremes") or {}, f.get("shape") or {}
    ci = spread.get("sd_ratio_ci95")
    ext = extremes.get("extreme_share") or {}
    u = result["usage"]
    return {
        "n (sim / real)": f"{result['simulated']['n']} / {result['human']['n']}",
        "mean (sim / real)": f"{_n(result['simulated']['mean'])} / {_n(result['human']['mean'])}",
        "SD ratio (95 % CI)": f"{_n(spread.get('sd_ratio'))}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else ""),
        "extremes (sim / real)": f"{_p(ext.get('simulated'))} / {_p(ext.get('human'))}",
        "Wasserstein (points)": _n(shape.get("wasserstein")),
        "verdict": result["headline"],
        "calls · tokens": f"{u['calls']} · {u['tokens']:,}" + (f" · ${u['cost_usd']:.4f}" if u["cost_usd"] else ""),
    }


def _n(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def _p(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("guide")
    parser.add_argument("--poll", required=True)
    parser.add_argument("--human", required=True)
    parser.add_argument("--column", required=True)
    parser.add_argument("--map", action="append")
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--panel-size", type=int)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--backend")
    parser.add_argument("--model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--poll-draws", type=int)
    parser.add_argument("--poll-use", choices=("mode", "draw"))
    parser.add_argument("--poll-jitter", type=float)
    parser.add_argument("--poll-instructions")
    parser.add_argument("--out", help="keep the studies here (default: a temporary folder)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with_tools = any(getattr(args, name) is not None for name in TOOLS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        results = {"plain": run_arm(args, root / "plain", tools=False)}
        if with_tools:
            results["tools"] = run_arm(args, root / "tools", tools=True)
    if args.json:
        print(json.dumps({k: {"row": row(v), "validation": v} for k, v in results.items()}, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.guide} · {args.poll} vs {Path(args.human).name}:{args.column}")
    table.add_column("")
    for name in results:
        table.add_column(name, overflow="fold")
    rows = {name: row(result) for name, result in results.items()}
    for key in next(iter(rows.values())):
        table.add_row(key, *(rows[name][key] for name in results))
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
