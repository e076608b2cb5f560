"""`troupe study`: K groups of a guide run headless, polls pooled from their logs.

The pooled numbers are checked against counts, means and intervals recomputed here from the
raw ``events.jsonl`` lines (json + statistics + scipy), not through the code under test.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from troupe.core.errors import BackendUnavailableError, BadInputError
from troupe.core.events import SessionEnded, SessionStarted
from troupe.core.llm.protocol import ChatRequest, ChatResponse
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.log import read_events
from troupe.core.polls import LIKERT_LABELS
from troupe.sessions.cli import main
from troupe.sessions.study import plan_panels

LEAKY_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_ENDPOINT",
    "TROUPE_CONFIG",
    "TROUPE_MODEL",
    "TROUPE_BACKEND",
    "TROUPE_CACHE",
    "TROUPE_CACHE_PATH",
)


def study_args(out: Path, *extra: str, groups: int = 3) -> list[str]:
    return [
        "study",
        "ab-test",
        "--groups",
        str(groups),
        "--backend",
        "scripted",
        "--rounds",
        "1",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """One 3-group study of the shipped ab-test guide, panels of 3 sampled from the library."""
    out = tmp_path_factory.mktemp("study") / "s"
    with pytest.MonkeyPatch.context() as mp:  # the suite's hermetic env is function-scoped
        for name in LEAKY_ENV:
            mp.delenv(name, raising=False)
        mp.setenv("XDG_CONFIG_HOME", str(out.parent / "config"))
        mp.setenv("XDG_CACHE_HOME", str(out.parent / "cache"))
        code = main(study_args(out, "--panel-size", "3", "--seed", "7"))
    yield out, code


def raw_events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def raw_answers(run_dir: Path, poll_id: str) -> list[str]:
    """Each participant's latest answer label, straight from the log lines."""
    events = raw_events(run_dir)
    asked = next(e for e in events if e["type"] == "poll_asked" and e["poll_id"] == poll_id)
    options = asked["options"] or LIKERT_LABELS[asked["kind"]]
    latest: dict[str, Any] = {}
    for e in events:
        if e["type"] == "poll_answer" and e["poll_id"] == poll_id:
            latest.pop(e["agent"], None)
            latest[e["agent"]] = e["value"]
    labels = []
    for value in latest.values():
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            labels.append(options[int(value) - 1])
        else:
            labels.append(next(o for o in options if o.lower() == str(value).strip().lower()))
    return labels


def test_exit_0_and_every_group_is_a_complete_run(study: tuple[Path, int]) -> None:
    out, code = study
    assert code == 0
    groups = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert groups == ["group-01", "group-02", "group-03"]
    for i, name in enumerate(groups):
        events = read_events(out / name / "events.jsonl")
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert isinstance(events[0], SessionStarted) and isinstance(events[-1], SessionEnded)
        assert events[0].model_dump()["seed"] == 7 + i  # seeds S+i: stimulus rotation differs by group
        assert any(e.type == "poll_answer" for e in events)
    assert (out / "study.md").read_text(encoding="utf-8").startswith("# Study: Night train ad test")


def test_panels_differ_and_no_one_sits_twice(study: tuple[Path, int]) -> None:
    out, _ = study
    panels = [raw_events(out / f"group-0{i}")[0]["personas"] for i in (1, 2, 3)]
    assert all(len(p) == len(set(p)) == 3 for p in panels)
    assert all(set(a) != set(b) for a, b in combinations(panels, 2))
    recorded = json.loads((out / "study.json").read_text(encoding="utf-8"))["groups"]
    assert [g["personas"] for g in recorded] == panels
    assert [g["status"] for g in recorded] == ["ok", "ok", "ok"]


def test_pooled_counts_are_the_sum_of_the_groups_counts(study: tuple[Path, int]) -> None:
    out, _ = study
    data = json.loads((out / "study.json").read_text(encoding="utf-8"))
    polls = {p["poll_id"]: p for p in data["polls"]}
    assert set(polls) == {"preferred_variant", "booking_intent"}
    for poll_id, poll in polls.items():
        per_group = [Counter(raw_answers(out / f"group-0{i}", poll_id)) for i in (1, 2, 3)]
        total = sum(per_group, Counter())
        assert {k: v for k, v in poll["counts"].items() if v} == dict(total)
        assert poll["n"] == sum(total.values()) == 9
        assert [{k: v for k, v in g["counts"].items() if v} for g in poll["groups"]] == [dict(c) for c in per_group]


