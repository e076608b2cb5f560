"""Suite-wide fixtures. Keep this small and general; package-specific fixtures belong in a
``conftest.py`` next to the tests that use them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # so `tests.support` imports the same way from tests and bench/
    sys.path.insert(0, str(ROOT))

from tests.support.fake_openai import FakeOpenAIServer  # noqa: E402

# Variables that would point a test at a real model, a user's config file or a real cache.
_LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "OPENAI_API_VERSION",
    "AZURE_OPENAI_DEPLOYMENT",
    "TROUPE_CONFIG",
    "TROUPE_MODEL",
    "TROUPE_BACKEND",
    "TROUPE_CACHE",
    "TROUPE_CACHE_PATH",
    "TROUPE_RETRIEVAL",
    "TROUPE_EMBEDDING_MODEL",
    "TROUPE_TIMEOUT_S",
    "TROUPE_RETRY_BUDGET_S",
)


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's keys, config file or cache: tests never reach a real LLM."""
    for name in _LEAKY_ENV:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 (``.base_url``, ``.enqueue()``, ``.requests``)."""
    with FakeOpenAIServer() as server:
        yield server
