"""Render a :class:`Persona` into the core's :class:`PersonaCard` (the system prompt's persona).

The card must fit a token budget (600 by default, 120 for the short variant a 135M local model
gets), so the persona is cut into small *items* (a belief, a like, one sentence of the job
description) grouped in *blocks* that each have a priority: what most shapes an opinion in a
focus group (who you are, what you believe, like and dislike, how you speak) comes first;
skills, health and trivia come last. Within a block, later items rank lower, so a tight
budget keeps the head of many blocks (breadth) rather than all of one. The chosen items are
printed in a natural reading order, not by rank.

Tokens are estimated offline with ``troupe.core.tokens`` (never tiktoken).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from troupe.core.card import PersonaCard
from troupe.core.tokens import estimate_tokens, truncate_to_tokens

from .model import BIG_FIVE, Persona, level_score

SHORT_BUDGET = 120
_TRAIT_LIST_MAX = 6
_TERMINAL = ".!?…\"'”)"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")


@dataclass
class _Block:
    order: int
    """Position in the printed text (reading order)."""
    priority: int
    """Lower is kept first when the budget is tight."""
    head: str
    items: list[tuple[str, str]] = field(default_factory=list)
    """``(group, text)``; a non-empty group prints as ``group: a; b`` (used by routines)."""


def render_card(persona: Persona, *, budget_tokens: int = 600) -> PersonaCard:
    """The persona's card: prompt within ``budget_tokens``, short prompt, descriptor, traits."""
    return PersonaCard(
        name=persona.name,
        descriptor=descriptor(persona),
        prompt=render_prompt(persona, budget_tokens=budget_tokens),
        short_prompt=short_prompt(persona),
        traits=traits(persona),
    )


def render_prompt(persona: Persona, *, budget_tokens: int = 600) -> str:
    """The second-person persona text, the most opinion-relevant facts first to survive."""
    return _fit(_identity(persona, compact=False), _blocks(persona), budget_tokens, spread=1.0)


def short_prompt(persona: Persona, *, budget_tokens: int = SHORT_BUDGET) -> str:
    """A compact variant (about 120 tokens) for tiny local models with short contexts."""
    return _fit(_identity(persona, compact=True), _blocks(persona), budget_tokens, spread=2.0)


def descriptor(persona: Persona) -> str:
    """One line for pane titles: ``"42 · nurse · Seville"`` (missing parts are left out)."""
    parts = [
        str(persona.age) if persona.age is not None else "",
        _title_case_off(persona.occupation.title),
        persona.city,
    ]
    return " · ".join(p for p in parts if p)


def traits(persona: Persona) -> dict[str, Any]:
    """The few values turn policies and the scripted backend read (keys are a contract)."""
    big_five = persona.personality.big_five
    scores = {name: _score(big_five.score(name)) for name in BIG_FIVE}
    talk = persona.talkativeness
    if talk is None:  # quiet introverts, chatty extraverts
        talk = 0.2 + 0.6 * scores["extraversion"]
    prefs = persona.preferences
    return {
        "age": persona.age,
        "gender": persona.gender,
        "occupation": persona.occupation.title,
        "residence": persona.residence,
        "city": persona.city,
        "country": persona.country,
        "income": persona.income,
        "interests": prefs.interests[:_TRAIT_LIST_MAX],
        "likes": prefs.likes[:_TRAIT_LIST_MAX],
        "dislikes": prefs.dislikes[:_TRAIT_LIST_MAX],
        "style": _sentences(persona.style or "")[0] if persona.style else "",
        "talkativeness": round(talk, 2),
        **scores,
        # A twin's own survey answers (``generate --like``), so a validation can group by them.
        **({"survey": dict(persona.extra["survey"])} if isinstance(persona.extra.get("survey"), dict) else {}),
    }


# -- blocks ----------------------------------------------------------------------------------


def _identity(persona: Persona, *, compact: bool) -> str:
    occupation = persona.occupation
    text = f"You are {persona.name}"
    if persona.age is not None:
        text += f", {persona.age}"
    if occupation.title:
        title = occupation.title.strip()
        text += f", {_article(title)} {title}"
        if occupation.organization and not compact:
            text += f" at {occupation.organization.strip()}"
    if persona.residence:
        text += f", living in {persona.residence.strip()}"
    text += "."
    who = " and ".join(p for p in (persona.gender.lower() if persona.gender else "", persona.nationality or "") if p)
    if who:
        text += f" You are {who}."
    return text


# What survives a tight budget first (lower = kept first): what most shapes an opinion in a
# discussion ranks high; background detail and trivia rank low.
_PRIORITY = {
    "beliefs": 1,
    "speech": 2,
    "likes": 2,
    "dislikes": 2,
    "personality": 3,
    "life": 5,
    "interests": 6,
    "named_habits": 7,
    "goals": 8,
    "routine": 9,
    "habits": 10,
    "work": 11,
    "health": 12,
    "relationships": 13,
    "facts": 14,
    "skills": 15,
    "education": 16,
    "extra": 17,
}


