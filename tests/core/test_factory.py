"""make_backend: names, defaults, the cache wrapper, the local extra, replay without a key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from troupe.core.config import Settings, load_settings
from troupe.core.errors import BackendUnavailableError, BadInputError, CacheMissError
from troupe.core.llm.cache import CachedBackend
from troupe.core.llm.factory import make_backend
from troupe.core.llm.openai_backend import OpenAIBackend
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend


async def test_names_and_models() -> None:
    settings = Settings(api_key="sk-test", model="gpt-4o-mini")
    backend = make_backend(settings)
    assert isinstance(backend, OpenAIBackend) and backend.model == "gpt-4o-mini"
    await backend.aclose()
    other = make_backend(settings, "openai", model="gpt-4.1")
    assert other.model == "gpt-4.1"
    await other.aclose()
    scripted = make_backend(Settings(), "scripted", model="fake-1")
    assert isinstance(scripted, ScriptedBackend) and scripted.name == "scripted" and scripted.model == "fake-1"


def test_unknown_backend_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="unknown backend 'gpt'"):
        make_backend(Settings(), "gpt")


def test_openai_without_configuration_is_unavailable() -> None:
    with pytest.raises(BackendUnavailableError, match="OPENAI_API_KEY"):
        make_backend(Settings(), "openai")


def test_missing_local_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "troupe.core.llm.local", None)  # import now raises ImportError
    with pytest.raises(BackendUnavailableError) as info:
        make_backend(Settings(), "local")
    assert "pip install 'troupe[local]'" in str(info.value)


async def test_cache_mode_wraps_and_replays_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "c.sqlite"
    monkeypatch.setenv("TROUPE_CACHE", "record")
    monkeypatch.setenv("TROUPE_CACHE_PATH", str(db))
    monkeypatch.setenv("TROUPE_BACKEND", "scripted")
    recorder = make_backend(load_settings())
    assert isinstance(recorder, CachedBackend) and recorder.mode == "record" and recorder.name == "scripted"
    request = ChatRequest([Message("user", "hello")])
    live = await recorder.complete(request)
    await recorder.aclose()

    monkeypatch.setenv("TROUPE_CACHE", "replay")
    replayer = make_backend(load_settings())
    assert (await replayer.complete(request)).text == live.text
    await replayer.aclose()

    # openai with no key: replay still works from the file and misses stay loud
    openai_replay = make_backend(load_settings(), "openai")
    assert isinstance(openai_replay, CachedBackend) and openai_replay.model == "gpt-4.1-mini"
    with pytest.raises(CacheMissError):
        await openai_replay.complete(request)  # recorded under the scripted model name
    await openai_replay.aclose()


async def test_embedding_models_reach_the_backends_and_replay_keeps_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from troupe.core.config import MemorySettings
    from troupe.core.llm.protocol import embedding_backend

    openai_backend = make_backend(Settings(api_key="sk-test"), "openai")
    assert openai_backend.embedding_model == "text-embedding-3-small"
    await openai_backend.aclose()
    chosen = make_backend(
        Settings(api_key="sk-test", memory=MemorySettings(embedding_model="text-embedding-3-large")), "openai"
    )
    assert chosen.embedding_model == "text-embedding-3-large"
    await chosen.aclose()
    assert make_backend(Settings(), "scripted").embedding_model == "scripted-embedding-1"

    # a replay-only openai backend (no key) still embeds from the file; a local one never embeds
    monkeypatch.setenv("TROUPE_CACHE", "replay")
    monkeypatch.setenv("TROUPE_CACHE_PATH", str(tmp_path / "c.sqlite"))
    replay = make_backend(load_settings(), "openai")
    assert embedding_backend(replay) is replay and replay.embedding_model == "text-embedding-3-small"
    with pytest.raises(CacheMissError):
        await replay.embed(["never recorded"])
    await replay.aclose()
    monkeypatch.setitem(sys.modules, "troupe.core.llm.local", None)
    local_replay = make_backend(load_settings(), "local")
    assert embedding_backend(local_replay) is None
    await local_replay.aclose()
