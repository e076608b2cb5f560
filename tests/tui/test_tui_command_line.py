"""The moderator's command line: parsing and completion (pure, no screen)."""

import pytest

from troupe.core.names import match_leading_name as match_name
from troupe.tui.command_line import Ask, Command, CommandError, CommandSuggester, Speak, parse_line

NAMES = ["Maria Lopez", "Tom Becker", "Aiko Sato", "Maria Chen"]


def test_plain_text_speaks_to_the_room():
    assert parse_line("  What do you all think?  ", NAMES) == Speak("What do you all think?")


def test_double_slash_escapes_a_leading_slash():
    assert parse_line("//etc is a folder", NAMES) == Speak("/etc is a folder")


def test_at_name_asks_one_persona_full_name_any_case():
    assert parse_line("@maria lopez, why not?", NAMES) == Ask("Maria Lopez", "why not?")


def test_unique_first_name_is_enough_but_a_shared_one_is_refused():
    assert parse_line("@Tom what would change your mind?", NAMES) == Ask("Tom Becker", "what would change your mind?")
    with pytest.raises(CommandError, match="“Maria” could be Maria Lopez or Maria Chen"):
        parse_line("@Maria hello", NAMES)


def test_ask_needs_a_question():
    with pytest.raises(CommandError, match="what do you want to ask Aiko Sato"):
        parse_line("@Aiko", NAMES)


def test_commands_resolve_names_and_unique_prefixes():
    assert parse_line("/pause tom", NAMES) == Command("pause", "Tom Becker")
    assert parse_line("/pause", NAMES) == Command("pause", "")
    assert parse_line("/mu aiko sato", NAMES) == Command("mute", "Aiko Sato")
    assert parse_line("/stimulus A bottle of cold soup", NAMES) == Command("stimulus", "A bottle of cold soup")
    assert parse_line("/NEXT", NAMES) == Command("next", "")


def test_bad_commands_explain_themselves():
    with pytest.raises(CommandError, match="unknown command /dance"):
        parse_line("/dance", NAMES)
    with pytest.raises(CommandError, match="unknown command /p"):  # pause or poll: ambiguous
        parse_line("/p", NAMES)
    with pytest.raises(CommandError, match="/mute needs a name"):
        parse_line("/mute", NAMES)
    with pytest.raises(CommandError, match="nobody called “Bob”"):
        parse_line("/unmute Bob", NAMES)


def test_match_name_prefers_the_longest_name():
    assert match_name("Maria Lopez is right", NAMES) == ("Maria Lopez", "is right")
    assert match_name("Mariana hi", ["Maria", "Mariana"]) == ("Mariana", "hi")


async def test_suggester_completes_commands_names_and_command_arguments():
    suggester = CommandSuggester(NAMES)
    assert await suggester.get_suggestion("/st") == "/stimulus"
    assert await suggester.get_suggestion("/pa") == "/pause "
    assert await suggester.get_suggestion("@ai") == "@Aiko Sato"
    assert await suggester.get_suggestion("/mute to") == "/mute Tom Becker"
    assert await suggester.get_suggestion("hello") is None
    assert await suggester.get_suggestion("/") is None


def test_a_space_after_the_at_sign_still_names_and_a_bare_at_sign_says_how():
    names = ["Maria Lopez", "Tom Becker"]
    assert parse_line("@ Maria what do you pay?", names) == Ask("Maria Lopez", "what do you pay?")
    with pytest.raises(CommandError, match="nobody called “0”"):
        parse_line("@ 0 hello", names)  # the word after the space is the name looked for
    with pytest.raises(CommandError, match="@Name and the question"):
        parse_line("@  ", names)
