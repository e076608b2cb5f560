"""Shared lines (issue 14): a line the whole room hears is stored once, and each listener's
memory takes it up lazily — with exactly the state it would have had adding it on hearing."""

from __future__ import annotations

import random

from troupe.core.memory import AgentMemory, MemoryConfig, MemoryItem, SharedLines
from troupe.core.recall import LexicalRecall, TextIndex

WORDS = "soup bottle price lunch cold chilled family recipe market fresh cheap glass smoothie gazpacho".split()
NAMES = ["Ana", "Ben", "Cleo", "Dev", "Eli"]


def snapshot(memory: AgentMemory) -> dict[str, object]:
    return {
        "items": [(i.seq, i.kind, i.text, i.tokens) for i in memory.items],
        "window": [i.seq for i in memory.window],
        "window_start": memory.window_start,
        "window_tokens": memory.window_tokens,
        "summary": memory.summary,
        "pending": [i.seq for i in memory.pending],
        "stats": memory.stats(),
        "wants": memory.wants_consolidation(),
    }


async def test_lazy_shared_lines_give_the_same_memories_as_adding_each_line() -> None:
    rng = random.Random(5)
    config = MemoryConfig(window_tokens=120, consolidate_every=2)
    eager = {n: AgentMemory(config) for n in NAMES}
    lazy = {n: AgentMemory(config) for n in NAMES}
    lines = SharedLines()
    for memory in lazy.values():
        memory.share(lines)
    said: list[str] = []
    for seq in range(1, 400):
        roll = rng.random()
        speaker = rng.choice(NAMES)
        if roll < 0.7:  # a say to the room: the speaker's own line, one shared line for the others
            text = " ".join(rng.choices(WORDS, k=rng.randint(2, 9)))
            if said and rng.random() < 0.1:
                text = rng.choice(said)  # the same words again: one text, two documents
            said.append(text)
            own = MemoryItem(seq, "say", f"You said: {text}")
            heard = MemoryItem(seq, "say", f"{speaker}: {text}")
            eager[speaker].add(own)
            lazy[speaker].add(own)
            for name in NAMES:
                if name != speaker:
                    eager[name].add(heard)
                    eager[name].note_turn()
            lines.add(heard, skip=[lazy[speaker]])
            for name in NAMES:
                if name != speaker:
                    lazy[name].note_turn()
        elif roll < 0.8:  # a private line (a thought)
            item = MemoryItem(seq, "think", f"You thought, privately: {rng.choice(WORDS)} {rng.choice(WORDS)}")
            eager[speaker].add(item)
            lazy[speaker].add(item)
        elif roll < 0.9:  # consolidated notes arrive
            note = f"Notes up to {seq}: {rng.choice(WORDS)}."
            upto = rng.randint(max(1, seq - 40), seq)
            eager[speaker].apply_summary(note, upto)
            lazy[speaker].apply_summary(note, upto)
        else:  # somebody builds a prompt: recall, consolidation, the window
            query = " ".join(rng.choices(WORDS, k=3))
            want = await eager[speaker].recall_for(query, limit=3, max_tokens=80)
            got = await lazy[speaker].recall_for(query, limit=3, max_tokens=80)
            assert [i.seq for i in got] == [i.seq for i in want], seq
            assert snapshot(lazy[speaker]) == snapshot(eager[speaker]), seq
            if lazy[speaker].wants_consolidation():
                a = eager[speaker].consolidation_request(speaker)
                b = lazy[speaker].consolidation_request(speaker)
                assert a is not None and b is not None
                assert a.request.messages == b.request.messages and a.upto_seq == b.upto_seq
    for name in NAMES:
        assert snapshot(lazy[name]) == snapshot(eager[name]), name
    assert len(lines.items) > 200
    assert any(m.window_start > 0 for m in lazy.values()), "the window must have evicted"


