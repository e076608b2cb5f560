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
