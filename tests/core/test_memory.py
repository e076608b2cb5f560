"""Agent memory: bounded window with chunked eviction, consolidation requests, retrieval."""

from __future__ import annotations

import asyncio

from troupe.core.errors import BackendError
from troupe.core.llm.protocol import CallUsage, EmbeddingResponse
from troupe.core.llm.scripted import ScriptedBackend
from troupe.core.memory import AgentMemory, MemoryConfig, MemoryItem, MemoryNote
from troupe.core.recall import EmbeddingRecall, EmbeddingStore, LexicalRecall, terms


def _fill(memory: AgentMemory, n: int, start: int = 1) -> None:
    for i in range(start, start + n):
        memory.add(MemoryItem(i, "heard", f"Tom Becker: line {i} about the price of bottled water and tea."))


def test_window_stays_within_budget_and_nothing_is_forgotten() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=200, keep_ratio=0.5))
    _fill(memory, 300)
    assert len(memory.items) == 300  # episodic memory keeps everything
    assert memory.window_tokens <= 200
    assert sum(item.tokens for item in memory.window) == memory.window_tokens
    assert memory.window[-1].seq == 300  # the newest item is always in the window


def test_eviction_is_chunked_so_the_window_grows_by_appending_between_evictions() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=300, keep_ratio=0.4))
    starts = []
    for i in range(1, 200):
        memory.add(MemoryItem(i, "heard", f"Aiko Sato: remark number {i} on packaging."))
        starts.append(memory.window_start)
    moves = sum(1 for a, b in zip(starts, starts[1:]) if b != a)
    # A sliding window would move on nearly every add; chunked eviction moves rarely.
    assert 0 < moves < len(starts) / 5


def test_consolidation_waits_for_enough_turns_and_pending_items() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=150, consolidate_every=3))
    _fill(memory, 40)
    assert memory.pending
    assert not memory.wants_consolidation()  # no own turns yet
    for _ in range(3):
        memory.note_turn()
    assert memory.wants_consolidation()
    pending = memory.consolidation_request("Maria Lopez", card={"name": "Maria Lopez"})
    assert pending is not None
    request = pending.request
    assert request.purpose == "consolidate" and request.agent == "Maria Lopez"
    assert request.output_model is MemoryNote
    assert "line 1 about" in request.messages[-1].content  # the evicted items are summarised
    assert pending.upto_seq == memory.pending[-1].seq
    assert not memory.wants_consolidation()  # the turn counter restarted


def test_apply_summary_marks_items_summarised_and_ignores_stale_results() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=150, summary_tokens=50))
    _fill(memory, 40)
    upto = memory.pending[-1].seq
    memory.apply_summary("I talked about prices. " * 40, upto)
    assert memory.notes_upto_seq == upto and not memory.pending
    assert len(memory.notes) < len("I talked about prices. " * 40)  # truncated to its budget
    assert memory.summary == memory.notes  # the first notes are shown at once
    memory.apply_summary("older, stale summary", upto - 5)
    assert memory.notes.startswith("I talked about prices")


def test_newer_notes_reach_the_prompt_at_the_next_eviction_only() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=150))
    _fill(memory, 40)
    memory.apply_summary("First notes.", memory.pending[-1].seq)
    _fill(memory, 1, start=41)
    start = memory.window_start
    memory.apply_summary("Second notes.", memory.items[start - 1].seq)
    assert memory.notes == "Second notes." and memory.summary == "First notes."  # prefix kept
    n = 42
    while memory.window_start == start:
        _fill(memory, 1, start=n)
        n += 1
    assert memory.summary == "Second notes."  # shown once the window's prefix changes anyway


def test_lexical_recall_finds_relevant_older_items_outside_the_window() -> None:
    memory = AgentMemory(MemoryConfig(window_tokens=120))
    memory.add(MemoryItem(1, "heard", "Kwame Mensah: the recyclable glass bottle is the best part."))
    for i in range(2, 60):
        memory.add(MemoryItem(i, "heard", f"Aiko Sato: small talk {i} about the weather."))
    assert memory.window_start > 0
    import asyncio

    recalled = asyncio.run(memory.recall_for("what about the glass bottle?", limit=2))
    assert recalled and recalled[0].seq == 1
    assert all(item.seq < memory.window[0].seq for item in recalled)


def test_bm25_prefers_rarer_terms() -> None:
    index = LexicalRecall()
    index.add(0, "price price price of soup")
    index.add(1, "the gazpacho recipe from Seville")
    index.add(2, "price of the bottle")
    assert index.search_now("gazpacho price", limit=3, below=3)[0] == 1
    assert index.search_now("gazpacho", limit=3, below=1) == []  # only docs below 1 are eligible


def test_terms_drop_stopwords_and_stem_plurals() -> None:
    assert terms("The bottles and THE prices, what about them?") == ["bottle", "price"]


class HandMadeEmbedder:
    """Maps texts to hand-made concept vectors (price, weather, family, design): what a real
    embedding model does for synonyms, which a bag of words cannot show."""

    embedding_model = "concepts-1"
    concepts = (
        ("price", "cost", "expensive", "euro", "cheap", "afford"),
        ("weather", "rain", "sunny", "cold"),
        ("family", "kids", "children", "mother"),
        ("design", "label", "colour", "shape"),
    )

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
        self.batches.append(list(texts))
        vectors = [[0.05 + sum(t.lower().count(w) for w in words) for words in self.concepts] for t in texts]
        return EmbeddingResponse(vectors, [CallUsage(prompt_tokens=len(texts) * 5, model=model)], model)


