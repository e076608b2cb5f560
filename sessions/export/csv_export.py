"""CSV export: one row per utterance, stimulus, poll question and poll answer.

Columns (stable; scripts depend on them): ``seq, ts, section, speaker, type, addressee, text,
poll_id, value, score, rationale, muted``. ``type`` is the event type (``moderator``,
``stimulus``, ``say``, ``think``, ``poll_asked``, ``poll_answer``, ``turn_checked``); ``score`` is
the numeric reading of a Likert or number answer so a spreadsheet can average it directly.
A ``turn_checked`` row (the per-turn persona check) has the judge's score in ``score``,
``regenerated``, ``kept`` or ``failed`` in ``value``, its justification in ``rationale`` and, when
the turn was regenerated, the rejected first answer in ``text`` (it was never heard).

Encoding: UTF-8 *without* a byte-order mark, RFC 4180 quoting (fields with commas, quotes or
newlines are quoted, quotes doubled), CRLF row ends — so ``pandas.read_csv(path)`` and
``csv.DictReader(open(path, newline="", encoding="utf-8"))`` read it as is. Excel on Windows
guesses the encoding from a BOM; ``--bom`` adds one (see docs/guides.md).

Spreadsheet safety: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR would be run
as a formula by spreadsheet apps, so it gets a leading ``'`` (the OWASP rule for CSV injection).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from troupe.core.events import Event
from troupe.core.poll_stats import collect_polls, interpret_event
from troupe.sessions.transcript import MODERATOR, Transcript

COLUMNS = [
    "seq",
    "ts",
    "section",
    "speaker",
    "type",
    "addressee",
    "text",
    "poll_id",
    "value",
    "score",
    "rationale",
    "muted",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Defuse a spreadsheet formula in a text cell; numbers and empty cells pass unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


def csv_rows(t: Transcript) -> list[dict[str, Any]]:
    """The rows, as dicts keyed by :data:`COLUMNS`."""
    polls = {p.seq: p for p in collect_polls(t.events)}
    asked_by_id: dict[str, Any] = {}
    section = ""
    rows: list[dict[str, Any]] = []
    stars = {h.seq: h for h in t.highlights}
    for event in t.visible_events():
        kind = event.type
        if kind == "section_started":
            section = str(getattr(event, "title", ""))
            continue
        if kind == "poll_asked":
            asked_by_id[event.poll_id] = polls.get(event.seq)
        row = _row(event, section, asked_by_id)
        star = stars.get(event.seq)
        if row is not None and star is not None:  # the quote, marked as the moderator's star
            row |= {"addressee": star.speaker, "text": star.text, "value": star.tag or "", "poll_id": ""}
            row["rationale"] = f"starred #{star.target}"
        if row is not None:
            rows.append(row)
    return rows


def render_csv(t: Transcript, *, bom: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    for row in csv_rows(t):
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return ("\ufeff" if bom else "") + buffer.getvalue()


def _row(event: Event, section: str, asked_by_id: dict[str, Any]) -> dict[str, Any] | None:
    g = lambda name, default=None: getattr(event, name, default)  # noqa: E731
    base = {c: "" for c in COLUMNS} | {"seq": event.seq, "ts": event.ts, "section": section, "type": event.type}
    kind = event.type
    if kind == "moderator":
        return base | {"speaker": MODERATOR, "addressee": _join(g("to")), "text": g("text", "")}
    if kind == "stimulus":
        title = g("title")
        text = g("text", "")
        return base | {
            "speaker": MODERATOR if g("source") == "moderator" else "Guide",
            "addressee": _join(g("to")),
            "text": f"{title}\n{text}" if title else text,
            "value": g("kind", ""),
        }
    if kind in ("say", "think"):
        return base | {
            "speaker": g("agent", ""),
            "addressee": g("to") or "",
            "text": g("text", ""),
            "muted": "true" if g("muted", False) else "false",
        }
    if kind == "turn_checked":
        verdict = "regenerated" if g("regenerated") else ("failed" if g("error") else "kept")
        return base | {
            "speaker": g("agent", ""),
            "text": g("rejected_text") or "",
            "value": verdict,
            "score": "" if g("score") is None else g("score"),
            "rationale": g("justification") or g("error") or "",
        }
    if kind in ("highlight", "note"):
        return base | {"speaker": MODERATOR, "text": g("text", "")}
    if kind == "observer_note":
        return base | {"speaker": f"Observer ({g('observer', 'observer')})", "text": g("text", "")}
    if kind == "poll_asked":
        return base | {
            "speaker": MODERATOR,
            "text": g("question", ""),
            "poll_id": g("poll_id", ""),
            "value": " | ".join(g("options") or []),
        }
    if kind == "poll_answer":
        poll = asked_by_id.get(g("poll_id"))
        answer = interpret_event(poll.kind, poll.options, event) if poll is not None else None  # type: ignore[arg-type]
        value = g("value")
        return base | {
            "speaker": g("agent", ""),
            "poll_id": g("poll_id", ""),
            "value": "; ".join(str(v) for v in value) if isinstance(value, list) else ("" if value is None else value),
            "score": "" if answer is None or answer.score is None else answer.score,
            "rationale": g("rationale", "") or "",
        }
    return None


def _join(value: Any) -> str:
    if not value:
        return ""
    return value if isinstance(value, str) else ", ".join(str(v) for v in value)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
