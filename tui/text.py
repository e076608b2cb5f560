"""Text is data: how the TUI draws text it did not write.

What the moderator types, what personas and models say, persona and guide files, file paths
and error messages are drawn *as they are*: never parsed as markup (``[/b]`` is shown, and
never crashes a widget), and never passed to the terminal as control codes. Textual and Rich
drop some control characters silently (bell, backspace, carriage return…) and pass others
(escape, NUL) straight to the terminal, where a model's ``ESC[2J`` would clear the screen.
:func:`visible` draws each of them as its Unicode control picture (``␛``) instead, so the
text on screen is the text given, one character for one.

Use :func:`plain` for a Textual ``Content`` (labels, statics, border titles) and
:func:`plain_text` for a Rich ``Text`` (tables, the feed).
"""

from __future__ import annotations

from rich.style import StyleType
from rich.text import Text
from textual.content import Content

_PICTURES = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\n\t"}
_PICTURES[0x7F] = 0x2421  # DEL
_PICTURES.update({c: 0xFFFD for c in range(0x80, 0xA0)})  # C1 controls: the replacement character


def visible(text: str) -> str:
    """``text`` with each control character (except newline and tab) as a visible symbol."""
    return text.translate(_PICTURES)


def one_line(text: str) -> str:
    """:func:`visible`, for places that hold one line (border titles, the header): a line break
    or a tab is a space there."""
    return visible(text).replace("\n", " ").replace("\t", " ")


def preview(text: str, limit: int = 200) -> str:
    """The first ``limit`` characters of ``text`` for a toast, cut at a word with an ellipsis when
    longer (the whole text is where the toast points: the feed, the log)."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"


def plain(text: str, style: str = "") -> Content:
    """``text`` as Textual ``Content``: no markup, control characters made visible."""
    return Content.styled(visible(text), style) if style else Content(visible(text))


def plain_text(text: str, style: StyleType = "") -> Text:
    """``text`` as a Rich ``Text``: no markup, control characters made visible."""
    return Text(visible(text), style=style)
