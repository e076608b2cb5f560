"""Group dynamics: readouts computed from a run's events alone (``docs/dynamics.md``).

Every number here is a pure function of the event log, so the live panel, the report, the
``troupe dynamics`` command and a re-read of ``events.jsonl`` a year later agree:

* :func:`airtime` — turns, words and share of words per persona, and who answered whom
  (from each ``say``'s addressee ``to`` and its ``reply_to``) as a matrix.
* :func:`opinion_drift` — for every private-first poll asked again (the same ``poll_id``, or a
  later poll with the same question, kind and options), how far each persona moved and
  whether towards the group's first answer (numeric mean, or the plurality option).
* :func:`conformity` — of the persona answers that *could* move towards the group's first
  answer, the share that did.
* :func:`voice_similarity` — distinct word n-grams across personas, pairwise overlap, and a
  warning when the panel collapses into one voice.
* :func:`embedding_similarity` — the same question asked of embeddings: the cosine between the
  personas' mean remark vectors. The vectors come from a backend (a model call), so this module
  only does the arithmetic on vectors it is given; ``sessions/voice_embeddings.py`` makes the
  calls and fills :attr:`Dynamics.embeddings`.

Poll answers are read through :func:`troupe.core.poll_stats.collect_polls` (the one poll
computation); nothing here re-parses a logged value.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import combinations
from typing import Any, Literal

from .events import Event, Pass, Say, SessionStarted
from .poll_stats import NUMERIC_KINDS, PollResult, collect_polls

MODERATOR = "Moderator"
"""Column of the reply matrix for answers to the moderator (a moderator line, a stimulus, a poll)."""
ROOM = "(room)"
"""Column for a ``say`` with neither an addressee nor a ``reply_to`` naming someone."""

NGRAM = 3
"""Voice similarity compares word trigrams."""
MIN_NGRAMS = 20
"""A persona needs at least this many distinct n-grams to be compared (else: too little speech)."""
COLLAPSE_JACCARD = 0.30
"""Mean pairwise Jaccard overlap at or above this reads as "the panel speaks with one voice"."""

EMBED_MIN_REMARKS = 3
"""A persona needs at least this many embedded remarks to be compared by embeddings."""
EMBED_COLLAPSE_COSINE = 0.90
"""Mean pairwise cosine of the personas' voice vectors at or above this reads as "one voice"."""