async def test_embedding_recall_finds_the_item_that_says_it_in_other_words() -> None:
    """The moderator asks about the *cost*; only Tom's old remark is about money, in other
    words ("three euros", "expensive"): BM25 finds nothing, the embeddings find it."""
    lines = [
        "Tom Becker: Three euros for a bottle of soup is far too expensive.",
        "Aiko Sato: I would drink it after the gym when it is sunny.",
        "Maria Lopez: My kids would never touch gazpacho.",
        "Aiko Sato: The green label looks fresh.",
    ] + [f"Maria Lopez: filler remark number {i} about the bottle." for i in range(30)]
    question = "What do you think about the cost?"

    def remember(memory: AgentMemory) -> None:
        for seq, line in enumerate(lines, start=1):
            memory.add(MemoryItem(seq, "heard", line))

    lexical = AgentMemory(MemoryConfig(window_tokens=120, keep_ratio=0.5))
    remember(lexical)
    assert await lexical.recall_for(question, limit=1) == []

    embedder = HandMadeEmbedder()
    store = EmbeddingStore(embedder)
    semantic = AgentMemory(MemoryConfig(window_tokens=120, keep_ratio=0.5), recall=EmbeddingRecall(store))
    remember(semantic)
    recalled = await semantic.recall_for(question, limit=1, focus=question)
    assert [item.text for item in recalled] == [lines[0]]
    assert len(embedder.batches) == 1  # the items and the question went out together


async def test_scripted_embeddings_match_word_forms_that_bm25_keeps_apart() -> None:
    """With the scripted backend's hashed vectors (word trigrams), "recycled" finds
    "recyclable" — BM25 sees two different terms."""
    items = [
        "Aiko Sato: Is the packaging recyclable at all?",
        "Tom Becker: I just want it cold and cheap.",
        "Maria Lopez: Seville summers are hot.",
    ]
    lexical = LexicalRecall()
    recall = EmbeddingRecall(EmbeddingStore(ScriptedBackend()))
    for i, text in enumerate(items):
        lexical.add(i, text)
        recall.add(i, text)
    query = "Can it be recycled?"
    assert 0 not in lexical.search_now(query, limit=3, below=3)
    assert (await recall.search(query, limit=1, below=3)) == [0]


async def test_items_are_embedded_once_in_the_background_and_searches_reuse_everything() -> None:
    backend = ScriptedBackend()
    store = EmbeddingStore(backend, flush_delay=0.01)
    agents = [EmbeddingRecall(store), EmbeddingRecall(store)]
    texts = ["the bottle is nice", "nice weather today", "a family recipe", "price talk"]
    for recall in agents:  # two listeners remember the same lines
        for i, text in enumerate(texts):
            recall.add(i, text)
    assert backend.embedded == []  # storing never waits for a call
    await asyncio.sleep(0.05)
    assert backend.embedded == [texts]  # one call, in the background, each line once
    agents[0].prime("Which bottle?")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert backend.embedded[-1] == ["Which bottle?"]  # a new question goes out at once
    for recall in agents:
        assert await recall.search("Which bottle?", limit=1, below=4) == [0]
        assert await recall.search(
            "Which bottle? I keep thinking of the price", limit=1, below=4, focus="Which bottle?"
        ) == [0]
    assert len(backend.embedded) == 2  # searches on a known question cost no call
    assert store.calls == 2


async def test_a_search_waits_for_the_call_in_flight_instead_of_repeating_it() -> None:
    backend = ScriptedBackend(latency=0.05)
    calls: list[CallUsage] = []
    store = EmbeddingStore(backend, on_calls=calls.extend)
    recall = EmbeddingRecall(store)
    for i, text in enumerate(["soup in a bottle", "rain in Leeds"]):
        recall.add(i, text)
    recall.prime("bottled soup?")
    results = await asyncio.gather(*(recall.search("bottled soup?", limit=1, below=2) for _ in range(3)))
    assert results == [[0], [0], [0]]
    assert len(backend.embedded) == 1 and len(calls) == 1  # one shared call, reported once
    assert calls[0].prompt_tokens > 0 and calls[0].completion_tokens == 0


async def test_a_failing_embedder_is_reported_once_and_recall_falls_back_to_bm25() -> None:
    class Broken:
        embedding_model = "nope"
        calls = 0

        async def embed(self, texts: list[str], *, model: str | None = None) -> EmbeddingResponse:
            Broken.calls += 1
            raise BackendError("model 'nope' or the endpoint was not found (404)", kind="not_found", fatal=True)

    errors: list[BackendError] = []
    store = EmbeddingStore(Broken(), on_error=errors.append)
    recall = EmbeddingRecall(store)
    recall.add(0, "the price of the bottle")
    recall.add(1, "rain in Leeds")
    assert await recall.search("price?", limit=1, below=2) == [0]  # BM25's answer
    assert await recall.search("rain?", limit=1, below=2) == [1]
    assert Broken.calls == 1 and [e.kind for e in errors] == ["not_found"] and store.failed is errors[0]
