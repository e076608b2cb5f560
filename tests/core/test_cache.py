"""The record/replay cache: zero calls on replay, loud misses, concurrency (tasks and processes)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from troupe.core.actions import TurnAction
from troupe.core.errors import BackendError, CacheMissError, ConfigError
from troupe.core.llm.cache import CachedBackend
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend


def turn(text: str, agent: str = "Maria") -> ChatRequest:
    return ChatRequest(
        [Message("system", f"You are {agent}."), Message("user", text)], output_model=TurnAction, agent=agent
    )


async def test_record_then_replay_makes_zero_backend_calls(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    recorder = CachedBackend(ScriptedBackend(seed=1), db, "record")
    requests = [
        turn("Opinions on bottled gazpacho?"),
        turn("And the price?", "Tom"),
        ChatRequest([Message("user", "Summarise.")], purpose="report"),
    ]
    recorded = [await recorder.complete(r) for r in requests]
    assert recorder.inner.calls == 3 and recorder.writes == 3
    await recorder.aclose()

    inner = ScriptedBackend(seed=99)  # a different seed: a live call would reply differently
    replayer = CachedBackend(inner, db, "replay")
    replayed = [await replayer.complete(r) for r in requests]
    await replayer.aclose()

    assert inner.calls == 0 and replayer.hits == 3
    for live, again in zip(recorded, replayed, strict=True):
        assert again.text == live.text
        assert again.parsed == live.parsed
        [call] = again.calls
        assert call.cached and call.cost_usd == 0.0
        assert call.prompt_tokens == live.prompt_tokens and call.completion_tokens == live.completion_tokens
    assert isinstance(replayed[0].parsed, TurnAction) and replayed[2].parsed is None


async def test_replay_miss_is_loud_and_names_purpose_and_agent(tmp_path: Path) -> None:
    backend = CachedBackend(ScriptedBackend(), tmp_path / "c.sqlite", "replay")
    with pytest.raises(CacheMissError) as info:
        await backend.complete(ChatRequest([Message("user", "never recorded")], purpose="poll", agent="Aiko Sato"))
    await backend.aclose()
    message = str(info.value)
    assert "'poll'" in message and "Aiko Sato" in message and "c.sqlite" in message
    assert backend.inner.calls == 0 and backend.misses == 1


async def test_replay_streams_deltas_on_a_hit(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    recorder = CachedBackend(ScriptedBackend(), db, "record")
    live = await recorder.complete(turn("Stream me"))
    await recorder.aclose()
    deltas: list[str] = []
    replayer = CachedBackend(ScriptedBackend(), db, "replay", stream_chunk=7)
    again = await replayer.complete(turn("Stream me"), on_delta=deltas.append)
    await replayer.aclose()
    assert "".join(deltas) == live.text == again.text and len(deltas) > 2


async def test_identical_requests_replay_in_recorded_order(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    recorder = CachedBackend(ScriptedBackend(script=["first", "second"]), db, "record")
    request = ChatRequest([Message("user", "same prompt")])
    assert [(await recorder.complete(request)).text for _ in range(2)] == ["first", "second"]
    await recorder.aclose()
    replayer = CachedBackend(ScriptedBackend(), db, "replay")
    # a third identical request gets the latest recording rather than a miss
    assert [(await replayer.complete(request)).text for _ in range(3)] == ["first", "second", "second"]
    await replayer.aclose()


async def test_failed_calls_are_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    recorder = CachedBackend(ScriptedBackend(script=[BackendError("server down", kind="server")]), db, "record")
    with pytest.raises(BackendError):
        await recorder.complete(ChatRequest([Message("user", "x")]))
    assert recorder.writes == 0 and recorder.count() == 0
    await recorder.aclose()


async def test_off_mode_passes_through_and_bad_mode_is_config_error(tmp_path: Path) -> None:
    inner = ScriptedBackend(script=["hi"])
    backend = CachedBackend(inner, tmp_path / "never.sqlite", "off")
    assert (await backend.complete(ChatRequest([Message("user", "x")]))).text == "hi"
    assert not (tmp_path / "never.sqlite").exists()
    assert backend.name == "scripted" and backend.model == inner.model
    with pytest.raises(ConfigError, match="cache.mode"):
        CachedBackend(inner, tmp_path / "x.sqlite", "sometimes")  # type: ignore[arg-type]


async def test_unopenable_cache_path_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    backend = CachedBackend(ScriptedBackend(), tmp_path / "file" / "c.sqlite", "record")
    with pytest.raises(ConfigError, match="cache.path"):
        await backend.complete(ChatRequest([Message("user", "x")]))


async def test_concurrent_tasks_share_one_cache(tmp_path: Path) -> None:
    db = tmp_path / "c.sqlite"
    recorder = CachedBackend(ScriptedBackend(latency=0.01), db, "record")
    requests = [turn(f"Question {i}", f"Agent{i}") for i in range(40)]
    live = await asyncio.gather(*(recorder.complete(r) for r in requests))
    assert recorder.count() == 40
    await recorder.aclose()
    replayer = CachedBackend(ScriptedBackend(), db, "replay")
    again = await asyncio.gather(*(replayer.complete(r) for r in requests))
    await replayer.aclose()
    assert [a.text for a in again] == [b.text for b in live]
    assert replayer.inner.calls == 0


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from troupe.core.llm.cache import CachedBackend
    from troupe.core.llm.protocol import ChatRequest, Message
    from troupe.core.llm.scripted import ScriptedBackend

    async def main(db, tag):
        backend = CachedBackend(ScriptedBackend(), db, "record")
        await asyncio.gather(*(backend.complete(ChatRequest([Message("user", f"{tag} {i}")])) for i in range(25)))
        await backend.aclose()

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


def test_several_processes_record_into_one_file(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(db), f"proc{n}"], stderr=subprocess.PIPE) for n in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
    backend = CachedBackend(ScriptedBackend(), db, "replay")
    assert backend.count() == 75


async def test_embeddings_are_cached_per_text_and_replay_with_zero_calls(tmp_path: Path) -> None:
    db = tmp_path / "cache.sqlite"
    inner = ScriptedBackend()
    recorder = CachedBackend(inner, db, "record")
    assert recorder.embedding_model == "scripted-embedding-1"
    first = await recorder.embed(["soup in a bottle", "rain in Leeds"])
    assert inner.embedded == [["soup in a bottle", "rain in Leeds"]] and recorder.writes == 2
    assert [c.cached for c in first.calls] == [False]
    # read-through: only the new text goes to the inner backend, the others come from the file
    second = await recorder.embed(["rain in Leeds", "a new line", "soup in a bottle"])
    assert inner.embedded[-1] == ["a new line"]
    assert second.vectors[0] == first.vectors[1] and second.vectors[2] == first.vectors[0]
    assert [c.cached for c in second.calls] == [True, False] and second.calls[0].cost_usd == 0.0
    await recorder.aclose()

    never = ScriptedBackend()
    replayer = CachedBackend(never, db, "replay")
    replayed = await replayer.embed(["a new line", "soup in a bottle", "rain in Leeds"])
    assert never.embedded == []  # zero calls
    assert replayed.vectors == [second.vectors[1], first.vectors[0], first.vectors[1]]
    [call] = replayed.calls
    assert call.cached and call.prompt_tokens > 0 and call.completion_tokens == 0
    with pytest.raises(CacheMissError, match="no recorded embedding for 1 text"):
        await replayer.embed(["soup in a bottle", "never seen"])
    # another model is another key: recorded vectors are never mixed across models
    with pytest.raises(CacheMissError, match="other-model"):
        await replayer.embed(["soup in a bottle"], model="other-model")
    await replayer.aclose()


async def test_cached_vectors_are_float32_in_record_and_replay_alike(tmp_path: Path) -> None:
    import struct

    db = tmp_path / "cache.sqlite"
    recorder = CachedBackend(ScriptedBackend(), db, "record")
    live = (await recorder.embed(["gazpacho in a glass bottle"])).vectors[0]
    exact = (await ScriptedBackend().embed(["gazpacho in a glass bottle"])).vectors[0]
    assert live == list(struct.unpack(f"<{len(exact)}f", struct.pack(f"<{len(exact)}f", *exact)))
    await recorder.aclose()
    replayer = CachedBackend(ScriptedBackend(), db, "replay")
    assert (await replayer.embed(["gazpacho in a glass bottle"])).vectors[0] == live
    await replayer.aclose()


async def test_a_cache_around_a_backend_without_embeddings_cannot_embed(tmp_path: Path) -> None:
    from troupe.core.llm.protocol import embedding_backend

    class ChatOnly(ScriptedBackend):
        def __init__(self) -> None:
            super().__init__()
            self.embedding_model = None

    for mode in ("off", "record"):
        cache = CachedBackend(ChatOnly(), tmp_path / "c.sqlite", mode)
        assert cache.embedding_model is None and embedding_backend(cache) is None
        with pytest.raises(BackendError, match="cannot embed") as info:
            await cache.embed(["soup"])
        assert not isinstance(info.value, CacheMissError)
        await cache.aclose()
