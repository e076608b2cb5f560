"""Slugs: the one way Troupe turns a name or a title into a file-system-safe word."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, *, limit: int | None = None) -> str:
    """``"Zoé Tremblay"`` → ``"zoe-tremblay"``: ASCII, lower case, words joined by ``-``.

    Accents fold to their letters (``é`` → ``e``); apostrophes join rather than split
    (``"O'Connor"`` → ``"oconnor"``); ``limit`` cuts at a word boundary's dash. Text with no
    Latin letters or digits gives ``""`` — callers choose their own fallback.
    """
    folded = unicodedata.normalize("NFKD", text.replace("'", "").replace("\u2019", ""))
    folded = folded.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:limit].rstrip("-") if limit is not None else slug