def test_a_shared_text_index_ranks_exactly_as_a_private_one() -> None:
    rng = random.Random(9)
    shared = TextIndex()
    docs = [" ".join(rng.choices(WORDS, k=rng.randint(1, 8))) for _ in range(300)]
    mine, ours, other = LexicalRecall(), LexicalRecall(index=shared), LexicalRecall(index=shared)
    for doc, text in enumerate(docs):
        mine.add(doc, text)
        ours.add(doc, text)
        other.add(doc, f"Someone else: {text} {rng.choice(WORDS)}")  # fills the shared index with other texts
    assert len(shared) > len(set(docs))
    for _ in range(50):
        query = " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))
        below = rng.randint(1, len(docs))
        assert ours.scores(query, below=below) == mine.scores(query, below=below)
        assert ours.search_now(query, limit=4, below=below) == mine.search_now(query, limit=4, below=below)


def test_a_memory_shares_the_rooms_index_only_while_it_has_indexed_nothing() -> None:
    lines = SharedLines()
    fresh, used = AgentMemory(), AgentMemory()
    used.add(MemoryItem(1, "say", "Ana: soup"))
    fresh.share(lines)
    used.share(lines)
    assert isinstance(fresh.recall, LexicalRecall) and fresh.recall.index is lines.index
    assert isinstance(used.recall, LexicalRecall) and used.recall.index is not lines.index
    lines.add(MemoryItem(2, "say", "Ben: bottle"))
    assert [i.text for i in used.items] == ["Ana: soup", "Ben: bottle"]
    assert [i.text for i in fresh.items] == ["Ben: bottle"]


class NaiveBM25:
    """The BM25 index as it was before issue 14's speed-ups (one posting list per agent, built
    as documents come): the reference the shared, incremental index must match exactly."""

    def __init__(self, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.postings: dict[str, list[tuple[int, int]]] = {}
        self.lengths: list[int] = []
        self.total = 0

    def add(self, doc: int, text: str) -> None:
        from collections import Counter

        from troupe.core.recall import terms

        words = terms(text)
        self.lengths.append(len(words))
        self.total += len(words)
        for term, tf in Counter(words).items():
            self.postings.setdefault(term, []).append((doc, tf))

    def scores(self, query: str, *, below: int) -> dict[int, float]:
        import math

        from troupe.core.recall import terms

        n = len(self.lengths)
        if not n or below <= 0:
            return {}
        avg = self.total / n or 1.0
        out: dict[int, float] = {}
        for term in set(terms(query)):
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log(1.0 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc, tf in posting:
                if doc >= below:
                    break
                norm = tf * (self.k1 + 1) / (tf + self.k1 * (1 - self.b + self.b * self.lengths[doc] / avg))
                out[doc] = out.get(doc, 0.0) + idf * norm
        return out

    def search(self, query: str, *, limit: int, below: int) -> list[int]:
        scored = self.scores(query, below=below)
        return [doc for doc, _ in sorted(scored.items(), key=lambda kv: (-kv[1], -kv[0]))[:limit]]


def test_agents_sharing_an_index_score_exactly_as_the_reference_bm25() -> None:
    """Random interleavings of batches (lines heard again, lines first indexed by another
    agent, a text twice in one batch) and searches: every score equals the reference's."""
    rng = random.Random(11)
    shared = TextIndex()
    agents = [(LexicalRecall(index=shared), NaiveBM25()) for _ in range(4)]
    pool: list[str] = []
    for step in range(600):
        fast, slow = rng.choice(agents)
        if rng.random() < 0.6:
            batch = []
            for _ in range(rng.randint(1, 6)):
                if pool and rng.random() < 0.4:
                    batch.append(rng.choice(pool))  # heard before, by this agent or another
                else:
                    text = " ".join(rng.choices(WORDS + NAMES, k=rng.randint(1, 7)))
                    pool.append(text)
                    batch.append(text)
            first = len(slow.lengths)
            if rng.random() < 0.5:
                fast.add_many(first, batch)
            else:
                for doc, text in enumerate(batch, first):
                    fast.add(doc, text)
            for doc, text in enumerate(batch, first):
                slow.add(doc, text)
        elif slow.lengths:
            query = " ".join(rng.choices(WORDS + NAMES, k=rng.randint(1, 4)))
            below = rng.randint(1, len(slow.lengths))
            assert fast.scores(query, below=below) == slow.scores(query, below=below), step
            assert fast.search_now(query, limit=3, below=below) == slow.search(query, limit=3, below=below), step