def test_pooled_mean_sd_ci_and_group_spread_match_a_direct_computation(study: tuple[Path, int]) -> None:
    out, _ = study
    data = json.loads((out / "study.json").read_text(encoding="utf-8"))
    poll = next(p for p in data["polls"] if p["poll_id"] == "booking_intent")
    labels = LIKERT_LABELS["likert5"]
    by_group = [[labels.index(a) + 1 for a in raw_answers(out / f"group-0{i}", "booking_intent")] for i in (1, 2, 3)]
    scores = [s for g in by_group for s in g]
    assert poll["mean"] == pytest.approx(statistics.fmean(scores))
    assert poll["stdev"] == pytest.approx(statistics.stdev(scores))
    half = stats.t.ppf(0.975, len(scores) - 1) * statistics.stdev(scores) / math.sqrt(len(scores))
    assert poll["ci95"] == pytest.approx([statistics.fmean(scores) - half, statistics.fmean(scores) + half])
    means = [statistics.fmean(g) for g in by_group]
    assert [g["mean"] for g in poll["groups"]] == pytest.approx(means)
    assert poll["between_groups"]["sd_of_means"] == pytest.approx(statistics.stdev(means))
    half_k = stats.t.ppf(0.975, 2) * statistics.stdev(means) / math.sqrt(3)
    assert poll["between_groups"]["ci95_of_means"] == pytest.approx(
        [statistics.fmean(means) - half_k, statistics.fmean(means) + half_k]
    )


def test_panel_plan_is_balanced_distinct_and_seeded() -> None:
    pool = [f"p{i}" for i in range(7)]
    panels = plan_panels(pool, groups=5, size=3, seed=1)
    assert all(len(set(p)) == 3 for p in panels)
    uses = Counter(name for p in panels for name in p)
    assert set(uses) == set(pool) and max(uses.values()) - min(uses.values()) <= 1
    assert plan_panels(pool, groups=5, size=3, seed=1) == panels
    assert plan_panels(pool, groups=5, size=3, seed=2) != panels
    with pytest.raises(BadInputError, match="--panel-size: is 8 but only 7"):
        plan_panels(pool, groups=2, size=8, seed=0)


class FailsFor(ScriptedBackend):
    """The scripted model, except that any call for ``agent`` finds the server down."""

    def __init__(self, agent: str) -> None:
        super().__init__()
        self.agent = agent

    async def complete(self, request: ChatRequest, *, on_delta: Any = None) -> ChatResponse:
        if request.agent == self.agent:
            raise BackendUnavailableError("connection refused by the test server")
        return await super().complete(request, on_delta=on_delta)


def test_a_failed_group_is_reported_and_the_others_aggregate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("troupe.sessions.commands.study.make_backend", lambda *a, **k: FailsFor("Aiko Sato"))
    six = "maria-lopez,tom-becker,aiko-sato,jean-dubois,chen-wei,lars-nilsson"
    out = tmp_path / "s"
    assert main(study_args(out, "--panel-size", "2", "--personas", six, "--concurrency", "3")) == 1
    groups = json.loads((out / "study.json").read_text(encoding="utf-8"))["groups"]
    failed = [g for g in groups if g["status"] == "failed"]
    assert len(failed) == 1 and "Aiko Sato" in failed[0]["personas"]  # six personas, 3×2 seats: each sits once
    assert "connection refused" in failed[0]["error"]
    polls = json.loads((out / "study.json").read_text(encoding="utf-8"))["polls"]
    assert {p["poll_id"]: p["n"] for p in polls} == {"preferred_variant": 4, "booking_intent": 4}
    assert [g["group"] for g in polls[0]["groups"]] == [g["name"] for g in groups if g["status"] == "ok"]
    err = capsys.readouterr().err
    assert f"{failed[0]['name']} failed: connection refused" in err
    assert "1 of 3 groups failed" in err


def test_without_panel_size_every_group_seats_the_guide_panel_and_stimuli_rotate(tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main(study_args(out, groups=2)) == 0
    starts = [raw_events(out / g)[0] for g in ("group-01", "group-02")]
    assert starts[0]["personas"] == starts[1]["personas"] and len(starts[0]["personas"]) == 5
    first_stimulus = [
        next(e["text"] for e in raw_events(out / g) if e["type"] == "stimulus") for g in ("group-01", "group-02")
    ]
    assert first_stimulus[0] != first_stimulus[1]  # ab-test rotates its two variants with the seed


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--panel-size", "4", "--personas", "maria-lopez,tom-becker"], "--panel-size: is 4 but only 2 personas"),
        (
            ["--panel-size", "2", "--personas", "maria-lopez,nobody-at-all"],
            "persona 'nobody-at-all' is not in the library",
        ),
    ],
)
def test_bad_panels_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], needle: str
) -> None:
    assert main(study_args(tmp_path / "s", *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Traceback" not in err and needle in err
    assert not (tmp_path / "s").exists()  # nothing is created for a study that cannot start


def test_out_must_be_new_or_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "keep.txt").write_text("x", encoding="utf-8")
    assert main(study_args(tmp_path / "s")) == 2
    assert "already exists and is not an empty directory" in capsys.readouterr().err
