"""Budgets (core/budget.py): spent, projection, the guard; a headless run pauses before a limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from troupe.core import budget
from troupe.core.events import Event, parse_event
from troupe.sessions.cli import main


def log(*items: tuple[str, str, dict]) -> list[Event]:
    return [
        parse_event({"seq": i, "ts": ts, "type": type, **fields}) for i, (ts, type, fields) in enumerate(items, start=1)
    ]


def call(ts: str, prompt: int, completion: int, cost: float) -> tuple[str, str, dict]:
    fields = dict(agent="A", purpose="turn", prompt_tokens=prompt, completion_tokens=completion, latency_ms=5.0)
    return (ts, "llm_call", {**fields, "cost_usd": cost})


def say(ts: str) -> tuple[str, str, dict]:
    return (ts, "say", dict(agent="A", text="hi", turn=1))


EVENTS = log(
    ("2026-01-01T10:00:00Z", "session_started", dict(title="t", personas=["A"], backend="scripted")),
    call("2026-01-01T10:00:10Z", 900, 100, 0.02),  # +10 s
    say("2026-01-01T10:00:20Z"),  # +10 s
    call("2026-01-01T10:00:50Z", 1800, 200, 0.03),  # +30 s
    say("2026-01-01T10:01:00Z"),  # +10 s
    call("2026-01-01T11:00:00Z", 400, 100, 0.01),  # an hour later: idle, not counted
    ("2026-01-01T11:00:20Z", "poll_answer", dict(poll_id="p", agent="A", value=3, rationale="")),  # +20 s
    ("2026-01-01T11:00:30Z", "error", dict(agent="A", kind="x", message="m", recovered=False, round_key="r")),
    ("2026-01-01T11:00:40Z", "error", dict(agent="A", kind="x", message="m", recovered=False)),  # halted: no unit
)


def test_usage_sums_calls_and_counts_active_time_and_units() -> None:
    u = budget.usage_of(EVENTS)
    assert (u.calls, u.tokens, u.units) == (3, 3500, 4)
    assert u.cost == pytest.approx(0.06)
    assert u.seconds == pytest.approx(10 + 10 + 30 + 10 + 20 + 10 + 10)


def test_projection_is_per_unit_times_units() -> None:
    u = budget.Usage(cost=0.06, tokens=3500, seconds=100.0, units=4, calls=3)
    p = budget.project(u, 10)
    assert (p.units, p.cost, p.tokens, p.seconds) == (10, pytest.approx(0.15), pytest.approx(8750), pytest.approx(250))
    assert budget.project(budget.Usage(), 10).cost == 0.0  # nothing to go on yet


def test_projection_text() -> None:
    assert budget.projection_text(budget.Projection(10, 0.15, 8750, 250)) == "rest ≈ $0.15 · 9k tok · 4 min"
    assert budget.projection_text(budget.Projection(0, 0, 0, 0)) == "rest: nothing left"
    assert budget.projection_text(budget.Projection(5, 0, 0, 0)) == "rest: no estimate yet"


def test_breach_before_the_limit_is_passed() -> None:
    u = budget.Usage(cost=0.06, tokens=3500, seconds=120.0, units=4, calls=3)  # 0.015 $/unit, 875 tok/unit
    assert budget.breach(budget.Limits(max_cost=0.09), u, 2) is None  # 0.06 + 0.03 = 0.09: not passed
    hit = budget.breach(budget.Limits(max_cost=0.09), u, 3)  # 0.06 + 0.045 > 0.09
    assert hit is not None and (hit.limit, hit.value, hit.spent) == ("max_cost", 0.09, pytest.approx(0.06))
    assert hit.projected == pytest.approx(0.045)
    hit = budget.breach(budget.Limits(max_tokens=5000), u, 2)  # 3500 + 1750 > 5000
    assert hit is not None and hit.limit == "max_tokens" and "--max-tokens 5,000 tokens" in hit.describe()
    assert budget.breach(budget.Limits(max_minutes=3.0), u, 2) is None  # 2 + 1 = 3 min
    assert budget.breach(budget.Limits(max_minutes=3.0), u, 3) is not None
    assert budget.breach(budget.Limits(max_cost=0.06), budget.Usage(cost=0.06), 1) is not None  # already reached
    assert budget.breach(budget.Limits(), u, 100) is None


def test_a_headless_run_pauses_before_its_token_budget_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    argv = ["run", "concept-test", "--backend", "scripted", "--headless", "--out", str(run)]
    assert main([*argv, "--max-tokens", "20000"]) == 1
    err = capsys.readouterr().err
    assert "paused before passing the budget" in err and f"troupe resume {run} --headless --max-tokens" in err
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    spent = sum(e["prompt_tokens"] + e["completion_tokens"] for e in events if e["type"] == "llm_call")
    assert spent <= 20000
    reached = [e for e in events if e["type"] == "budget_reached"]
    assert len(reached) == 1 and reached[0]["spent"] == spent and spent + reached[0]["projected"] > 20000
    assert events[-1]["type"] == "session_paused" and not any(e["type"] == "session_ended" for e in events)
    assert main(["resume", str(run), "--headless", "--max-tokens", "10000000"]) == 0
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "session_ended" and events[-1]["reason"] == "completed"
    assert [e["max_tokens"] for e in events if e["type"] == "budget_set"] == [20000, 10000000]


def test_budget_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "concept-test", "--backend", "scripted", "--out", str(tmp_path / "r")]
    assert main([*argv, "--headless", "--max-cost", "-1"]) == 2
    assert main([*argv, "--max-cost", "1"]) == 2  # budgets are for headless runs
    assert "apply to --headless" in capsys.readouterr().err


async def test_session_projects_the_rest_of_the_guide(tmp_path: Path) -> None:
    from tests.sessions.test_moves import start

    session = await start(tmp_path)
    await session.step()
    await session.step()  # the warm-up round: four turns
    usage = budget.usage_of(session.events)
    assert usage.units == 4
    rest = [b for b in session.plan[2:] if b.kind in ("round", "poll")]
    p = session.projection()
    assert p.units == 4 * len(rest)
    assert p.tokens == pytest.approx(usage.tokens / 4 * p.units)
    session.hold_back("Tom", 99)  # three active personas from now on
    assert session.projection().units == 3 * len(rest)
    await session.aclose()


async def test_a_guide_budget_pauses_the_session_before_it_is_passed(tmp_path: Path) -> None:
    from tests.core.engine_fixtures import guide_data, make_cards
    from troupe.core.clock import FixedClock
    from troupe.core.llm.scripted import ScriptedBackend
    from troupe.sessions.guide import parse_guide
    from troupe.sessions.session import Session

    data = guide_data()
    data["defaults"]["budget"] = {"max_tokens": 6000}
    session = await Session.start(
        parse_guide(data), make_cards(), ScriptedBackend(), tmp_path / "run", clock=FixedClock()
    )
    assert session.limits == budget.Limits(max_tokens=6000)
    with pytest.raises(budget.BudgetReachedError) as caught:
        while await session.step():
            pass
    assert caught.value.exit_code == 1 and caught.value.breach.limit == "max_tokens"
    usage = budget.usage_of(session.events)
    assert usage.tokens <= 6000 and usage.tokens + caught.value.breach.projected > 6000
    assert [e.type for e in session.events][-2:] == ["budget_reached", "session_paused"]
    await session.aclose()


def test_a_study_budget_applies_per_group(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "study"
    argv = ["study", "concept-test", "--groups", "2", "--backend", "scripted", "--out", str(out)]
    assert main([*argv, "--max-tokens", "20000"]) == 1  # every group paused: failed, resumable
    err = capsys.readouterr().err
    assert err.count("troupe: group-0") == 2 and "paused before passing the budget" in err
    for name in ("group-01", "group-02"):
        events = [json.loads(line) for line in (out / name / "events.jsonl").read_text().splitlines()]
        assert sum(e["prompt_tokens"] + e["completion_tokens"] for e in events if e["type"] == "llm_call") <= 20000
        assert events[-1]["type"] == "session_paused"


def test_the_config_budget_applies_to_every_session_under_the_guides_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[budget]\nmax_tokens = 20000\nmax_cost = 5.0\n", encoding="utf-8")
    monkeypatch.setenv("TROUPE_CONFIG", str(config))
    run = tmp_path / "run"
    assert main(["run", "concept-test", "--backend", "scripted", "--headless", "--out", str(run)]) == 1
    assert "paused before passing the budget" in capsys.readouterr().err
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    [limits] = [e for e in events if e["type"] == "budget_set"]
    assert (limits["max_tokens"], limits["max_cost"]) == (20000, 5.0)
    spent = sum(e["prompt_tokens"] + e["completion_tokens"] for e in events if e["type"] == "llm_call")
    assert spent <= 20000 and any(e["type"] == "budget_reached" for e in events)
    bad = tmp_path / "bad.toml"
    bad.write_text("[budget]\nmax_tokens = -3\n", encoding="utf-8")
    monkeypatch.setenv("TROUPE_CONFIG", str(bad))
    assert main(["run", "concept-test", "--backend", "scripted", "--headless", "--out", str(tmp_path / "b")]) == 2
    assert "budget.max_tokens" in capsys.readouterr().err
