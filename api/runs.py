"""Reading runs and studies back: typed events, the transcript, the polls and DataFrames.

A run folder holds ``events.jsonl`` (the whole truth of a run) and ``meta.json``; a study
folder holds one run folder per group. Everything here is a function of those logs, read
through the same code as the exports and the report (``collect_polls`` for polls,
``build_transcript`` for the transcript).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from troupe.core.errors import BadInputError, BadRunError, TroupeError
from troupe.core.events import Event, SessionStarted
from troupe.core.log import read_events
from troupe.core.poll_stats import PollResult, collect_polls
from troupe.sessions.run import EVENTS_FILE, read_meta
from troupe.sessions.study import STUDY_JSON, pool_results, study_groups
from troupe.sessions.transcript import Transcript, build_transcript

if TYPE_CHECKING:
    import pandas

COLUMNS = (
    "seq",
    "ts",
    "type",
    "section",
    "agent",
    "text",
    "to",
    "poll_id",
    "question",
    "value",
    "score",
    "rationale",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
)
"""The columns of :meth:`Run.to_pandas`, in order (a study's frame starts with ``group``)."""


@dataclass(frozen=True)
class Run:
    """One run folder, read: its typed events and what is derived from them."""

    path: Path
    """The run folder."""
    events: list[Event]
    """Every event of ``events.jsonl`` in ``seq`` order, typed (``Say``, ``PollAnswer``…)."""
    meta: dict[str, Any] = field(default_factory=dict)
    """``meta.json``: title, personas, backend, when it started, how it ended (may be empty)."""

    @property
    def started(self) -> SessionStarted:
        """The ``session_started`` event: title, guide, backend, model, seed, persona cards."""
        first = self.events[0]
        assert isinstance(first, SessionStarted)  # load_run checked it
        return first

    @property
    def title(self) -> str:
        return self.started.title

    @property
    def personas(self) -> list[str]:
        """The names of the personas seated, in seating order."""
        return list(self.started.personas)

    @property
    def ended(self) -> bool:
        """True once the log holds ``session_ended`` (a stopped run can be resumed)."""
        return any(e.type == "session_ended" for e in self.events)

    def transcript(self, *, include_thoughts: bool = False) -> Transcript:
        """The run as sections of readable entries (the model every export renders);
        private thoughts only when asked for."""
        return build_transcript(self.events, include_thoughts=include_thoughts)

    def polls(self) -> list[PollResult]:
        """One :class:`~troupe.PollResult` per asking of a poll, in the order asked."""
        return collect_polls(self.events)

    def poll(self, poll_id: str) -> PollResult:
        """The last asking of poll ``poll_id``; :class:`~troupe.BadInputError` when never asked."""
        found = [p for p in self.polls() if p.poll_id == poll_id]
        if not found:
            asked = ", ".join(sorted({p.poll_id for p in self.polls()})) or "none"
            raise BadInputError(f"no poll {poll_id!r} in this run (asked: {asked})", path=str(self.path))
        return found[-1]

    def records(self) -> list[dict[str, Any]]:
        """One flat dict per event with the keys of :data:`COLUMNS` (``ts`` as text)."""
        return event_records(self.events)

    def to_pandas(self) -> pandas.DataFrame:
        """One row per event, flat columns (see :data:`COLUMNS`); ``ts`` as UTC timestamps.

        Needs pandas (``pip install pandas``): a :class:`~troupe.TroupeError` says so when missing.
        """
        return _frame(self.records(), COLUMNS)


@dataclass(frozen=True)
class Study:
    """A study folder, read: every group that finished, as a :class:`Run`."""

    path: Path
    runs: dict[str, Run]
    """Group name (``group-01``…) → its run, in group order."""
    meta: dict[str, Any] = field(default_factory=dict)
    """``study.json``: the plan, each group's outcome, the pooled polls (empty for a study
    interrupted before writing it)."""

    @property
    def events(self) -> list[Event]:
        """Every group's events, group after group."""
        return [e for run in self.runs.values() for e in run.events]

    def polls(self) -> list[PollResult]:
        """Each poll pooled over the groups: one :class:`~troupe.PollResult` per poll id holding
        every group's answers (a group's last asking of it), in the order first asked."""
        by_id: dict[str, list[PollResult]] = {}
        for run in self.runs.values():
            last: dict[str, PollResult] = {}
            for result in run.polls():
                last[result.poll_id] = result
            for poll_id, result in last.items():
                by_id.setdefault(poll_id, []).append(result)
        return [pool_results(results) for results in by_id.values()]

    def records(self) -> list[dict[str, Any]]:
        """Every group's :meth:`Run.records`, each with a ``group`` key first."""
        return [{"group": name, **row} for name, run in self.runs.items() for row in run.records()]

    def to_pandas(self) -> pandas.DataFrame:
        """One row per event of every group: a ``group`` column, then :data:`COLUMNS`."""
        return _frame(self.records(), ("group", *COLUMNS))


def load_run(path: str | Path) -> Run | Study:
    """Read a run folder (holding ``events.jsonl``) as a :class:`Run`, or a study folder (its
    groups) as a :class:`Study`.

    Raises :class:`~troupe.BadInputError` naming the folder when it is neither, and
    :class:`~troupe.BadRunError` for a log that is not a Troupe run.
    """
    root = Path(path)
    if (root / EVENTS_FILE).is_file():
        return _read_run(root)
    if not root.exists():
        raise BadInputError("no such folder", path=str(root))
    return load_study(root)


def load_study(path: str | Path) -> Study:
    """Read a study folder (``troupe study``'s output): every group that finished."""
    root = Path(path)
    if not root.is_dir():
        raise BadInputError("no such folder", path=str(root))
    if (root / EVENTS_FILE).is_file():
        raise BadInputError("is a run folder, not a study; use load_run", path=str(root))
    groups = study_groups(root)
    meta: dict[str, Any] = {}
    if (root / STUDY_JSON).is_file():
        meta = json.loads((root / STUDY_JSON).read_text(encoding="utf-8"))  # study_groups parsed it
    return Study(path=root, runs={name: _read_run(run_dir) for name, run_dir in groups}, meta=meta)


def _read_run(root: Path) -> Run:
    events = read_events(root / EVENTS_FILE)
    if not events or not isinstance(events[0], SessionStarted):
        raise BadRunError("does not start with session_started; is this a Troupe run?", path=str(root / EVENTS_FILE))
    return Run(path=root, events=events, meta=read_meta(root))


# -- flat rows ----------------------------------------------------------------------------------


def event_records(events: Sequence[Event]) -> list[dict[str, Any]]:
    """One flat dict per event (see :data:`COLUMNS`); poll answers carry their numeric
    ``score`` as :func:`~troupe.core.poll_stats.collect_polls` reads it."""
    scores: dict[int, float | None] = {}
    for result in collect_polls(events):
        for answer in result.all_answers:
            scores[answer.seq] = answer.score
    rows: list[dict[str, Any]] = []
    section: int | None = None
    for event in events:
        data = event.model_dump(mode="json")
        if event.type == "section_started":
            section = int(data["index"])
        text = data.get("text")
        if text is None:
            text = data.get("message") if event.type == "error" else data.get("question")
        rows.append(
            {
                "seq": event.seq,
                "ts": event.ts,
                "type": event.type,
                "section": section,
                "agent": data.get("agent"),
                "text": text,
                "to": _flat(data.get("to")),
                "poll_id": data.get("poll_id"),
                "question": data.get("question"),
                "value": _flat(data.get("value")) if event.type == "poll_answer" else None,
                "score": scores.get(event.seq),
                "rationale": data.get("rationale"),
                "prompt_tokens": data.get("prompt_tokens"),
                "completion_tokens": data.get("completion_tokens"),
                "cost_usd": data.get("cost_usd"),
            }
        )
    return rows


def _flat(value: Any) -> Any:
    """Lists (addressees, multi-choice answers) as one ``"; "``-joined string."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pandas.DataFrame:
    try:
        import pandas
    except ImportError:
        raise TroupeError("to_pandas() needs pandas: pip install pandas", title="Missing package") from None
    frame = pandas.DataFrame.from_records(rows, columns=list(columns))
    frame["ts"] = pandas.to_datetime(frame["ts"], utc=True, format="ISO8601")
    for column in ("seq", "section", "prompt_tokens", "completion_tokens"):
        frame[column] = frame[column].astype("Int64")
    for column in ("score", "cost_usd"):
        frame[column] = frame[column].astype("Float64")
    return frame