_WORD = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased (letters, digits, inner apostrophes)."""
    return [w.lower() for w in _WORD.findall(text)]


# -- airtime -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Airtime:
    agent: str
    turns: int
    """``say`` events (muted ones included: they were said, though not heard)."""
    words: int
    share: float
    """This persona's words over all personas' words, 0..1 (0 when nobody spoke)."""
    passes: int
    muted: int


@dataclass(slots=True)
class AirtimeReport:
    rows: list[Airtime]
    replies: dict[str, dict[str, int]]
    """Speaker → target → number of ``say`` events answering that target (see :func:`reply_target`).
    Targets: every persona, :data:`MODERATOR` and :data:`ROOM`; every cell present, zeros included."""
    total_words: int

    def quietest(self, candidates: Sequence[str], k: int = 1) -> list[str]:
        """The ``k`` candidates with the fewest words (ties: fewer turns, then seating order)."""
        by_name = {r.agent: r for r in self.rows}
        order = {name: i for i, name in enumerate(candidates)}

        def key(name: str) -> tuple[int, int, int]:
            row = by_name.get(name)
            return (row.words if row else 0, row.turns if row else 0, order[name])

        return sorted(candidates, key=key)[: max(0, k)]

    def dominant(self) -> Airtime | None:
        """The persona with the largest share (None when nobody spoke)."""
        spoke = [r for r in self.rows if r.words]
        return max(spoke, key=lambda r: r.share) if spoke else None


def personas_of(events: Sequence[Event]) -> list[str]:
    """Seated personas in seating order (``session_started``), then any other speaker seen."""
    names: list[str] = []
    for event in events:
        if isinstance(event, SessionStarted):
            names += [n for n in event.personas if n not in names]
        elif isinstance(event, (Say, Pass)) and event.agent not in names:
            names.append(event.agent)
    return names


def _resolve_name(value: str | None, personas: Sequence[str]) -> str | None:
    """A persona named by ``value``: the full name (any case) or a unique first name."""
    if not value:
        return None
    wanted = value.strip().lstrip("@").casefold()
    for name in personas:
        if name.casefold() == wanted:
            return name
    firsts = [n for n in personas if n.split()[0].casefold() == wanted] if wanted else []
    return firsts[0] if len(firsts) == 1 else None


def reply_target(say: Say, by_seq: dict[int, Event], personas: Sequence[str]) -> str:
    """Whom one ``say`` answers, in this order:

    1. its addressee ``to``, when it names another persona (full name or unique first name);
    2. its addressee ``to``, when it is the moderator (``moderator``, any case) → :data:`MODERATOR`;
    3. the event its ``reply_to`` points at: another persona's ``say`` → that persona; a
       ``moderator`` line, a ``stimulus`` or a ``poll_asked`` → :data:`MODERATOR`;
    4. otherwise :data:`ROOM`.
    """
    named = _resolve_name(say.to, personas)
    if named is not None and named != say.agent:
        return named
    if say.to and say.to.strip().lstrip("@").casefold() == "moderator":
        return MODERATOR
    target = by_seq.get(say.reply_to) if say.reply_to is not None else None
    if isinstance(target, Say) and target.agent != say.agent:
        return target.agent
    if target is not None and target.type in ("moderator", "stimulus", "poll_asked"):
        return MODERATOR
    return ROOM


def airtime(events: Sequence[Event]) -> AirtimeReport:
    personas = personas_of(events)
    by_seq = {e.seq: e for e in events}
    turns = dict.fromkeys(personas, 0)
    counts = dict.fromkeys(personas, 0)
    passes = dict.fromkeys(personas, 0)
    muted = dict.fromkeys(personas, 0)
    targets = [*personas, MODERATOR, ROOM]
    replies = {p: dict.fromkeys(targets, 0) for p in personas}
    for event in events:
        if isinstance(event, Say):
            turns[event.agent] += 1
            counts[event.agent] += len(words(event.text))
            muted[event.agent] += int(event.muted)
            replies[event.agent][reply_target(event, by_seq, personas)] += 1
        elif isinstance(event, Pass):
            passes[event.agent] += 1
    total = sum(counts.values())
    rows = [Airtime(p, turns[p], counts[p], counts[p] / total if total else 0.0, passes[p], muted[p]) for p in personas]
    return AirtimeReport(rows=rows, replies=replies, total_words=total)


def silent_in_section(events: Sequence[Event]) -> list[str]:
    """The personas who have said nothing aloud since the current section began (seating
    order); empty before the first section."""
    start = next((e.seq for e in reversed(events) if e.type == "section_started"), None)
    if start is None:
        return []
    spoke = {e.agent for e in events if isinstance(e, Say) and e.seq > start}
    return [p for p in personas_of(events) if p not in spoke]


# -- opinion drift and conformity ----------------------------------------------------------------

Direction = Literal["towards", "away", "same", "moved"]


@dataclass(frozen=True, slots=True)
class Move:
    agent: str
    before: str
    after: str
    delta: float | None
    """Numeric polls: after − before (scale points); None for choice polls."""
    direction: Direction
    """``towards``/``away``: closer to / further from the group's first answer; ``same``: the
    answer did not change; ``moved``: changed, neither closer nor further."""
    could_conform: bool
    """The first answer was not already the group's (so moving towards it was possible)."""


@dataclass(slots=True)
class Drift:
    poll_id: str
    question: str
    kind: str
    first_seq: int
    again_seq: int
    again_poll_id: str
    reference: str
    """The group's first answer: ``mean 3.40`` (numeric) or ``plurality: A`` (single choice)."""
    moves: list[Move] = field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(1 for m in self.moves if m.direction != "same")

    @property
    def towards(self) -> int:
        return sum(1 for m in self.moves if m.direction == "towards")

    @property
    def mean_abs_delta(self) -> float | None:
        deltas = [abs(m.delta) for m in self.moves if m.delta is not None]
        return statistics.fmean(deltas) if deltas else None


DRIFT_KINDS = (*NUMERIC_KINDS, "single")
"""Kinds whose answers have a distance (numeric) or a plurality (single choice)."""


def _same_question(a: PollResult, b: PollResult) -> bool:
    return (
        a.poll_id == b.poll_id
        or (" ".join(a.question.casefold().split()) == " ".join(b.question.casefold().split()))
        and a.kind == b.kind
        and a.options == b.options
    )


