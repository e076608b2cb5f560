"""Recall: how older memories come back into a prompt when they are relevant to the question.

Two engines behind one protocol (:class:`Recall`), each agent holding one:

* :class:`LexicalRecall` (the default): a BM25 keyword index — no model, no calls.
* :class:`EmbeddingRecall`: cosine similarity of the backend's embeddings, blended with BM25
  (so names and numbers still count), over a session-wide :class:`EmbeddingStore` that embeds
  items in the background as they are stored and each question once for the whole room.

``core/memory.py`` decides *what* is remembered (the window, the summary); this module decides
*which* of the older items are worth showing again.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import operator
import re
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, cast

from .errors import BackendError, CacheMissError
from .llm.protocol import CallUsage, EmbeddingBackend
from .tokens import truncate_to_tokens

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


_WORD = re.compile(r"[a-zà-ÿ0-9][a-zà-ÿ0-9'-]+")
_STOP = frozenset(
    "the and for are but not you your with this that have has had was were what when where which who why "
    "how our out its it's all any can could would should will just they them their there then than about "
    "from into over some more most very also yes one two did does doing been being said say says think "
    "moderator you're i'm don't it's that's".split()
)


def terms(text: str) -> list[str]:
    """Lower-cased content words with a light plural stem — the lexical index's vocabulary."""
    return list(_terms(text))


def _split(text: str) -> tuple[str, ...]:
    out = []
    for word in _WORD.findall(text.lower()):
        if len(word) < 3 or word in _STOP:
            continue
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return tuple(out)


_terms = lru_cache(maxsize=8192)(_split)
"""The terms of a query (cached: every agent of a round searches with the same question)."""


class TextIndex:
    """Texts and the terms they hold, each text tokenized and indexed once.

    In a room of N personas the same line ("Tom Becker: No.") is remembered by N−1 listeners;
    the room gives every agent's :class:`LexicalRecall` one shared index, so a line is indexed
    once, and each agent keeps only which of the texts are its documents. Ids are positions in
    order of first sight; nothing depends on them but the index itself, so agents sharing an
    index rank exactly as agents with one each would.
    """

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        """Text → its id."""
        self.lengths: list[int] = []
        """Id → number of terms."""
        self.postings: dict[str, list[tuple[int, int]]] = {}
        """Term → ``(id, term frequency)`` of every text that holds it, in id order."""
        self.terms: list[tuple[tuple[str, int], ...]] = []
        """Id → its ``(term, term frequency)`` pairs."""
        self.searched: set[str] = set()
        """Terms some agent has searched for (see :meth:`searched_terms`)."""
        self._searched_terms: dict[int, tuple[tuple[str, tuple[int, int]], ...]] = {}

    def __len__(self) -> int:
        return len(self.lengths)

    def id(self, text: str) -> int:
        """The id of ``text``, indexing it if it is new."""
        found = self.ids.get(text)
        if found is not None:
            return found
        tid = self.ids[text] = len(self.lengths)
        words = _split(text)  # once per text: not worth a cache entry
        self.lengths.append(len(words))
        postings = self.postings
        counts = tuple(Counter(words).items())
        self.terms.append(counts)
        for term, tf in counts:
            posting = postings.get(term)
            if posting is None:
                postings[term] = [(tid, tf)]
            else:
                posting.append((tid, tf))
        return tid

    def search_for(self, term: str) -> None:
        """Some agent keeps hits for ``term`` from now on."""
        if term not in self.searched:
            self.searched.add(term)
            self._searched_terms.clear()

    def searched_terms(self, tid: int) -> tuple[tuple[str, tuple[int, int]], ...]:
        """``(term, (tf, length))`` for each term of text ``tid`` in :attr:`searched` (a line
        usually holds one or two of the question's words: cheaper to look through)."""
        found = self._searched_terms.get(tid)
        if found is None:
            searched, length = self.searched, self.lengths[tid]
            found = tuple((term, (tf, length)) for term, tf in self.terms[tid] if term in searched)
            self._searched_terms[tid] = found
        return found


