"""Turn pydantic/TOML/JSON failures into one-line :class:`BadInputError` messages.

``path: sections[2].polls[0].kind: Input should be 'likert5', …`` — the file, the field, the
reason, and nothing else (no traceback, no input echo).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import BadInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


TOO_DEEP = "nested too deeply to read (arrays or tables hundreds of levels deep)"


class LocatedValueError(ValueError):
    """A validator's problem that knows which field it is about (``loc``, relative to the model).

    Pydantic reports a model validator's exception at the model itself; raising this instead
    lets the one-line message name the field (``polls[0].options``), not just the table.
    """

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


def located(err: dict[str, Any]) -> tuple[tuple[Any, ...], str] | None:
    """``(loc, message)`` for a pydantic error raised as :class:`LocatedValueError`, else None."""
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, LocatedValueError):
        return tuple(err["loc"]) + cause.loc, str(cause)
    return None


def field_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


@dataclass(frozen=True)
class Problem:
    """One pydantic error in words: where it is and what is wrong."""

    loc: tuple[Any, ...]
    message: str
    located: bool = False
    """True when a model validator named the field itself (:class:`LocatedValueError`)."""


def problems(exc: ValidationError, *, noun: str = "field") -> list[Problem]:
    """Every problem of ``exc``, worded once for the whole app (files, dialogs, model repairs):
    a :class:`LocatedValueError`'s own location and words; ``unknown <noun>`` and ``required
    <noun> is missing``; pydantic's ``Value error, `` prefix dropped."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        where = located(dict(err))
        if where is not None:
            out.append(Problem(where[0], where[1], located=True))
            continue
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown {noun}"
        elif err["type"] == "missing":
            msg = f"required {noun} is missing"
        out.append(Problem(tuple(err["loc"]), msg.removeprefix("Value error, ")))
    return out


def one_line(exc: ValidationError, *, noun: str = "field") -> tuple[Problem, str]:
    """The first problem, and its message with ``(and N more problems)`` when there are more."""
    found = problems(exc, noun=noun)
    first, more = found[0], len(found) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return first, first.message + suffix


def bad_input_from_validation(
    exc: ValidationError, path: str | Path | None, *, prefix: tuple[Any, ...] = ()
) -> BadInputError:
    first, message = one_line(exc)
    return BadInputError(message, path=str(path) if path else None, field=field_path(prefix + first.loc))


def read_toml(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise BadInputError("file not found", path=str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"invalid TOML: {exc}", path=str(p)) from None
    except RecursionError:
        raise BadInputError(TOO_DEEP, path=str(p)) from None
    except UnicodeDecodeError:
        raise BadInputError("not UTF-8 text", path=str(p)) from None
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror}", path=str(p)) from None


def read_json(path: str | Path) -> Any:
    p = Path(path)
    try:
        with open(p, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise BadInputError("file not found", path=str(p)) from None
    except json.JSONDecodeError as exc:
        raise BadInputError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", path=str(p)) from None
    except RecursionError:
        raise BadInputError(TOO_DEEP, path=str(p)) from None
    except UnicodeDecodeError:
        raise BadInputError("not UTF-8 text", path=str(p)) from None
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror}", path=str(p)) from None


def read_csv_rows(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of a CSV file as people save them (UTF-8 with or without a BOM;
    ``,`` ``;`` or tab, whichever the header uses most); the first pair is the header. Every
    problem is one :class:`BadInputError` naming the file (and the row)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInputError("file not found", path=str(p)) from None
    except UnicodeDecodeError:
        raise BadInputError('is not UTF-8 text (save it as "CSV UTF-8")', path=str(p)) from None
    except OSError as exc:
        raise BadInputError(f"cannot be read ({exc.strerror or exc})", path=str(p)) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count) if any(d in first for d in ",;\t") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as exc:
        raise BadInputError(f"row {reader.line_num}: not valid CSV ({exc})", path=str(p)) from None


def csv_column(header: list[str], column: str, path: str | Path) -> int:
    """The index of ``column`` in a CSV header: an exact match first, then ignoring case
    (``Intent`` for ``intent``). Missing, or repeated (``score,score``: which one holds the
    answers is anyone's guess), is a one-line error naming the file and the column."""
    names = [h.strip() for h in header]
    wanted = column.strip()
    folded = [n.casefold() for n in names]
    same = [i for i, n in enumerate(folded) if n == wanted.casefold()]
    if len(same) > 1:
        where = ", ".join(str(i + 1) for i in same)
        raise BadInputError(
            f"the header repeats this column (columns {where}); rename one", path=str(path), field=f"column {column!r}"
        )
    if wanted in names:
        return names.index(wanted)
    if wanted.casefold() in folded:
        return folded.index(wanted.casefold())
    shown = ", ".join(repr(n) for n in names[:12]) + (", …" if len(names) > 12 else "")
    raise BadInputError(f"no such column (the columns are {shown})", path=str(path), field=f"column {column!r}")
