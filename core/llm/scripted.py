"""The scripted backend: deterministic, seeded, no network — for tests, snapshots and demos.

Two modes, which combine:

* **Script**: ``ScriptedBackend(script=[...])`` (or :meth:`enqueue`) replies with the queued
  items in order. An item is a ``str`` (raw reply text), a ``dict`` or pydantic instance
  (serialised as JSON), an ``Exception`` (raised), or a callable ``(request) -> item``.
* **Generated**: when the queue is empty, a reply is generated from the request. With an
  ``output_model`` it is a valid instance built from the model's JSON schema; free-text fields
  (``text``, ``rationale``, ``summary``…) get readable sentences flavoured by the persona traits
  in ``request.metadata["card"]`` and by words from the latest user message.

Replies depend only on ``(seed, request)`` — never on call order — so concurrent turns stay
deterministic. ``latency`` (seconds) simulates a server; ``stream_chunk`` sets how many
characters each streamed delta carries.

**Embeddings** (:meth:`ScriptedBackend.embed`) are real, if crude: :func:`hashed_embedding`
is a hashed bag of words plus character trigrams, so texts sharing words (or word forms:
"bottle", "bottled") are close and unrelated texts are near-orthogonal. Deterministic, no model.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from ..errors import BackendError
from ..tokens import estimate_tokens
from .protocol import CallUsage, ChatRequest, ChatResponse, DeltaCallback, EmbeddingResponse, Message, schema_of
from .structured import complete_structured, to_json_text

ScriptItem = Any

_STOP = set(
    "a an the and or but if of to in on at for with about from by is are was were be been it this that these "
    "those you your we our they them their i me my he she his her what which who how why when where do does did "
    "can could would should will just so as not no yes please tell think say said any some more most very also "
    "than then there here into out up down over each all its it's one two let us".split()
)

_VAGUE = set(
    "welcome thank thanks coming right wrong answers tonight today usually please start first share "
    "describe honest honestly opinions opinion including negative positive really about would could "
    "should there their where which while other others thing things someone something everyone people "
    "going being having whether reply respond moderator latest discussion participant participants "
    "object action feeling turn name think thought words everybody anyone little maybe quite every never "
    "empty always often since until after before again still spanish english french latest respond "
    "discuss talk change mind tells hello ideas idea choose choice pick vote".split()
)

_OPENERS = [
    "Honestly,",
    "To be fair,",
    "I'll be straight with you:",
    "Speaking for myself,",
    "Hmm.",
    "Look,",
    "If I'm honest,",
    "From where I stand,",
    "Funny you ask —",
    "Well,",
]
_POSITIVE = [
    "I like {topic} more than I expected.",
    "{topic} sounds like something I'd actually use.",
    "there's something appealing about {topic}.",
    "I could see {topic} fitting into my week.",
    "{topic} feels fresh to me, which I don't say often.",
]
_NEGATIVE = [
    "I'm not convinced by {topic} yet.",
    "{topic} seems like a solution looking for a problem.",
    "I'd need to know a lot more before I trust {topic}.",
    "{topic} sounds pricey for what it is.",
    "I've been burned by things like {topic} before.",
]
_PERSONAL = [
    "As {a_occupation}, {tail}",
    "Because I'm into {interest}, {tail}",
    "I always think about {like} first, so {tail}",
    "Anything that reminds me of {dislike} puts me off, and {tail}",
    "At {age}, {tail}",
]
_TAILS = [
    "the price would decide it for me.",
    "I'd want to try it before I believe it.",
    "convenience matters more than the label.",
    "I'd ask my family what they think.",
    "the details are what win me over.",
    "I don't have time for gimmicks.",
    "quality beats novelty every time.",
    "I'd probably give it one chance.",
]
_THOUGHTS = [
    "I wonder if the others are just being polite about {topic}.",
    "Not sure I should say what I really think about {topic}.",
    "{topic} reminds me of something, I can't place it.",
]
_RATIONALES = [
    "It matches what I care about: {like}.",
    "Mostly because of the price and how I live.",
    "I weighed it against {dislike}, and that decided it.",
    "As {a_occupation}, that's the practical answer.",
    "Gut feeling, to be honest.",
]
_SUMMARIES = [
    "So far the group discussed {topic}; I said I care about {like} and dislike {dislike}.",
    "We have been talking about {topic}. I stayed true to my view as a {occupation}.",
]


DEFAULT_EMBEDDING_MODEL = "scripted-embedding-1"
EMBEDDING_DIMENSIONS = 256
_EMBED_WORD = re.compile(r"[a-zà-ÿ0-9]+(?:'[a-z]+)?")


def hashed_embedding(text: str, dimensions: int = EMBEDDING_DIMENSIONS) -> list[float]:
    """A deterministic unit vector for ``text``: each content word adds a signed hashed feature
    (weight 1) and each of its character trigrams a smaller one (0.35), scaled by
    ``1 + log(count)``. Shared words and word forms make texts close; no semantics beyond that.
    An empty (or all-stop-word) text gets the zero vector."""
    vec = [0.0] * dimensions
    words = [w for w in _EMBED_WORD.findall(text.lower()) if w not in _STOP]
    for word, count in Counter(words).items():
        scale = 1.0 + math.log(count)
        for index, weight in _word_features(word, dimensions):
            vec[index] += weight * scale
    norm = math.sqrt(sum(x * x for x in vec))
    return [x / norm for x in vec] if norm else vec


@lru_cache(maxsize=16384)
def _word_features(word: str, dimensions: int) -> tuple[tuple[int, float], ...]:
    padded = f"^{word}$"
    grams = [padded[i : i + 3] for i in range(len(padded) - 2)]
    features = [("w:" + word, 1.0)] + [("g:" + g, 0.35) for g in grams]
    out = []
    for name, weight in features:
        digest = hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % dimensions
        out.append((index, weight if digest[4] & 1 else -weight))
    return tuple(out)


class ScriptedBackend:
    """A deterministic fake model. See the module docstring."""

    name = "scripted"

    def __init__(
        self,
        script: list[ScriptItem] | None = None,
        *,
        seed: int = 0,
        latency: float = 0.0,
        stream_chunk: int = 12,
        stream_delay: float = 0.0,
        model: str = "scripted-1",
        say_weight: float = 0.85,
        embedding_model: str | None = None,
        embedding_dimensions: int = EMBEDDING_DIMENSIONS,
    ) -> None:
        self.model = model
        self.embedding_model: str | None = embedding_model or DEFAULT_EMBEDDING_MODEL
        self.embedding_dimensions = embedding_dimensions
        self.seed = seed
        self.latency = latency
        self.stream_chunk = max(1, stream_chunk)
        self.stream_delay = stream_delay
        self.say_weight = say_weight
        self._queue: deque[ScriptItem] = deque(script or [])
        self.requests: list[ChatRequest] = []
        """Every request seen, in arrival order (tests inspect prompts here)."""
        self.calls = 0
        self.embedded: list[list[str]] = []
        """The input list of every :meth:`embed` call, in order."""

    def enqueue(self, *items: ScriptItem) -> None:
        self._queue.extend(items)

    async def aclose(self) -> None:
        return None

    async def complete(self, request: ChatRequest, *, on_delta: DeltaCallback | None = None) -> ChatResponse:
        self.requests.append(request)

        async def call_once(messages: list[Message], is_repair: bool) -> tuple[str, CallUsage]:
            start = time.perf_counter()
            self.calls += 1
            if self.latency:
                await asyncio.sleep(self.latency)
            text = self._reply(request, messages)
            if on_delta is not None:
                for i in range(0, len(text), self.stream_chunk):
                    on_delta(text[i : i + self.stream_chunk])
                    if self.stream_delay:
                        await asyncio.sleep(self.stream_delay)
            usage = CallUsage(
                prompt_tokens=sum(estimate_tokens(m.content) for m in messages),
                completion_tokens=estimate_tokens(text),
                latency_ms=(time.perf_counter() - start) * 1000.0,
                model=request.model or self.model,
            )
            return text, usage

        if request.output_model is not None:
            return await complete_structured(request, call_once)
        text, usage = await call_once(request.messages, False)
        return ChatResponse(text=text, calls=[usage], model=usage.model)

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        """One call: :func:`hashed_embedding` of each text (``latency`` applies)."""
        start = time.perf_counter()
        self.embedded.append(list(texts))
        if self.latency:
            await asyncio.sleep(self.latency)
        vectors = [hashed_embedding(t, self.embedding_dimensions) for t in texts]
        name = model or self.embedding_model
        usage = CallUsage(
            prompt_tokens=sum(estimate_tokens(t) for t in texts),
            completion_tokens=0,
            latency_ms=(time.perf_counter() - start) * 1000.0,
            model=name,
        )
        return EmbeddingResponse(vectors=vectors, calls=[usage], model=name)

    # -- reply generation -------------------------------------------------------------

    def _reply(self, request: ChatRequest, messages: list[Message]) -> str:
        if self._queue:
            item = self._queue.popleft()
            if callable(item) and not isinstance(item, (BaseModel, type)):
                item = item(request)
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, str):
                return item
            return to_json_text(item)
        rng = random.Random(f"{self.seed}|{request.agent}|{request.cache_key(self.model)}|{len(messages)}")
        writer = _Writer(rng, request)
        if request.output_model is None:
            return writer.utterance()
        return to_json_text(writer.instance(schema_of(request.output_model)))


class _Writer:
    """Builds readable, persona-flavoured text and schema-valid objects."""

    def __init__(self, rng: random.Random, request: ChatRequest) -> None:
        self.rng = rng
        self.request = request
        card = request.metadata.get("card") or {}
        traits = card.get("traits", {}) if isinstance(card, dict) else getattr(card, "traits", {})
        self.traits: dict[str, Any] = dict(traits or {})
        self.topic = self._topic()
        self.agreeable = float(self.traits.get("agreeableness", 0.5) or 0.5)

    def _pick_trait(self, key: str, default: str) -> str:
        value = self.traits.get(key)
        if isinstance(value, list) and value:
            value = self.rng.choice(value)
        text = str(value or default).strip().rstrip(".")
        text = re.sub(r"^(you|your|you're)\s+", "", text, flags=re.IGNORECASE)[:60]
        # Lower-case a capitalised first word ("Cooking…", "Fresh bread") but not a proper
        # noun ("Leeds United"): only gerunds, or phrases with no other capital letter.
        first, _, rest = text.partition(" ")
        if first[:1].isupper() and first[1:].islower() and (first.endswith("ing") or rest == rest.lower()):
            text = text[0].lower() + text[1:]
        return text

    def _topic(self) -> str:
        """What the latest question is about: a quoted title, a mid-sentence proper name, or
        one of the last content words of the question."""
        last = next((m.content for m in reversed(self.request.messages) if m.role == "user"), "")
        last = last.rsplit("# Now", 1)[-1][-700:]
        quoted = re.findall(r"[\"“]([^\"”]{3,40})[\"”]", last)
        if quoted:
            return quoted[-1]
        names = re.findall(r"(?<=[a-z,] )((?:[A-Z][a-z]+)(?: [A-Z][a-z]+)+)", last)
        if names:
            return names[-1]
        words = [w.lower() for w in re.findall(r"\b[A-Za-z][a-z-]{4,}\b(?!')", last)]
        words = [w for w in words if w not in _STOP and w not in _VAGUE and not w.endswith(("ly", "ed", "ful"))]
        if not words:
            return "this"
        return "the " + self.rng.choice(words[-8:])

    def _fill(self, template: str) -> str:
        occupation = self._pick_trait("occupation", "working person")
        return template.format(
            topic=self.topic,
            occupation=occupation,
            a_occupation=("an " if occupation[:1].lower() in "aeiou" else "a ") + occupation,
            interest=self._pick_trait("interests", "habits"),
            like=self._pick_trait("likes", "simple things"),
            dislike=self._pick_trait("dislikes", "hype"),
            age=self.traits.get("age", "my age"),
            tail=self.rng.choice(_TAILS),
        )

    def utterance(self) -> str:
        rng = self.rng
        positive = rng.random() < 0.35 + 0.5 * self.agreeable
        first = self._fill(rng.choice(_POSITIVE if positive else _NEGATIVE))
        parts = [rng.choice(_OPENERS), first]
        if rng.random() < 0.8:
            parts.append(self._fill(rng.choice(_PERSONAL)))
        text = " ".join(parts)
        text = re.sub(
            r"([,:—.]) ([a-z])",
            lambda m: m.group(1) + " " + (m.group(2).upper() if m.group(1) == "." else m.group(2)),
            text,
        )
        return text[0].upper() + text[1:]

    def sentence(self, field: str) -> str:
        if field in ("rationale", "reason", "why"):
            return self._fill(self.rng.choice(_RATIONALES))
        if field in ("summary", "memory"):
            return self._fill(self.rng.choice(_SUMMARIES))
        if field in ("feeling", "mood"):
            return self.rng.choice(["curious", "sceptical", "amused", "interested", "tired", "keen", "wary"])
        if field in ("title", "name", "label", "theme"):
            return self.topic.capitalize() if self.topic != "this" else self.rng.choice(["Price", "Taste", "Trust"])
        return self.utterance()

    # -- JSON-schema instance generation -----------------------------------------------

    def instance(self, schema: dict[str, Any]) -> Any:
        self._defs = schema.get("$defs", {})
        return self._value(schema, "root")

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self._defs[schema["$ref"].split("/")[-1]]
        return schema

    def _value(self, schema: dict[str, Any], field: str) -> Any:
        schema = self._resolve(schema)
        rng = self.rng
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            values = schema["enum"]
            if field == "action" and "say" in values:
                r = rng.random()
                return "say" if r < 0.85 else ("think" if r < 0.95 or "pass" not in values else "pass")
            return rng.choice(values)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [self._resolve(s) for s in schema[key]]
                non_null = [s for s in options if s.get("type") != "null"]
                if field in ("to", "reply_to", "addressee") or not non_null:
                    return None
                return self._value(rng.choice(non_null), field)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or "properties" in schema:
            props = schema.get("properties", {})
            return {name: self._value(sub, name) for name, sub in props.items()}
        if kind == "array":
            items = schema.get("items", {"type": "string"})
            lo = schema.get("minItems", 1)
            hi = max(lo, min(schema.get("maxItems", 3), lo + 2))
            n = rng.randint(lo, hi)
            if self._resolve(items).get("enum"):
                pool = list(self._resolve(items)["enum"])
                rng.shuffle(pool)
                return pool[: max(lo, min(n, len(pool)))]
            return [self._value(items, field.rstrip("s")) for _ in range(n)]
        if kind == "integer":
            lo = int(
                schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 1)
            )
            hi = int(
                schema.get(
                    "maximum", max(lo, 10) if "exclusiveMaximum" not in schema else schema["exclusiveMaximum"] - 1
                )
            )
            center = lo + (hi - lo) * (0.35 + 0.5 * self.agreeable)
            return max(lo, min(hi, int(round(rng.gauss(center, (hi - lo) / 4 or 1)))))
        if kind == "number":
            lo = float(schema.get("minimum", 0.0))
            hi = float(schema.get("maximum", max(lo, 100.0)))
            return round(rng.uniform(lo, hi), 2)
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "null":
            return None
        text = self.sentence(field)
        max_len = schema.get("maxLength")
        if max_len:
            text = text[:max_len]
        min_len = schema.get("minLength", 0)
        if len(text) < min_len:
            text = (text + " ") * (min_len // max(1, len(text)) + 1)
            text = text[: max(min_len, len(text.strip()))]
        return text


def scripted_from(items: list[ScriptItem] | Callable[[ChatRequest], ScriptItem]) -> ScriptedBackend:
    """Convenience: a backend that replies with ``items`` (or calls the function every time)."""
    if callable(items):
        backend = ScriptedBackend()
        backend._reply = lambda request, messages: to_json_text(items(request))  # type: ignore[method-assign]
        return backend
    if not isinstance(items, list):
        raise BackendError("script must be a list or a callable")
    return ScriptedBackend(script=items)
