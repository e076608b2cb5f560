"""Memory retrieval by embeddings in whole sessions: calls logged, resume, fallbacks, replay."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from tests.core.engine_fixtures import make_cards
from tests.support.fake_openai import FakeOpenAIServer
from troupe.core.llm.cache import CachedBackend
from troupe.core.llm.openai_backend import OpenAIBackend
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.recall import EmbeddingRecall
from troupe.sessions.guide import Guide, parse_guide
from troupe.sessions.headless import resume_headless, run_headless
from troupe.sessions.session import Session

RECALL_HEADER = "# Earlier moments you recall"


def long_guide(rounds: int = 6) -> Guide:
    """Enough talk on two topics that old items leave the window and come back by recall."""
    return parse_guide(
        {
            "title": "Soup, at length",
            "defaults": {"policy": "parallel", "rounds": rounds},
            "sections": [
                {"title": "Lunch", "prompt": "What do you usually have for lunch, and what does it cost you?"},
                {
                    "title": "Concept",
                    "prompt": "Here is an idea: a chilled gazpacho in a glass bottle, 2.49. Would you buy it?",
                    "polls": [{"id": "intent", "question": "Would you buy it?", "kind": "likert5"}],
                },
            ],
        }
    )


def read(run_dir: Path) -> list[dict]:
    lines = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    return lines


def embed_calls(lines: list[dict]) -> list[dict]:
    return [e for e in lines if e["type"] == "llm_call" and e["purpose"] == "embed"]


def openai_backend(server: FakeOpenAIServer) -> OpenAIBackend:
    return OpenAIBackend(base_url=server.base_url, api_key="sk-test", retry_backoff_s=0.001, max_retries=1)


async def test_a_headless_run_on_the_fake_server_recalls_by_embeddings_and_resume_keeps_it(
    tmp_path: Path, fake_openai: FakeOpenAIServer
) -> None:
    run_dir = tmp_path / "run"
    backend = openai_backend(fake_openai)
    session = await Session.start(
        long_guide(), make_cards(), backend, run_dir, retrieval="embeddings", budget=900, stop_on_backend_error=True
    )
    for _ in range(5):  # part of the guide, then the process "stops"
        await session.step()
    await session.aclose()
    await backend.aclose()
    first = read(run_dir)
    assert first[0]["retrieval"] == "embeddings" and first[0]["embedding_model"] == "text-embedding-3-small"
    assert embed_calls(first) and len(embed_calls(first)) == len(fake_openai.embedding_requests)

    backend = openai_backend(fake_openai)
    reopened = await Session.reopen(run_dir, backend)
    assert reopened.retrieval == "embeddings" and reopened.embeddings is not None
    assert reopened.embeddings.model == "text-embedding-3-small"
    assert all(isinstance(a.memory.recall, EmbeddingRecall) for a in reopened.room.agents.values())
    await reopened.aclose()
    await resume_headless(run_dir, backend, progress=False)
    await backend.aclose()

    lines = read(run_dir)
    assert lines[-1]["type"] == "session_ended" and lines[-1]["reason"] == "completed"
    calls = embed_calls(lines)
    assert len(calls) == len(fake_openai.embedding_requests) > len(embed_calls(first))  # one event per request
    assert all(c["agent"] is None and c["completion_tokens"] == 0 and c["prompt_tokens"] > 0 for c in calls)
    assert all(c["model"] == "text-embedding-3-small" and c["cost_usd"] > 0 for c in calls)
    assert sum(c["prompt_tokens"] for c in calls) > 0
    chat = [e for e in lines if e["type"] == "llm_call" and e["purpose"] != "embed"]
    assert len(chat) == len(fake_openai.chat_requests)  # one call per turn / poll / summary, as ever
    turns = [e for e in lines if e["type"] in ("say", "think", "pass")]
    assert len(calls) < len(turns)  # batched in the background, not one per turn
    prompts = [r.body["messages"][-1]["content"] for r in fake_openai.chat_requests]
    assert any(RECALL_HEADER in p for p in prompts)  # older memories did come back


async def test_run_headless_takes_the_retrieval_option(tmp_path: Path, fake_openai: FakeOpenAIServer) -> None:
    backend = openai_backend(fake_openai)
    await run_headless(
        long_guide(rounds=3),
        make_cards(),
        backend,
        tmp_path / "run",
        retrieval="embeddings",
        budget=900,
        progress=False,
    )
    await backend.aclose()
    lines = read(tmp_path / "run")
    assert lines[0]["retrieval"] == "embeddings" and embed_calls(lines)
    assert not [e for e in lines if e["type"] == "error"]


async def test_a_server_without_embeddings_logs_one_recovered_error_and_goes_on_lexically(tmp_path: Path) -> None:
    with FakeOpenAIServer(embeddings_endpoint=False) as server:
        backend = openai_backend(server)
        await run_headless(
            long_guide(rounds=3),
            make_cards(),
            backend,
            tmp_path / "run",
            retrieval="embeddings",
            budget=900,
            progress=False,
        )  # unattended: stops on backend errors, but not on this one
        await backend.aclose()
        assert len(server.embedding_requests) == 1  # tried once, then lexical for good
    lines = read(tmp_path / "run")
    [error] = [e for e in lines if e["type"] == "error"]
    assert error["purpose"] == "embed" and error["recovered"] is True and error["kind"] == "not_found"
    assert "lexical" in error["message"]
    assert embed_calls(lines) == [] and lines[-1]["reason"] == "completed"


async def test_a_backend_that_cannot_embed_falls_back_to_lexical_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = ScriptedBackend()
    backend.embedding_model = None  # as the cache around the local model reports
    with caplog.at_level(logging.WARNING):
        session = await Session.start(long_guide(), make_cards(), backend, tmp_path / "run", retrieval="embeddings")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot embed" in warnings[0].getMessage() and "\n" not in warnings[0].getMessage()
    assert session.retrieval == "lexical" and session.embeddings is None
    assert session.events[0].retrieval == "lexical"  # what was in effect: a resume does the same
    await session.aclose()


async def test_a_recorded_run_reopened_through_the_replay_cache_recalls_alike_with_zero_calls(tmp_path: Path) -> None:
    """Reopening rebuilds every memory from the log and embeds it again: from the cache, with
    zero calls, to the same vectors — so recall picks the same items."""
    run_dir, db = tmp_path / "run", tmp_path / "llm.sqlite"
    question = "What did people say about the price of lunch?"

    async def recall(session: Session) -> dict[str, list[str]]:
        return {
            name: [
                item.text for item in await agent.memory.recall_for(question, focus=question, limit=2, max_tokens=200)
            ]
            for name, agent in session.room.agents.items()
        }

    recorder = CachedBackend(ScriptedBackend(seed=4), db, "record")
    session = await Session.start(long_guide(), make_cards(), recorder, run_dir, retrieval="embeddings", budget=900)
    for _ in range(12):
        await session.step()
    before = await recall(session)
    assert all(
        a.memory.window_start > 2 * (len(session.cards) + 1) for a in session.room.agents.values()
    )  # vectors rank
    assert any(before.values()) and recorder.inner.embedded
    await session.aclose()
    await recorder.aclose()

    inner = ScriptedBackend(seed=99)  # a live call would reply differently
    replayer = CachedBackend(inner, db, "replay")
    reopened = await Session.reopen(run_dir, replayer)
    assert await recall(reopened) == before
    assert inner.embedded == [] and inner.calls == 0  # zero calls
    assert replayer.hits > 0 and reopened.embeddings is not None and reopened.embeddings.failed is None
    await reopened.aclose()
    await replayer.aclose()


def test_the_cli_option_and_the_environment_reach_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from troupe.sessions.cli import main

    monkeypatch.chdir(tmp_path)
    guide = tmp_path / "soup.toml"
    guide.write_text(
        'title = "CLI soup"\n[panel]\npersonas = ["maria-lopez", "tom-becker"]\n[defaults]\npolicy = "parallel"\n'
        'rounds = 2\n[[sections]]\ntitle = "Talk"\nprompt = "What do you think of bottled gazpacho?"\n',
        encoding="utf-8",
    )
    assert (
        main(["run", str(guide), "--backend", "scripted", "--headless", "--retrieval", "embeddings", "--out", "a"]) == 0
    )
    assert read(tmp_path / "a")[0]["retrieval"] == "embeddings"
    monkeypatch.setenv("TROUPE_RETRIEVAL", "embeddings")
    assert main(["run", str(guide), "--backend", "scripted", "--headless", "--out", "b"]) == 0
    assert read(tmp_path / "b")[0]["retrieval"] == "embeddings"
    assert main(["run", str(guide), "--backend", "scripted", "--headless", "--retrieval", "lexical", "--out", "c"]) == 0
    assert read(tmp_path / "c")[0]["retrieval"] == "lexical"
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:  # argparse's own exit for a bad choice
        main(["run", str(guide), "--backend", "scripted", "--headless", "--retrieval", "vectors"])
    assert info.value.code == 2 and "--retrieval" in capsys.readouterr().err


def test_the_tui_gets_the_retrieval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import troupe.tui.launch as launch
    from tests.tui.tui_fixtures import session_screen
    from troupe.sessions.cli import main

    monkeypatch.chdir(tmp_path)
    guide = tmp_path / "soup.toml"
    guide.write_text('title = "T"\n[panel]\npersonas = ["maria-lopez"]\n[[sections]]\ntitle = "Talk"\nprompt = "Hi?"\n')

    def run_briefly(app) -> int:
        async def drive() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await session_screen(pilot)

        asyncio.run(drive())
        return 0

    monkeypatch.setattr(launch, "run_app", run_briefly)
    assert main(["run", str(guide), "--backend", "scripted", "--retrieval", "embeddings", "--out", "a"]) == 0
    assert main(["run", str(guide), "--backend", "scripted", "--out", "b"]) == 0
    assert [read(tmp_path / d)[0]["retrieval"] for d in ("a", "b")] == ["embeddings", "lexical"]


async def test_turns_wait_for_embeddings_at_most_once_per_question(tmp_path: Path) -> None:
    """Items are embedded in the background while the turns' own calls run, so a search only
    ever waits for the vector of a question it has not seen (sent as soon as it was asked)."""

    class SlowChat(ScriptedBackend):
        async def embed(self, texts: list[str], *, model: str | None = None):  # fast embeddings, slow chat
            saved, self.latency = self.latency, 0.01
            try:
                return await super().embed(texts, model=model)
            finally:
                self.latency = saved

    backend = SlowChat(latency=0.12)
    guide = parse_guide(
        {
            "title": "One question",
            "defaults": {"policy": "parallel", "rounds": 9},
            "sections": [{"title": "Talk", "prompt": "What do you think of bottled gazpacho?"}],
        }
    )
    session = await Session.start(guide, make_cards(), backend, tmp_path / "run", retrieval="embeddings", budget=900)
    await session.run_to_end()
    store = session.embeddings
    assert store is not None and store.calls > 0
    assert all(len(a.memory.recall._cos) > 0 for a in session.room.agents.values())  # vectors did rank
    assert store.waits <= 1  # the one question, at most
    await session.aclose()
