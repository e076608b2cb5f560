"""The append-only event log: ``RUN_DIR/events.jsonl``.

Writing: :meth:`EventLog.append` assigns the next ``seq`` and ``ts``, writes one JSON line,
flushes and fsyncs it, and only then tells subscribers. A crash can therefore lose at most
the event being written, never one that anyone has seen.

Reading: :func:`read_events` skips a torn last line (a crash mid-write) with a warning and
raises :class:`BadRunError` (bad input, exit 2) for corruption anywhere else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from .clock import Clock, SystemClock, iso
from .errors import BadRunError, DiskError
from .events import Event, parse_event

log = logging.getLogger(__name__)

Subscriber = Callable[[Event], None]


class EventLog:
    """An open, append-only event log.

    ``EventLog(path)`` opens (or creates) the file; existing events are loaded so that
    ``seq`` continues without gaps (resume). A torn last line is truncated away before
    appending so the file stays valid JSONL.
    """

    def __init__(self, path: str | os.PathLike[str], *, clock: Clock | None = None, fsync: bool = True) -> None:
        self.path = Path(path)
        self.clock = clock or SystemClock()
        self._fsync = fsync
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._broken: DiskError | None = None
        self.events: list[Event] = []
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                self.events, valid_bytes = _load(self.path)
                if valid_bytes < self.path.stat().st_size:
                    with open(self.path, "r+b") as fh:
                        fh.truncate(valid_bytes)
            self._fh = open_append(self.path)
        except OSError as exc:
            raise disk_error(exc, self.path, saved=bool(self.events)) from None

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(event)`` after every append; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def append(self, type: str, **fields: Any) -> Event:
        """Append one event of ``type``; returns it once it is durably on disk."""
        with self._lock:
            self._check_writable()
            data = {"seq": self.last_seq + 1, "ts": iso(self.clock.now()), "type": type, **fields}
            event = parse_event(data)
            with self._disk_guard():
                self._fh.write(event_line(event))
                self._fh.flush()
                if self._fsync:
                    os.fsync(self._fh.fileno())
            self.events.append(event)
        self._notify(event)
        return event

    # -- disk faults ------------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._broken is not None:
            raise self._broken

    @contextlib.contextmanager
    def _disk_guard(self) -> Iterator[None]:
        """A write that fails (full disk, read-only, I/O error) breaks the log for good: a
        later append could land after a half-written line and corrupt the middle of the file.
        The half line, if any, stays last, where loading skips it as torn — so the run
        resumes with every complete event once the fault is fixed."""
        try:
            yield
        except OSError as exc:
            self._broken = disk_error(exc, self.path, saved=bool(self.events) or self.last_seq > 0)
            try:
                self._fh.close()
            except OSError:
                pass
            raise self._broken from None

    # What the room and the session use. Plain logs write and fsync inline; the group-commit
    # log (``core/group_commit.py``) overrides these to share fsyncs between parallel turns.

    def append_soon(self, type: str, **fields: Any) -> Event:
        """Append an event nobody waits on (a round starting); here, at once like :meth:`append`."""
        return self.append(type, **fields)

    async def append_many(
        self, items: Sequence[tuple[str, dict[str, Any]]], *, on_written: Callable[[], None] | None = None
    ) -> list[Event]:
        """Append several events written together (one turn); durable and told on return.
        ``on_written`` runs once they are written (their ``seq`` fixed)."""
        events = [self.append(type, **fields) for type, fields in items]
        if on_written is not None:
            on_written()
        return events

    async def drain(self) -> None:
        """Wait until every written event is durable and told (nothing is ever pending here)."""

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def _notify(self, event: Event) -> None:
        """Tell every subscriber; a broken subscriber must never break the session."""
        for callback in list(self._subscribers):
            try:
                callback(event)
            except Exception:
                log.exception("event subscriber failed")

    def close(self) -> None:
        if not self._fh.closed:
            try:
                self._fh.close()
            except OSError as exc:
                if self._broken is None:
                    raise disk_error(exc, self.path) from None

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def event_line(event: Event) -> str:
    """One event as its line in ``events.jsonl`` (compact JSON, UTF-8 kept, newline).

    Text that cannot be UTF-8 — a file name whose bytes are not UTF-8, which Python carries
    as lone surrogates — is written with those bytes shown as ``\\xff`` escapes, so the line
    is always valid UTF-8 JSON.
    """
    line = json.dumps(event.to_json_dict(), ensure_ascii=False, separators=(",", ":")) + "\n"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:
        line = json.dumps(_printable(event.to_json_dict()), ensure_ascii=False, separators=(",", ":")) + "\n"
    return line


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            try:
                return os.fsencode(value).decode("utf-8", "backslashreplace")
            except UnicodeError:
                return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable(v) for v in value]
    return value


def open_append(path: Path) -> TextIO:
    """The log's append handle (a seam: tests swap it for a writer that fails like a full disk)."""
    return open(path, "a", encoding="utf-8")


