"""The Session controller: guide beats, moderator commands, pause/stop, a valid event log."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from tests.core.engine_fixtures import guide_data, make_cards, prompt_text, turn_requests
from troupe.core.clock import FixedClock
from troupe.core.errors import BackendUnavailableError, BadInputError, RunStateError
from troupe.core.events import EVENT_TYPES, parse_event
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.polls import PollSpec
from troupe.sessions.guide import StimulusSpec, parse_guide
from troupe.sessions.session import Session


def guide(**overrides):
    return parse_guide(guide_data(**overrides))


async def start(tmp_path: Path, backend=None, **kw) -> Session:
    return await Session.start(
        kw.pop("guide", None) or guide(),
        make_cards(),
        backend or ScriptedBackend(),
        tmp_path / "run",
        clock=FixedClock(),
        **kw,
    )


def log_lines(session: Session) -> list[dict]:
    return [json.loads(line) for line in (session.run_dir / "events.jsonl").read_text().splitlines()]


def check_log(session: Session, backend: ScriptedBackend | None = None) -> list[dict]:
    """The DESIGN.md contract: contiguous seq, known types, one llm_call per backend call."""
    lines = log_lines(session)
    assert [e["seq"] for e in lines] == list(range(1, len(lines) + 1))
    for line in lines:
        assert line["type"] in EVENT_TYPES, line["type"]
        parse_event(line)
        assert line["ts"].endswith("Z")
    if backend is not None:
        assert sum(1 for e in lines if e["type"] == "llm_call") == backend.calls
    return lines


async def test_start_logs_a_self_contained_session_started(tmp_path: Path) -> None:
    session = await start(tmp_path, seed=7, rounds_cap=1)
    [first] = session.events
    assert first.type == "session_started" and first.personas == [c.name for c in make_cards()]
    assert first.guide["title"] == "Bottled soup test" and first.seed == 7
    assert first.persona_cards["Tom Becker"]["traits"]["talkativeness"] == 0.2
    assert first.backend == "scripted" and first.model == "scripted-1"
    assert json.loads((session.run_dir / "meta.json").read_text())["personas"][0] == "Maria Lopez"
    with pytest.raises(RunStateError):
        await Session.start(guide(), make_cards(), ScriptedBackend(), session.run_dir)
    await session.aclose()


async def test_step_runs_one_beat_at_a_time_and_the_state_follows(tmp_path: Path) -> None:
    session = await start(tmp_path)
    assert session.state.section_index == -1
    assert await session.step()
    assert [e.type for e in session.events] == ["session_started", "section_started", "moderator"]
    state = session.state
    assert (state.section_index, state.section_title, state.section_count) == (0, "Warm-up", 2)
    assert await session.step()  # the warm-up round (round robin)
    assert [e.agent for e in session.events if e.type in ("say", "think", "pass")] == list(session.cards)
    state = session.state
    assert state.rounds == 1 and all(a.turns == 1 for a in state.agents.values()) and state.calls == 4
    while await session.step():
        pass
    assert not await session.step()
    assert session.finished and not session.ended
    await session.end("completed")
    assert session.events[-1].type == "session_ended" and session.state.ended
    await session.aclose()


async def test_run_to_end_writes_a_valid_log(tmp_path: Path) -> None:
    backend = ScriptedBackend(seed=4)
    session = await start(tmp_path, backend)
    await session.run_to_end()
    lines = check_log(session, backend)
    counts = Counter(e["type"] for e in lines)
    assert counts["section_started"] == counts["section_ended"] == 2
    assert counts["round_started"] == counts["round_ended"] == 1 + 2 * 2  # warm-up + two stimuli × two rounds
    assert counts["stimulus"] == 2 and counts["poll_answer"] == 4 and counts["poll_closed"] == 1
    assert lines[-1]["type"] == "session_ended" and lines[-1]["reason"] == "completed"
    answers = [i for i, e in enumerate(lines) if e["type"] == "poll_answer"]
    revealed = next(i for i, e in enumerate(lines) if e["type"] == "poll_revealed")
    assert max(answers) < revealed  # private first: every answer in before anyone heard one
    for request in turn_requests(backend, "poll"):
        text = prompt_text(request)
        assert not any(lines[i]["rationale"] in text for i in answers if lines[i]["agent"] != request.agent)
    assert session.state.beats_done == session.state.beats_total == len(session.plan)
    await session.aclose()


async def test_stimuli_rotate_with_the_seed(tmp_path: Path) -> None:
    orders = []
    for seed in (0, 1):
        session = await start(tmp_path / str(seed), seed=seed, rounds_cap=0)
        await session.run_to_end()
        orders.append([e.title for e in session.events if e.type == "stimulus"])
        await session.aclose()
    assert orders == [["Soup A", "Soup B"], ["Soup B", "Soup A"]]


async def test_rounds_cap_limits_every_discussion_block(tmp_path: Path) -> None:
    session = await start(tmp_path, rounds_cap=1)
    await session.run_to_end()
    assert sum(1 for e in session.events if e.type == "round_ended") == 3
    await session.aclose()


async def test_moderator_speech_to_all_runs_a_round_and_mentions_direct_it(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()  # open the warm-up (round robin)
    replies = await session.say("What did you eat today?")
    assert len(replies) == 4
    moderator = next(e for e in reversed(session.events) if e.type == "moderator")
    assert moderator.source == "moderator" and moderator.to is None
    replies = await session.say("@Tom what would change your mind?")
    assert [e.agent for e in replies] == ["Tom Becker"]
    moderator = next(e for e in reversed(session.events) if e.type == "moderator")
    assert moderator.to == ["Tom Becker"] and moderator.text == "what would change your mind?"
    assert [e.agent for e in await session.ask("aiko sato", "And you?")] == ["Aiko Sato"]
    with pytest.raises(BadInputError):
        await session.ask("Nobody", "Hello?")
    await session.aclose()


async def test_show_poll_and_extra_rounds(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()
    replies = await session.show(
        StimulusSpec(kind="concept", title="Soup C", text="A hot soup in a can."), to=["Maria Lopez"]
    )
    stimulus = next(e for e in session.events if e.type == "stimulus")
    assert stimulus.source == "moderator" and stimulus.to == ["Maria Lopez"]
    assert {e.agent for e in replies} == {"Maria Lopez"}
    result = await session.poll(PollSpec(id="intent", question="Buy it?", kind="likert5"))
    assert result.poll_id == "intent-2"  # "intent" belongs to the guide
    assert result.n == 4 and result.mean is not None
    assert len(await session.run_round()) == 4
    adhoc = [e for e in session.events if e.type == "round_started" and e.adhoc]
    assert [e.key for e in adhoc] == ["m1", "m2"]
    await session.aclose()


async def test_pause_mute_and_their_events(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()
    session.pause_agent("Tom")
    session.mute_agent("Aiko Sato")
    session.mute_agent("Aiko Sato")  # idempotent: no second event
    state = session.state
    assert state.agents["Tom Becker"].paused and state.agents["Aiko Sato"].muted
    replies = await session.run_round()
    assert "Tom Becker" not in {e.agent for e in replies}
    assert all(e.muted for e in replies if e.type == "say" and e.agent == "Aiko Sato")
    session.resume_agent("Tom Becker")
    session.unmute_agent("Aiko Sato")
    kinds = [e.type for e in session.events if e.type.startswith("agent_")]
    assert kinds == ["agent_paused", "agent_muted", "agent_resumed", "agent_unmuted"]
    with pytest.raises(BadInputError):
        session.pause_agent("Zed")
    await session.aclose()


async def test_session_pause_holds_the_guide_until_resume(tmp_path: Path) -> None:
    session = await start(tmp_path)
    session.pause()
    assert session.state.paused
    task = asyncio.ensure_future(session.step())
    await asyncio.sleep(0.05)
    assert not task.done() and len(session.events) == 2  # session_started, session_paused
    session.resume()
    assert await task
    assert [e.type for e in session.events][-3:] == ["session_resumed", "section_started", "moderator"]
    await session.aclose()


async def test_end_cancels_turns_in_flight_without_half_records(tmp_path: Path) -> None:
    session = await start(tmp_path, ScriptedBackend(latency=0.3))
    runner = asyncio.ensure_future(session.run_to_end())
    await asyncio.sleep(0.45)  # the first round-robin turn is done, the second in flight
    await session.end("moderator")
    await runner
    lines = check_log(session)
    assert lines[-1] == {**lines[-1], "type": "session_ended", "reason": "moderator"}
    calls = [e for e in lines if e["type"] == "llm_call"]
    turns = [e for e in lines if e["type"] in ("say", "think", "pass")]
    assert len(calls) == len(turns) >= 1
    with pytest.raises(RunStateError):
        await session.say("Anyone there?")
    await session.aclose()


async def test_next_section_skips_the_rest_of_the_section(tmp_path: Path) -> None:
    session = await start(tmp_path)
    await session.step()
    assert await session.next_section()
    ended = next(e for e in session.events if e.type == "section_ended")
    assert ended.index == 0 and ended.skipped
    assert session.state.section_index == 1
    assert not any(e.type == "round_started" for e in session.events)  # the warm-up round was skipped
    assert not await session.next_section()  # no section after the last
    assert not await session.step()
    await session.aclose()


async def test_a_backend_outage_halts_the_session_and_it_goes_on_when_back(tmp_path: Path) -> None:
    backend = ScriptedBackend(script=[BackendUnavailableError("connection refused: is the server running?")])
    session = await start(tmp_path, backend)
    await session.step()
    with pytest.raises(BackendUnavailableError):
        await session.step()
    errors = [e for e in session.events if e.type == "error"]
    assert len(errors) == 1 and not errors[0].recovered and not session.ended
    # The server is back (the script is used up): the same round is redone, then the rest.
    await session.run_to_end()
    lines = check_log(session)
    assert lines[-1]["type"] == "session_ended"
    warmup = [e for e in lines if e.get("round_key") == "s0.r0" and e["type"] in ("say", "think", "pass")]
    assert len(warmup) == 4
    await session.aclose()


async def test_subscribers_see_each_event_after_it_is_durable(tmp_path: Path) -> None:
    session = await start(tmp_path, ScriptedBackend(stream_chunk=6))
    seen: list[int] = []
    activity = []
    session.subscribe(lambda e: seen.append(e.seq))
    session.subscribe_activity(activity.append)
    await session.step()
    await session.step()
    assert seen == list(range(2, len(session.events) + 1))
    assert {a.status for a in activity} >= {"thinking", "idle"}
    assert any(a.partial_text for a in activity)
    assert session.memory_summary("Maria Lopez") == ""
    await session.aclose()


async def test_five_library_personas_ten_rounds_against_a_fake_openai_server(tmp_path: Path, fake_openai) -> None:
    """DESIGN's "done when": a valid log with one llm_call event per call to the server."""
    from troupe.core.llm.openai_backend import OpenAIBackend
    from troupe.personas.card import render_card
    from troupe.personas.library import resolve_persona

    cards = [
        render_card(resolve_persona(n))
        for n in ("maria-lopez", "tom-becker", "aiko-sato", "kwame-mensah", "priya-raman")
    ]
    data = {
        "title": "Ten rounds",
        "defaults": {"policy": "parallel", "rounds": 10},
        "sections": [{"title": "Talk", "prompt": "What do you think of bottled gazpacho?"}],
    }
    backend = OpenAIBackend(base_url=fake_openai.base_url, api_key="sk-test", model="gpt-4.1-mini")
    try:
        session = await Session.start(parse_guide(data), cards, backend, tmp_path / "run")
        await session.run_to_end()
        await session.aclose()
    finally:
        await backend.aclose()
    lines = check_log(session)
    calls = [e for e in lines if e["type"] == "llm_call"]
    assert len(calls) == len(fake_openai.chat_requests)
    turns = [e for e in lines if e["type"] in ("say", "think", "pass")]
    assert len(turns) == 50 and sum(1 for c in calls if c["purpose"] == "turn") == 50
    consolidations = sum(1 for c in calls if c["purpose"] == "consolidate")
    assert consolidations / len(turns) <= 0.2
    assert max(c["prompt_tokens"] for c in calls if c["purpose"] == "turn") <= 3000


