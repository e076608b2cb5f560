"""What a model call costs, in US dollars.

Prices are USD per one million tokens: ``input`` (prompt), ``output`` (completion) and
``cached_input`` (prompt tokens the provider served from its prompt cache; OpenAI reports them
inside ``prompt_tokens`` and bills them lower). The built-in table covers common OpenAI models;
users extend or override it with ``[prices."model-name"]`` in the config file.

Model names match exactly first, then by the longest known name followed by ``-`` — so the
dated snapshot ``gpt-4.1-mini-2025-04-14`` costs what ``gpt-4.1-mini`` costs, and is never
confused with ``gpt-4.1``. A provider prefix (``openai/gpt-4o``) is ignored. An unknown model
costs 0.0: the accounting says "unknown", it does not guess.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class ModelPrice(BaseModel):
    """USD per 1M tokens for one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")
    cached_input: float | None = Field(
        default=None, ge=0, description="USD per 1M cached prompt tokens; None = same as input"
    )


def _p(input: float, output: float, cached_input: float | None = None) -> ModelPrice:
    return ModelPrice(input=input, output=output, cached_input=cached_input)


# Public list prices (standard tier). Dated snapshots that were priced differently from the
# alias are listed under their full name so the exact match wins.
BUILTIN_PRICES: dict[str, ModelPrice] = {
    "gpt-5": _p(1.25, 10.00, 0.125),
    "gpt-5.1": _p(1.25, 10.00, 0.125),
    "gpt-5-mini": _p(0.25, 2.00, 0.025),
    "gpt-5-nano": _p(0.05, 0.40, 0.005),
    "gpt-4.1": _p(2.00, 8.00, 0.50),
    "gpt-4.1-mini": _p(0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p(0.10, 0.40, 0.025),
    "gpt-4o": _p(2.50, 10.00, 1.25),
    "gpt-4o-2024-05-13": _p(5.00, 15.00),
    "gpt-4o-mini": _p(0.15, 0.60, 0.075),
    "o1": _p(15.00, 60.00, 7.50),
    "o1-mini": _p(1.10, 4.40, 0.55),
    "o3": _p(2.00, 8.00, 0.50),
    "o3-mini": _p(1.10, 4.40, 0.55),
    "o4-mini": _p(1.10, 4.40, 0.275),
    "gpt-4-turbo": _p(10.00, 30.00),
    "gpt-4": _p(30.00, 60.00),
    "gpt-3.5-turbo": _p(0.50, 1.50),
    # embedding models (input tokens only)
    "text-embedding-3-small": _p(0.02, 0.0),
    "text-embedding-3-large": _p(0.13, 0.0),
    "text-embedding-ada-002": _p(0.10, 0.0),
}


def _normalise(name: str) -> str:
    name = name.strip().lower()
    if "/" in name:  # "openai/gpt-4o" (routers, LiteLLM-style names)
        name = name.rsplit("/", 1)[1]
    return name


PriceTable = Mapping[str, "ModelPrice | Mapping[str, float]"]


def find_price(model: str | None, extra_prices: PriceTable | None = None) -> ModelPrice | None:
    """The price entry for ``model`` (user table first, then built-in), or None if unknown."""
    if not model:
        return None
    table: dict[str, ModelPrice] = {k.lower(): v for k, v in BUILTIN_PRICES.items()}
    for key, value in (extra_prices or {}).items():
        table[_normalise(key)] = value if isinstance(value, ModelPrice) else ModelPrice.model_validate(value)
    name = _normalise(model)
    if name in table:
        return table[name]
    best = max((k for k in table if name.startswith(k + "-")), key=len, default=None)
    return table[best] if best else None


def cost_usd(
    model: str | None,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    extra_prices: PriceTable | None = None,
) -> float:
    """USD cost of one call; 0.0 for a model with no known price.

    ``cached_tokens`` are a part of ``prompt_tokens`` (as OpenAI reports them), billed at the
    cached-input price.
    """
    price = find_price(model, extra_prices)
    if price is None:
        return 0.0
    cached = max(0, min(cached_tokens, prompt_tokens))
    cached_rate = price.input if price.cached_input is None else price.cached_input
    total = (prompt_tokens - cached) * price.input + cached * cached_rate + completion_tokens * price.output
    return total / 1_000_000