class Recall(Protocol):
    """Finds older memories relevant to a query. Documents are item indices."""

    def add(self, doc: int, text: str) -> None: ...

    def add_many(self, first: int, texts: Sequence[str]) -> None:
        """Documents ``first``, ``first + 1``… are ``texts`` (as many :meth:`add` calls)."""
        ...

    def prime(self, query: str) -> None:
        """A query that is likely soon (the moderator's new question): prepare it off the
        critical path. Lexical recall has nothing to prepare."""
        ...

    async def search(self, query: str, *, limit: int, below: int, focus: str | None = None) -> list[int]:
        """The best ``limit`` documents with index < ``below``, best first.

        ``focus`` is the stable part of ``query`` (the current question, the same for every
        agent and every round on it); recall that has to embed a query embeds only that, so its
        vector is shared and cached. None: the whole query.
        """
        ...


class LexicalRecall:
    """Okapi BM25 over an incremental inverted index; microseconds per search, no model.

    The postings live in a :class:`TextIndex`, shared by every agent of a room (see
    :meth:`share`); this object keeps the agent's documents (doc → length, text id → docs) and
    the statistics BM25 takes over them, so scores are those of an index of its own.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, *, index: TextIndex | None = None) -> None:
        self.k1 = k1
        self.b = b
        self.index = index if index is not None else TextIndex()
        self._docs: dict[int, int] = {}
        """Text id → the first document with that text."""
        self._last: dict[int, int] = {}
        self._next: dict[int, int] = {}
        """Documents with a text already there (a line heard twice): text id → its last
        document, and document → the next one with the same text (plain ints: no container
        per text for the garbage collector to walk)."""
        self._lengths: list[int] = []
        self._total = 0
        self._hits: dict[str, _Hits] = {}
        """Term → this agent's documents that hold it, grouped by (tf, length); kept up to date
        from the shared postings by :meth:`_hits_of` (only for terms searched for)."""
        self._known = 0
        """Texts ``[:_known]`` of the index existed when :attr:`_hits` was last brought up to
        date: a new document with one of them is added to :attr:`_hits` as it comes (texts
        after that are picked up from the postings)."""

    def share(self, index: TextIndex) -> None:
        """Keep postings in ``index`` (the room's) from now on — only while nothing is indexed
        (with documents already in, the index kept is as good: results do not depend on it)."""
        if not self._lengths:
            self.index = index

    def add(self, doc: int, text: str) -> None:
        self.add_many(doc, (text,))

    def add_many(self, first: int, texts: Sequence[str]) -> None:
        """Documents ``first``, ``first + 1``… are ``texts`` (as many :meth:`add` calls)."""
        index = self.index
        ids = index.ids
        found = list(map(ids.get, texts))
        if not found:
            return
        if None in found:  # new texts: index them
            tids = [index.id(t) if tid is None else tid for t, tid in zip(texts, found)]
        else:
            tids = cast("list[int]", found)
        sizes = list(map(index.lengths.__getitem__, tids))
        own = self._lengths
        if first == len(own):
            own.extend(sizes)
        else:
            while len(own) < first + len(sizes):
                own.append(0)
            own[first : first + len(sizes)] = sizes
        self._total += sum(sizes)
        known = self._known
        if known and min(tids) < known:
            self._late([(doc, tid) for doc, tid in enumerate(tids, first) if tid < known])
        docs = self._docs
        mapping = dict(zip(tids, range(first, first + len(tids))))
        if len(mapping) == len(tids):  # no text twice in this batch (the common case)
            again = docs.keys() & mapping.keys()  # texts it had already
            if again:
                last, later = self._last, self._next
                for tid in again:
                    doc = mapping.pop(tid)
                    later[last.get(tid, docs[tid])] = doc
                    last[tid] = doc
            docs.update(mapping)
        else:
            for doc, tid in enumerate(tids, first):
                if docs.setdefault(tid, doc) != doc:
                    self._chain(tid, doc)

    def _late(self, docs: list[tuple[int, int]]) -> None:
        """New documents with texts the per-term hits have already looked at (a line heard
        again, or first heard here after another agent indexed it): added to those hits."""
        cache, index = self._hits, self.index
        known = index._searched_terms
        for doc, tid in docs:
            pairs = known.get(tid)
            if pairs is None:
                pairs = index.searched_terms(tid)
            for term, key in pairs:  # every term with hits here was searched for
                hits = cache.get(term)
                if hits is not None and tid < hits.upto:
                    group = hits.groups.get(key)
                    if group is None:
                        group = hits.groups[key] = []
                    group.append(doc)
                    hits.count += 1

    def _chain(self, tid: int, doc: int) -> None:
        """``doc`` holds text ``tid`` again."""
        last = self._last.get(tid)
        self._next[self._docs[tid] if last is None else last] = doc
        self._last[tid] = doc

    def _hits_of(self, term: str) -> _Hits | None:
        """This agent's documents holding ``term``, brought up to date with the shared postings."""
        posting = self.index.postings.get(term)
        if not posting:
            return None
        hits = self._hits.get(term)
        if hits is None:
            hits = self._hits[term] = _Hits()
            self.index.search_for(term)
        if hits.seen < len(posting):
            docs, later, lengths, groups = self._docs, self._next, self.index.lengths, hits.groups
            found = 0
            for tid, tf in posting[hits.seen :]:
                doc = docs.get(tid)
                if doc is None:
                    continue
                key = (tf, lengths[tid])
                group = groups.get(key)
                if group is None:
                    group = groups[key] = []
                group.append(doc)
                found += 1
                if later:
                    doc = later.get(doc)
                    while doc is not None:
                        group.append(doc)
                        found += 1
                        doc = later.get(doc)
            hits.seen = len(posting)
            hits.count += found
        hits.upto = self._known = len(self.index)
        return hits

    def prime(self, query: str) -> None:
        return None

    def scores(self, query: str, *, below: int) -> dict[int, float]:
        n = len(self._lengths)
        if not n or below <= 0:
            return {}
        avg = self._total / n or 1.0
        out: dict[int, float] = {}
        get = out.get
        k1, b = self.k1, self.b
        for term in set(_terms(query)):
            hits = self._hits_of(term)
            if hits is None or not hits.count:
                continue
            df = hits.count
            idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
            # BM25's term weight depends on a document only through (tf, length): computed once
            # per group, with the very same float operations as per document.
            for (tf, length), docs in hits.groups.items():
                weight = idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg)))
                for doc in docs:
                    if doc < below:
                        out[doc] = get(doc, 0.0) + weight
        return out

    async def search(self, query: str, *, limit: int, below: int, focus: str | None = None) -> list[int]:
        return self.search_now(query, limit=limit, below=below)

    def search_now(self, query: str, *, limit: int, below: int) -> list[int]:
        """The best ``limit`` documents below ``below``: highest score first, then newest."""
        scored = self.scores(query, below=below)
        # Newest first: among equal scores the newest wins, so the heap is rarely replaced.
        return [doc for _, doc in heapq.nlargest(limit, zip(reversed(scored.values()), reversed(scored.keys())))]


