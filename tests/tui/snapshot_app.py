"""The apps the snapshot tests photograph, and nothing else (posting's pattern).

Every app here is deterministic: the real Session with the scripted backend and a fixed
seed, a FixedClock, the elapsed timer frozen, no cursor blink, fixed guides and personas
(not the shipped ones, which other work may change). What happened before the screenshot
is played by the session itself inside the app's opener, so the log is built exactly as
in a live run.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.tui.tui_fixtures import make_cards, make_guide, tui_config
from troupe.core.actions import TurnAction
from troupe.core.config import Settings
from troupe.core.llm.protocol import ChatRequest, Message
from troupe.core.llm.scripted import ScriptedBackend, _Writer
from troupe.core.llm.structured import to_json_text
from troupe.core.polls import PollSpec
from troupe.personas.model import Persona
from troupe.sessions.guide import Guide
from troupe.sessions.session import Session
from troupe.tui.app import TroupeApp
from troupe.tui.watch import WatchApp

SNAPSHOT_DATA = Path(__file__).parent / "snapshot_data"
SEED = 7

Script = Callable[[Session], Awaitable[None]]

LINES = [
    "Honestly, if it tastes like my mother's I would buy it, but the price has to be right.",
    "Cold soup in a bottle? No. I like my soup hot and in a bowl, thank you.",
    "I'd try it after the gym, if it's not too salty.",
    "I want to know what is in it and how long it keeps in the fridge.",
    "At lunch I drink water, sometimes a smoothie when I am in a hurry.",
    "My customers would ask where it was made before they asked the price.",
]
FEELINGS = ["curious", "sceptical", "keen", "wary", "amused", "interested"]


class StableScripted(ScriptedBackend):
    """Replies that depend only on who is asked and how often, never on the prompt's wording.

    The snapshots photograph the UI; with this model they change when the UI changes, not
    when the engine rewords a prompt.
    """

    def __init__(self) -> None:
        super().__init__(seed=SEED)
        self._asked: Counter[str] = Counter()

    def _reply(self, request: ChatRequest, messages: list[Message]) -> str:
        key = f"{request.agent}|{request.purpose}"
        n = self._asked[key]
        self._asked[key] += 1
        who = sum(map(ord, request.agent or ""))
        if request.output_model is TurnAction:
            return to_json_text(
                TurnAction(
                    action="say",
                    text=LINES[(who + n) % len(LINES)],
                    to=None,
                    feeling=FEELINGS[(who + n) % len(FEELINGS)],
                )
            )
        rng = random.Random(f"{SEED}|{key}|{n}")
        bare = ChatRequest(messages=[], output_model=request.output_model, metadata=request.metadata)
        writer = _Writer(rng, bare)
        if request.output_model is None:
            return writer.utterance()
        return to_json_text(writer.instance(request.output_model.model_json_schema()))


def library() -> list[Persona]:
    people = [
        ("Maria Lopez", 42, "nurse", "Seville, Spain"),
        ("Tom Becker", 67, "retired postal worker", "Leeds, UK"),
        ("Aiko Sato", 24, "fitness instructor", "Osaka, Japan"),
        ("Kwame Mensah", 35, "software engineer", "Accra, Ghana"),
        ("Priya Raman", 29, "product manager", "Bengaluru, India"),
        ("Jean Dubois", 54, "bistro owner", "Lyon, France"),
    ]
    return [
        Persona(
            name=name,
            age=age,
            occupation={"title": job},
            residence=home,
            style="Plain-spoken; says what she or he thinks.",
            beliefs=["Good food is worth paying for."],
        )
        for name, age, job, home in people
    ]


def home_app(runs_dir: Path) -> TroupeApp:
    config = tui_config(
        runs_dir,
        guides=lambda: sorted(SNAPSHOT_DATA.glob("*.toml")),
        library=library,
        settings=Settings,
        backend_check=lambda _settings: {
            "auto": "the local extra is not installed",
            "openai": "no OPENAI_API_KEY, OPENAI_BASE_URL or Azure settings",
            "local": "the local extra is not installed: pip install 'troupe[local]'",
            "scripted": None,
        },
    )
    return TroupeApp(config)


def session_app(run_dir: Path, personas: int, script: Script, guide: Guide | None = None) -> TroupeApp:
    async def opener(cfg):  # type: ignore[no-untyped-def]
        session = await Session.start(
            guide or make_guide(), make_cards(personas), StableScripted(), run_dir, seed=SEED, clock=cfg.clock
        )
        await script(session)
        return session

    return TroupeApp(tui_config(run_dir.parent), opener=opener)


def watch_app(run_dir: Path, personas: int, script: Script) -> WatchApp:
    """``troupe watch`` on a run played here first (and left open: the observer sees it live)."""

    async def play() -> None:
        config = tui_config(run_dir.parent)
        session = await Session.start(
            make_guide(), make_cards(personas), StableScripted(), run_dir, seed=SEED, clock=config.clock
        )
        await script(session)
        await session.aclose()

    asyncio.run(play())
    return WatchApp(run_dir, "Ana", config=tui_config(run_dir.parent))


async def one_question(session: Session) -> None:
    await session.say("What do you usually drink with lunch?")


async def first_section(session: Session) -> None:
    await session.step()
    await session.step()


async def paused_and_muted(session: Session) -> None:
    await session.step()
    session.pause_agent("Tom Becker")
    session.mute_agent("Aiko Sato")
    await session.say("Would you try a cold soup from a bottle?")


async def a_poll(session: Session) -> None:
    await session.poll(PollSpec(id="intent", question="I would buy Gazpacho Go at 2.49 euros.", kind="likert5"))


async def a_multi_line_stimulus(session: Session) -> None:
    await session.say("Here is the concept:\nGazpacho Go, 330 ml, 2.49 euros\nin the chilled aisle")


async def many_long_turns(session: Session) -> None:
    """Nine questions: every pane has more lines than a tall terminal shows."""
    for n in range(9):
        await session.say(f"Question {n + 1}: tell us more about lunch.")


async def first_section_opened(session: Session) -> None:
    await session.step()


def guided_guide() -> Guide:
    """The snapshot guide with what the guide sidebar shows: goals, durations, probes."""
    data = make_guide().model_dump(exclude_none=True)
    first = data["sections"][0]
    first.update(
        goal="Learn what a normal lunch looks like before any concept is shown",
        duration_min=8,
        probes=["What would make you switch?", "Who decides what you eat at lunch?", "What did you have yesterday?"],
    )
    data["sections"][1]["duration_min"] = 15
    data["sections"][2]["duration_min"] = 5
    return Guide.model_validate(data)


async def starred_and_noted(session: Session) -> None:
    await session.step()
    await session.step()
    says = [e for e in session.events if e.type == "say"]
    session.highlight(says[0].seq, "habits")
    session.highlight(says[-1].seq)
    session.note("Tom sounds price-sensitive: probe in the concept section")
