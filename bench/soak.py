"""Soak: a large run under rate limits finishes on its own (issue 15). Not part of CI.

    python bench/soak.py [--personas 200] [--rounds 10] [--latency 0.3] [--rate-limit 0.2]
                         [--timeouts 0.05] [--timeout-s 5] [--json]

200 generated personas (``troupe personas generate``, scripted) sit in one ``parallel`` guide for
10 rounds; ``troupe run --headless`` talks to the fake OpenAI-compatible server through the real
``openai`` backend while the server answers 20 % of chat requests with HTTP 429 and lets 5 %
hang (cut by the client at ``--timeout-s``). The run must exit 0 with ``session_ended`` and no
``troupe resume``. Printed: wall time, LLM calls logged, HTTP requests, retries (faults the
client retried), turns, and the peak RSS of the ``troupe`` process.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.fake_openai import FakeOpenAIServer, FaultMix  # noqa: E402

TROUPE = [sys.executable, "-m", "troupe.sessions.cli"]

SPEC = """\
title = "Soak panel"
context = "Grocery shoppers who buy a chilled soup now and then."
gender = { Female = 50, Male = 50 }
occupations = { nurse = 3, teacher = 2, "software developer" = 2, "retail assistant" = 3 }
[age]
bands = [{ min = 18, max = 34, weight = 40 }, { min = 35, max = 80, weight = 60 }]
[[countries]]
name = "United Kingdom"
nationality = "British"
cities = { London = 3, Leeds = 1 }
"""

GUIDE = """\
title = "Soak"
[defaults]
policy = "parallel"
rounds = {rounds}
[[sections]]
title = "Gazpacho"
prompt = "Here is Gazpacho Go, a chilled gazpacho in a 330 ml bottle at 2.49. What do you make of it?"
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--personas", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--rate-limit", type=float, default=0.20, help="share of chat requests answered 429")
    ap.add_argument("--timeouts", type=float, default=0.05, help="share of chat requests that hang")
    ap.add_argument("--timeout-s", type=float, default=5.0, help="the client's request timeout")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="troupe-soak-") as tmp:
        root = Path(tmp)
        (root / "spec.toml").write_text(SPEC, encoding="utf-8")
        (root / "guide.toml").write_text(GUIDE.format(rounds=args.rounds), encoding="utf-8")
        (root / "config.toml").write_text(
            f"timeout_s = {args.timeout_s}\nretry_budget_s = 600\nretry_backoff_s = 0.5\nretry_max_backoff_s = 10\n",
            encoding="utf-8",
        )
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "TROUPE_CONFIG": str(root / "config.toml")}
        subprocess.run(
            [*TROUPE, "personas", "generate", str(root / "spec.toml"), "--out", str(root / "pop")]
            + ["--size", str(args.personas), "--backend", "scripted", "--seed", "1"],
            check=True,
            env=env,
            capture_output=True,
        )
        people = sorted(str(p) for p in (root / "pop").glob("*.toml"))
        mix = FaultMix({"429": args.rate_limit, "timeout": args.timeouts}, seed=7, hang_s=30.0)
        with FakeOpenAIServer(latency=args.latency, faults=mix) as server:
            run_env = {**env, "OPENAI_API_KEY": "sk-soak", "OPENAI_BASE_URL": server.base_url}
            start = time.perf_counter()
            proc = subprocess.run(
                [*TROUPE, "run", str(root / "guide.toml"), "--backend", "openai", "--headless"]
                + ["--personas", ",".join(people), "--out", str(root / "run")],
                env=run_env,
                capture_output=True,
                text=True,
            )
            wall = time.perf_counter() - start
            requests = len(server.chat_requests)
            max_in_flight = server.max_in_flight
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        lines = [json.loads(line) for line in (root / "run" / "events.jsonl").read_text().splitlines()]
        ended = lines[-1]["type"] == "session_ended"
        figures = {
            "personas": args.personas,
            "rounds": args.rounds,
            "exit": proc.returncode,
            "session_ended": ended,
            "resumes": 0,
            "wall_s": round(wall, 1),
            "llm_calls": sum(1 for e in lines if e["type"] == "llm_call"),
            "http_requests": requests,
            "retries": sum(mix.counts.values()),
            "injected": dict(mix.counts),
            "turns": sum(1 for e in lines if e["type"] in ("say", "think", "pass")),
            "turn_errors": sum(1 for e in lines if e["type"] == "error"),
            "server_max_in_flight": max_in_flight,
            "peak_rss_mb": round(peak_kb / 1024, 1),
        }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        for key, value in figures.items():
            print(f"{key:>22}: {value}")
    if proc.returncode != 0 or not ended:
        print(proc.stderr[-2000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