def drift_pairs(polls: Sequence[PollResult]) -> list[tuple[PollResult, PollResult]]:
    """Each private-first asking of a :data:`DRIFT_KINDS` poll, with the *next* asking of the
    same poll (same ``poll_id``, or same question, kind and options) — in log order."""
    pairs = []
    ordered = sorted(polls, key=lambda p: p.seq)
    for i, first in enumerate(ordered):
        if not first.private_first or first.kind not in DRIFT_KINDS:
            continue
        again = next((p for p in ordered[i + 1 :] if _same_question(first, p) and p.kind == first.kind), None)
        if again is not None:
            pairs.append((first, again))
    return pairs


def _plurality(poll: PollResult) -> set[str]:
    counts = {k: v for k, v in poll.counts.items() if v}
    top = max(counts.values(), default=0)
    return {k for k, v in counts.items() if v == top}


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def drift_of(first: PollResult, again: PollResult) -> Drift:
    """How each persona who answered both askings moved (see ``docs/dynamics.md``)."""
    moves: list[Move] = []
    if first.kind in NUMERIC_KINDS:
        mean = first.mean
        reference = f"mean {_fmt(mean)}" if mean is not None else "no mean"
        for a in first.answers:
            b = again.answer_of(a.agent)
            if b is None or a.score is None or b.score is None or mean is None:
                continue
            before, after = abs(a.score - mean), abs(b.score - mean)
            direction: Direction = (
                "same" if b.score == a.score else "towards" if after < before else "away" if after > before else "moved"
            )
            moves.append(
                Move(a.agent, a.display(), b.display(), b.score - a.score, direction, could_conform=before > 0)
            )
    else:
        top = _plurality(first)
        reference = "plurality: " + (", ".join(o for o in first.options if o in top) or "none")
        for a in first.answers:
            b = again.answer_of(a.agent)
            if b is None or not a.choices or not b.choices:
                continue
            was, now = a.choices[0] in top, b.choices[0] in top
            if a.choices == b.choices:
                direction = "same"
            elif now and not was:
                direction = "towards"
            elif was and not now:
                direction = "away"
            else:
                direction = "moved"
            moves.append(Move(a.agent, a.display(), b.display(), None, direction, could_conform=not was))
    return Drift(
        poll_id=first.poll_id,
        question=first.question,
        kind=first.kind,
        first_seq=first.seq,
        again_seq=again.seq,
        again_poll_id=again.poll_id,
        reference=reference,
        moves=moves,
    )


def opinion_drift(events: Sequence[Event]) -> list[Drift]:
    return [drift_of(a, b) for a, b in drift_pairs(collect_polls(events))]


@dataclass(frozen=True, slots=True)
class Conformity:
    conformed: int
    """Answers (persona × re-asked poll) that moved towards the group's first answer."""
    eligible: int
    """Answers that could: the persona answered both askings and its first answer was not
    already the group's (numeric: differed from the mean; choice: not a plurality option)."""
    away: int
    """Eligible or not, answers that moved further from the group's first answer."""
    per_agent: dict[str, tuple[int, int]]
    """Persona → (conformed, eligible)."""

    @property
    def rate(self) -> float | None:
        return self.conformed / self.eligible if self.eligible else None


def conformity(drifts: Iterable[Drift]) -> Conformity:
    conformed = eligible = away = 0
    per: dict[str, tuple[int, int]] = {}
    for drift in drifts:
        for m in drift.moves:
            away += int(m.direction == "away")
            if not m.could_conform:
                continue
            hit = int(m.direction == "towards")
            conformed += hit
            eligible += 1
            c, e = per.get(m.agent, (0, 0))
            per[m.agent] = (c + hit, e + 1)
    return Conformity(conformed, eligible, away, per)


# -- voice similarity ----------------------------------------------------------------------------


