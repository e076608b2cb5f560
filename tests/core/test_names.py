"""One rule for who a typed name means (core/names.py), shared by room, session and command line."""

from troupe.core.names import leading_mentions, match_leading_name, resolve_name, why_unresolved

NAMES = ["Maria Lopez", "Tom Becker", "Aiko Sato", "Maria Chen"]


def test_full_names_and_unique_first_names_resolve_in_any_case() -> None:
    assert resolve_name("maria lopez", NAMES) == "Maria Lopez"
    assert resolve_name("  TOM ", NAMES) == "Tom Becker"
    assert resolve_name("aiko", NAMES) == "Aiko Sato"


def test_a_shared_first_name_names_nobody_and_says_who_shares_it() -> None:
    assert resolve_name("Maria", NAMES) is None
    assert why_unresolved("Maria", NAMES) == "“Maria” could be Maria Lopez or Maria Chen: use the full name"
    assert why_unresolved("Bob", NAMES) == "nobody called “Bob” is on the panel"
    assert resolve_name("", NAMES) is None and resolve_name(None, NAMES) is None


def test_the_longest_full_name_at_a_word_boundary_wins() -> None:
    assert match_leading_name("Maria Lopez, why not?", NAMES) == ("Maria Lopez", "why not?")
    assert match_leading_name("Mariana hi", ["Maria", "Mariana"]) == ("Mariana", "hi")
    assert match_leading_name("Tom? are you there", NAMES) == ("Tom Becker", "? are you there")
    assert match_leading_name("Maria hello", NAMES) is None


def test_leading_mentions_take_every_addressee_and_leave_the_rest() -> None:
    assert leading_mentions("@Tom @aiko sato what do you two think?", NAMES) == (
        ["Tom Becker", "Aiko Sato"],
        "what do you two think?",
    )
    assert leading_mentions("@Maria hello", NAMES) == ([], "@Maria hello")
    assert leading_mentions("no mention @Tom", NAMES) == ([], "no mention @Tom")
