"""The tools check us: lint, format, import contracts and types run with the suite, so CI
holds every change to them (the README's test command is just ``pytest``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: it is part of the dev extra (pip install -e '.[dev]')")
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_lint() -> None:
    out = run(tool("ruff"), "check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format() -> None:
    out = run(tool("ruff"), "format", "--check", "--no-cache", ".")
    assert out.returncode == 0, out.stdout + out.stderr


def test_import_contracts() -> None:
    """Layers (tui → sessions → personas → core) and a Textual-free core, from pyproject.toml."""
    out = run(tool("lint-imports"), "--no-cache")
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy_core() -> None:
    out = run(tool("mypy"), "--no-incremental")
    assert out.returncode == 0, out.stdout + out.stderr
