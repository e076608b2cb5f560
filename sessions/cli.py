"""The ``troupe`` command.

Each group of subcommands lives in its own module under ``sessions/commands/`` and exposes
``register(subparsers)``; handlers are ``fn(args) -> int``. This module only builds the parser
and turns errors into exit codes: 0 success, 2 bad input (one line naming file and field),
1 runtime failure (one readable line). No traceback for known errors.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from troupe.core.errors import TroupeError

# Modules under troupe.sessions.commands, in help order. A module that is absent is skipped,
# so the CLI works while a command group is being built.
COMMAND_MODULES = ("ui", "run", "study", "poll", "export", "dynamics", "personas", "doctor")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's usage errors are bad input too
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="troupe",
        description="Moderated focus groups and brainstorming sessions with LLM personas.",
    )
    _add_global_options(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"troupe.sessions.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"troupe.sessions.commands.{name}":
                continue
            raise
        module.register(subparsers)
    for sub in _subcommands(parser):
        _add_global_options(sub, default=argparse.SUPPRESS)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """``-v`` and ``--config``: accepted before the command and after it (``troupe run x --config c.toml``).

    On subcommands they default to SUPPRESS, so that leaving them out there keeps what was
    given before the command.
    """
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log debug details to stderr")
    parser.add_argument(
        "--config",
        metavar="PATH",
        default=None if default is False else default,
        help="config file (default: $TROUPE_CONFIG or ~/.config/troupe/config.toml)",
    )


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand parser, nested ones included (``troupe personas show``)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found.append(sub)
                found.extend(_subcommands(sub))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.config:
        os.environ["TROUPE_CONFIG"] = args.config
    handler = getattr(args, "handler", None)
    if handler is None:
        # `troupe` alone opens the TUI home when the UI command group is installed.
        handler = getattr(args, "default_handler", None) or _home_or_help(parser)
    try:
        return int(handler(args) or 0)
    except TroupeError as exc:
        print(f"troupe: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except RecursionError:  # a safety net: every loader already names the file it could not read
        print("troupe: the input is nested too deeply to read", file=sys.stderr)
        return 2
    except OSError as exc:  # a safety net for disk faults no command translated itself
        print(f"troupe: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("troupe: interrupted", file=sys.stderr)
        return 130


def _one_line(text: str) -> str:
    """Messages are one line: a newline inside (from a file name or a model) is shown escaped."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def describe_os_error(exc: OSError) -> str:
    """``PATH: fault`` for an OSError (the path shown as text even when it is not UTF-8)."""
    where = exc.filename if exc.filename is not None else None
    fault = exc.strerror or type(exc).__name__
    if where is None:
        return fault
    name = os.fsdecode(where) if isinstance(where, (bytes, str)) else str(where)
    return f"{name.encode('utf-8', 'backslashreplace').decode('utf-8')}: {fault}"


def _home_or_help(parser: argparse.ArgumentParser):
    try:
        from troupe.sessions.commands.ui import open_home
    except ModuleNotFoundError:
        return lambda args: (parser.print_help(), 0)[1]
    return open_home


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
