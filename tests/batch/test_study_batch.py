"""``troupe study --batch``: every group's wave goes out in one batch; a killed study resumes
in its folder and attaches to the batch it had submitted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_openai import FakeOpenAIServer, Reply
from troupe.core.log import read_events
from troupe.sessions.cli import main


def study_args(out: Path) -> list[str]:
    return [
        "study", "concept-test", "--groups", "3", "--panel-size", "3", "--rounds", "1", "--seed", "4",
        "--out", str(out), "--batch", "--batch-poll", "0.05", "--quiet",
    ]  # fmt: skip


def finished(out: Path) -> list[Path]:
    return sorted(
        p
        for p in out.iterdir()
        if (p / "events.jsonl").is_file() and read_events(p / "events.jsonl")[-1].type == "session_ended"
    )


def test_a_batch_study_runs_every_group_through_the_batch_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "study"
    with FakeOpenAIServer(batch_latency=0.05) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert main(study_args(out)) == 0
    assert len(finished(out)) == 3
    assert not server.chat_requests
    # Groups move in lockstep: a wave holds every group's turns, so far fewer batches than turns.
    turns = sum(1 for p in finished(out) for e in read_events(p / "events.jsonl") if e.type in ("say", "think", "pass"))
    assert len(server.batches) < turns / 2
    assert json.loads((out / "study.json").read_text())["groups"]


def test_kill_9_during_a_batch_study_then_resume_in_the_same_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "study"
    with FakeOpenAIServer(batch_latency=0.05) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        child = subprocess.Popen([sys.executable, "-m", "troupe.sessions.cli", *study_args(out)], env=env)
        state = out / ".batch" / "batches.jsonl"
        deadline = time.time() + 60
        while time.time() < deadline and (not state.exists() or len(state.read_text().splitlines()) < 5):
            time.sleep(0.02)
        server.batch_latency = 2.0  # the next batch is in flight when the kill comes
        while time.time() < deadline and len(state.read_text().splitlines()) % 2 == 0:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL, "the study ended before the kill"
        before = len(server.batches)
        assert len(finished(out)) < 3
        assert len(state.read_text().splitlines()) % 2 == 1, "a batch was in flight at the kill"
        server.batch_latency = 0.05
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert main(study_args(out)) == 0
        attached = [b for b in server.batches.values() if int(b["id"].removeprefix("batch_fake")) <= before]
    assert len(finished(out)) == 3
    assert all(b["status"] == "completed" for b in attached)
    # The batch in flight at the kill was attached to: none of its requests went out again.
    sent: dict[str, int] = {}
    for line in state.read_text().splitlines():
        entry = json.loads(line)
        for cid in entry.get("custom_ids", []):
            sent[cid] = sent.get(cid, 0) + 1
    assert max(sent.values()) == 1


def test_a_study_runs_wave_by_wave_through_batch_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The self-hosted flow (``vllm run-batch`` between calls): each call logs the answers of
    wave k and writes wave k+1, until the study ends without writing a file."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "study"
    base = ["study", "concept-test", "--groups", "2", "--panel-size", "3", "--rounds", "1", "--out", str(out),
            "--model", "served-model", "--quiet"]  # fmt: skip
    engine = FakeOpenAIServer()  # its reply generator stands in for the engine; no server started

    def run_batch(src: Path, dst: Path) -> None:
        lines = [json.loads(x) for x in src.read_text().splitlines()]
        assert {x["body"]["model"] for x in lines} == {"served-model"}
        dst.write_text(
            "".join(
                json.dumps(
                    {
                        "custom_id": x["custom_id"],
                        "response": {
                            "status_code": 200,
                            "body": engine._completion(x["body"], Reply(engine._generate(x["body"]))),
                        },
                        "error": None,
                    }
                )
                + "\n"
                for x in lines
            )
        )

    assert main([*base, "--batch-file", "w1.jsonl"]) == 0
    waves = 1
    while (tmp_path / f"w{waves}.jsonl").exists():
        run_batch(tmp_path / f"w{waves}.jsonl", tmp_path / f"r{waves}.jsonl")
        assert main([*base, "--batch-results", f"r{waves}.jsonl", "--batch-file", f"w{waves + 1}.jsonl"]) == 0
        waves += 1
        assert waves < 40, "the waves do not converge"
    assert len(finished(out)) == 2
    assert (out / "study.json").exists()
