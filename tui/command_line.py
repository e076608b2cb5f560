"""The moderator's command line: what a typed line means, and how it completes.

Plain text speaks to the room, ``@Name …`` asks one persona, ``/verb [argument]`` runs a
moderator command. Parsing is a pure function over the seated names so every rule (names
with spaces, first names, case) is tested without a screen; the screen only executes the
result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from textual.suggester import Suggester

from troupe.core.names import match_leading_name, why_unresolved

from .verbs import BY_COMMAND, COMMANDS, NAMED_COMMANDS

_WORD_END = re.compile(r"[ \n]")


class CommandError(ValueError):
    """A line that cannot be run; the message is shown to the moderator as is."""


@dataclass(frozen=True)
class Speak:
    """Plain text: the moderator speaks to the whole room."""

    text: str


@dataclass(frozen=True)
class Ask:
    """``@Name text``: only ``name`` answers."""

    name: str
    text: str


@dataclass(frozen=True)
class Command:
    """``/verb argument``; for named commands ``argument`` is a resolved persona name."""

    verb: str
    argument: str = ""
    rest: str = ""
    """What follows the name, for ``/devil Name position`` and ``/hold Name N``."""


Parsed = Speak | Ask | Command


def parse_line(line: str, names: Sequence[str]) -> Parsed:
    """Turn one submitted line into a :data:`Parsed` action; raise :class:`CommandError`."""
    text = line.strip()
    if not text:
        raise CommandError("nothing to say")
    if text.startswith("@"):
        addressed = text[1:].lstrip()  # "@ Maria …" names Maria too
        if not addressed:
            raise CommandError(
                f"ask one persona with @Name and the question, e.g. @{_first(names)} what would you pay?"
            )
        found = match_leading_name(addressed, names)
        if found is None:
            raise CommandError(why_unresolved(_first_word(addressed)[0], names))
        name, rest = found[0], found[1].strip()
        if not rest:
            raise CommandError(f"what do you want to ask {name}?")
        return Ask(name, rest)
    if text.startswith("/") and not text.startswith("//"):
        verb, argument = _first_word(text[1:])
        verb = verb.casefold()
        candidates = [c for c in COMMANDS if c.startswith(verb)] if verb else []
        if verb not in COMMANDS:
            if len(candidates) != 1:
                raise CommandError(f"unknown command /{verb} (try /help)")
            verb = candidates[0]
        argument = argument.strip()
        if verb in NAMED_COMMANDS and argument:
            found = match_leading_name(argument, names)
            if found is None:
                raise CommandError(why_unresolved(argument, names))
            if BY_COMMAND[verb].keeps_rest:  # /devil Name [position], /hold Name [N]
                return Command(verb, found[0], found[1].strip())
            argument = found[0]
        elif BY_COMMAND[verb].needs_argument and not argument:
            if verb not in NAMED_COMMANDS:
                raise CommandError(f"/{verb} needs its argument: {BY_COMMAND[verb].syntax}")
            raise CommandError(f"/{verb} needs a name, e.g. /{verb} {_first(names)}")
        return Command(verb, argument)
    return Speak(text[1:] if text.startswith("//") else text)


def _first(names: Sequence[str]) -> str:
    """The first name of the first persona seated, for an example in a notice."""
    return names[0].split(" ", 1)[0] if names else "Maria"


def _first_word(text: str) -> tuple[str, str]:
    """``stimulus A new soup`` → ``("stimulus", "A new soup")``: a word ends at a space or a line
    break (the composer's ctrl+j), so ``/stimulus`` and ``@Name`` may go on on the next line."""
    found = _WORD_END.search(text)
    return (text, "") if found is None else (text[: found.start()], text[found.end() :])


class CommandSuggester(Suggester):
    """Completes ``/commands``, ``@Names`` and the names after ``/pause`` and friends.

    The suggestion keeps what was typed and adds the rest with the proper capitals, so
    accepting it (→ or tab) also fixes ``@maria`` into ``@Maria Lopez``.
    """

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__(use_cache=True, case_sensitive=False)
        self.names = list(names)

    async def get_suggestion(self, value: str) -> str | None:
        return self.complete(value)

    def complete(self, value: str) -> str | None:
        """``value`` completed (the whole of it), or None."""
        if value.startswith("@"):
            return _complete(value, "@", self.names)
        if value.startswith("/"):
            verb, space, argument = value[1:].partition(" ")
            if not space:
                return _complete(value, "/", [f"{c} " if c in NAMED_COMMANDS else c for c in COMMANDS])
            if verb in NAMED_COMMANDS:
                return _complete(value, f"/{verb} ", self.names)
        return None


def _complete(value: str, prefix: str, choices: Iterable[str]) -> str | None:
    typed = value[len(prefix) :]
    if not typed and prefix == "/":
        return None
    for choice in choices:
        if choice.casefold().startswith(typed) and len(choice) > len(typed):
            return prefix + choice
    return None
