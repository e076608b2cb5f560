"""JSON export: the guide, the personas, computed poll results and the events themselves.

The ``events`` array holds the logged events verbatim (the same JSON objects as
``events.jsonl``), so :func:`events_from_export` parses them back into the very same events —
with ``--include-thoughts`` that is the whole log, enough to rebuild the session. Without it,
``think`` events are left out (they are private) and ``thoughts_omitted`` says how many.
Poll results are included for convenience; they are recomputed from the events, never edited
(:mod:`troupe.core.poll_stats`): ``counts`` per option (per distinct value for number polls),
``shares`` of respondents (multi-choice: the share who chose the option), ``chart`` — the rows
every chart draws (options, or bins of number answers with the median's bin marked).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from troupe.core.errors import BadInputError
from troupe.core.events import Event, parse_event
from troupe.core.poll_stats import PollResult
from troupe.sessions.export.common import SIMULATED_NOTICE, provenance
from troupe.sessions.transcript import Transcript

FORMAT = "troupe-transcript"
VERSION = 1


def export_dict(t: Transcript, *, generated_at: datetime | None = None) -> dict[str, Any]:
    info = t.info
    made = generated_at or datetime.now(timezone.utc)
    return {
        "format": FORMAT,
        "version": VERSION,
        "notice": SIMULATED_NOTICE,
        "provenance": provenance(info, made),
        "generated_at": made.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "session": {
            "title": info.title,
            "kind": info.kind,
            "spec": info.spec,
            "backend": info.backend,
            "model": info.model,
            "seed": info.seed,
            "started_at": info.started_at,
            "ended_at": info.ended_at,
            "end_reason": info.end_reason,
            "llm_calls": info.llm_calls,
            "prompt_tokens": info.prompt_tokens,
            "completion_tokens": info.completion_tokens,
            "cost_usd": round(info.cost_usd, 6),
            "turn_checks": info.turn_checks.to_json(),
            "branched_from": (
                {"run": info.branched_from[0], "seq": info.branched_from[1]} if info.branched_from else None
            ),
        },
        "guide": info.guide,
        "personas": [{"name": name, **info.cards.get(name, {})} for name in info.personas],
        "polls": [_poll(p) for p in t.polls],
        "highlights": [
            {"seq": h.seq, "target": h.target, "speaker": h.speaker, "text": h.text, "tag": h.tag, "by": "moderator"}
            for h in t.highlights
        ],
        "moderator_notes": [{"seq": n.seq, "ts": n.ts, "author": n.author, "text": n.text} for n in t.notes],
        "thoughts_included": t.include_thoughts,
        "thoughts_omitted": 0 if t.include_thoughts else t.thought_count,
        "events": [e.to_json_dict() for e in t.visible_events()],
    }


def render_json(t: Transcript, *, generated_at: datetime | None = None) -> str:
    return json.dumps(export_dict(t, generated_at=generated_at), ensure_ascii=False, indent=2) + "\n"


def events_from_export(data: dict[str, Any]) -> list[Event]:
    """The events of a JSON export, parsed back into typed events."""
    if data.get("format") != FORMAT:
        raise BadInputError(f"not a Troupe JSON export (format is {data.get('format')!r})")
    return [parse_event(item) for item in data.get("events", [])]


def _poll(p: PollResult) -> dict[str, Any]:
    ci = p.ci95
    return {
        "poll_id": p.poll_id,
        "seq": p.seq,
        "section": p.section_title,
        "question": p.question,
        "kind": p.kind,
        "options": p.options,
        "private_first": p.private_first,
        "n": p.n,
        "counts": p.counts,
        "shares": p.distribution,
        "mean": p.mean,
        "median": p.median,
        "stdev": p.stdev,
        "ci95": list(ci) if ci else None,
        "failed": p.failed,
        "chart": [{"label": b.label, "count": b.count, "share": b.share, "median": b.median} for b in p.bars()],
        "answers": [
            {"agent": a.agent, "value": a.value, "rationale": a.rationale, "seq": a.seq, "revealed": a.revealed}
            for a in p.answers
        ],
    }
