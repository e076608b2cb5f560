"""The event log: contiguous seq, durable before told, torn lines, and group commit."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from troupe.core.clock import FixedClock
from troupe.core.errors import RunStateError
from troupe.core.group_commit import GroupCommitLog
from troupe.core.log import EventLog, read_events


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("cls", [EventLog, GroupCommitLog])
def test_seq_is_contiguous_and_every_event_is_on_disk_before_subscribers_hear_of_it(tmp_path: Path, cls) -> None:
    path = tmp_path / "events.jsonl"
    log = cls(path, clock=FixedClock())
    seen: list[int] = []

    def check(event) -> None:
        assert lines(path)[-1]["seq"] >= event.seq  # already written (and fsynced) when told
        seen.append(event.seq)

    log.subscribe(check)
    for i in range(5):
        log.append("moderator", text=f"line {i}", to=None)
    log.close()
    assert seen == [1, 2, 3, 4, 5] == [e["seq"] for e in lines(path)]


@pytest.mark.parametrize("cls", [EventLog, GroupCommitLog])
def test_a_torn_last_line_is_dropped_and_seq_continues(tmp_path: Path, cls) -> None:
    path = tmp_path / "events.jsonl"
    with cls(path) as log:
        log.append("moderator", text="kept", to=None)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write('{"seq": 2, "ts": "2026-01-01T00:00:00.000Z", "type": "say", "ag')
    assert [e.seq for e in read_events(path)] == [1]
    with cls(path) as log:
        assert log.append("moderator", text="after the crash", to=None).seq == 2
    assert [e["seq"] for e in lines(path)] == [1, 2]


def test_corruption_before_the_end_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        log.append("moderator", text="a", to=None)
        log.append("moderator", text="b", to=None)
    text = path.read_text().splitlines()
    path.write_text("\n".join([text[0][:10], text[1]]) + "\n")
    with pytest.raises(RunStateError):
        read_events(path)


async def test_group_commit_shares_fsyncs_between_concurrent_batches(tmp_path: Path) -> None:
    log = GroupCommitLog(tmp_path / "events.jsonl", clock=FixedClock())
    told: list[int] = []
    log.subscribe(lambda e: told.append(e.seq))
    batches = [
        [
            ("llm_call", dict(agent=f"a{i}", purpose="turn", prompt_tokens=1, completion_tokens=1, latency_ms=1.0)),
            ("pass", dict(agent=f"a{i}", turn=1)),
        ]
        for i in range(20)
    ]
    results = await asyncio.gather(*(log.append_many(b) for b in batches))
    assert [e.seq for r in results for e in r] == list(range(1, 41))
    assert told == list(range(1, 41))  # told strictly in seq order
    assert log.fsyncs < 20  # far fewer fsyncs than batches (and than the 40 events)
    log.close()


async def test_a_plain_append_publishes_pending_batches_first_in_order(tmp_path: Path) -> None:
    log = GroupCommitLog(tmp_path / "events.jsonl", clock=FixedClock())
    told: list[str] = []
    log.subscribe(lambda e: told.append(e.type))
    pending = asyncio.ensure_future(log.append_many([("pass", dict(agent="a", turn=1))]))
    await asyncio.sleep(0)  # the batch is written; its fsync runs in a thread
    log.append("session_paused")  # an inline fsync covers the batch too
    await pending
    assert told == ["pass", "session_paused"]
    log.close()


async def test_cancelling_a_waiter_loses_nothing(tmp_path: Path) -> None:
    log = GroupCommitLog(tmp_path / "events.jsonl", clock=FixedClock())
    told: list[int] = []
    log.subscribe(lambda e: told.append(e.seq))
    task = asyncio.ensure_future(
        log.append_many([("pass", dict(agent="a", turn=1)), ("pass", dict(agent="b", turn=1))])
    )
    await asyncio.sleep(0)
    task.cancel()
    await log.drain()
    assert told == [1, 2] and [e.seq for e in log.events] == [1, 2]
    log.close()
    assert [e.seq for e in read_events(tmp_path / "events.jsonl")] == [1, 2]


async def test_append_soon_returns_at_once_and_is_told_after_its_fsync(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    log = GroupCommitLog(path, clock=FixedClock())
    told: list[int] = []
    log.subscribe(lambda e: told.append(e.seq))
    first = log.append_soon("round_started", key="r1", policy="parallel")
    second = log.append_soon("round_ended", key="r1")  # written while the first fsync may run
    assert (first.seq, second.seq) == (1, 2) and len(lines(path)) == 2  # on disk (flushed) already
    assert told == []  # but nobody is told before an fsync covers it
    deadline = asyncio.get_running_loop().time() + 5
    while told != [1, 2] and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.001)  # nobody awaits: the chained fsync publishes both
    assert told == [1, 2]
    log.close()
