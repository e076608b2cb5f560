"""Argument types and option groups shared by several ``troupe`` commands."""

from __future__ import annotations

import argparse
from typing import Any

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


def threshold(text: str) -> int:
    value = _whole_number(text, 0)
    if value > 10:
        raise argparse.ArgumentTypeError("must be between 0 and 10")
    return value


def add_turn_check_options(parser: argparse.ArgumentParser) -> None:
    """The per-turn persona check (off by default; see docs/research.md)."""
    group = parser.add_argument_group("per-turn persona check (one extra judge call per utterance)")
    group.add_argument(
        "--turn-check",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="judge each utterance against the persona card before the room hears it, and regenerate it once "
        "below the threshold (default: the guide's [defaults.turn_check], else the config's [turn_check], else off)",
    )
    group.add_argument(
        "--turn-check-threshold",
        type=threshold,
        metavar="N",
        help="regenerate a turn scoring below N (0-9; 0 checks and logs only; default 5); implies --turn-check",
    )


def turn_check_choice(args: argparse.Namespace) -> dict[str, Any]:
    """``--turn-check`` / ``--turn-check-threshold`` as session options (None: the guide's or config's)."""
    return {"turn_check": args.turn_check, "turn_check_threshold": args.turn_check_threshold}


def add_poll_sampling_options(parser: argparse.ArgumentParser) -> None:
    """Tools against variance collapse in polls (each off by default; see docs/research.md)."""
    group = parser.add_argument_group("poll sampling (against variance collapse; off by default)")
    group.add_argument(
        "--poll-draws",
        type=positive,
        metavar="K",
        help="ask each persona's poll answer K times in parallel and keep the distribution (cost: K× poll calls)",
    )
    group.add_argument(
        "--poll-use", choices=("mode", "draw"), help="with --poll-draws: the answer used (default: mode)"
    )
    group.add_argument(
        "--poll-temperature",
        type=float,
        metavar="T",
        help="base temperature for poll answers (no extra calls)",
    )
    group.add_argument(
        "--poll-jitter",
        type=float,
        metavar="J",
        help="per-persona poll temperature: the base ± up to J, fixed per persona by the seed (no extra calls)",
    )
    group.add_argument("--poll-seed", type=int, metavar="S", help="derives each persona's per-draw seeds")
    group.add_argument(
        "--poll-instructions",
        metavar="NAME",
        help="poll instruction set: default, or individual-v1 (this individual's answer, not a typical one)",
    )


def apply_poll_sampling(guide: Any, args: argparse.Namespace) -> Any:
    """The guide with ``--poll-*`` options laid over its ``[defaults.poll_sampling]``; the same
    guide when none is given. Bad values are a one-line error naming the option."""
    from pydantic import ValidationError

    from troupe.core.errors import BadInputError
    from troupe.core.poll_sampling import PollSampling

    given = {
        key: value
        for key, value in (
            ("draws", args.poll_draws),
            ("use", args.poll_use),
            ("temperature", args.poll_temperature),
            ("temperature_jitter", args.poll_jitter),
            ("seed", args.poll_seed),
            ("instructions", args.poll_instructions),
        )
        if value is not None
    }
    if not given:
        return guide
    current = guide.defaults.poll_sampling
    base = current.model_dump() if current is not None else {}
    try:
        sampling = PollSampling.model_validate({**base, **given})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = {"temperature_jitter": "jitter"}.get(str(error["loc"][0]), str(error["loc"][0])) if error["loc"] else ""
        raise BadInputError(error["msg"].removeprefix("Value error, "), field=f"--poll-{name}") from None
    return guide.model_copy(update={"defaults": guide.defaults.model_copy(update={"poll_sampling": sampling})})


def poll_sampling_note(guide: Any) -> str | None:
    """One stderr line saying which poll tools are on and what they cost, or None."""
    sampling = guide.defaults.poll_sampling
    return None if sampling is None else f"troupe: poll sampling: {sampling.cost_note()}"