def _blocks(persona: Persona) -> list[_Block]:
    """The persona as blocks, in reading order (the order of the ``add`` calls)."""
    p = persona
    blocks: list[_Block] = []

    def add(kind: str, head: str, items: list[str] | list[tuple[str, str]]) -> None:
        pairs = [item if isinstance(item, tuple) else ("", item) for item in items]
        clean = [(group, text.strip()) for group, text in pairs if text and text.strip()]
        if clean:
            blocks.append(_Block(len(blocks), _PRIORITY[kind], head, clean))

    background = []
    if p.household:
        background.append(f"Household: {_period(p.household)}")
    if p.income:
        background.append(f"Income: {p.income} for your country.")
    if p.languages:
        background.append(f"You speak {_and_list(p.languages)}.")
    add("life", "Your life:", background)
    add("work", "Your work:", _sentences(p.occupation.description))
    big_five = [
        f"{name.capitalize()}: {_level_text(value)}"
        for name in BIG_FIVE
        if (value := getattr(p.personality.big_five, name)) is not None
    ]
    add("personality", "Your personality:", p.personality.traits + big_five)
    speech = _sentences(p.style or "")
    if p.verbal_tics:
        speech.insert(1, "Phrases you often use: " + ", ".join(f"\u201c{t}\u201d" for t in p.verbal_tics) + ".")
    add("speech", "How you speak:", speech)
    add("beliefs", "You believe:", p.beliefs)
    add("likes", "You like:", p.preferences.likes)
    add("dislikes", "You dislike:", p.preferences.dislikes)
    add("interests", "Your interests:", p.preferences.interests)
    for name, items in p.behaviors.named_lists().items():
        add("named_habits", f"Your {name.replace('_', ' ')} habits:", items)
    add("habits", "Your habits:", p.behaviors.general)
    add("routine", "Your routine:", [(when, text) for when, items in p.behaviors.routines.items() for text in items])
    add("goals", "Your long-term goals:", p.long_term_goals)
    add(
        "relationships",
        "People in your life:",
        [f"{r.name}: {r.description}" if r.description else r.name for r in p.relationships],
    )
    add("skills", "Your skills:", p.skills)
    add("health", "Your health:", _sentences(p.health or ""))
    add("facts", "Other facts about you:", p.other_facts)
    add("education", "Education:", _sentences(p.education or ""))
    add("extra", "Also:", _extra_items({k: v for k, v in p.extra.items() if k != "tinytroupe"}))
    return blocks


def _fit(identity: str, blocks: list[_Block], budget: int, *, spread: float) -> str:
    """Choose items by rank until the budget is reached; print them in reading order.

    An item's rank is its block's priority plus ``spread`` × its index in the block, so the
    first belief outranks the fifth, and the fifth belief may lose to the first like: a tight
    budget keeps the top of many blocks rather than all of one. Items that do not fit are
    skipped (a shorter one further down may still fit).
    """
    if estimate_tokens(identity) >= budget:
        return truncate_to_tokens(identity, budget)
    chosen: dict[int, list[int]] = {id(b): [] for b in blocks}
    ranked = sorted(
        ((b.priority + spread * i, b.order, i, b) for b in blocks for i in range(len(b.items))),
        key=lambda r: r[:3],
    )
    for _, _, index, block in ranked:
        chosen[id(block)].append(index)
        if estimate_tokens(_render(identity, blocks, chosen)) > budget:
            chosen[id(block)].pop()
    return _render(identity, blocks, chosen)


def _render(identity: str, blocks: list[_Block], chosen: dict[int, list[int]]) -> str:
    lines = [identity]
    for block in sorted(blocks, key=lambda b: b.order):
        picked = [block.items[i] for i in sorted(chosen[id(block)])]
        if not picked:
            continue
        groups: dict[str, list[str]] = {}
        for group, text in picked:
            groups.setdefault(group, []).append(text)
        body = " ".join(f"{g}: {_join(items)}" if g else _join(items) for g, items in groups.items())
        lines.append(f"{block.head} {body}")
    return "\n".join(lines)


# -- small text helpers --------------------------------------------------------------------


def _join(items: list[str]) -> str:
    """Sentences keep their own full stops; bare phrases are separated by semicolons.

    ``["Warm.", "fresh bread", "olives"]`` → ``"Warm. fresh bread; olives."``
    """
    out = []
    for i, text in enumerate(items):
        if text[-1] in _TERMINAL:
            out.append(text)
        else:
            out.append(text.rstrip(";,") + ("." if i == len(items) - 1 else ";"))
    return " ".join(out)


def _period(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in _TERMINAL else text + "."


def _sentences(text: str) -> list[str]:
    text = " ".join(text.split())
    return [s for s in _SENTENCE_END.split(text) if s] if text else []


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _title_case_off(title: str) -> str:
    """ "Data Scientist" → "data scientist"; acronyms ("CEO") keep their case."""
    return " ".join(w.lower() if w[1:].islower() else w for w in title.split())


def _score(value: float | None) -> float:
    return round(0.5 if value is None else value, 2)


def _level_text(value: str | float) -> str:
    if isinstance(value, str):
        return value
    score = level_score(value) or 0.0
    word = (
        "very high"
        if score >= 0.85
        else "high"
        if score >= 0.65
        else "medium"
        if score > 0.35
        else "low"
        if score > 0.15
        else "very low"
    )
    return f"{word} ({score:.2f})"


def _extra_items(extra: dict[str, Any], prefix: str = "") -> list[str]:
    """Readable text leaves of ``extra`` (``key: value``); other values are left to ``show``."""
    out: list[str] = []
    for key, value in extra.items():
        label = f"{prefix}{key}".replace("_", " ")
        if isinstance(value, str) and value.strip():
            out.append(f"{label}: {value.strip()}")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(f"{label}: {value}")
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out.append(f"{label}: " + "; ".join(v.strip().rstrip(".") for v in value))
        elif isinstance(value, dict):
            out.extend(_extra_items(value, f"{label} "))
    return out
