"""A concept test run twice with two panels, compared in pandas (the notebook's twin).

    python examples/concept_test.py [--backend scripted] [--out DIR]

Runs the shipped ``concept-test`` guide with two different panels, loads both runs into
pandas and compares their purchase-intent answers (1 = strongly disagree … 5 = strongly
agree) in a chart saved as ``purchase_intent.png``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd

import troupe

PANELS = {
    "panel A": ["maria-lopez", "tom-becker", "aiko-sato"],
    "panel B": ["kwame-mensah", "priya-raman", "jean-dubois"],
}


def main(backend: str | None, out: Path) -> pd.DataFrame:
    frames = []
    for label, personas in PANELS.items():
        run = troupe.run_session(
            "concept-test", personas=personas, backend=backend, out=out / label.replace(" ", "-"), rounds=1
        )
        df = run.to_pandas()
        df["panel"] = label
        frames.append(df)
    events = pd.concat(frames, ignore_index=True)
    intent = events[(events["type"] == "poll_answer") & (events["poll_id"] == "purchase_intent")]
    table = intent.pivot_table(index="agent", columns="panel", values="score", aggfunc="last")
    summary = intent.groupby("panel")["score"].agg(["count", "mean"])
    print(summary.to_string())

    import matplotlib

    matplotlib.use("Agg")  # no display needed
    ax = intent.groupby("panel")["score"].mean().plot.bar(ylim=(1, 5), ylabel="mean purchase intent (1–5)", rot=0)
    ax.figure.savefig(out / "purchase_intent.png", bbox_inches="tight")
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", help="openai, local or scripted (default: as the CLI chooses)")
    parser.add_argument("--out", type=Path, help="a new folder for the runs (default: a temporary one)")
    args = parser.parse_args()
    main(args.backend, args.out or Path(tempfile.mkdtemp(prefix="troupe-example-")))
