"""Small pure pieces: the bridge's batching, feed lines, poll views, recent runs, pane badges."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from tests.tui.tui_fixtures import plain
from troupe.core.events import parse_event
from troupe.core.poll_stats import answers_by, collect_polls
from troupe.tui.bridge import SessionBridge
from troupe.tui.palette import SpeakerPalette
from troupe.tui.runs import recent_runs
from troupe.tui.widgets.feed import feed_row, format_event
from troupe.tui.widgets.persona_pane import PersonaPane


def event(seq: int, type: str, **fields):
    return parse_event({"seq": seq, "ts": "2026-01-01T12:00:00.000Z", "type": type, **fields})


@dataclass
class Activity:
    agent: str
    status: str
    partial_text: str | None


class FakeFeed:
    """Just the subscription surface of a session."""

    def __init__(self, events):
        self.events = list(events)
        self.event_callbacks, self.activity_callbacks = [], []

    def subscribe(self, callback):
        self.event_callbacks.append(callback)
        return lambda: self.event_callbacks.remove(callback)

    def subscribe_activity(self, callback):
        self.activity_callbacks.append(callback)
        return lambda: self.activity_callbacks.remove(callback)


def test_bridge_batches_events_in_order_and_keeps_only_the_latest_activity():
    source = FakeFeed([event(1, "session_started", title="t", personas=["A"], backend="scripted")])
    bridge = SessionBridge(source)
    for n in range(1, 200):
        source.activity_callbacks[0](Activity("A", "speaking", "x" * n))
    source.event_callbacks[0](event(1, "session_paused"))  # already drawn from session.events: ignored
    source.event_callbacks[0](event(2, "moderator", text="hi"))
    source.event_callbacks[0](event(3, "say", agent="A", text="hello", turn=1))
    batch = bridge.drain()
    assert [e.seq for e in batch.events] == [2, 3]
    assert batch.activity["A"].partial_text == "x" * 199
    assert bridge.activity_updates == 199
    assert not bridge.drain()
    bridge.close()
    assert not source.event_callbacks and not source.activity_callbacks


def test_bridge_records_from_other_threads():
    source = FakeFeed([])
    bridge = SessionBridge(source)
    workers = [
        threading.Thread(
            target=lambda i=i: [source.activity_callbacks[0](Activity(f"P{i}", "speaking", str(k))) for k in range(500)]
        )
        for i in range(4)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    batch = bridge.drain()
    assert {a.partial_text for a in batch.activity.values()} == {"499"} and len(batch.activity) == 4


def test_feed_lines_show_seq_speaker_and_text_and_skip_private_or_accounting_events():
    palette = SpeakerPalette(["Maria Lopez"])
    say = plain(format_event(event(58, "say", agent="Maria Lopez", text="Cold soup? Yes.", turn=3), palette))
    assert "58" in say and "Maria" in say and "Cold soup? Yes." in say
    muted = plain(format_event(event(59, "say", agent="Maria Lopez", text="psst", turn=4, muted=True), palette))
    assert "(muted)" in muted
    moderator = plain(format_event(event(60, "moderator", text="Why?", to=["Maria Lopez"]), palette))
    assert "MODERATOR" in moderator and "→ Maria" in moderator
    concept = plain(
        format_event(
            event(61, "stimulus", source="moderator", kind="concept", text="A bottle.", title="Gazpacho Go"), palette
        )
    )
    assert "STIMULUS" in concept and "Gazpacho Go — A bottle." in concept
    assert format_event(event(62, "think", agent="Maria Lopez", text="secret", turn=5), palette) is None
    assert (
        format_event(
            event(63, "llm_call", agent=None, purpose="turn", prompt_tokens=1, completion_tokens=1, latency_ms=1.0),
            palette,
        )
        is None
    )


def test_polls_read_likert_positions_as_labels_and_collect_private_answers():
    log = [
        event(
            1,
            "poll_asked",
            poll_id="intent",
            question="Buy?",
            kind="likert5",
            options=["SD", "D", "N", "A", "SA"],
            private_first=True,
        ),
        event(2, "poll_answer", poll_id="intent", agent="Maria", value=4, rationale="tasty", revealed=False),
        event(3, "poll_answer", poll_id="intent", agent="Tom", value=2, rationale="odd", revealed=False),
        event(4, "poll_asked", poll_id="size", question="Size?", kind="multi", options=["S", "L"]),
        event(5, "poll_answer", poll_id="size", agent="Tom", value=["S", "L"], rationale="both"),
    ]
    intent, size = collect_polls(log)
    assert intent.counts == {"SD": 0, "D": 1, "N": 0, "A": 1, "SA": 0}
    assert intent.mean == 3.0
    assert size.counts == {"S": 1, "L": 1}
    assert [(p.poll_id, a.value, a.revealed) for p, a in answers_by(log, "Tom")] == [
        ("intent", 2, False),
        ("size", ["S", "L"], False),
    ]


def test_recent_runs_read_title_and_state_cheaply(tmp_path):
    for name, last in (("a", "say"), ("b", "session_ended")):
        run = tmp_path / name
        run.mkdir()
        lines = [
            {
                "seq": 1,
                "type": "session_started",
                "title": f"Run {name}",
                "personas": ["A", "B"],
                "backend": "scripted",
                "model": "scripted-1",
            },
            {"seq": 2, "type": last},
        ]
        (run / "events.jsonl").write_text(
            "\n".join(json.dumps(x) for x in lines) + '\n{"seq": 3, "ty', encoding="utf-8"
        )
    (tmp_path / "not-a-run").mkdir()
    runs = {r.title: r for r in recent_runs(tmp_path)}
    assert set(runs) == {"Run a", "Run b"}
    assert runs["Run a"].personas == ["A", "B"] and runs["Run a"].last_type == "torn"
    assert (runs["Run b"].backend, runs["Run b"].model) == ("scripted", "scripted-1")


def test_pane_badge_priorities():
    pane = PersonaPane("Tom Becker", "67 · retired · Leeds", "#61afef")
    assert pane.badge_key == "idle"
    pane.set_flags(paused=True, muted=True, turns=2)
    assert pane.badge_key == "paused" and "muted" in pane.badge().plain
    pane.set_activity("speaking", "Cold soup")
    assert pane.badge_key == "speaking" and "Cold soup▍" in pane.render().plain
    pane.add_said("Cold soup? No.")
    assert pane.partial is None and "“Cold soup? No.”" in pane.render().plain
    pane.set_activity("error", None)
    pane.set_activity("idle", None)
    assert pane.badge_key == "error"  # an error stays visible until the next turn starts
    pane.set_activity("thinking", None)
    assert pane.badge_key == "thinking"
    pane.set_compact(True)
    line = pane.render()
    assert line.plain.startswith("Tom ◌ thinking…") and "\n" not in line.plain


def test_a_section_line_carries_the_guides_goal_for_the_moderator():
    line = plain(format_event(event(2, "section_started", index=1, title="Usage habits"), SpeakerPalette([])))
    assert "── 2: Usage habits ──" in line and "goal" not in line
    row = feed_row(
        event(2, "section_started", index=1, title="Usage habits"), SpeakerPalette([]), {1: "Map the occasions."}
    )
    assert row is not None and "goal: Map the occasions." in row.body.plain


def test_the_feed_shows_poll_answers_as_text_not_python_values():
    palette = SpeakerPalette(["Maria"])
    multi = event(1, "poll_answer", poll_id="where", agent="Maria", value=["Supermarket", "Online"], rationale="both")
    number = event(2, "poll_answer", poll_id="n", agent="Maria", value=8.0, rationale="a week", revealed=True)
    assert "answers Supermarket, Online — both" in format_event(multi, palette).plain
    assert "[" not in format_event(multi, palette).plain
    assert "answers 8 — a week" in format_event(number, palette).plain
