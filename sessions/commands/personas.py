"""``troupe personas``: list the library, show a persona faithfully, validate persona files.

``show`` prints *every* field the persona holds (``extra`` included), as an indented outline
that reads like YAML, so a user can check that an imported TinyTroupe persona lost nothing;
``--card`` shows instead what the model will actually receive, with its token estimate, and
``--json`` the normalised data (which loads back as a Troupe persona). ``validate`` checks
every file given and reports each bad one on a single ``path: field: reason`` line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from troupe.core.errors import BadInputError
from troupe.core.tokens import estimate_tokens
from troupe.personas.card import render_card
from troupe.personas.library import list_library, resolve_persona
from troupe.personas.load import SUFFIXES, load_fragment, persona_from_source, read_source
from troupe.personas.model import Persona


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("personas", help="list, show and validate personas")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 0)[1])
    sub = parser.add_subparsers(dest="personas_command", metavar="ACTION", parser_class=type(parser))

    p_list = sub.add_parser("list", help="the shipped persona library")
    p_list.set_defaults(handler=run_list)

    p_show = sub.add_parser("show", help="print a persona (library name, slug or file)")
    p_show.add_argument("persona", metavar="PATH_OR_NAME")
    mode = p_show.add_mutually_exclusive_group()
    mode.add_argument("--card", action="store_true", help="print the prompt card the model receives, with its token estimate")
    mode.add_argument("--json", action="store_true", help="print the normalised persona as JSON")
    p_show.add_argument("--budget", type=int, default=600, metavar="TOKENS", help="token budget for --card (default 600)")
    p_show.set_defaults(handler=run_show)

    p_validate = sub.add_parser("validate", help="check persona and fragment files (exit 2 if any is bad)")
    p_validate.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders of *.toml / *.json")
    p_validate.set_defaults(handler=run_validate)


# -- list ------------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    personas = list_library()
    table = Table(title=f"Persona library ({len(personas)})", header_style="bold")
    for column in ("slug", "name", "age", "occupation", "residence"):
        table.add_column(column, no_wrap=column in ("slug", "age"), justify="right" if column == "age" else "left")
    for p in personas:
        age = "" if p.age is None else str(p.age)
        table.add_row(p.slug, p.name, age, p.occupation.title, p.residence or "")
    Console(highlight=False).print(table)
    return 0


# -- show ------------------------------------------------------------------------------------


def run_show(args: argparse.Namespace) -> int:
    fragment = _fragment_at(args.persona)
    if fragment is not None:
        return _show_fragment(Path(args.persona), fragment, args)
    persona = resolve_persona(args.persona)
    if args.json:
        sys.stdout.write(json.dumps(persona.to_data(), indent=2, ensure_ascii=False) + "\n")
    elif args.card:
        _print_card(persona, args.budget)
    else:
        console = Console(highlight=False, soft_wrap=True)
        console.print(Text(persona.name, style="bold"), Text(f"({persona.slug})", style="dim"))
        for line in outline(persona.to_data()):
            console.print(line)
    return 0


def _fragment_at(name_or_path: str) -> dict[str, Any] | None:
    """The fragment's data when the argument is a fragment file, else ``None``."""
    path = Path(name_or_path)
    if not path.is_file() or read_source(path).kind != "fragment":
        return None
    return load_fragment(path)


def _show_fragment(path: Path, data: dict[str, Any], args: argparse.Namespace) -> int:
    if args.card:
        raise BadInputError("a fragment has no card; list it in a persona's `fragments` and show that persona", path=str(path))
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"Fragment {path.name}", style="bold"), Text("(merged into personas that list it)", style="dim"))
    for line in outline(data):
        console.print(line)
    return 0


def _print_card(persona: Persona, budget: int) -> None:
    if budget < 20:
        raise BadInputError("must be at least 20 tokens", field="--budget")
    card = render_card(persona, budget_tokens=budget)
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"{card.name} · {card.descriptor}", style="bold"))
    console.print(Text(f"prompt: {estimate_tokens(card.prompt)} tokens (budget {budget})", style="cyan"))
    console.print(Text(card.prompt))
    console.print()
    console.print(Text(f"short prompt: {estimate_tokens(card.short_prompt)} tokens", style="cyan"))
    console.print(Text(card.short_prompt))
    console.print()
    console.print(Text("traits", style="cyan"))
    for key, value in card.traits.items():
        console.print(Text.assemble((f"  {key}: ", "bold"), json.dumps(value, ensure_ascii=False)))


def outline(data: Any, indent: int = 0) -> list[Text]:
    """Nested data as indented ``key: value`` lines, lists as ``- item`` (YAML-like, unquoted).

    Strings print as they are (no quoting, no wrapping: the terminal wraps), so what the
    file said is what the user reads.
    """
    pad = "  " * indent
    lines: list[Text] = []
    if isinstance(data, dict):
        if not data:
            return [Text(pad + "{}")]
        for key, value in data.items():
            label = (f"{pad}{key}:", "bold" if indent == 0 else "cyan")
            if _is_scalar(value) or value in ([], {}):
                lines.extend(_scalar_lines(label, value, pad))
            else:
                lines.append(Text.assemble(label))
                lines.extend(outline(value, indent + 1))
    elif isinstance(data, list):
        for item in data:
            if _is_scalar(item) or item in ([], {}):
                lines.extend(_scalar_lines((f"{pad}-", "dim"), item, pad))
            else:
                nested = outline(item, indent + 1)
                # "- key: value" for the first line of a table in a list, like YAML.
                first = nested[0]
                lines.append(Text.assemble((f"{pad}- ", "dim"), first[len(pad) + 2 :]))
                lines.extend(nested[1:])
    else:
        lines.extend(_scalar_lines(("", ""), data, pad))
    return lines


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (dict, list))


def _scalar_lines(label: tuple[str, str], value: Any, pad: str) -> list[Text]:
    if isinstance(value, str) and "\n" in value:
        head = Text.assemble(label, " |")
        return [head, *(Text(f"{pad}    {line}") for line in value.splitlines())]
    shown = value if isinstance(value, str) else json.dumps(value)  # numbers, true/false, null, [], {}
    return [Text.assemble(label, " ", shown) if label[0] else Text(shown)]


# -- validate --------------------------------------------------------------------------------


def run_validate(args: argparse.Namespace) -> int:
    bad = 0
    for path in _expand(args.paths):
        try:
            summary = validate_file(path)
        except BadInputError as exc:
            bad += 1
            print(str(exc) if exc.path else f"{path}: {exc}", file=sys.stderr)
            continue
        print(f"OK  {path}  {summary}")
    if bad:
        print(f"troupe: {bad} bad file{'s' if bad > 1 else ''}", file=sys.stderr)
    return 2 if bad else 0


def validate_file(path: Path) -> str:
    """Check one persona or fragment file; return a one-line summary of what it holds."""
    source = read_source(path)
    fmt = "TinyTroupe" if source.format == "tinytroupe" else "Troupe"
    if source.kind == "fragment":
        fields = load_fragment(path)
        return f"{fmt} fragment ({len(fields)} field{'s' if len(fields) != 1 else ''})"
    persona = persona_from_source(source)
    return f"{persona.name} ({persona.slug}), {fmt} persona"


def _expand(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(SUFFIXES)))
        else:
            out.append(p)
    return out
