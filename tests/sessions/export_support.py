"""A synthetic but realistic run log for export and report tests.

Written with the real :class:`EventLog` (so it is exactly what a session writes), with a fixed
clock, and full of the things exports must get right: a stimulus containing ``<script>``,
text with commas, quotes and newlines, a muted remark, a private thought, a pass, a failed
turn, and polls of every numeric and choice kind with values logged in different shapes.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from troupe.core.clock import FixedClock
from troupe.core.log import EventLog
from troupe.sessions.guide import load_guide

PEOPLE = ["Maria Lopez", "Tom Becker", "Aiko Sato", "Kwame Mensah"]
CARDS = {
    "Maria Lopez": {
        "name": "Maria Lopez",
        "descriptor": "42 · nurse · Seville",
        "prompt": "You are Maria.",
        "traits": {},
    },
    "Tom Becker": {
        "name": "Tom Becker",
        "descriptor": "67 · retired engineer · Leeds",
        "prompt": "You are Tom.",
        "traits": {},
    },
    "Aiko Sato": {"name": "Aiko Sato", "descriptor": "24 · designer · Osaka", "prompt": "You are Aiko.", "traits": {}},
    "Kwame Mensah": {
        "name": "Kwame Mensah",
        "descriptor": "35 · teacher · Accra",
        "prompt": "You are Kwame.",
        "traits": {},
    },
}
SCRIPT_STIMULUS = 'Concept with <script>alert("pwned")</script> & a "quoted", comma-laden line\nand a second line'
TRICKY_SAY = "Well, \"cheap\" isn't the word,\nI'd say — fair, at a push; 50/50 = maybe"
THOUGHT = "They are all far too polite about this bottle."
MUTED_SAY = "Nobody hears me, but the bottle looks lovely."

GENERATED_AT = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)


def write_run(run_dir: Path, *, ended: bool = True) -> Path:
    """Write the synthetic run to ``run_dir/events.jsonl``; returns the run folder."""
    guide = load_guide("concept-test")
    run_dir.mkdir(parents=True, exist_ok=True)
    with EventLog(run_dir / "events.jsonl", clock=FixedClock(), fsync=False) as log:
        a = log.append
        a(
            "session_started",
            title=guide.title,
            spec=str(guide.source),
            personas=PEOPLE,
            backend="scripted",
            model="scripted-1",
            seed=0,
            guide=guide.model_dump(mode="json"),
            persona_cards=CARDS,
        )
        a("section_started", index=0, title="Warm-up")
        a("moderator", text="Welcome! Tell us your name and your usual quick lunch.", to=None)
        a(
            "say",
            agent="Maria Lopez",
            text="I'm Maria. Usually a salad from the hospital canteen, eaten standing up.",
            turn=1,
        )
        a("say", agent="Tom Becker", text="Tom. A cheese sandwich, same as for forty years.", turn=1)
        a("say", agent="Aiko Sato", text="Aiko here — a smoothie after the gym, most days.", turn=1)
        a("pass", agent="Kwame Mensah", turn=1)
        a(
            "llm_call",
            agent="Maria Lopez",
            purpose="turn",
            prompt_tokens=812,
            completion_tokens=44,
            latency_ms=350.0,
            cost_usd=0.0004,
        )
        a("section_started", index=1, title="Concept reactions")
        a("moderator", text="I'm going to show you two ideas for the same product.", to=None)
        a(
            "stimulus",
            source="guide",
            kind="concept",
            title="Concept A — everyday veggie boost",
            text="Two of your five-a-day in a 330 ml bottle. €2.49.",
            to=None,
        )
        a("stimulus", source="moderator", kind="text", title=None, text=SCRIPT_STIMULUS, to=None)
        a(
            "say",
            agent="Maria Lopez",
            text="If it tastes like my mother's gazpacho I would buy it, but the price worries me a little.",
            turn=2,
        )
        a(
            "say",
            agent="Tom Becker",
            text="Cold soup in a bottle? No. And €2.49 is a steep price for 330 ml.",
            turn=2,
            to="Maria Lopez",
        )
        a("think", agent="Tom Becker", text=THOUGHT, turn=2)
        a(
            "say",
            agent="Aiko Sato",
            text="I'd try it after the gym if it isn't too salty. The glass bottle feels premium.",
            turn=2,
        )
        a(
            "say",
            agent="Kwame Mensah",
            text="The price is fine for a lunch. I want to know how salty it is, though.",
            turn=2,
        )
        a("agent_muted", agent="Aiko Sato")
        a("say", agent="Aiko Sato", text=MUTED_SAY, turn=3, muted=True)
        a("say", agent="Kwame Mensah", text=TRICKY_SAY, turn=3)
        a("error", agent="Tom Becker", kind="invalid_output", message="reply did not match the schema", recovered=False)
        a("say", agent="Maria Lopez", text="A salty soup would put me off too; my husband watches his salt.", turn=3)
        a(
            "poll_asked",
            poll_id="preferred_concept",
            question="Which concept appeals to you more?",
            kind="single",
            options=["Concept A", "Concept B", "Neither"],
            private_first=True,
        )
        a(
            "poll_answer",
            poll_id="preferred_concept",
            agent="Maria Lopez",
            value="Concept B",
            rationale="It sounds like home.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="preferred_concept",
            agent="Tom Becker",
            value="Neither",
            rationale="I don't drink soup.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="preferred_concept",
            agent="Aiko Sato",
            value="concept a",
            rationale="Fits my gym routine.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="preferred_concept",
            agent="Kwame Mensah",
            value="Concept B",
            rationale="Authentic, with olive oil.",
            revealed=False,
        )
        a("section_started", index=2, title="Purchase intent")
        a(
            "poll_asked",
            poll_id="purchase_intent",
            question="I would buy Gazpacho Go at €2.49 in the next month.",
            kind="likert5",
            options=None,
            private_first=True,
        )
        a(
            "poll_answer",
            poll_id="purchase_intent",
            agent="Maria Lopez",
            value="Agree",
            rationale="If the taste is right.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="purchase_intent",
            agent="Tom Becker",
            value=1,
            rationale="Not for me, at any price.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="purchase_intent",
            agent="Aiko Sato",
            value=4,
            rationale="After the gym, yes.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="purchase_intent",
            agent="Kwame Mensah",
            value="5",
            rationale="I'd try it, definitely.",
            revealed=False,
        )
        a(
            "poll_asked",
            poll_id="fair_price",
            question="What is the most you would pay, in euros?",
            kind="number",
            options=None,
            private_first=True,
        )
        a(
            "poll_answer",
            poll_id="fair_price",
            agent="Maria Lopez",
            value=2.5,
            rationale="Like a smoothie.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="fair_price",
            agent="Tom Becker",
            value=1.5,
            rationale="Soup is cheap to make.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="fair_price",
            agent="Aiko Sato",
            value=3,
            rationale="Premium glass bottle.",
            revealed=False,
        )
        a(
            "poll_answer",
            poll_id="fair_price",
            agent="Kwame Mensah",
            value=2,
            rationale="Lunch budget, = €2.",
            revealed=False,
        )
        a(
            "say",
            agent="Maria Lopez",
            text="The price question is about the taste for me: if it is good, I would pay.",
            turn=4,
        )
        a("say", agent="Kwame Mensah", text="For me the price is fair if the taste is authentic.", turn=4)
        if ended:
            a("session_ended", reason="guide finished")
    return run_dir
