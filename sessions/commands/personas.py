"""``troupe personas``: list the library, show a persona faithfully, validate persona files,
generate a population from a spec and profile a set of personas.

``show`` prints *every* field the persona holds (``extra`` included), as an indented outline
that reads like YAML, so a user can check that an imported TinyTroupe persona lost nothing;
``--card`` shows instead what the model will actually receive, with its token estimate, and
``--json`` the normalised data (which loads back as a Troupe persona). ``validate`` checks
every file given and reports each bad one on a single ``path: field: reason`` line.
``generate`` samples skeletons from a population spec and enriches each with one LLM call
(``troupe.personas.factory``), with a progress bar on stderr; ``profile`` prints the make-up
of a set of personas and, with ``--spec``, how far it is from the spec's targets
(``troupe.personas.profile``).
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
from troupe.personas.card import descriptor, render_card
from troupe.personas.library import list_library, resolve_persona
from troupe.personas.load import SUFFIXES, load_fragment, persona_from_source, read_source
from troupe.personas.model import Persona
from troupe.personas.population import DEFAULT_CONCURRENCY, MANIFEST

from ..batching import (
    BATCH_STATE,
    JobProgress,
    add_batch_options,
    batch_backend,
    batching,
    file_written_note,
    make_job_backend,
    run_job,
)
from .options import add_backend_options, non_negative, positive


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("personas", help="list, show, validate, generate and profile personas")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 0)[1])
    sub = parser.add_subparsers(dest="personas_command", metavar="ACTION", parser_class=type(parser))

    p_list = sub.add_parser("list", help="the shipped persona library")
    p_list.set_defaults(handler=run_list)

    p_show = sub.add_parser("show", help="print a persona (library name, slug or file)")
    p_show.add_argument("persona", metavar="PATH_OR_NAME")
    mode = p_show.add_mutually_exclusive_group()
    mode.add_argument(
        "--card", action="store_true", help="print the prompt card the model receives, with its token estimate"
    )
    mode.add_argument("--json", action="store_true", help="print the normalised persona as JSON")
    p_show.add_argument(
        "--budget", type=int, default=600, metavar="TOKENS", help="token budget for --card (default 600)"
    )
    p_show.set_defaults(handler=run_show)

    p_validate = sub.add_parser("validate", help="check persona and fragment files (exit 2 if any is bad)")
    p_validate.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders of *.toml / *.json")
    p_validate.set_defaults(handler=run_validate)

    p_generate = sub.add_parser(
        "generate", help="generate a population of personas from a spec (TOML), or like a survey's respondents"
    )
    p_generate.add_argument(
        "spec",
        metavar="SPEC.toml",
        nargs="?",
        help="population spec (see docs/personas.md); with --like, optional: it samples what the survey does not say",
    )
    p_generate.add_argument(
        "--like",
        metavar="SURVEY.csv",
        help="make the panel look like these respondents: one twin per row, or --size N matching the joint "
        "distribution of --columns",
    )
    p_generate.add_argument(
        "--columns",
        action="append",
        metavar="COL[,COL…]",
        help='with --like: the survey columns the personas carry, e.g. "Age Range,Gender Identity"',
    )
    p_generate.add_argument(
        "--country", metavar="NAME", help="with --like and no spec: where the respondents live (unless a column says)"
    )
    p_generate.add_argument("--context", metavar="TEXT", help="with --like and no spec: the study in a sentence")
    p_generate.add_argument(
        "--out", required=True, metavar="DIR", help="folder for the persona files and population.json"
    )
    p_generate.add_argument("--size", type=positive, metavar="N", help="number of personas (default: the spec's size)")
    p_generate.add_argument("--seed", type=non_negative, metavar="S", help="sampling seed (default: the spec's seed)")
    add_backend_options(p_generate)
    p_generate.add_argument(
        "--concurrency",
        type=positive,
        default=DEFAULT_CONCURRENCY,
        metavar="K",
        help=f"LLM calls in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    p_generate.add_argument("--force", action="store_true", help="replace a population already in DIR")
    add_batch_options(p_generate)
    p_generate.set_defaults(handler=run_generate)

    p_profile = sub.add_parser("profile", help="demographic and attitudinal profile of a set of personas")
    p_profile.add_argument(
        "paths", nargs="*", metavar="DIR_OR_NAME", help="folders, files or library names (default: the library)"
    )
    p_profile.add_argument(
        "--spec",
        metavar="SPEC.toml",
        help="compare the set with this population spec's targets (default for one generated "
        "population folder: the spec in its population.json)",
    )
    p_profile.add_argument(
        "--like",
        metavar="SURVEY.csv",
        help="compare the set with these respondents, column by column and jointly (default for a panel made "
        "with --like: its survey)",
    )
    p_profile.add_argument(
        "--columns",
        action="append",
        metavar="COL[,COL…]",
        help="with --like: the columns to compare (default: those the panel was made with)",
    )
    p_profile.add_argument("--json", action="store_true", help="print the profile (and comparison) as JSON")
    p_profile.set_defaults(handler=run_profile)


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
        raise BadInputError(
            "a fragment has no card; list it in a persona's `fragments` and show that persona", path=str(path)
        )
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
        if p.is_dir():  # a generated population's manifest is not a persona
            out.extend(
                sorted(
                    f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(SUFFIXES) and f.name != MANIFEST
                )
            )
        else:
            out.append(p)
    return out


# -- generate --------------------------------------------------------------------------------


def run_generate(args: argparse.Namespace) -> int:
    import asyncio

    from troupe.core.config import load_settings
    from troupe.core.llm.factory import make_backend
    from troupe.personas.factory import PopulationFactory, check_out_dir
    from troupe.personas.population import MAX_SIZE, load_spec
    from troupe.personas.sampling import sample_skeletons

    if args.size is not None and args.size > MAX_SIZE:
        raise BadInputError(f"must be at most {MAX_SIZE}", field="--size")
    # A batch generation stopped or killed is finished by running the same command again:
    # its batch state is in DIR, and the persona files it wrote are replaced.
    if batching(args) and (Path(args.out) / BATCH_STATE).is_dir():
        args.force = True
    like: dict[str, Any] | None = None
    if args.like is not None:
        spec, skeletons, seed, like = _like_skeletons(args)
        check_out_dir(args.out, force=args.force)
    else:
        if args.spec is None:
            raise BadInputError("give a population spec, or --like SURVEY.csv --columns …", field="SPEC.toml")
        if args.columns:
            raise BadInputError("--columns goes with --like SURVEY.csv", field="--columns")
        spec = load_spec(args.spec)
        seed = spec.seed if args.seed is None else args.seed
        check_out_dir(args.out, force=args.force)  # before any model is loaded or called
        skeletons = sample_skeletons(spec, size=args.size, seed=seed)
    settings = load_settings()
    backend = make_job_backend(settings, args) if batching(args) else make_backend(settings, args.backend, args.model)
    if getattr(backend, "name", None) == "local":
        print(
            "troupe: note: the embedded local model is small and slow for writing personas (minutes each on a "
            "laptop); use a capable model (--backend openai) for research, or --backend scripted for a dry run",
            file=sys.stderr,
        )
    with JobProgress(f"personas · {getattr(backend, 'model', '') or ''}", len(skeletons), quiet=args.quiet) as progress:
        concurrency = args.concurrency
        if batching(args):  # one wave holds every persona's request
            concurrency = max(1, len(skeletons))
            (Path(args.out) / BATCH_STATE).mkdir(parents=True, exist_ok=True)
        backend = batch_backend(backend, args, Path(args.out), progress)
        factory = PopulationFactory(spec, backend, concurrency=concurrency, like=like, name_retry=not batching(args))
        result, lines = asyncio.run(_generate_with_progress(factory, skeletons, args.out, seed, args.force, progress))
    if result is None:
        again = "the same `troupe personas generate` command"
        print(f"troupe: {file_written_note(backend, lines, again)}", file=sys.stderr)
        return 0
    usage = result.usage
    tokens = usage.prompt_tokens + usage.completion_tokens
    cost = f" · ${usage.cost_usd:.4f}" if usage.cost_usd else ""
    print(
        f"{len(result.generated)} persona{'s' if len(result.generated) != 1 else ''} in {result.out_dir} "
        f"(manifest {result.manifest.name}) · {usage.calls} calls · {tokens:,} tokens{cost}"
    )
    if result.failed:
        first = result.failed[0].error
        reason = result.aborted or first
        print(f"troupe: {len(result.failed)} of {len(skeletons)} personas failed: {reason}", file=sys.stderr)
        return 1
    return 0


def _like_skeletons(args: argparse.Namespace) -> tuple[Any, list[Any], int, dict[str, Any]]:
    """``--like``: the survey's chosen columns, twins (one per row) or a sample of ``--size``
    matching their joint distribution; the spec (given, or one made of ``--country`` and
    ``--context``) samples everything else."""
    from troupe.personas.population import Country, PopulationSpec, load_spec
    from troupe.personas.sampling import skeletons_like
    from troupe.personas.survey import column_role, parse_columns, read_survey, sample_rows, twin_rows

    columns = parse_columns(args.columns)
    table = read_survey(args.like, columns)
    if args.spec is not None:
        spec = load_spec(args.spec)
    else:
        has_country = any(column_role(c) == "country" for c in table.columns)
        if not args.country and not has_country:
            raise BadInputError(
                "say where the respondents live: --country NAME, a Country column, or a population spec",
                path=str(table.path),
            )
        spec = PopulationSpec(
            context=args.context or "", countries=[Country(name=args.country or "the respondent's country")]
        )
    if args.country and args.spec is not None:
        raise BadInputError("--country goes with --like and no spec (the spec names its countries)", field="--country")
    seed = spec.seed if args.seed is None else args.seed
    if args.size is None:
        rows, lines, mode = twin_rows(table), list(table.lines), "twins"
    else:
        rows, lines, mode = sample_rows(table, args.size, seed), None, "sample"
    skeletons = skeletons_like(spec, rows, seed=seed, where=str(table.path), lines=lines)
    like = {"csv": str(table.path), "columns": table.columns, "mode": mode, "respondents": len(table.rows)}
    return spec, skeletons, seed, like


async def _generate_with_progress(
    factory: Any, skeletons: list[Any], out: str, seed: int, force: bool, progress: JobProgress
) -> tuple[Any, int]:
    """Generate with the job's progress bar (done, rate, cost so far, ETA) and one line per persona.
    Returns ``(result, lines)``; result None: a ``--batch-file`` wave was written instead."""
    from troupe.personas.factory import Generated

    def done(outcome: Any) -> None:
        s = outcome.skeleton
        progress.cost_usd = float(getattr(factory.usage, "cost_usd", 0.0) or 0.0)
        progress.advance(ok=isinstance(outcome, Generated))
        if isinstance(outcome, Generated):
            note = "" if outcome.name_source == "model" else f" (name: {outcome.name_source})"
            progress.print(f"✓ {outcome.persona.name} · {descriptor(outcome.persona)} → {outcome.path.name}{note}")
        else:
            progress.print(f"✗ #{s.index} ({s.age} · {s.occupation_title or '?'} · {s.residence}): {outcome.error}")

    try:
        return await run_job(factory.generate(skeletons, out, seed=seed, force=force, on_outcome=done), factory.backend)
    finally:
        await factory.backend.aclose()


# -- profile ---------------------------------------------------------------------------------


def run_profile(args: argparse.Namespace) -> int:
    from troupe.personas.population import load_spec
    from troupe.personas.profile import collect_personas, compare_to_spec, profile_personas, recorded_spec

    spec = load_spec(args.spec) if args.spec else None
    if spec is None and len(args.paths) == 1 and Path(args.paths[0]).is_dir():
        spec = recorded_spec(args.paths[0])  # a generated population: compare with its own spec
    personas = collect_personas(args.paths)
    profile = profile_personas(personas)
    survey = _survey_comparison(args, personas)
    comparison = compare_to_spec(personas, spec) if spec and survey is None else None
    if args.json:
        data = {
            "profile": profile.to_json(),
            "comparison": comparison.to_json() if comparison else None,
            **({"survey": survey.to_json()} if survey is not None else {}),
        }
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return 0
    console = Console(highlight=False)
    where = ", ".join(args.paths) if args.paths else "the library"
    print_profile(console, profile, where)
    if comparison is not None:
        print_comparison(console, comparison)
    if survey is not None:
        print_comparison(console, survey)
    return 0


def _survey_comparison(args: argparse.Namespace, personas: list[Persona]) -> Any:
    """``--like``: the panel against a survey, column by column and jointly. A panel made with
    ``generate --like`` is compared with its own survey and columns when none are given."""
    from troupe.personas.survey import compare_to_survey, parse_columns, read_survey

    like, columns = args.like, args.columns
    if len(args.paths) == 1 and Path(args.paths[0]).is_dir() and (Path(args.paths[0]) / MANIFEST).is_file():
        try:
            recorded = json.loads((Path(args.paths[0]) / MANIFEST).read_text(encoding="utf-8")).get("like")
        except (OSError, ValueError):
            recorded = None
        if isinstance(recorded, dict):
            like = like or recorded.get("csv")
            columns = columns or recorded.get("columns")
    if like is None:
        if columns:
            raise BadInputError("--columns goes with --like SURVEY.csv", field="--columns")
        return None
    return compare_to_survey(personas, read_survey(like, parse_columns(columns)))


_TOP = 10
_FREE_TEXT = 60  # values longer than this are descriptions, not categories


def print_profile(console: Console, profile: Any, where: str) -> None:
    overview = Table(
        title=f"Profile of {profile.count} persona{'s' if profile.count != 1 else ''} ({where})",
        header_style="bold",
        show_header=False,
    )
    overview.add_column("", style="bold")
    overview.add_column("")
    if profile.age:
        a = profile.age
        overview.add_row(
            "age", f"mean {a.mean:.1f} · median {a.median:g} · sd {a.sd:.1f} · range {a.min:g}–{a.max:g} (n {a.n})"
        )
    if profile.talkativeness:
        t = profile.talkativeness
        overview.add_row(
            "talkativeness",
            f"min {t.min:.2f} · q1 {t.q1:.2f} · median {t.median:.2f} · q3 {t.q3:.2f} · max {t.max:.2f} · sd {t.sd:.2f}",
        )
    console.print(overview)

    from rich.columns import Columns

    ages = Table(title="Age", header_style="bold")
    for name, justify in (("bucket", "left"), ("n", "right"), ("share", "right"), ("", "left")):
        ages.add_column(name, justify=justify)  # type: ignore[arg-type]
    total = sum(profile.age_buckets.values()) or 1
    for label, n in profile.age_buckets.items():
        ages.add_row(label, str(n), f"{n / total:.0%}", "█" * round(20 * n / total))

    tables: list[Table] = []
    free_text: list[str] = []
    for key, counts in profile.categories.items():
        if not counts:
            continue
        if max(len(v) for v in counts) > _FREE_TEXT:
            free_text.append(
                f"[bold]{key}[/]: free text, {len(counts)} distinct value{'s' if len(counts) != 1 else ''} (see --json)"
            )
            continue
        table = Table(title=key.replace("attitude.", "attitude: ").replace("_", " "), header_style="bold")
        for name, justify in (("value", "left"), ("n", "right"), ("share", "right")):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        n_total = sum(counts.values())
        items = list(counts.items()) if key == "income" or key.startswith("attitude.") else counts.most_common()
        for value, n in items[:_TOP]:
            table.add_row(value, str(n), f"{n / n_total:.0%}")
        if len(items) > _TOP:
            rest = sum(n for _, n in items[_TOP:])
            table.add_row(f"… {len(items) - _TOP} more", str(rest), f"{rest / n_total:.0%}", style="dim")
        tables.append(table)

    big = Table(title="Big five (0..1)", header_style="bold")
    for name, justify in (
        ("factor", "left"),
        ("mean", "right"),
        ("sd", "right"),
        ("min", "right"),
        ("max", "right"),
        ("n", "right"),
    ):
        big.add_column(name, justify=justify)  # type: ignore[arg-type]
    for factor, s in profile.big_five.items():
        if s is None:
            big.add_row(factor, "–", "–", "–", "–", "0")
        else:
            big.add_row(factor, f"{s.mean:.2f}", f"{s.sd:.2f}", f"{s.min:.2f}", f"{s.max:.2f}", str(s.n))
    console.print(Columns([ages, big], padding=(0, 2)))
    console.print(Columns(tables, padding=(0, 2)))
    for line in free_text:
        console.print(line)


def print_comparison(console: Console, comparison: Any) -> None:
    from rich.columns import Columns

    summary = Table(title=f"Compared with {comparison.spec or 'the spec'} (n {comparison.n})", header_style="bold")
    for name, justify in (
        ("attribute", "left"),
        ("n", "right"),
        ("TVD", "right"),
        ("χ²", "right"),
        ("df", "right"),
        ("p", "right"),
        ("notes", "left"),
    ):
        summary.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    details: list[Table] = []
    for attr in comparison.attributes:
        label = attr.attribute.replace("attitude.", "attitude: ").replace("_", " ")
        summary.add_row(
            label,
            str(attr.n),
            "–" if attr.tvd is None else f"{attr.tvd:.3f}",
            "–" if attr.chi2 is None else f"{attr.chi2:.2f}",
            "–" if attr.dof is None else str(attr.dof),
            "–" if attr.p_value is None else f"{attr.p_value:.3f}",
            "; ".join(attr.notes),
        )
        table = Table(title=label, header_style="bold")
        for name, justify in (
            ("category", "left"),
            ("target", "right"),
            ("observed", "right"),
            ("share", "right"),
            ("diff", "right"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for row in attr.rows:
            diff = row.share - row.target
            style = "yellow" if abs(diff) >= 0.1 else None
            table.add_row(
                row.category, f"{row.target:.0%}", str(row.observed), f"{row.share:.0%}", f"{diff:+.0%}", style=style
            )
        details.append(table)
    console.print(summary)
    console.print(
        Text(
            "TVD: total variation distance, 0 = the spec's shares exactly, 1 = no overlap. χ²: Pearson goodness of fit; "
            "a small p says the difference is unlikely to be chance.",
            style="dim",
        )
    )
    console.print(Columns(details, padding=(0, 2)))
    if comparison.quotas:
        quotas = Table(title="Quotas", header_style="bold")
        for name, justify in (("quota", "left"), ("count", "right"), ("allowed", "right"), ("", "left")):
            quotas.add_column(name, justify=justify)  # type: ignore[arg-type]
        for q in comparison.quotas:
            quotas.add_row(
                q.description, str(q.count), f"{q.low}–{q.high}", "[green]met[/]" if q.met else "[red]not met[/]"
            )
        console.print(quotas)
