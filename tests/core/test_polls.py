"""Polls: per-poll answer models, private-first isolation, reveal, aggregation."""

from __future__ import annotations

from pathlib import Path

import pytest
from engine_fixtures import make_room, prompt_text, turn_requests
from pydantic import ValidationError

from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.poll_run import aggregate, answer_model, run_poll
from troupe.core.polls import PollSpec


def test_answer_models_allow_only_valid_values() -> None:
    likert = answer_model(PollSpec(id="a", question="q", kind="likert5"))
    assert likert(value="Agree", rationale="r").value == "Agree"
    with pytest.raises(ValidationError):
        likert(value="Maybe", rationale="r")
    single = answer_model(PollSpec(id="b", question="q", kind="single", options=["A", "B"]))
    with pytest.raises(ValidationError):
        single(value="C", rationale="r")
    multi = answer_model(PollSpec(id="c", question="q", kind="multi", options=["A", "B", "C"]))
    assert multi(value=["A", "C"], rationale="r").value == ["A", "C"]
    with pytest.raises(ValidationError):
        multi(value=[], rationale="r")
    number = answer_model(PollSpec(id="d", question="q", kind="number", min=0, max=6))
    assert number(value=2.5, rationale="r").value == 2.5
    with pytest.raises(ValidationError):
        number(value=7, rationale="r")
    text = answer_model(PollSpec(id="e", question="q", kind="text"))
    assert text(value="anything", rationale="r").value == "anything"
    schema = likert.model_json_schema()
    assert schema["properties"]["value"]["enum"][0] == "Strongly disagree" and schema["required"] == [
        "value",
        "rationale",
    ]


async def test_private_first_answers_are_isolated_then_revealed(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=5)
    room = make_room(tmp_path, backend, max_concurrency=2)  # later answers start after earlier ones land
    room.record("moderator", text="Here is the soup.", to=None)
    spec = PollSpec(id="intent", question="Would you buy it?", kind="likert5", private_first=True, reveal=True)
    result = await run_poll(room, spec)
    events = room.log.events
    answers = [e for e in events if e.type == "poll_answer"]
    assert len(answers) == 4 and not any(e.revealed for e in answers)
    # Every answer was given in isolation: no poll request contains another agent's answer.
    for request in turn_requests(backend, "poll"):
        text = prompt_text(request)
        for other in answers:
            if other.agent != request.agent:
                assert other.rationale not in text
                assert f"{other.agent} answered" not in text
    revealed = next(i for i, e in enumerate(events) if e.type == "poll_revealed")
    assert all(events.index(a) < revealed for a in answers)  # all recorded before anyone heard anyone
    assert events[revealed].answers == {a.agent: a.value for a in answers}
    for agent in room.agents.values():  # after the reveal, everybody knows the results
        assert "poll results" in agent.memory.items[-1].text
    closed = events[-1]
    assert closed.type == "poll_closed" and closed.n == 4 and closed.mean == pytest.approx(result.mean)


async def test_open_polls_go_round_and_each_hears_the_previous(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=2)
    room = make_room(tmp_path, backend)
    spec = PollSpec(id="pick", question="Which one?", kind="single", options=["A", "B"], private_first=False)
    await run_poll(room, spec)
    answers = [e for e in room.log.events if e.type == "poll_answer"]
    assert all(a.revealed for a in answers)
    last_prompt = prompt_text(turn_requests(backend, "poll")[-1])
    assert all(a.rationale in last_prompt for a in answers[:-1])
    assert not any(e.type == "poll_revealed" for e in room.log.events)


async def test_a_failed_answer_is_an_error_and_the_others_count(tmp_path: Path) -> None:
    def reply(request):
        if request.agent == "Tom Becker":
            return '{"value": "Perhaps"}'
        return {"value": "Agree", "rationale": "Sounds good."}

    room = make_room(tmp_path, ScriptedBackend(script=[reply] * 5))
    result = await run_poll(room, PollSpec(id="x", question="Buy?", kind="likert5"))
    assert result.n == 3 and result.counts["Agree"] == 3 and result.failed == ["Tom Becker"]
    error = next(e for e in room.log.events if e.type == "error")
    assert error.agent == "Tom Becker" and error.purpose == "poll" and not error.recovered


def test_aggregate_likert_counts_mean_stdev_distribution() -> None:
    spec = PollSpec(id="l", question="q", kind="likert5")
    result = aggregate(
        spec, {"a": ("Agree", ""), "b": ("Strongly agree", ""), "c": ("Disagree", ""), "d": ("Agree", "")}
    )
    assert result.counts == {"Strongly disagree": 0, "Disagree": 1, "Neutral": 0, "Agree": 2, "Strongly agree": 1}
    assert result.mean == pytest.approx(3.75) and result.stdev == pytest.approx(1.2583, abs=1e-4)
    assert result.distribution["Agree"] == 0.5 and sum(result.distribution.values()) == pytest.approx(1.0)
    low, high = result.ci95
    assert low < result.mean < high


def test_aggregate_number_multi_single_and_text() -> None:
    number = aggregate(
        PollSpec(id="n", question="q", kind="number", min=0, max=6), {"a": (2, ""), "b": (3.5, ""), "c": (2, "")}
    )
    assert number.counts == {"2": 2, "3.5": 1} and number.mean == pytest.approx(2.5) and number.median == 2
    multi = aggregate(
        PollSpec(id="m", question="q", kind="multi", options=["A", "B"]), {"a": (["A", "B"], ""), "b": (["A"], "")}
    )
    assert multi.counts == {"A": 2, "B": 1} and multi.distribution == {"A": 1.0, "B": 0.5} and multi.mean is None
    single = aggregate(PollSpec(id="s", question="q", kind="single", options=["A", "B"]), {"a": ("B", "")})
    assert single.counts == {"A": 0, "B": 1} and single.stdev is None and single.ci95 is None
    text = aggregate(PollSpec(id="t", question="q", kind="text"), {"a": ("cheaper", "")})
    assert text.n == 1 and text.counts == {} and text.mean is None


def test_multi_poll_max_choices_bounds_the_answer() -> None:
    spec = PollSpec(id="top2", question="Pick up to two", kind="multi", options=["A", "B", "C"], max_choices=2)
    model = answer_model(spec)
    assert model(value=["A", "C"], rationale="ok").value == ["A", "C"]
    with pytest.raises(ValidationError):
        model(value=["A", "B", "C"], rationale="too many")
    with pytest.raises(ValidationError, match="max_choices"):
        PollSpec(id="x", question="q", kind="single", options=["A", "B"], max_choices=1)
    with pytest.raises(ValidationError, match="only 3 options"):
        PollSpec(id="x", question="q", kind="multi", options=["A", "B", "C"], max_choices=4)
