"""Agent memory: bounded window with chunked eviction, consolidation requests, retrieval."""

from __future__ import annotations

from troupe.core.memory import AgentMemory, EmbeddingRecall, LexicalRecall, MemoryConfig, MemoryItem, MemoryNote, terms


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


async def test_embedding_recall_embeds_lazily_in_one_batch() -> None:
    vocab = ["bottle", "price", "weather", "recipe"]
    batches: list[int] = []

    async def embed(texts: list[str]) -> list[list[float]]:
        batches.append(len(texts))
        return [[float(t.lower().count(w)) for w in vocab] for t in texts]

    recall = EmbeddingRecall(embed)
    for i, text in enumerate(["the bottle is nice", "nice weather", "a family recipe", "price talk"]):
        recall.add(i, text)
    assert batches == []
    assert await recall.search("which bottle?", limit=1, below=4) == [0]
    assert batches == [5]  # four documents and the query, together
    assert await recall.search("recipe", limit=1, below=4) == [2]
    assert batches == [5, 1]  # only the query this time
