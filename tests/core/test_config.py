"""Settings: TOML file + environment, errors naming file and field, backend selection, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from troupe.core.config import Settings, backend_choice, default_backend_name, load_settings
from troupe.core.errors import BadInputError, ConfigError
from troupe.core.llm.pricing import ModelPrice

SECRET = "sk-config-SECRET-abcdef123456"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_the_default_file_is_missing() -> None:
    settings = load_settings()
    assert settings.source is None
    assert settings.backend is None and settings.model is None and settings.api_key is None
    assert settings.cache.mode == "off" and settings.max_concurrency == 64
    assert default_backend_name(settings) == "local"


def test_reads_the_default_file_under_xdg_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "troupe").mkdir()
    write(tmp_path / "troupe", 'model = "gpt-4o-mini"\n')
    settings = load_settings()
    assert settings.model == "gpt-4o-mini" and settings.source == tmp_path / "troupe" / "config.toml"


def test_full_toml_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        backend = "openai"
        model = "gpt-4.1-mini"
        base_url = "http://localhost:8000/v1/"
        timeout_s = 20
        max_retries = 5
        max_concurrency = 16
        temperature = 0.9

        [azure]
        endpoint = "https://res.openai.azure.com"
        deployment = "dep"

        [cache]
        mode = "record"
        path = "runs/cache.sqlite"

        [local]
        model_path = "~/models/x.gguf"
        n_threads = 2
        n_ctx = 2048

        [prices."my-model"]
        input = 0.3
        output = 1.2
        """.replace("\n        ", "\n"),
    )
    s = load_settings(path)
    assert s.backend == "openai" and s.model == "gpt-4.1-mini"
    assert s.base_url == "http://localhost:8000/v1"  # trailing slash dropped
    assert (s.timeout_s, s.max_retries, s.max_concurrency, s.temperature) == (20, 5, 16, 0.9)
    assert s.azure.configured and s.azure.deployment == "dep" and s.azure.api_version
    assert s.cache.mode == "record" and s.cache.resolved_path() == tmp_path / "runs" / "cache.sqlite"
    assert s.local.model_path == Path("~/models/x.gguf").expanduser() and s.local.n_threads == 2
    assert s.prices["my-model"] == ModelPrice(input=0.3, output=1.2)
    assert s.origin("model") == "config file" and s.source == path


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'model = "from-file"\nbackend = "local"\n[cache]\nmode = "off"\n')
    monkeypatch.setenv("TROUPE_MODEL", "from-env")
    monkeypatch.setenv("TROUPE_BACKEND", "scripted")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_DEPLOYMENT", "dep")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-01-01-preview")
    monkeypatch.setenv("TROUPE_CACHE", "replay")
    s = load_settings(path)
    assert s.model == "from-env" and s.backend == "scripted" and s.cache.mode == "replay"
    assert s.api_key is not None and s.api_key.get_secret_value() == SECRET
    assert s.azure.deployment == "dep" and s.azure.api_version == "2025-01-01-preview"
    assert s.origin("model") == "$TROUPE_MODEL"


def test_troupe_config_env_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROUPE_CONFIG", str(write(tmp_path, 'model = "m"\n', "other.toml")))
    assert load_settings().model == "m"
    monkeypatch.setenv("TROUPE_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="missing.toml: file not found"):
        load_settings()


def test_missing_explicit_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError) as info:
        load_settings(tmp_path / "nope.toml")
    assert info.value.exit_code == 2 and "nope.toml" in str(info.value)


def test_unknown_field_names_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "x"\n[cache]\nmode = "record"\nttl = 5\n')
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    err = info.value
    assert err.exit_code == 2 and isinstance(err, BadInputError)
    assert str(err) == f"{path}: cache.ttl: unknown field"
    assert "\n" not in str(err)


def test_bad_value_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.toml: max_concurrency: Input should be greater than or equal to 1"):
        load_settings(write(tmp_path, "max_concurrency = 0\n"))
    with pytest.raises(ConfigError, match=r"config.toml: base_url: .*http"):
        load_settings(write(tmp_path, 'base_url = "localhost:8000"\n'))
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings(write(tmp_path, "model = \n"))


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROUPE_BACKEND", "gpt")
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(info.value).startswith("environment: TROUPE_BACKEND: ")
    monkeypatch.delenv("TROUPE_BACKEND")
    monkeypatch.setenv("TROUPE_CACHE", "always")
    with pytest.raises(ConfigError, match="environment: TROUPE_CACHE: "):
        load_settings()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "local"),
        ({"OPENAI_API_KEY": SECRET}, "openai"),
        ({"OPENAI_BASE_URL": "http://localhost:11434/v1"}, "openai"),
        ({"AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com"}, "openai"),
        ({"OPENAI_API_KEY": SECRET, "TROUPE_BACKEND": "scripted"}, "scripted"),
        ({"TROUPE_BACKEND": "local", "OPENAI_BASE_URL": "http://x/v1"}, "local"),
    ],
)
def test_default_backend_selection(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert default_backend_name(settings) == expected
    name, why = backend_choice(settings)
    assert name == expected and why and SECRET not in why


def test_empty_environment_values_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    assert load_settings().api_key is None


def test_api_key_is_masked_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", SECRET + "az")
    s = load_settings()
    for text in (repr(s), str(s), s.model_dump_json(), repr(s.model_dump()), repr(s.azure)):
        assert SECRET not in text
    assert "**********" in repr(s)
    assert s.api_key is not None and s.api_key.get_secret_value() == SECRET


def test_with_overrides_keeps_secrets_and_validates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    s = load_settings().with_overrides(model="gpt-4o", backend="openai", temperature=None)
    assert s.model == "gpt-4o" and s.origin("model") == "command line"
    assert s.api_key is not None and s.api_key.get_secret_value() == SECRET
    with pytest.raises(ConfigError, match="backend"):
        s.with_overrides(backend="nope")


def test_settings_forbid_extra_fields_directly() -> None:
    with pytest.raises(ValidationError):
        Settings.model_validate({"modle": "x"})


def test_memory_retrieval_from_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().memory.retrieval == "lexical" and load_settings().memory.embedding_model is None
    path = write(tmp_path, '[memory]\nretrieval = "embeddings"\nembedding_model = "text-embedding-3-large"\n')
    s = load_settings(path)
    assert s.memory.retrieval == "embeddings" and s.memory.embedding_model == "text-embedding-3-large"
    monkeypatch.setenv("TROUPE_RETRIEVAL", "lexical")
    monkeypatch.setenv("TROUPE_EMBEDDING_MODEL", "nomic-embed-text")
    s = load_settings(path)
    assert s.memory.retrieval == "lexical" and s.memory.embedding_model == "nomic-embed-text"
    assert s.origin("memory.retrieval") == "$TROUPE_RETRIEVAL"
    monkeypatch.setenv("TROUPE_RETRIEVAL", "vectors")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith("environment: TROUPE_RETRIEVAL: ")
    monkeypatch.delenv("TROUPE_RETRIEVAL")
    with pytest.raises(ConfigError, match="memory.retrieval"):
        load_settings(write(tmp_path, '[memory]\nretrieval = "semantic"\n', "bad.toml"))
