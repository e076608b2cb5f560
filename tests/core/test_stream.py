"""PartialTextExtractor: the ``text`` field out of JSON arriving in arbitrary pieces."""

from __future__ import annotations

import json

import pytest

from troupe.core.llm.stream import PartialTextExtractor


def feed_all(raw: str, size: int, field: str = "text") -> list[str]:
    extractor = PartialTextExtractor(field)
    return [extractor.feed(raw[i : i + size]) for i in range(0, len(raw), size)]


def test_empty_until_the_field_starts_then_grows() -> None:
    extractor = PartialTextExtractor()
    assert extractor.feed('{"action": "say", ') == ""
    assert extractor.feed('"te') == ""
    assert extractor.feed('xt": "Hel') == "Hel"
    assert extractor.feed("lo, wor") == "Hello, wor"
    assert extractor.feed('ld", "to": null}') == "Hello, world"
    assert extractor.text == "Hello, world"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_escapes_split_across_deltas(size: int) -> None:
    value = 'She said "no"\\ then\nleft — tab\there, café \u00e9 and \u2603 ☃'
    raw = json.dumps({"action": "say", "text": value, "to": None}, ensure_ascii=True)
    seen = feed_all(raw, size)
    assert seen[-1] == value
    # never shows a half escape: every intermediate value is a prefix of the final text
    for partial in seen:
        assert value.startswith(partial), partial


def test_escaped_lookalike_in_another_value_is_ignored() -> None:
    raw = json.dumps({"note": 'has "text": "decoy" inside', "text": "real"})
    assert feed_all(raw, 4)[-1] == "real"


def test_another_field() -> None:
    raw = json.dumps({"value": 4, "rationale": "Because price."})
    assert feed_all(raw, 4, field="rationale")[-1] == "Because price."


def test_whitespace_variants_and_incomplete_unicode_escape() -> None:
    extractor = PartialTextExtractor()
    assert extractor.feed('{ "text" :  "a\\u00') == "a"
    assert extractor.feed("e9b") == "aéb"


def test_a_repaired_reply_streamed_after_a_bad_one_takes_over() -> None:
    extractor = PartialTextExtractor()
    extractor.feed('{"action":"say","text":"first attempt, bad"')
    assert extractor.text == "first attempt, bad"
    extractor.feed(' ,}{"action":"say","text":"sec')
    assert extractor.text == "sec"
    extractor.feed('ond"}')
    assert extractor.text == "second"
