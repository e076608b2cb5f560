"""Verbatim quotes, checked against the log.

A findings report is only as trustworthy as its quotes. Whatever proposes a quote (an LLM, or
the lexical fallback), :func:`verify_quote` decides whether it is *exactly* what a participant
said: the returned :class:`Quote` text is always a substring of the logged utterance with the
returned ``seq``. A near-miss is repaired (typographic quotes, spacing, case, a wrong seq when
the words are unambiguous elsewhere); anything else is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from troupe.sessions.transcript import Entry

MIN_CHARS = 8
_TRANSLATE = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})
# A sentence ends at . ! ? … (plus closing quotes/brackets) followed by space or the end, so
# "€2.49" or "e.g.x" do not split.
_SENTENCE = re.compile(r"\S.*?(?:[.!?…]+[\"'”’)\]]*(?=\s|$)|$)", re.S)


@dataclass(frozen=True, slots=True)
class Quote:
    seq: int
    agent: str
    text: str
    """Exactly as logged: ``text in utterance.text`` holds."""
    repaired: bool = False
    """True when the proposed excerpt needed fixing (spacing, quotes, case, or its seq)."""
    side: str | None = None
    """For a model theme with a stance: ``"for"`` or ``"against"`` the theme's point (as the
    model tagged it; the report claims a stance only when verified quotes back each side)."""


def verify_quote(utterances: Mapping[int, Entry], seq: int, excerpt: str) -> Quote | None:
    """The verbatim quote ``excerpt`` stands for, or None when it is not in the log."""
    wanted = _trim(excerpt)
    if len(wanted) < MIN_CHARS or len(wanted.split()) < 2:
        return None
    entry = utterances.get(seq)
    if entry is not None:
        found = find_span(entry.text, wanted)
        if found is not None:
            return Quote(seq, entry.speaker or "", found, repaired=found != excerpt)
    # The words are right but the seq is not: relink only when exactly one utterance matches.
    matches = [(s, e, find_span(e.text, wanted)) for s, e in utterances.items() if s != seq]
    matches = [(s, e, f) for s, e, f in matches if f is not None]
    if len(matches) == 1:
        s, e, found = matches[0]
        return Quote(s, e.speaker or "", found, repaired=True)  # type: ignore[arg-type]
    return None


def find_span(text: str, wanted: str) -> str | None:
    """``wanted`` as it appears in ``text``: exactly, else ignoring case, spacing and typography."""
    if wanted in text:
        return wanted
    norm_text, index = _normalise_with_index(text)
    norm_wanted, _ = _normalise_with_index(wanted)
    if not norm_wanted:
        return None
    at = norm_text.find(norm_wanted)
    if at < 0:
        return None
    start = index[at]
    end = index[at + len(norm_wanted) - 1] + 1
    return text[start:end]


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, each an exact substring of it (stripped)."""
    return [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def sentence_with(text: str, predicate: Iterable[str] | None = None, *, max_chars: int = 240) -> str:
    """The first sentence of ``text`` containing one of the words in ``predicate``
    (any sentence when None), cut at a word boundary to ``max_chars`` — always a substring."""
    words = [w.lower() for w in predicate] if predicate else None
    chosen = None
    for sentence in sentences(text):
        low = sentence.lower()
        if words is None or any(w in low for w in words):
            chosen = sentence
            break
    chosen = chosen or text.strip()
    if len(chosen) > max_chars:
        cut = chosen[:max_chars]
        space = cut.rfind(" ")
        chosen = cut[:space] if space > max_chars // 2 else cut
    return chosen


def _trim(excerpt: str) -> str:
    """Drop what models wrap quotes in: surrounding quote marks, ellipses, spaces."""
    t = excerpt.strip()
    for _ in range(3):
        t = t.strip().strip("\"'“”‘’«»").strip()
        t = re.sub(r"^(\.\.\.|…)\s*", "", t)
        t = re.sub(r"\s*(\.\.\.|…)$", "", t)
    return t


def _normalise_with_index(text: str) -> tuple[str, list[int]]:
    """Casefolded text with typography unified and runs of space collapsed, plus, for each
    character of the result, its index in ``text`` (to map a match back to the original)."""
    out: list[str] = []
    index: list[int] = []
    prev_space = True
    for i, ch in enumerate(text.translate(_TRANSLATE)):
        if ch.isspace():
            if prev_space:
                continue
            out.append(" ")
            index.append(i)
            prev_space = True
            continue
        low = ch.lower()
        if len(low) != 1:  # e.g. "İ".lower() is two characters; keep positions aligned
            low = ch
        out.append(low)
        index.append(i)
        prev_space = False
    while out and out[-1] == " ":
        out.pop()
        index.pop()
    return "".join(out), index
