"""Group-dynamics readouts (core/dynamics.py) on crafted logs with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from troupe.core import dynamics
from troupe.core.events import Event, parse_event
from troupe.core.log import write_events
from troupe.sessions.cli import main
from troupe.sessions.dynamics_render import dynamics_html, dynamics_markdown

LIKERT = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"]
PEOPLE = ["Ana Ruiz", "Ben Okafor", "Cleo Lind"]


def log(*items: tuple[str, dict]) -> list[Event]:
    start = ("session_started", dict(title="t", personas=PEOPLE, backend="scripted"))
    return [
        parse_event({"seq": i, "ts": "2026-01-01T00:00:00Z", "type": type, **fields})
        for i, (type, fields) in enumerate([start, *items], start=1)
    ]


def say(agent: str, text: str, reply_to: int | None = None, to: str | None = None, **kw: object) -> tuple[str, dict]:
    return ("say", dict(agent=agent, text=text, turn=1, reply_to=reply_to, to=to, **kw))


def asked(poll_id: str, kind: str = "likert5", question: str | None = None, private_first: bool = True, options=None):
    return (
        "poll_asked",
        dict(
            poll_id=poll_id, question=question or f"{poll_id}?", kind=kind, options=options, private_first=private_first
        ),
    )


def answer(poll_id: str, agent: str, value: object) -> tuple[str, dict]:
    return ("poll_answer", dict(poll_id=poll_id, agent=agent, value=value, rationale=""))


def test_airtime_counts_turns_words_and_shares() -> None:
    events = log(
        ("moderator", dict(text="Hello all?", to=None)),  # seq 2
        say("Ana Ruiz", "one two three four five six", reply_to=2),  # 6 words → moderator
        say("Ben Okafor", "I don't agree, Ana.", reply_to=3),  # 4 words → Ana (reply_to)
        say("Ana Ruiz", "Fine then", to="Ben"),  # 2 words → Ben (first name)
        say("Cleo Lind", "well", to="moderator", muted=True),  # 1 word → Moderator, muted
        ("pass", dict(agent="Cleo Lind", turn=2)),
        say("Ben Okafor", "hmm ok", reply_to=None),  # 2 words → room
    )
    a = dynamics.airtime(events)
    rows = {r.agent: r for r in a.rows}
    assert [r.agent for r in a.rows] == PEOPLE
    assert a.total_words == 15
    assert (rows["Ana Ruiz"].turns, rows["Ana Ruiz"].words) == (2, 8)
    assert rows["Ana Ruiz"].share == pytest.approx(8 / 15)
    assert (rows["Ben Okafor"].turns, rows["Ben Okafor"].words) == (2, 6)
    assert (rows["Cleo Lind"].turns, rows["Cleo Lind"].words, rows["Cleo Lind"].passes, rows["Cleo Lind"].muted) == (
        1,
        1,
        1,
        1,
    )
    assert a.replies["Ana Ruiz"] == {"Ana Ruiz": 0, "Ben Okafor": 1, "Cleo Lind": 0, "Moderator": 1, "(room)": 0}
    assert a.replies["Ben Okafor"]["Ana Ruiz"] == 1 and a.replies["Ben Okafor"]["(room)"] == 1
    assert a.replies["Cleo Lind"]["Moderator"] == 1
    assert a.quietest(PEOPLE, 2) == ["Cleo Lind", "Ben Okafor"]
    assert a.dominant() is not None and a.dominant().agent == "Ana Ruiz"  # type: ignore[union-attr]


def test_addressing_oneself_falls_back_to_reply_to() -> None:
    events = log(say("Ana Ruiz", "a"), say("Ana Ruiz", "b", to="Ana Ruiz", reply_to=2))
    assert dynamics.airtime(events).replies["Ana Ruiz"]["(room)"] == 2


def test_drift_on_a_reasked_likert_poll_and_conformity() -> None:
    events = log(
        asked("q"),  # 2 — private first: Ana 1, Ben 3, Cleo 5 → mean 3
        answer("q", "Ana Ruiz", 1),
        answer("q", "Ben Okafor", 3),
        answer("q", "Cleo Lind", "Strongly agree"),
        say("Ana Ruiz", "talk"),
        asked("q", private_first=False),  # 7 — asked again: Ana 2 (towards), Ben 4 (away), Cleo 5 (same)
        answer("q", "Ana Ruiz", 2),
        answer("q", "Ben Okafor", 4),
        answer("q", "Cleo Lind", 5),
    )
    [drift] = dynamics.opinion_drift(events)
    assert (drift.first_seq, drift.again_seq, drift.reference) == (2, 7, "mean 3")
    moves = {m.agent: m for m in drift.moves}
    assert (moves["Ana Ruiz"].delta, moves["Ana Ruiz"].direction, moves["Ana Ruiz"].could_conform) == (
        1.0,
        "towards",
        True,
    )
    assert (moves["Ben Okafor"].delta, moves["Ben Okafor"].direction, moves["Ben Okafor"].could_conform) == (
        1.0,
        "away",
        False,
    )
    assert (moves["Cleo Lind"].delta, moves["Cleo Lind"].direction) == (0.0, "same")
    assert (drift.moved, drift.towards, drift.mean_abs_delta) == (2, 1, pytest.approx(2 / 3))
    c = dynamics.conformity([drift])
    # Eligible: Ana (1 ≠ 3) and Cleo (5 ≠ 3); Ben started at the mean. Conformed: Ana only.
    assert (c.conformed, c.eligible, c.away, c.rate) == (1, 2, 1, 0.5)
    assert c.per_agent == {"Ana Ruiz": (1, 1), "Cleo Lind": (0, 1)}


def test_drift_pairs_a_later_poll_with_the_same_question_and_single_choice_plurality() -> None:
    opts = ["Red", "Blue", "Green"]
    events = log(
        asked("first", "single", question="Which  colour?", options=opts),  # 2
        answer("first", "Ana Ruiz", "Red"),
        answer("first", "Ben Okafor", "Red"),
        answer("first", "Cleo Lind", "Blue"),
        asked("other", "single", question="Something else?", options=opts),  # 6: not the same question
        asked("later", "single", question="which colour?", options=opts, private_first=False),  # 7
        answer("later", "Ana Ruiz", "Green"),  # away
        answer("later", "Ben Okafor", "Red"),  # same
        answer("later", "Cleo Lind", "red"),  # towards
        asked("again", "single", question="Which colour?", options=["Red", "Blue"]),  # different options
    )
    [drift] = dynamics.opinion_drift(events)
    assert (drift.poll_id, drift.again_poll_id, drift.reference) == ("first", "later", "plurality: Red")
    assert {m.agent: m.direction for m in drift.moves} == {
        "Ana Ruiz": "away",
        "Ben Okafor": "same",
        "Cleo Lind": "towards",
    }
    c = dynamics.conformity([drift])
    assert (c.conformed, c.eligible, c.away, c.rate) == (1, 1, 1, 1.0)


def test_polls_not_private_first_or_not_reasked_give_no_drift() -> None:
    events = log(
        asked("a", private_first=False),
        answer("a", "Ana Ruiz", 2),
        asked("a"),
        answer("a", "Ana Ruiz", 4),
        asked("t", "text"),
        asked("t", "text"),
    )
    assert dynamics.opinion_drift(events) == []
    assert dynamics.conformity([]).rate is None


SENTENCE = "the price is far too high for what you get in the bottle and the taste is flat"
OTHER = "i would buy it after the gym if it were colder and came in a smaller can"
THIRD = "my grandmother made gazpacho every summer so nothing from a shop will ever match hers really"


def test_voice_similarity_distinct_ratio_pairs_and_collapse_warning() -> None:
    # 17 words → 15 distinct trigrams each; twice the sentence with one word changed keeps 12 of 15.
    varied = log(
        say("Ana Ruiz", SENTENCE + " " + OTHER),  # 17 + 17 words
        say("Ben Okafor", THIRD + " " + OTHER.replace("gym", "office")),
    )
    v = dynamics.voice_similarity(varied)
    assert v.compared == ["Ana Ruiz", "Ben Okafor"]
    ana = dynamics.ngrams(dynamics.words(SENTENCE + " " + OTHER))
    ben = dynamics.ngrams(dynamics.words(THIRD + " " + OTHER.replace("gym", "office")))
    assert v.per_agent == {"Ana Ruiz": len(ana), "Ben Okafor": len(ben), "Cleo Lind": 0}
    assert v.pairs["Ana Ruiz | Ben Okafor"] == pytest.approx(len(ana & ben) / len(ana | ben))
    assert v.distinct_ratio == pytest.approx(len(ana | ben) / (len(ana) + len(ben)))
    assert not v.collapsed and v.warning is None

    same = log(say("Ana Ruiz", SENTENCE + " " + OTHER), say("Ben Okafor", SENTENCE + " " + OTHER))
    v = dynamics.voice_similarity(same)
    assert v.pairs == {"Ana Ruiz | Ben Okafor": 1.0} and v.distinct_ratio == 0.5
    assert v.collapsed and v.warning is not None and "one voice" in v.warning

    short = log(say("Ana Ruiz", "yes indeed"), say("Ben Okafor", "yes indeed"))
    v = dynamics.voice_similarity(short)
    assert v.compared == [] and v.mean_overlap is None and not v.collapsed


def test_ngrams_do_not_span_utterances() -> None:
    v = dynamics.voice_similarity(log(say("Ana Ruiz", "a b"), say("Ana Ruiz", "c d")))
    assert v.per_agent["Ana Ruiz"] == 0


def crafted_run(tmp_path: Path) -> Path:
    events = log(
        ("moderator", dict(text="Go <b>", to=None)),
        say("Ana Ruiz", "one <two> three", reply_to=2),
        asked("q"),
        answer("q", "Ana Ruiz", 1),
        answer("q", "Ben Okafor", 5),
        asked("q"),
        answer("q", "Ana Ruiz", 3),
        answer("q", "Ben Okafor", 5),
    )
    run = tmp_path / "run"
    run.mkdir()
    write_events(run / "events.jsonl", events)
    return run


def test_troupe_dynamics_command_md_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = crafted_run(tmp_path)
    assert main(["dynamics", str(run), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["airtime"]["rows"][0] == {
        "agent": "Ana Ruiz",
        "turns": 1,
        "words": 3,
        "share": 1.0,
        "passes": 0,
        "muted": 0,
    }
    assert data["airtime"]["replies"]["Ana Ruiz"]["Moderator"] == 1
    assert data["conformity"] == {
        "conformed": 1,
        "eligible": 2,
        "away": 0,
        "per_agent": {"Ana Ruiz": {"conformed": 1, "eligible": 1}, "Ben Okafor": {"conformed": 0, "eligible": 1}},
        "rate": 0.5,
    }
    assert data["drift"][0]["moves"][0]["delta"] == 2.0 and data["drift"][0]["towards"] == 1
    assert main(["dynamics", str(run)]) == 0
    out = capsys.readouterr().out
    assert "# Group dynamics" in out and "| Ana Ruiz | 1 | 3 | 100% | 0 |" in out
    assert "Conformity: 1 of 2 answers" in out and "(50%)" in out
    assert main(["dynamics", str(tmp_path / "nope")]) == 2


def test_rendered_blocks_escape_text() -> None:
    events = log(say("Ana Ruiz", "x"), asked("<q>"), answer("<q>", "Ana Ruiz", 1), asked("<q>"))
    d = dynamics.compute(events)
    html = dynamics_html(d)
    assert "<q>" not in html and "&lt;q&gt;" in html
    assert dynamics_markdown(d)[0] == "## Group dynamics"


async def test_report_carries_the_dynamics_section_in_md_and_html(tmp_path: Path) -> None:
    from troupe.sessions.export import load_transcript
    from troupe.sessions.report import build_report
    from troupe.sessions.report_render import render_report_html, render_report_markdown

    report = await build_report(load_transcript(crafted_run(tmp_path)), mode="lexical")
    assert report.dynamics is not None and report.dynamics.conformity.rate == 0.5
    md = render_report_markdown(report)
    assert "## Group dynamics" in md and "Conformity: 1 of 2 answers" in md
    assert '<section class="dynamics"><h2>Group dynamics</h2>' in render_report_html(report)


def test_live_summary_names_the_dominant_persona_and_the_rates() -> None:
    from troupe.sessions.dynamics_render import dynamics_summary

    events = log(
        say("Ana Ruiz", "one two three four five six seven eight"),
        say("Ben Okafor", "one two"),
        asked("q"),
        answer("q", "Ana Ruiz", 1),
        answer("q", "Ben Okafor", 5),
        asked("q"),
        answer("q", "Ana Ruiz", 3),
        answer("q", "Ben Okafor", 5),
    )
    text = dynamics_summary(dynamics.compute(events))
    assert text.splitlines() == [
        "Airtime (words): Ana 80% · Ben 20% · Cleo 0%",
        "Ana Ruiz dominates (80%): /hold Ana or /quiet",
        "Conformity: 1 of 2 (50%)",
        "Voice overlap: too little speech",
    ]
