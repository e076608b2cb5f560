"""A headless run through the CLI against the fake server's fault mix (issue 15): 429 10 %,
500 5 %, timeouts 5 %, bad JSON 10 %, truncated bodies 5 %, dropped connections 3 %.

The run must finish on its own (exit 0, ``session_ended``, no resume), with nearly every turn
valid, a contiguous log, and the API key nowhere in what it wrote.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAIServer, FaultMix
from troupe.sessions.cli import main

KEY = "sk-reliability-CANARY-0123456789abcdef"

GUIDE = """
title = "Fault weather"
[panel]
personas = ["maria-lopez", "tom-becker", "aiko-sato", "kwame-mensah", "priya-raman"]
[defaults]
policy = "parallel"
rounds = 3
[[sections]]
title = "Talk"
prompt = "What do you think of bottled gazpacho?"
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_a_run_under_the_fault_mix_finishes_on_its_own(tmp_path: Path, monkeypatch, capsys, seed: int) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.toml").write_text(GUIDE, encoding="utf-8")
    (tmp_path / "c.toml").write_text(
        "timeout_s = 0.5\nretry_backoff_s = 0.01\nretry_max_backoff_s = 0.05\nretry_budget_s = 30\n", encoding="utf-8"
    )
    mix = FaultMix(seed=seed, hang_s=3.0, retry_after_ms=10)
    with FakeOpenAIServer(latency=0.01, faults=mix) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("TROUPE_CONFIG", str(tmp_path / "c.toml"))
        code = main(["run", "g.toml", "--backend", "openai", "--headless", "--out", "run"])
        captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sum(mix.counts.values()) > 0
    lines = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["type"] == "session_ended"
    turns = [e for e in lines if e["type"] in ("say", "think", "pass")]
    assert len(turns) >= 13  # of 15: only a reply that stays invalid after its repair is lost
    for path in (tmp_path / "run").rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(encoding="utf-8", errors="replace")
    assert KEY not in captured.err + captured.out