def ngrams(tokens: Sequence[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


@dataclass(slots=True)
class VoiceSimilarity:
    n: int
    per_agent: dict[str, int]
    """Persona → distinct n-grams in everything it said."""
    distinct_ratio: float | None
    """Distinct n-grams of the whole panel over the sum of each persona's distinct n-grams:
    1 = nobody shares a phrase with anybody, 1/k = k personas say exactly the same."""
    pairs: dict[str, float]
    """``"A | B"`` → Jaccard overlap of the two personas' n-gram sets, 0..1."""
    mean_overlap: float | None
    compared: list[str]
    """Personas with at least :data:`MIN_NGRAMS` distinct n-grams (the others said too little)."""
    collapsed: bool
    warning: str | None


def voice_similarity(events: Sequence[Event], *, n: int = NGRAM) -> VoiceSimilarity:
    personas = personas_of(events)
    grams: dict[str, set[tuple[str, ...]]] = {p: set() for p in personas}
    for event in events:
        if isinstance(event, Say):  # n-grams never span two utterances
            grams[event.agent] |= ngrams(words(event.text), n)
    compared = [p for p in personas if len(grams[p]) >= MIN_NGRAMS]
    pairs = {f"{a} | {b}": len(grams[a] & grams[b]) / len(grams[a] | grams[b]) for a, b in combinations(compared, 2)}
    total = sum(len(grams[p]) for p in compared)
    union: set[tuple[str, ...]] = set().union(*(grams[p] for p in compared)) if compared else set()
    ratio = len(union) / total if len(compared) >= 2 and total else None
    mean = statistics.fmean(pairs.values()) if pairs else None
    collapsed = mean is not None and mean >= COLLAPSE_JACCARD
    warning = (
        f"the panel speaks with one voice: personas share {mean:.0%} of their {n}-word phrases on average "
        f"(warning at {COLLAPSE_JACCARD:.0%}); vary the personas or raise the temperature"
        if collapsed and mean is not None
        else None
    )
    return VoiceSimilarity(
        n=n,
        per_agent={p: len(grams[p]) for p in personas},
        distinct_ratio=ratio,
        pairs=pairs,
        mean_overlap=mean,
        compared=compared,
        collapsed=collapsed,
        warning=warning,
    )


def voice_texts(events: Sequence[Event]) -> dict[str, list[str]]:
    """Persona → the texts of its ``say`` events in log order (muted ones included, blank ones
    left out), every persona of :func:`personas_of` present — what the embedding readout embeds."""
    texts: dict[str, list[str]] = {p: [] for p in personas_of(events)}
    for event in events:
        if isinstance(event, Say) and event.text.strip():
            texts[event.agent].append(event.text)
    return texts


def cosine(a: Sequence[float], b: Sequence[float]) -> float | None:
    """The cosine of two vectors (None when either is the zero vector)."""
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(x * x for x in b))
    if not na or not nb:
        return None
    return max(-1.0, min(1.0, sum(x * y for x, y in zip(a, b)) / (na * nb)))  # (rounding can pass ±1)


def voice_vector(vectors: Iterable[Sequence[float]]) -> list[float] | None:
    """A persona's voice: the mean of its remarks' vectors, each scaled to unit length first (so a
    long remark weighs no more than a short one); zero vectors are skipped. None: no usable vector."""
    total: list[float] | None = None
    count = 0
    for vec in vectors:
        norm = math.sqrt(sum(x * x for x in vec))
        if not norm:
            continue
        if total is None:
            total = [0.0] * len(vec)
        for i, x in enumerate(vec):
            total[i] += x / norm
        count += 1
    return [x / count for x in total] if total is not None and count else None


@dataclass(slots=True)
class EmbeddingSimilarity:
    remarks: dict[str, int]
    """Persona → remarks with a usable (non-zero) vector."""
    pairs: dict[str, float]
    """``"A | B"`` → cosine of the two personas' voice vectors (1 = the same voice)."""
    mean_similarity: float | None
    most_alike: list[str] | None
    """The pair with the highest cosine (the first in seating order on a tie)."""
    most_alike_similarity: float | None
    compared: list[str]
    """Personas with at least :data:`EMBED_MIN_REMARKS` usable remarks (the others said too little)."""
    collapsed: bool
    warning: str | None


def embedding_similarity(
    vectors: Mapping[str, Sequence[Sequence[float]]], *, min_remarks: int = EMBED_MIN_REMARKS
) -> EmbeddingSimilarity:
    """Voice similarity by embeddings, from each persona's remark vectors (persona order kept):
    the cosine between every two compared personas' :func:`voice_vector`, their mean, the most
    alike pair, and a warning at :data:`EMBED_COLLAPSE_COSINE` (``docs/dynamics.md``)."""
    usable = {p: [v for v in vecs if any(v)] for p, vecs in vectors.items()}
    voices = {p: voice_vector(vecs) for p, vecs in usable.items() if len(vecs) >= max(1, min_remarks)}
    compared = [p for p, v in voices.items() if v is not None]
    pairs: dict[str, float] = {}
    best: tuple[float, list[str]] | None = None
    for a, b in combinations(compared, 2):
        va, vb = voices[a], voices[b]
        assert va is not None and vb is not None
        value = cosine(va, vb)
        if value is None:
            continue
        pairs[f"{a} | {b}"] = value
        if best is None or value > best[0]:
            best = (value, [a, b])
    mean = statistics.fmean(pairs.values()) if pairs else None
    collapsed = mean is not None and mean >= EMBED_COLLAPSE_COSINE
    warning = (
        f"the panel speaks with one voice: the personas' remarks embed alike (mean cosine {mean:.2f} between "
        f"their voices, warning at {EMBED_COLLAPSE_COSINE:.2f}); vary the personas or raise the temperature"
        if collapsed and mean is not None
        else None
    )
    return EmbeddingSimilarity(
        remarks={p: len(vecs) for p, vecs in usable.items()},
        pairs=pairs,
        mean_similarity=mean,
        most_alike=best[1] if best else None,
        most_alike_similarity=best[0] if best else None,
        compared=compared,
        collapsed=collapsed,
        warning=warning,
    )


EmbeddingStatus = Literal["not_requested", "unavailable", "failed", "computed"]


@dataclass(slots=True)
class EmbeddingReadout:
    """The embedding readout of a run and what it took: made by the command or report that
    asked for embeddings (``sessions/voice_embeddings.py``); :func:`compute` leaves it
    ``not_requested`` (no model call)."""

    status: EmbeddingStatus = "not_requested"
    note: str = "not requested: embedding the remarks takes model calls"
    """Plain words: why there are no figures, or which model made them and what it cost."""
    model: str | None = None
    texts: int = 0
    """Distinct remark texts embedded."""
    prompt_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    cached_calls: int = 0
    """Of ``calls``, those served from the record/replay cache (no tokens billed)."""
    similarity: EmbeddingSimilarity | None = None


# -- all together --------------------------------------------------------------------------------


@dataclass(slots=True)
class Dynamics:
    airtime: AirtimeReport
    drift: list[Drift]
    conformity: Conformity
    voices: VoiceSimilarity
    embeddings: EmbeddingReadout = field(default_factory=EmbeddingReadout)
    """Voice similarity by embeddings (filled in only when a command asked for it)."""

    @property
    def warnings(self) -> list[str]:
        """The "one voice" warnings, n-grams first, then embeddings."""
        sim = self.embeddings.similarity
        return [w for w in (self.voices.warning, sim.warning if sim is not None else None) if w]

    def to_json_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["conformity"]["rate"] = self.conformity.rate
        data["conformity"]["per_agent"] = {
            a: {"conformed": c, "eligible": e} for a, (c, e) in self.conformity.per_agent.items()
        }
        for d, raw in zip(self.drift, data["drift"]):
            raw.update(moved=d.moved, towards=d.towards, mean_abs_delta=d.mean_abs_delta)
        data["warnings"] = self.warnings
        data["definitions"] = "docs/dynamics.md"
        return data


def compute(events: Sequence[Event]) -> Dynamics:
    """Every readout of a log (:mod:`troupe.core.dynamics`)."""
    events = list(events)
    drifts = opinion_drift(events)
    return Dynamics(airtime(events), drifts, conformity(drifts), voice_similarity(events))


__all__ = [
    "COLLAPSE_JACCARD",
    "EMBED_COLLAPSE_COSINE",
    "EMBED_MIN_REMARKS",
    "MIN_NGRAMS",
    "MODERATOR",
    "NGRAM",
    "ROOM",
    "Airtime",
    "AirtimeReport",
    "Conformity",
    "Drift",
    "Dynamics",
    "EmbeddingReadout",
    "EmbeddingSimilarity",
    "Move",
    "VoiceSimilarity",
    "airtime",
    "compute",
    "conformity",
    "cosine",
    "drift_of",
    "drift_pairs",
    "embedding_similarity",
    "opinion_drift",
    "personas_of",
    "reply_target",
    "voice_similarity",
    "voice_texts",
    "voice_vector",
    "words",
]
