"""An agent's memory: everything it perceived and did, a bounded window, a rolling summary.

Three layers, each with one job:

* **Episodic memory** (:attr:`AgentMemory.items`): every item the agent perceived or did, in
  log order, each tagged with the ``seq`` of the event it came from. Nothing is forgotten; old
  items simply stop being shown verbatim.
* **The recent window**: the newest items, verbatim, under a token budget. It grows by
  appending and, when it overflows, drops its oldest items *in one chunk* (down to
  ``keep_ratio`` of the budget). Appending keeps consecutive prompts sharing a long common
  prefix (provider prompt caches hit); chunked eviction breaks that prefix only now and then,
  instead of on every turn as a sliding window would.
* **The rolling summary**: items that left the window are folded into short first-person
  notes by an LLM call (``purpose="consolidate"``) that runs off the critical path, at most
  once every ``consolidate_every`` turns of the agent. The request is built here
  (:meth:`AgentMemory.consolidation_request`); the room runs it in the background and logs
  the result as a ``memory_consolidated`` event, which :meth:`AgentMemory.apply_summary`
  applies — live and on replay alike. New notes reach the prompt (:attr:`AgentMemory.summary`)
  at the window's next eviction: the prompt prefix breaks there anyway, so a new summary does
  not cost a second break.

Older items come back into the prompt through **retrieval** (``core/recall.py``): a BM25
lexical index by default, or embeddings through the backend when configured.

**Shared lines.** In a room of N personas a parallel round makes N lines, each heard word for
word alike by N−1 listeners: N² items a round. The room stores such a line once, in its
:class:`SharedLines`; each memory that follows them takes up the lines it has not seen yet the
next time it is read or grows (:meth:`AgentMemory.share`), in one tight loop. Every reader
catches up first, so a memory is always exactly what it would be had it added each line as it
was heard — the same items, window, summary and recall.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from .llm.protocol import ChatRequest, Message
from .recall import LexicalRecall, Recall, TextIndex
from .tokens import estimate_tokens, truncate_to_tokens

log = logging.getLogger(__name__)


@dataclass(slots=True)
class MemoryItem:
    """One remembered thing, already rendered as the line the prompt shows."""

    seq: int
    """The ``seq`` of the event it came from (items are in increasing ``seq`` order)."""
    kind: str
    """``heard``, ``said``, ``thought``, ``moderator``, ``stimulus``, ``section``, ``poll``…"""
    text: str
    tokens: int = 0

    def __post_init__(self) -> None:
        if not self.tokens:
            self.tokens = line_tokens(self.text)


@lru_cache(maxsize=8192)
def line_tokens(text: str) -> int:
    """Tokens of one memory line (+1 for its line break). Cached: in a room of N agents the
    same line ("Tom Becker: No.") is remembered N−1 times."""
    return estimate_tokens(text) + 1


# -- retrieval ---------------------------------------------------------------------------------


class MemoryNote(BaseModel):
    """The structured output of a consolidation call."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="The updated memory summary, first person, at most 120 words.")


CONSOLIDATE_SYSTEM = (
    "You keep the private memory notes of {name}, a participant in a moderated group discussion. "
    "Write in the first person, as {name}. Keep what matters for the rest of the discussion: the "
    "topics and products discussed, what {name} said and felt about them, who agreed or disagreed "
    "with whom, poll answers, and open questions. Drop small talk. Never invent anything."
)


@dataclass(slots=True)
class PendingConsolidation:
    """A consolidation request in flight and the last ``seq`` it covers."""

    request: ChatRequest
    upto_seq: int


# -- lines the whole room remembers alike ------------------------------------------------------


class SharedLines:
    """Lines that every listener of a room remembers word for word alike, stored once.

    The room adds a line here instead of routing it to each listener (:meth:`add`); every
    :class:`AgentMemory` that follows these lines (:meth:`AgentMemory.share`) takes up the ones
    it has not seen yet when it is next read or grows. The agents that remember a line their
    own way (its speaker: "You said…"; the one it was addressed to: "(to you)") perceive it
    themselves first and are passed as ``skip``. The room's recall :attr:`index` is here too:
    the texts of all its memories, each indexed once.
    """

    def __init__(self) -> None:
        self.items: list[MemoryItem] = []
        self.seqs: list[int] = []
        self.texts: list[str] = []
        self.tokens: list[int] = []
        """The items' fields, side by side: a follower takes them up by slices."""
        self.index = TextIndex()

    def add(self, item: MemoryItem, *, skip: Sequence[AgentMemory] = ()) -> None:
        """Every follower remembers ``item`` — but those in ``skip``, who perceived it already."""
        for memory in skip:
            memory._catch_up()
        self.items.append(item)
        self.seqs.append(item.seq)
        self.texts.append(item.text)
        self.tokens.append(item.tokens)
        for memory in skip:
            if memory._shared is self:
                memory._taken = len(self.items)