async def test_memories_can_be_recalled_through_the_backends_embeddings(tmp_path: Path) -> None:
    from troupe.core.recall import EmbeddingRecall

    backend = ScriptedBackend()
    session = await start(tmp_path, backend, retrieval="embeddings", budget=900)
    assert all(isinstance(a.memory.recall, EmbeddingRecall) for a in session.room.agents.values())
    await session.run_to_end()
    lines = check_log(session)
    embeds = [e for e in lines if e["type"] == "llm_call" and e["purpose"] == "embed"]
    turns = [e for e in lines if e["type"] in ("say", "think", "pass")]
    # one llm_call per embed call, batched: far fewer calls than turns, none on the turn's own account
    assert len(embeds) == len(backend.embedded) and 0 < len(embeds) < len(turns)
    assert all(e["agent"] is None and e["completion_tokens"] == 0 and e["prompt_tokens"] > 0 for e in embeds)
    assert sum(1 for e in lines if e["type"] == "llm_call" and e["purpose"] != "embed") == backend.calls
    assert session.events[0].retrieval == "embeddings"
    assert session.events[0].embedding_model == "scripted-embedding-1"
    texts = [t for batch in backend.embedded for t in batch]
    assert len(texts) == len(set(texts))  # each distinct line embedded once for the whole room
    await session.aclose()
    with pytest.raises(BadInputError, match="unknown retrieval"):
        await Session.start(guide(), make_cards(), ScriptedBackend(), tmp_path / "other", retrieval="vectors")
    assert not (tmp_path / "other").exists()


