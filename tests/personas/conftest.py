"""Fixtures for the persona tests: the TinyTroupe sample files and small file writers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

# Copies of TinyTroupe's own example files (MIT, see LICENSE there): Lisa, Oscar, a fragment.
TINYTROUPE = Path(__file__).resolve().parent / "fixtures" / "tinytroupe"


@pytest.fixture
def tinytroupe_dir() -> Path:
    return TINYTROUPE


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, Any], Path]:
    """``write("x.toml", text)`` or ``write("x.json", data)`` → the path, under tmp_path."""

    def _write(name: str, content: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.fixture
def leaves() -> Callable[[Any], list[Any]]:
    """Every scalar in nested JSON data (strings, numbers, booleans, null), with repeats."""
    return _leaves