# -- the memory itself -------------------------------------------------------------------------


@dataclass
class MemoryConfig:
    window_tokens: int = 1100
    """Budget of the verbatim recent window."""
    keep_ratio: float = 0.25
    """After an overflow the window is cut down to this share of its budget, in one go (rare,
    large cuts keep consecutive prompts sharing their prefix most of the time)."""
    summary_tokens: int = 300
    consolidate_every: int = 5
    """At most one consolidation per this many turns of the agent (≤ 0.2 calls per turn)."""
    consolidate_input_tokens: int = 2000
    """Cap on the items one consolidation call reads (newest kept; all stay retrievable)."""


class AgentMemory:
    """Episodic items, the bounded window, the summary and the retrieval index of one agent."""

    def __init__(self, config: MemoryConfig | None = None, *, recall: Recall | None = None) -> None:
        self.config = config or MemoryConfig()
        self._items: list[MemoryItem] = []
        self._seqs: list[int] = []
        self._start = 0
        """Index of the first item in the verbatim window."""
        self._window_used = 0
        self._summary = ""
        self.notes = ""
        """The latest consolidated notes."""
        self.notes_upto_seq = 0
        self.summarised = 0
        """Items ``[:summarised]`` are folded into :attr:`notes`."""
        self.turns_since_consolidation = 0
        self.recall: Recall = recall or LexicalRecall()
        self._shared: SharedLines | None = None
        self._taken = 0
        """Shared lines ``[:_taken]`` are in :attr:`items` (or were skipped)."""

    def share(self, lines: SharedLines) -> None:
        """Follow the room's shared lines from now on (and index texts in its recall index)."""
        self._catch_up()
        self._shared = lines
        self._taken = len(lines.items)
        share = getattr(self.recall, "share", None)
        if callable(share):
            share(lines.index)

    # -- growing -------------------------------------------------------------------------

    def add(self, item: MemoryItem) -> None:
        """Remember ``item``; evict the window's oldest chunk if the window overflows."""
        self._catch_up()
        self._take([item], [item.seq], [item.text], [item.tokens])

    def _catch_up(self) -> None:
        """Take up the shared lines heard since this memory was last read or grew."""
        shared = self._shared
        if shared is not None and self._taken < len(shared.items):
            start = self._taken
            self._taken = len(shared.items)
            self._take(shared.items[start:], shared.seqs[start:], shared.texts[start:], shared.tokens[start:])

    def _take(self, new: list[MemoryItem], seqs: list[int], texts: list[str], tokens: list[int]) -> None:
        """Append ``new`` (and its fields, side by side) in order, exactly as adding them one by
        one: evictions included."""
        items = self._items
        first = len(items)
        items.extend(new)
        self._seqs.extend(seqs)
        self.recall.add_many(first, texts)
        used = self._window_used
        limit = self.config.window_tokens
        for index, size in enumerate(tokens, first):
            used += size
            if used > limit:
                self._window_used = used
                self._evict(index)
                used = self._window_used
        self._window_used = used

    def _evict(self, last: int) -> None:
        """Drop the window's oldest items down to ``keep_ratio`` of its budget (never item ``last``,
        the newest)."""
        target = self.config.window_tokens * self.config.keep_ratio
        items = self._items
        while self._window_used > target and self._start < last:
            self._window_used -= items[self._start].tokens
            self._start += 1
        self._summary = self.notes

    def note_turn(self) -> None:
        """Count one own turn (drives the consolidation rate)."""
        self.turns_since_consolidation += 1

    # -- reading -------------------------------------------------------------------------

    @property
    def items(self) -> list[MemoryItem]:
        """Every item, in log order (episodic memory)."""
        self._catch_up()
        return self._items

    @property
    def window_start(self) -> int:
        """Index of the first item in the verbatim window."""
        self._catch_up()
        return self._start

    @property
    def summary(self) -> str:
        """The summary the prompt shows (the latest :attr:`notes` as of the last eviction)."""
        self._catch_up()
        return self._summary

    @property
    def window(self) -> list[MemoryItem]:
        self._catch_up()
        return self._items[self._start :]

    @property
    def window_tokens(self) -> int:
        self._catch_up()
        return self._window_used

    @property
    def pending(self) -> list[MemoryItem]:
        """Items that left the window and are not yet in the summary."""
        self._catch_up()
        return self._items[self.summarised : self._start]

    def prime(self, query: str) -> None:
        """A likely query (a new question): let the retrieval prepare it in the background."""
        self.recall.prime(query)

    async def recall_for(
        self,
        query: str,
        *,
        limit: int = 3,
        max_tokens: int = 200,
        exclude_seq: int | None = None,
        focus: str | None = None,
    ) -> list[MemoryItem]:
        """Older items (outside the window) most relevant to ``query``, oldest first.

        ``exclude_seq`` leaves out the item the prompt shows anyway (the current question);
        ``focus`` is the query's stable part (see :meth:`Recall.search`).
        """
        below = self.window_start
        if below == 0 or not query or limit <= 0:
            return []
        docs = await self.recall.search(query, limit=limit + 1, below=below, focus=focus)
        chosen: list[MemoryItem] = []
        used = 0
        for doc in docs:
            item = self._items[doc]
            if item.seq == exclude_seq or len(chosen) >= limit or used + item.tokens > max_tokens:
                continue
            chosen.append(item)
            used += item.tokens
        chosen.sort(key=lambda it: it.seq)
        return chosen

    # -- consolidation -------------------------------------------------------------------

    def wants_consolidation(self) -> bool:
        return self.turns_since_consolidation >= self.config.consolidate_every and bool(self.pending)

    def consolidation_request(self, name: str, *, card: dict | None = None) -> PendingConsolidation | None:
        """The LLM request that folds the pending items into the summary, or None."""
        pending = self.pending
        if not pending:
            return None
        budget = self.config.consolidate_input_tokens
        lines: list[str] = []
        used = 0
        for item in reversed(pending):
            if used + item.tokens > budget:
                lines.append("(… earlier details omitted …)")
                break
            lines.append(item.text)
            used += item.tokens
        lines.reverse()
        user = (
            f"Your notes so far:\n{self.notes or '(none yet)'}\n\n"
            "What happened since, oldest first:\n" + "\n".join(lines) + "\n\n"
            f"Rewrite the notes to include what happened since. At most "
            f"{max(40, self.config.summary_tokens * 2 // 3)} words."
        )
        request = ChatRequest(
            messages=[Message("system", CONSOLIDATE_SYSTEM.format(name=name)), Message("user", user)],
            output_model=MemoryNote,
            purpose="consolidate",
            agent=name,
            metadata={"card": card or {}},
        )
        self.turns_since_consolidation = 0
        return PendingConsolidation(request, pending[-1].seq)

    def apply_summary(self, summary: str, upto_seq: int) -> None:
        """Take consolidated notes covering every item with ``seq <= upto_seq``.

        They become :attr:`summary` (what the prompt shows) at the window's next eviction — or
        now, if the prompt shows no summary yet.
        """
        if upto_seq < self.notes_upto_seq:
            return  # a stale result that finished after a newer one
        self._catch_up()  # lines heard before the notes came are evicted under the old notes
        self.notes = truncate_to_tokens(summary.strip(), self.config.summary_tokens)
        self.notes_upto_seq = upto_seq
        self.summarised = max(self.summarised, min(bisect.bisect_right(self._seqs, upto_seq), self._start))
        self.turns_since_consolidation = 0
        if not self._summary:
            self._summary = self.notes

    def stats(self) -> dict[str, int]:
        """Sizes, for tests and benchmarks."""
        self._catch_up()
        return {
            "items": len(self._items),
            "window_items": len(self._items) - self._start,
            "window_tokens": self._window_used,
            "pending": self._start - self.summarised,
            "summary_tokens": estimate_tokens(self._summary),
            "notes_tokens": estimate_tokens(self.notes),
        }


__all__ = ["AgentMemory", "MemoryConfig", "MemoryItem", "MemoryNote", "PendingConsolidation", "SharedLines"]