async def test_names_follow_the_one_rule_a_shared_first_name_asks_nobody(tmp_path: Path) -> None:
    from tests.core.engine_fixtures import make_card

    cards = [*make_cards(3), make_card("Maria Chen", {"age": 30})]
    session = await Session.start(guide(), cards, ScriptedBackend(), tmp_path / "run", clock=FixedClock())
    with pytest.raises(BadInputError, match="“Maria” could be Maria Lopez or Maria Chen"):
        await session.say("@Maria what do you think?")
    assert not [e for e in session.events if e.type == "moderator"]  # nothing was broadcast
    [answer] = [e for e in await session.say("@maria chen what do you think?") if e.type in ("say", "think", "pass")]
    assert answer.agent == "Maria Chen"
    assert session.room.resolve("@Maria") is None and session.room.resolve("tom") == "Tom Becker"
    await session.aclose()


async def test_a_backend_declares_its_prompt_limits_and_a_cache_passes_them_on(tmp_path: Path) -> None:
    from troupe.core.llm.cache import CachedBackend
    from troupe.core.llm.protocol import PromptLimits

    tiny = ScriptedBackend()
    tiny.prompt_limits = PromptLimits(budget=900, short_card=True)  # type: ignore[attr-defined]
    cached = CachedBackend(tiny, tmp_path / "cache.sqlite", mode="record")
    session = await start(tmp_path, cached)
    config = session.agent("Maria Lopez").config
    assert (config.budget.total, config.short_prompt) == (900, True)
    await session.aclose()
    await cached.aclose()
    plain = await Session.start(guide(), make_cards(), ScriptedBackend(), tmp_path / "plain", clock=FixedClock())
    config = plain.agent("Maria Lopez").config
    assert (config.budget.total, config.short_prompt) == (3000, False)
    await plain.aclose()
