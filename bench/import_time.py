"""How long ``import troupe.core`` (and the engine and session layers) take in a fresh process.

    python bench/import_time.py [--runs 7]

Each figure is the median over ``--runs`` fresh interpreters (so nothing is cached in
``sys.modules``), timed inside the child around the import statement alone. The target is
``import troupe.core`` ≤ 0.5 s; the engine modules are listed too, since a headless run loads
them all, and the heaviest imported packages of the engine are named (``-X importtime``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

MODULES = (
    "troupe.core",
    "troupe.core.room",
    "troupe.core.poll_run",
    "troupe.sessions.session",
    "troupe.sessions.cli",
)

TIMER = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def time_import(module: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", TIMER.format(module=module)], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip()))
    return statistics.median(samples)


def heaviest(module: str, top: int = 5) -> list[tuple[str, float]]:
    """Import time per top-level package: the self times of all its modules (``-X importtime``)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, check=True
    )
    totals: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, _, raw = line[len("import time:") :].split("|")
        root = raw.strip().split(".")[0]
        if root in sys.stdlib_module_names or root.startswith("_"):
            root = "(standard library)"
        totals[root] = totals.get(root, 0.0) + int(self_us) / 1e6
    return sorted(totals.items(), key=lambda r: -r[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"import times, median of {args.runs} fresh interpreters (python {sys.version.split()[0]})")
    width = max(len(m) for m in MODULES)
    for module in MODULES:
        seconds = time_import(module, args.runs)
        target = "  target ≤ 500 ms: " + ("ok" if seconds <= 0.5 else "MISS") if module == "troupe.core" else ""
        print(f"  import {module.ljust(width)}  {seconds * 1000:7.1f} ms{target}")
    print("where `import troupe.core.room` spends it, by top-level package:")
    for name, seconds in heaviest("troupe.core.room"):
        print(f"  {name:<20} {seconds * 1000:7.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
