"""Argument types and option groups shared by several ``troupe`` commands."""

from __future__ import annotations

import argparse

BACKENDS = ("openai", "local", "scripted")
DEFAULT_BACKEND_HINT = "openai when a key or base URL is set, else local"


def add_backend_options(parser: argparse.ArgumentParser, default_hint: str = DEFAULT_BACKEND_HINT) -> None:
    """``--backend`` and ``--model``, spelled the same way on every command."""
    parser.add_argument("--backend", choices=BACKENDS, help=f"LLM backend (default: {default_hint})")
    parser.add_argument(
        "--model",
        help="model name, or a .gguf path for the local backend (default: $TROUPE_MODEL or the backend's default)",
    )


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {minimum} or more")
    return value


def non_negative(text: str) -> int:
    return _whole_number(text, 0)


def positive(text: str) -> int:
    return _whole_number(text, 1)
