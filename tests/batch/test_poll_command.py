"""``troupe poll`` through the fake Batch API: 1,000 personas, partial failure, kill -9 and
resume, and the ``--batch-file`` / ``--batch-results`` round trip (the ``vllm run-batch`` format)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.fake_openai import ErrorReply, FakeOpenAIServer, Reply
from troupe.core.log import read_events
from troupe.sessions.cli import main

GUIDE = "concept-test"
POLL = "purchase_intent"


def population(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"p{i:04d}.toml").write_text(
            f'name = "Person {i:04d}"\nage = {20 + i % 60}\noccupation = "worker {i % 17}"\n'
            f'residence = "Town {i % 23}"\n',
            encoding="utf-8",
        )
    return folder


def use(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def answers(run: Path) -> dict[str, object]:
    return {e.agent: e.value for e in read_events(run / "events.jsonl") if e.type == "poll_answer"}


def test_a_private_poll_of_1000_personas_runs_as_one_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = population(tmp_path / "pop", 1000)
    with FakeOpenAIServer(batch_latency=0.1) as server:
        use(server, monkeypatch)
        code = main(
            [
                "poll",
                str(people),
                "--guide",
                GUIDE,
                "--poll",
                POLL,
                "--out",
                str(tmp_path / "run"),
                "--batch",
                "--batch-poll",
                "0.05",
                "--quiet",
            ]
        )
    assert code == 0, capsys.readouterr().err
    assert len(answers(tmp_path / "run")) == 1000
    assert len(server.batches) == 1 and not server.chat_requests
    events = read_events(tmp_path / "run" / "events.jsonl")
    assert [e.type for e in events][-1] == "session_ended"
    calls = [e for e in events if e.type == "llm_call"]
    assert len(calls) == 1000
    # Logged in seating order, like an interactive private poll.
    order = [e.agent for e in events if e.type == "poll_answer"]
    assert order == sorted(order)


def test_a_partly_failed_batch_logs_the_failures_and_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = population(tmp_path / "pop", 12)

    def faults(cid: str, body: dict) -> ErrorReply | None:
        text = json.dumps(body["messages"])
        return ErrorReply(400, "content policy") if "You are Person 0003" in text else None

    with FakeOpenAIServer(batch_latency=0.05, batch_faults=faults) as server:
        use(server, monkeypatch)
        code = main(
            [
                "poll",
                str(people),
                "--guide",
                GUIDE,
                "--poll",
                POLL,
                "--out",
                str(tmp_path / "run"),
                "--batch",
                "--batch-poll",
                "0.05",
                "--quiet",
            ]
        )
    assert code == 1
    got = answers(tmp_path / "run")
    assert len(got) == 11 and "Person 0003" not in got
    errors = [e for e in read_events(tmp_path / "run" / "events.jsonl") if e.type == "error"]
    assert [e.agent for e in errors] == ["Person 0003"] and "content policy" in errors[0].message
    assert "did not answer" in capsys.readouterr().err


def test_kill_9_while_the_batch_runs_then_resume_attaches_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = population(tmp_path / "pop", 40)
    run = tmp_path / "run"
    with FakeOpenAIServer(batch_latency=3.0) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test"}
        args = [
            "poll",
            str(people),
            "--guide",
            GUIDE,
            "--poll",
            POLL,
            "--out",
            str(run),
            "--batch",
            "--batch-poll",
            "0.05",
            "--quiet",
        ]
        child = subprocess.Popen([sys.executable, "-m", "troupe.sessions.cli", *args], env=env)
        deadline = time.time() + 60
        while not (run / ".batch" / "batches.jsonl").exists() and time.time() < deadline:
            time.sleep(0.05)
        assert (run / ".batch" / "batches.jsonl").exists(), "the batch was never submitted"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        assert server.batches["batch_fake1"]["status"] != "completed"
        assert not answers(run)
        use(server, monkeypatch)
        assert main(args) == 0
    assert len(answers(run)) == 40
    assert len(server.batches) == 1  # attached to the batch the killed process had paid for


def test_batch_file_then_batch_results_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    people = population(tmp_path / "pop", 25)
    run, requests, results = tmp_path / "run", tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    base = [
        "poll",
        str(people),
        "--guide",
        GUIDE,
        "--poll",
        POLL,
        "--out",
        str(run),
        "--backend",
        "openai",
        "--model",
        "my-model",
        "--quiet",
    ]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # never reached
    assert main([*base, "--batch-file", str(requests)]) == 0
    assert "vllm run-batch" in capsys.readouterr().err
    lines = [json.loads(x) for x in requests.read_text().splitlines()]
    assert len(lines) == 25 and {x["body"]["model"] for x in lines} == {"my-model"}
    assert not answers(run)
    # What `vllm run-batch -i requests.jsonl -o results.jsonl` writes (here: the fake's generator).
    with FakeOpenAIServer() as engine:
        out = [
            {
                "id": f"vllm-{i}",
                "custom_id": x["custom_id"],
                "response": {
                    "status_code": 200,
                    "request_id": f"r{i}",
                    "body": engine._completion(x["body"], Reply(engine._generate(x["body"]))),
                },
                "error": None,
            }
            for i, x in enumerate(lines)
        ]
    results.write_text("".join(json.dumps(r) + "\n" for r in out))
    assert main([*base, "--batch-results", str(results)]) == 0
    assert len(answers(run)) == 25
    assert read_events(run / "events.jsonl")[-1].type == "session_ended"