class _Hits:
    """One agent's documents holding one term (see :meth:`LexicalRecall._hits_of`)."""

    __slots__ = ("count", "groups", "seen", "upto")

    def __init__(self) -> None:
        self.groups: dict[tuple[int, int], list[int]] = {}
        """(term frequency, document length) → documents."""
        self.count = 0
        """Documents in all groups (the term's document frequency)."""
        self.seen = 0
        """Entries of the shared posting already looked at."""
        self.upto = 0
        """Texts ``[:upto]`` of the index were there when they were looked at."""


class EmbeddingStore:
    """Text → unit vector for a whole session, embedded in the background, shared by every
    agent's :class:`EmbeddingRecall`.

    In a room the same line ("Tom Becker: No.") is remembered by every listener, and every
    agent searches with the same question, so vectors (and cosines) are kept per *text*, once:

    * :meth:`want` queues a text and schedules a flush ``flush_delay`` seconds later, so the
      texts stored meanwhile (a turn routed to N agents, a parallel round, a replayed log) go
      out as **one** ``embed`` call, in a background task — storing an item never waits for
      the network, and an item is needed only once it has left the window, turns later;
    * :meth:`vectors` is what a search awaits: texts already embedded cost nothing, texts in
      flight are awaited (the call is shared, never repeated), missing ones are sent at once.

    Every call is reported through ``on_calls`` (the room logs one ``llm_call`` event with
    ``purpose="embed"`` for each). The first failure (no embeddings endpoint, a key without
    access…) is reported through ``on_error`` and switches the store off: :attr:`failed` is
    set and recall falls back to lexical for the rest of the session.
    """

    def __init__(
        self,
        backend: EmbeddingBackend,
        *,
        model: str | None = None,
        flush_delay: float = 0.1,
        max_input_tokens: int = 1000,
        on_calls: Callable[[list[CallUsage]], None] | None = None,
        on_error: Callable[[BackendError], None] | None = None,
    ) -> None:
        self.backend = backend
        self.model = model or backend.embedding_model
        self.flush_delay = flush_delay
        self.max_input_tokens = max_input_tokens
        """Longer texts are cut to this before embedding (their key stays the full text)."""
        self.on_calls = on_calls
        self.on_error = on_error
        self.failed: BackendError | None = None
        self.calls = 0
        """Real or cached ``embed`` calls made (each one ``CallUsage``)."""
        self.waits = 0
        """Times a search had to wait for a call (on the critical path; ideally once a question)."""
        self._vectors: dict[str, array[float]] = {}
        self._pending: dict[str, asyncio.Future[None]] = {}
        """Texts queued or in flight → resolved when their call ends (either way)."""
        self._queue: list[str] = []
        self._timer: asyncio.Handle | None = None
        """The scheduled flush (a ``TimerHandle`` when delayed)."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._cosines: OrderedDict[str, dict[str, float]] = OrderedDict()

    def __contains__(self, text: str) -> bool:
        return text in self._vectors

    def want(self, text: str, *, urgent: bool = False) -> None:
        """Embed ``text`` in the background: within ``flush_delay``, or at the next loop tick if
        ``urgent`` (a question about to be searched for). A no-op for a known or blank text,
        once the store failed, or outside an event loop (:meth:`vectors` embeds on demand)."""
        if self.failed is not None or text in self._vectors or not text.strip():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if text not in self._pending:
            self._pending[text] = loop.create_future()
            self._queue.append(text)
        elif not urgent or text not in self._queue:
            return  # already queued, or already in flight
        if urgent and isinstance(self._timer, asyncio.TimerHandle):  # bring a delayed flush forward
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_soon(self._flush) if urgent else loop.call_later(self.flush_delay, self._flush)

    async def vectors(self, texts: Sequence[str]) -> list[array[float]] | None:
        """Unit vectors of ``texts`` (none blank), embedding what is missing; None if some
        cannot be had (the store failed, or a replay cache lacks them).

        Texts in flight are awaited, never sent twice; the others go out now in a call of
        their own (not mixed with the background queue). A text whose batch came back from a
        replay cache as a miss is asked for once more on its own.
        """
        for _ in range(2):
            if self.failed is not None:
                return None
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
            if not missing:
                return [self._vectors[t] for t in texts]
            self.waits += 1
            queued = set(self._queue)
            send = [t for t in missing if t not in self._pending or t in queued]
            if send:
                chosen = set(send)
                self._queue = [t for t in self._queue if t not in chosen]
                self._start(send)
            for future in {id(f): f for f in (self._pending.get(t) for t in missing) if f is not None}.values():
                await asyncio.shield(future)  # a cancelled search must not cancel a shared call
        # After the second try's call: what came back counts (the loop above only checks first).
        if self.failed is None and all(t in self._vectors for t in texts):
            return [self._vectors[t] for t in texts]
        return None

    def cosine(self, query: str, text: str) -> float:
        """Cosine of two embedded texts (cached for the last few queries)."""
        table = self._cosines.get(query)
        if table is None:
            table = self._cosines[query] = {}
            if len(self._cosines) > 8:
                self._cosines.popitem(last=False)
        value = table.get(text)
        if value is None:
            value = table[text] = sum(map(operator.mul, self._vectors[query], self._vectors[text]))
        return value

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._queue:
            texts, self._queue = self._queue, []
            self._start(texts)

    def _start(self, texts: list[str]) -> None:
        """Send ``texts`` in one background call (each gets a pending future first)."""
        loop = asyncio.get_running_loop()
        for text in texts:
            if text not in self._pending:
                self._pending[text] = loop.create_future()
        task = asyncio.ensure_future(self._embed(texts))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _embed(self, texts: list[str]) -> None:
        try:
            inputs = [truncate_to_tokens(t, self.max_input_tokens) for t in texts]
            response = await self.backend.embed(inputs, model=self.model)
            if len(response.vectors) != len(texts):
                raise BackendError(
                    f"{len(response.vectors)} embeddings came back for {len(texts)} texts", kind="bad_response"
                )
        except asyncio.CancelledError:
            raise
        except CacheMissError as exc:
            # A replay lacks some text of this batch — maybe one the recording never needed.
            # Not a failure: a search that needs these texts asks for them again on their own.
            log.debug("embeddings: %s", exc)
        except Exception as exc:  # any other failure switches embeddings off; the session goes on lexically
            self._fail(exc if isinstance(exc, BackendError) else BackendError(f"embeddings failed: {exc}"))
        else:
            for text, vec in zip(texts, response.vectors):
                self._vectors[text] = _unit(vec)
            self.calls += len(response.calls)
            if self.on_calls is not None and response.calls:
                self.on_calls(list(response.calls))
        finally:
            for text in texts:
                future = self._pending.pop(text, None)
                if future is not None and not future.done():
                    future.set_result(None)

    def _fail(self, exc: BackendError) -> None:
        if self.failed is not None:
            return
        self.failed = exc
        log.warning("embeddings failed (%s); recalling memories lexically from now on", exc)
        if self.on_error is not None:
            self.on_error(exc)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` seconds) for the calls in flight, so they are logged. Texts
        still queued are not sent: nobody is going to search for them."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout)

    async def aclose(self) -> None:
        """Cancel the calls queued or in flight (nothing waits on them any more)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._pending.values():
            if not future.done():
                future.set_result(None)
        self._pending.clear()
        self._queue.clear()


