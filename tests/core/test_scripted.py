"""The scripted backend: deterministic per seed, varied, schema-valid, scriptable, repairable."""

from __future__ import annotations

import asyncio
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from troupe.core.actions import TurnAction
from troupe.core.card import PersonaCard
from troupe.core.errors import BackendError, InvalidOutputError
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend, scripted_from

MARIA = PersonaCard(
    name="Maria Lopez",
    descriptor="42 · nurse · Seville",
    prompt="You are Maria.",
    traits={
        "occupation": "Nurse",
        "likes": ["Cooking for the family"],
        "dislikes": ["Packaging waste"],
        "agreeableness": 0.8,
        "age": 42,
    },
)


def turn(question: str, agent: str = "Maria Lopez", card: PersonaCard | None = MARIA) -> ChatRequest:
    metadata = {"card": card} if card else {}
    return ChatRequest(
        [Message("system", "rules"), Message("user", question)], output_model=TurnAction, agent=agent, metadata=metadata
    )


class Poll(BaseModel):
    value: int = Field(ge=1, le=5)
    choice: Literal["a", "b", "c"]
    tags: list[str] = Field(min_length=1, max_length=3)
    rationale: str = Field(max_length=80)
    maybe: float | None = None


async def test_same_seed_same_replies_regardless_of_order() -> None:
    questions = [f'What about "Gazpacho Go" number {i}?' for i in range(6)]
    a, b = ScriptedBackend(seed=7), ScriptedBackend(seed=7)
    first = [(await a.complete(turn(q))).text for q in questions]
    second = await asyncio.gather(*(b.complete(turn(q)) for q in reversed(questions)))
    assert first == [r.text for r in reversed(second)]
    other = ScriptedBackend(seed=8)
    assert [(await other.complete(turn(q))).text for q in questions] != first


async def test_replies_vary_and_use_persona_and_topic() -> None:
    backend = ScriptedBackend(seed=1)
    texts = [(await backend.complete(turn(f'Tell me about "Gazpacho Go", take {i}'))).parsed.text for i in range(12)]
    assert len(set(texts)) >= 8
    assert any("Gazpacho Go" in t for t in texts)
    joined = " ".join(texts).lower()
    assert any(w in joined for w in ("nurse", "cooking", "packaging", "42"))


async def test_generated_instances_validate_against_the_schema() -> None:
    backend = ScriptedBackend(seed=3)
    for i in range(20):
        response = await backend.complete(ChatRequest([Message("user", f"poll {i}")], output_model=Poll))
        assert isinstance(response.parsed, Poll)
        assert len(response.calls) == 1
    plain = await backend.complete(ChatRequest([Message("user", "Say something about trains")]))
    assert plain.parsed is None and plain.text and plain.calls[0].completion_tokens > 0


async def test_script_queue_in_order_including_exceptions_and_callables() -> None:
    backend = ScriptedBackend(
        script=[
            "raw text",
            {"action": "say", "text": "From a dict.", "to": None, "feeling": None},
            TurnAction(action="pass", text="", to=None, feeling=None),
            BackendError("boom", kind="server"),
            lambda request: f"for {request.agent}",
        ]
    )
    assert (await backend.complete(ChatRequest([Message("user", "x")]))).text == "raw text"
    assert (await backend.complete(turn("q"))).parsed.text == "From a dict."
    assert (await backend.complete(turn("q"))).parsed.action == "pass"
    with pytest.raises(BackendError, match="boom"):
        await backend.complete(turn("q"))
    assert (await backend.complete(ChatRequest([Message("user", "x")], agent="Tom"))).text == "for Tom"
    generated = await backend.complete(turn("q"))  # queue empty: generated again
    assert isinstance(generated.parsed, TurnAction)
    assert len(backend.requests) == 6


async def test_repair_path_then_invalid_output() -> None:
    backend = ScriptedBackend(script=["not json", {"action": "say", "text": "Fixed.", "to": None, "feeling": "ok"}])
    response = await backend.complete(turn("q"))
    assert response.parsed.text == "Fixed." and len(response.calls) == 2
    repair_prompt = backend.requests[0]  # the request object is the original; the repair adds messages
    assert repair_prompt.messages[-1].content == "q"

    bad = ScriptedBackend(script=["nope", '{"action": "dance"}'])
    with pytest.raises(InvalidOutputError) as info:
        await bad.complete(turn("q"))
    assert len(info.value.calls) == 2 and bad.calls == 2


async def test_streaming_deltas_join_to_the_text() -> None:
    deltas: list[str] = []
    backend = ScriptedBackend(stream_chunk=5)
    response = await backend.complete(turn("q"), on_delta=deltas.append)
    assert "".join(deltas) == response.text and len(deltas) > 3


def test_scripted_from_function_and_bad_input() -> None:
    backend = scripted_from(
        lambda request: {"action": "say", "text": request.agent or "?", "to": None, "feeling": None}
    )
    response = asyncio.run(backend.complete(turn("q", agent="Aiko")))
    assert response.parsed.text == "Aiko"
    with pytest.raises(BackendError):
        scripted_from("not a list")  # type: ignore[arg-type]


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b))


async def test_embeddings_are_deterministic_unit_vectors_and_similar_texts_are_close() -> None:
    from troupe.core.llm.scripted import hashed_embedding

    backend = ScriptedBackend(latency=0)
    texts = ["I love the glass bottle.", "The bottled soup looks cheap.", "Rain all week in Leeds.", "the"]
    response = await backend.embed(texts)
    again = await ScriptedBackend(seed=42).embed(list(reversed(texts)))  # any seed, any order
    assert response.vectors == list(reversed(again.vectors))
    assert response.vectors[0] == hashed_embedding(texts[0])
    assert all(len(v) == 256 for v in response.vectors)
    assert all(abs(_cos(v, v) - 1.0) < 1e-9 for v in response.vectors[:3])
    assert response.vectors[3] == [0.0] * 256  # only stop words: no direction at all
    bottle, bottled, rain, _ = response.vectors
    assert (
        _cos(bottle, bottled) > 0.15 > 0.05 > max(abs(_cos(bottle, rain)), abs(_cos(bottled, rain)))
    )  # "bottle*" trigrams
    assert _cos(hashed_embedding("price of the soup"), hashed_embedding("soup price")) > 0.95  # word order is ignored
    [call] = response.calls
    assert (
        call.prompt_tokens > 0
        and call.completion_tokens == 0
        and call.model == response.model == "scripted-embedding-1"
    )
    assert backend.embedded == [texts] and backend.calls == 0  # embeddings are not chat calls
    assert (await backend.embed(["x y"], model="other")).model == "other"
    assert len((await ScriptedBackend(embedding_dimensions=32).embed(["soup"])).vectors[0]) == 32
