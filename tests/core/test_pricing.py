"""Cost accounting: built-in prices, dated names, cached input, user table, unknown models."""

from __future__ import annotations

import pytest

from troupe.core.llm.pricing import BUILTIN_PRICES, ModelPrice, cost_usd, find_price


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("gpt-4.1-mini", "gpt-4.1-mini"),
        ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
        ("gpt-4.1-2025-04-14", "gpt-4.1"),
        ("GPT-4o-mini", "gpt-4o-mini"),
        ("openai/gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),
        ("gpt-4o-2024-08-06", "gpt-4o"),
        ("o4-mini-2025-04-16", "o4-mini"),
        ("gpt-5-mini-2025-08-07", "gpt-5-mini"),
    ],
)
def test_prefix_and_dated_name_matching(name: str, expected: str) -> None:
    assert find_price(name) == BUILTIN_PRICES[expected]


def test_cost_with_and_without_cached_tokens() -> None:
    # gpt-4.1-mini: $0.40 in, $0.10 cached in, $1.60 out per 1M
    assert cost_usd("gpt-4.1-mini", 1_000_000, 0) == pytest.approx(0.40)
    assert cost_usd("gpt-4.1-mini", 0, 1_000_000) == pytest.approx(1.60)
    assert cost_usd("gpt-4.1-mini", 3000, 200, cached_tokens=2000) == pytest.approx(
        (1000 * 0.40 + 2000 * 0.10 + 200 * 1.60) / 1e6
    )
    # cached tokens never exceed the prompt
    assert cost_usd("gpt-4.1-mini", 100, 0, cached_tokens=500) == pytest.approx(100 * 0.10 / 1e6)


def test_unknown_models_cost_nothing() -> None:
    assert cost_usd("llama3.1:8b", 5000, 500) == 0.0
    assert cost_usd(None, 5000, 500) == 0.0
    assert find_price("gpt-4.1x") is None  # a prefix without the "-" boundary is not a match


def test_user_prices_extend_and_override() -> None:
    extra = {"llama3.1:8b": ModelPrice(input=0.1, output=0.2), "gpt-4o-mini": {"input": 1.0, "output": 2.0}}
    assert cost_usd("llama3.1:8b", 1_000_000, 1_000_000, extra_prices=extra) == pytest.approx(0.3)
    assert cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0, extra_prices=extra) == pytest.approx(1.0)
    # no cached_input price: cached tokens cost the input price
    assert cost_usd("llama3.1:8b", 1_000_000, 0, cached_tokens=1_000_000, extra_prices=extra) == pytest.approx(0.1)