def disk_error(exc: OSError, path: Path, *, saved: bool = True) -> DiskError:
    """One line for a failed write: the path and the fault (``No space left on device``)."""
    where = exc.filename if exc.filename is not None else path
    shown = os.fsdecode(where) if isinstance(where, (str, bytes, os.PathLike)) else str(where)
    shown = shown.encode("utf-8", "backslashreplace").decode("utf-8")
    fault = exc.strerror or type(exc).__name__
    after = "the run is saved up to the last complete event" if saved else "nothing was recorded"
    return DiskError(f"cannot write: {fault}; {after}", path=shown)


def _load(path: Path) -> tuple[list[Event], int]:
    """Parse a log; return the events and the byte length of the valid prefix.

    Only a last line that is not valid JSON counts as torn (a crash mid-write): it is
    skipped with a warning. Anything else that is wrong — a line that is not a JSON object,
    a field of the wrong type (a string ``seq``, a numeric ``text``), a gap in ``seq``, JSON
    nested too deeply to read — is a corrupt log: :class:`BadRunError` naming the line.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadRunError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    events: list[Event] = []
    offset = 0
    lines = data.split(b"\n")
    for index, raw in enumerate(lines):
        is_last = index == len(lines) - 1
        end = offset + len(raw) + (0 if is_last else 1)
        if not raw.strip():
            offset = end
            continue
        where = f"line {index + 1}"
        try:
            obj = json.loads(raw)
        except RecursionError:
            raise BadRunError("JSON nested too deeply", path=str(path), field=where) from None
        except ValueError as exc:
            torn = is_last or all(not rest.strip() for rest in lines[index + 1 :])
            if torn:
                log.warning("%s: skipped a torn last line (%d bytes)", path, len(raw))
                return events, offset
            reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "not valid JSON"
            raise BadRunError(f"corrupt event ({reason})", path=str(path), field=where) from None
        if not isinstance(obj, dict):
            raise BadRunError(
                f"corrupt event (a JSON {type(obj).__name__ if obj is not None else 'null'}, not an object)",
                path=str(path),
                field=where,
            )
        try:
            event = parse_event(obj)
        except ValidationError as exc:
            err = exc.errors(include_url=False, include_input=False)[0]
            kind = obj.get("type")
            parts = [str(p) for p in err["loc"]]
            if parts and parts[0] == kind:  # the discriminated union's tag
                parts = parts[1:]
            loc = ".".join(parts)
            what = f"{kind} event" if isinstance(kind, str) and len(kind) < 40 else "event"
            raise BadRunError(
                f"corrupt {what}: {loc + ': ' if loc else ''}{err['msg']}", path=str(path), field=where
            ) from None
        except RecursionError:
            raise BadRunError("event nested too deeply", path=str(path), field=where) from None
        if events and event.seq != events[-1].seq + 1:
            raise BadRunError(f"seq {event.seq} follows {events[-1].seq}", path=str(path), field=where)
        events.append(event)
        offset = end
    return events, offset


def read_events(path: str | os.PathLike[str]) -> list[Event]:
    """Load all events of a log (a torn last line is skipped with a warning)."""
    p = Path(path)
    if not p.is_file():
        raise BadRunError("no event log here", path=str(p))
    return _load(p)[0]


def write_events(path: str | os.PathLike[str], events: Iterable[Event]) -> None:
    """Write events verbatim to a new log file (used by branch); DiskError on a write fault."""
    try:
        with open(path, "w", encoding="utf-8") as fh:
            for event in events:
                fh.write(event_line(event))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise disk_error(exc, Path(path)) from None
