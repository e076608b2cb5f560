"""``troupe personas generate --batch``: a population written through the fake Batch API, and
a generation killed while its batch runs finished by running the same command again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.personas.test_population_factory import write_spec
from tests.support.fake_openai import FakeOpenAIServer
from troupe.personas.population import MANIFEST
from troupe.sessions.cli import main


def generate_args(spec: Path, out: Path, size: int = 12) -> list[str]:
    return [
        "personas", "generate", str(spec), "--out", str(out), "--size", str(size), "--model", "gpt-4.1-mini",
        "--batch", "--batch-poll", "0.05", "--quiet",
    ]  # fmt: skip


def test_a_population_generated_through_the_batch_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "pop"
    with FakeOpenAIServer(batch_latency=0.05) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert main(generate_args(write_spec(tmp_path), out)) == 0
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert len(manifest["personas"]) == 12
    assert not server.chat_requests and len(server.batches) == 1  # one wave: every narrative at once


def test_kill_9_during_a_batch_generation_then_the_same_command_finishes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "pop"
    spec = write_spec(tmp_path)
    with FakeOpenAIServer(batch_latency=2.0) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        child = subprocess.Popen([sys.executable, "-m", "troupe.sessions.cli", *generate_args(spec, out)], env=env)
        state = out / ".batch" / "batches.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and not state.exists():
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
        server.batch_latency = 0.05
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert main(generate_args(spec, out)) == 0  # no --force needed: the batch state says it is ours
    assert len(json.loads((out / MANIFEST).read_text(encoding="utf-8"))["personas"]) == 12
    first = json.loads(state.read_text().splitlines()[0])
    assert server.batches[first["batch_id"]]["status"] == "completed"
    sent = [cid for line in state.read_text().splitlines() for cid in json.loads(line).get("custom_ids", [])]
    assert len(sent) == len(set(sent))  # nothing paid twice