class EmbeddingRecall:
    """Cosine similarity to the query's focus over the :class:`EmbeddingStore`'s vectors,
    blended with BM25: ``score = cosine + lexical_weight * bm25 / best_bm25``.

    The blend keeps exact names and numbers (which embeddings blur) while the cosine finds
    items that say the same thing in other words. Item vectors are computed in the background
    as items are stored, the focus (the current question) once per question for the whole
    room, and each item's cosine once per question, so a search costs no call in the common
    case and about a microsecond per older item. Falls back to BM25 alone if the store failed.

    ``fresh``: the newest ``fresh`` documents below the window are ranked by BM25 alone. They
    left the window moments ago (eviction cuts it in one chunk), so their vectors may still be
    in flight, and ranking them by vector would make the turn wait for that call. The session
    sets it to about two rounds' worth of items. It depends only on positions, so recall stays
    deterministic (a replay ranks exactly as the recording did).
    """

    def __init__(self, store: EmbeddingStore, *, lexical_weight: float = 0.25, fresh: int = 0) -> None:
        self.store = store
        self.lexical = LexicalRecall()
        self.lexical_weight = lexical_weight
        self.fresh = max(0, fresh)
        self._texts: list[str] = []
        self._focus = ""
        self._cos: list[float] = []
        """Cosine of documents ``0..len-1`` to :attr:`_focus`."""

    def add_many(self, first: int, texts: Sequence[str]) -> None:
        for doc, text in enumerate(texts, first):
            self.add(doc, text)

    def add(self, doc: int, text: str) -> None:
        self.lexical.add(doc, text)
        while len(self._texts) <= doc:
            self._texts.append("")
        self._texts[doc] = text
        self.store.want(text)

    def share(self, index: TextIndex) -> None:
        """See :meth:`LexicalRecall.share`."""
        self.lexical.share(index)

    def prime(self, query: str) -> None:
        self.store.want(query.strip(), urgent=True)

    async def search(self, query: str, *, limit: int, below: int, focus: str | None = None) -> list[int]:
        below = min(below, len(self._texts))
        if below <= 0 or limit <= 0:
            return []
        settled = max(0, below - self.fresh)  # documents [0, settled) are ranked by vector too
        focus = (focus or query).strip()
        if settled and focus and self.store.failed is None:
            if focus != self._focus:
                self._focus, self._cos = focus, []
            if len(self._cos) < settled:
                vectors = await self.store.vectors([focus, *self._texts[len(self._cos) : settled]])
                if vectors is not None and focus == self._focus:  # (another search may have moved on)
                    self._cos.extend(self.store.cosine(focus, t) for t in self._texts[len(self._cos) : settled])
            if focus == self._focus and len(self._cos) >= settled:
                return self._rank(query, limit=limit, below=below, settled=settled)
        return self.lexical.search_now(query, limit=limit, below=below)

    def _rank(self, query: str, *, limit: int, below: int, settled: int) -> list[int]:
        lexical = self.lexical.scores(query, below=below)
        weight = self.lexical_weight / (max(lexical.values(), default=0.0) or 1.0)
        cos = self._cos
        scored = [(cos[d] + weight * lexical.get(d, 0.0), d) for d in range(settled)]
        scored += [(weight * lexical[d], d) for d in range(settled, below) if d in lexical]
        return [doc for score, doc in heapq.nlargest(limit, scored) if score > 0]


def _unit(vec: Sequence[float]) -> array[float]:
    norm = math.sqrt(sum(x * x for x in vec)) or 1.0
    return array("f", [x / norm for x in vec])


# -- consolidation -----------------------------------------------------------------------------
