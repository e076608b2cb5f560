"""Pull the human-readable ``text`` field out of a JSON object while it streams in.

Structured turns stream as raw JSON (``{"action":"say","text":"Honestly, if it…``). Panes
want the words, not the braces: :class:`PartialTextExtractor` is fed deltas and returns the
decoded value of one string field as far as it has arrived.
"""

from __future__ import annotations

import json
import re

_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


class PartialTextExtractor:
    def __init__(self, field: str = "text") -> None:
        self._buffer = ""
        self._pattern = re.compile(r'"' + re.escape(field) + r'"\s*:\s*"')

    def feed(self, delta: str) -> str:
        """Add a delta; return the field's text so far ("" until it starts)."""
        self._buffer += delta
        return self.text

    @property
    def text(self) -> str:
        # The last occurrence wins: after a repair call the backend streams a second object
        # into the same callback, and that one is the reply that counts.
        match = None
        for found in self._pattern.finditer(self._buffer):
            match = found
        if match is None:
            return ""
        out: list[str] = []
        i = match.end()
        buf = self._buffer
        while i < len(buf):
            ch = buf[i]
            if ch == '"':
                break
            if ch == "\\":
                if i + 1 >= len(buf):
                    break
                esc = buf[i + 1]
                if esc == "u":
                    if i + 6 > len(buf):
                        break
                    try:
                        out.append(json.loads(f'"{buf[i : i + 6]}"'))
                    except ValueError:
                        pass
                    i += 6
                    continue
                out.append(_ESCAPES.get(esc, esc))
                i += 2
                continue
            out.append(ch)
            i += 1
        return "".join(out)
