"""Test data and Pilot helpers shared by the TUI tests, the snapshot app module and the benchmarks."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.console import Console

from troupe.core.card import PersonaCard
from troupe.core.clock import FixedClock
from troupe.core.log import read_events
from troupe.sessions.guide import Guide
from troupe.tui.app import TroupeApp
from troupe.tui.config import TuiConfig
from troupe.tui.screens.session import SessionScreen

PANEL = [
    (
        "Maria Lopez",
        "42 · nurse · Seville",
        {"occupation": "nurse", "age": 42, "agreeableness": 0.7, "likes": ["fresh food"]},
    ),
    (
        "Tom Becker",
        "67 · retired postal worker · Leeds",
        {"occupation": "retired postal worker", "age": 67, "agreeableness": 0.3},
    ),
    (
        "Aiko Sato",
        "24 · fitness instructor · Osaka",
        {"occupation": "fitness instructor", "age": 24, "agreeableness": 0.6},
    ),
    (
        "Kwame Mensah",
        "35 · software engineer · Accra",
        {"occupation": "software engineer", "age": 35, "agreeableness": 0.5},
    ),
    (
        "Priya Raman",
        "29 · product manager · Bengaluru",
        {"occupation": "product manager", "age": 29, "agreeableness": 0.55},
    ),
    ("Jean Dubois", "54 · bistro owner · Lyon", {"occupation": "bistro owner", "age": 54, "agreeableness": 0.4}),
    ("Sofia Rossi", "38 · architect · Milan", {"occupation": "architect", "age": 38, "agreeableness": 0.65}),
    ("Lars Nilsson", "45 · bus driver · Malmö", {"occupation": "bus driver", "age": 45, "agreeableness": 0.45}),
    ("Amara Okafor", "31 · pharmacist · Lagos", {"occupation": "pharmacist", "age": 31, "agreeableness": 0.6}),
    ("Diego Ramírez", "27 · barista · Bogotá", {"occupation": "barista", "age": 27, "agreeableness": 0.75}),
    ("Hannah Weber", "50 · teacher · Munich", {"occupation": "teacher", "age": 50, "agreeableness": 0.5}),
    ("Yuki Tanaka", "62 · shop owner · Kyoto", {"occupation": "shop owner", "age": 62, "agreeableness": 0.35}),
]


def make_cards(n: int) -> list[PersonaCard]:
    return [
        PersonaCard(name=name, descriptor=desc, prompt=f"You are {name}, {desc}.", traits=traits)
        for name, desc, traits in PANEL[:n]
    ]


def make_guide() -> Guide:
    return Guide.model_validate(
        {
            "title": "Cold soup test",
            "defaults": {"policy": "parallel", "rounds": 1},
            "sections": [
                {"title": "Warm-up", "prompt": "What do you usually have for lunch?", "rounds": 1},
                {
                    "title": "Concept",
                    "prompt": "Please react to this idea.",
                    "rounds": 1,
                    "stimuli": [
                        {"kind": "concept", "title": "Gazpacho Go", "text": "Bottled gazpacho, 330 ml, €2.49."}
                    ],
                    "polls": [{"id": "intent", "question": "I would buy it.", "kind": "likert5"}],
                },
                {"title": "Wrap-up", "prompt": "One last thing for the makers?", "rounds": 1},
            ],
        }
    )


QUIET_WORKERS = ("turns", "open", "history", "export")


def tui_config(runs_dir: Path, **overrides) -> TuiConfig:
    """Everything that varies between runs turned off: fixed clock, frozen timer, no blink."""
    values = dict(clock=FixedClock(), freeze_elapsed=True, cursor_blink=False, flush_interval=0.05, runs_dir=runs_dir)
    values.update(overrides)
    return TuiConfig(**values)


async def session_screen(pilot, timeout: float = 10.0) -> SessionScreen:
    """Wait until the session screen is up and has drawn the run so far."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (isinstance(pilot.app.screen, SessionScreen) and pilot.app.screen.history_loaded):
        if loop.time() > deadline:
            raise AssertionError(f"no session screen after {timeout}s (screen: {pilot.app.screen!r})")
        await pilot.pause(0.02)
    return pilot.app.screen


async def settle(pilot, timeout: float = 15.0) -> None:
    """Wait for moderator verbs in flight to finish, then draw what they produced."""
    app: TroupeApp = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(w.is_running for w in app.workers if w.group in QUIET_WORKERS):
        if loop.time() > deadline:
            raise AssertionError("workers still running")
        await pilot.pause(0.02)
    for screen in app.screen_stack:
        if isinstance(screen, SessionScreen):
            screen.flush()
    await pilot.pause()


async def feed_settled(pilot) -> None:
    """Wait until the session screen's feed is drawn at its width (a re-wrap runs in a worker)."""
    screen = pilot.app.screen
    for _ in range(200):
        await pilot.pause(0.02)
        if screen.history_loaded and not screen.feed.needs_rewrap():
            return
    raise AssertionError("the feed was never wrapped to its width")


async def submit(pilot, line: str) -> None:
    """Put ``line`` in the control bar and press enter (what typing it would do, faster)."""
    command = pilot.app.screen.control_bar.input
    command.focus()
    command.value = line
    await pilot.press("enter")


def events_of(run_dir: Path) -> list:
    return read_events(run_dir / "events.jsonl")


def feed_text(screen: SessionScreen) -> str:
    return "\n".join(strip.text for strip in screen.feed.lines)


def plain(renderable, width: int = 100) -> str:
    """A renderable as plain text (to assert on what a widget shows)."""
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()
