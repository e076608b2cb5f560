"""The batch backend against the fake Batch API: waves, partial failures, expiry, files, resume."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.support.fake_openai import ErrorReply, FakeOpenAIServer, Reply
from troupe.core.actions import TurnAction
from troupe.core.errors import BackendError
from troupe.core.llm.batch import BatchBackend, read_results
from troupe.core.llm.openai_backend import OpenAIBackend
from troupe.core.llm.protocol import ChatRequest, Message


def requests(n: int) -> list[ChatRequest]:
    return [
        ChatRequest(
            messages=[Message("user", f"Persona {i}: what do you think?")], output_model=TurnAction, agent=f"P{i}"
        )
        for i in range(n)
    ]


def backend(server: FakeOpenAIServer, state: Path | None, **kw) -> BatchBackend:
    inner = OpenAIBackend(base_url=server.base_url, api_key="sk-test", model="gpt-4.1-mini")
    return BatchBackend(inner, state, poll_interval_s=0.05, **kw)


async def test_a_wave_of_requests_goes_out_as_one_batch(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        b = backend(server, tmp_path)
        out = await asyncio.gather(*(b.complete(r) for r in requests(20)))
        await b.aclose()
    assert all(isinstance(r.parsed, TurnAction) for r in out)
    assert len(server.batches) == 1
    assert server.batches["batch_fake1"]["request_counts"]["total"] == 20
    assert not server.chat_requests  # nothing went through interactive calls
    assert all(r.calls[0].prompt_tokens > 0 for r in out)
    state = [json.loads(x) for x in (tmp_path / "batches.jsonl").read_text().splitlines()]
    assert [s["event"] for s in state] == ["submitted", "finished"]


async def test_a_batch_that_partly_fails_retries_5xx_and_fails_4xx(tmp_path: Path) -> None:
    seen: dict[str, int] = {}

    def faults(cid: str, body: dict) -> ErrorReply | None:
        text = body["messages"][0]["content"]
        seen[cid] = seen.get(cid, 0) + 1
        if text.startswith("Persona 1:") and seen[cid] == 1:
            return ErrorReply(500, "server hiccup")
        if text.startswith("Persona 2:"):
            return ErrorReply(400, "bad request body")
        return None

    with FakeOpenAIServer(batch_faults=faults) as server:
        b = backend(server, tmp_path)
        out = await asyncio.gather(*(b.complete(r) for r in requests(5)), return_exceptions=True)
        await b.aclose()
    assert isinstance(out[2], BackendError) and "bad request body" in str(out[2])
    assert all(not isinstance(o, BaseException) for i, o in enumerate(out) if i != 2)
    assert len(server.batches) == 2  # the 500 went out again in a second batch
    assert server.batches["batch_fake2"]["request_counts"]["total"] == 1


async def test_an_expired_batch_resubmits_what_it_left_undone(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.expire_next_batch(after=3)
        b = backend(server, tmp_path)
        out = await asyncio.gather(*(b.complete(r) for r in requests(8)))
        await b.aclose()
    assert all(isinstance(r.parsed, TurnAction) for r in out)
    assert server.batches["batch_fake1"]["status"] == "expired"
    assert server.batches["batch_fake2"]["request_counts"]["total"] == 5


async def test_a_resumed_backend_attaches_to_the_batch_it_submitted(tmp_path: Path) -> None:
    with FakeOpenAIServer(batch_latency=0.5) as server:
        first = backend(server, tmp_path)
        calls = [asyncio.ensure_future(first.complete(r)) for r in requests(6)]
        while not server.batches:
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        for c in calls:  # the process dies: nothing of its memory survives
            c.cancel()
        await first.aclose()
        again = backend(server, tmp_path)
        assert again.pending_batches == ["batch_fake1"]
        out = await asyncio.gather(*(again.complete(r) for r in requests(6)))
        await again.aclose()
        assert len(server.batches) == 1  # attached, not paid twice
        assert all(isinstance(r.parsed, TurnAction) for r in out)
        # A third start finds the results on disk and needs no server at all.
        third = backend(server, tmp_path)
        n = len(server.requests)
        await asyncio.gather(*(third.complete(r) for r in requests(6)))
        await third.aclose()
        assert len(server.requests) == n


async def test_batch_file_and_results_round_trip(tmp_path: Path) -> None:
    inner = OpenAIBackend(api_key="unused", model="gpt-4.1-mini")
    out_file = tmp_path / "requests.jsonl"
    writer = BatchBackend(inner, None, mode="file", out_file=out_file)
    pending = [asyncio.ensure_future(writer.complete(r)) for r in requests(4)]
    await asyncio.wait_for(writer.written.wait(), 5)
    for p in pending:
        p.cancel()
    await writer.aclose()
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert len(lines) == 4 and all(x["url"] == "/v1/chat/completions" for x in lines)
    assert lines[0]["body"]["response_format"]["type"] == "json_schema"
    # A self-hosted engine (vllm run-batch) answers the file; here the fake server's generator does.
    with FakeOpenAIServer() as server:
        results = []
        for x in lines:
            completion = server._completion(x["body"], Reply(server._generate(x["body"])))
            results.append(
                {
                    "id": "r",
                    "custom_id": x["custom_id"],
                    "response": {"status_code": 200, "body": completion},
                    "error": None,
                }
            )
    results_file = tmp_path / "results.jsonl"
    results_file.write_text("".join(json.dumps(r) + "\n" for r in results))
    assert len(read_results(results_file.read_text())) == 4
    reader = BatchBackend(OpenAIBackend(api_key="unused", model="gpt-4.1-mini"), None, results_file=results_file)
    out = await asyncio.gather(*(reader.complete(r) for r in requests(4)))
    await reader.aclose()
    assert all(isinstance(r.parsed, TurnAction) for r in out)
