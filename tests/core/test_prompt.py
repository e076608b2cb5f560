"""Prompt assembly: the stable-prefix order, the token budget, the mental state in the prompt."""

from __future__ import annotations

from engine_fixtures import make_card

from troupe.core.memory import MemoryItem
from troupe.core.prompt import PromptBudget, PromptBuilder, common_prefix_share
from troupe.core.tokens import estimate_tokens


def _items(n: int, start: int = 1) -> list[MemoryItem]:
    return [
        MemoryItem(i, "heard", f"Tom Becker: remark {i} about bottled soup and its price in shops.")
        for i in range(start, start + n)
    ]


def test_layout_is_system_then_summary_and_window_then_the_turn() -> None:
    card = make_card("Maria Lopez", {"talkativeness": 0.7})
    builder = PromptBuilder(card, panel=["Maria Lopez", "Tom Becker"])
    prompt = builder.build(
        summary="We discussed soup.",
        window=_items(3),
        state="You feel curious.",
        current="What about the price?",
    )
    system, context, now = prompt.messages
    assert (system.role, context.role, now.role) == ("system", "user", "user")
    assert (
        card.prompt in system.content
        and "Tom Becker" in system.content
        and "Maria Lopez" not in system.content.split("# The room")[1]
    )
    assert (
        context.content.index("We discussed soup.")
        < context.content.index("remark 1")
        < context.content.index("remark 3")
    )
    assert now.content.index("You feel curious.") < now.content.index("What about the price?")
    assert now.content.rstrip().endswith("What about the price?")  # the question comes last


def test_system_message_is_fixed_for_the_session() -> None:
    builder = PromptBuilder(make_card("Aiko Sato"), panel=["Aiko Sato", "Tom Becker"])
    a = builder.build(summary="", window=_items(2), state="s1", current="q1")
    b = builder.build(summary="new summary", window=_items(9), state="s2", current="q2")
    assert a.messages[0] == b.messages[0]


def test_budget_drops_the_oldest_window_lines_first() -> None:
    builder = PromptBuilder(make_card("Aiko Sato", words=300), budget=PromptBudget(total=1200))
    window = _items(200)
    prompt = builder.build(summary="A summary.", window=window, state="You feel fine.", current="Go on.")
    total = sum(estimate_tokens(m.content) for m in prompt.messages)
    assert total <= 1200 and prompt.tokens <= 1200
    assert 0 < prompt.window_lines < 200
    assert "remark 200 " in prompt.messages[1].content and "remark 1 " not in prompt.messages[1].content


def test_window_budget_accounts_for_the_fixed_parts() -> None:
    small = PromptBuilder(make_card("Tom Becker", words=20))
    large = PromptBuilder(make_card("Tom Becker", words=400))
    assert small.window_budget > large.window_budget >= PromptBudget().min_window


def test_consecutive_prompts_share_a_long_prefix_when_the_window_grows() -> None:
    builder = PromptBuilder(make_card("Maria Lopez", words=300), panel=["Maria Lopez", "Tom Becker"])
    first = builder.build(summary="S", window=_items(10), state="feeling ok", current="q")
    second = builder.build(summary="S", window=_items(14), state="feeling better", current="q2")
    assert common_prefix_share(first.text, second.text) > 0.7


def test_common_prefix_share() -> None:
    assert common_prefix_share("abcdef", "abcxyz") == 0.5
    assert common_prefix_share("", "abcd") == 0.0
    assert common_prefix_share("abcd", "abcd") == 1.0


def test_the_system_estimate_of_a_big_panel_is_the_estimate_of_its_text() -> None:
    """The system message's token count is added up from its parts (a 1,000-persona panel is
    not scanned once per persona): it must equal the estimate of the whole text, whatever the
    names — accents, digits, hyphens, apostrophes, long words, a name seated twice."""
    import random

    from troupe.core.card import PersonaCard
    from troupe.core.prompt import PromptBuilder
    from troupe.core.tokens import estimate_tokens

    rng = random.Random(4)
    parts = ["Ana", "María-José", "O'Neil", "Zoë", "Bartholomew-Featherstonehaugh", "R2D2", "李", "Jr.", "van der Berg"]
    panel = [" ".join(rng.sample(parts, rng.randint(1, 3))) + f" {i}" for i in range(300)]
    panel += [panel[5]]  # seated twice: both left out of that persona's list
    for name in [panel[0], panel[5], "Not Seated", panel[-2]]:
        card = PersonaCard(name=name, descriptor="x", prompt=f"You are {name}. You like soup.", short_prompt="Short.")
        for short in (False, True):
            builder = PromptBuilder(card, panel=panel, short=short)
            assert builder.system_tokens == estimate_tokens(builder.system), (name, short)
    alone = PromptBuilder(PersonaCard(name="Solo", descriptor="x", prompt="You are Solo."), panel=["Solo"])
    assert alone.system_tokens == estimate_tokens(alone.system) and "The other participants:" not in alone.system
