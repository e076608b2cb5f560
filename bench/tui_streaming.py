"""Eight personas streaming at 50 tokens/s each: does the UI keep real time?

    python bench/tui_streaming.py [--personas 8] [--rounds 3] [--tps 50]

The scripted backend streams every reply (its JSON) 4 characters (≈ 1 token) at a time with
``1/tps`` seconds between deltas, so a reply of N chunks *should* take N/tps seconds; the UI
and the network loop share one event loop, so any time the UI spends drawing shows up as
lateness. For each condition it runs ``--rounds`` parallel rounds (all personas at once) of
the real Session and prints how long each streamed reply took relative to its ideal
duration (1.00 = real time), the process's CPU time per second of wall time (less sensitive
to other load on the machine), and how many pane repaints and frames that cost:

* headless: the Session alone, no UI (the floor: asyncio timer overhead);
* TUI, throttled: the session screen as shipped (redraw on a ~100 ms flush timer);
* TUI, per token: the same screen flushing every 5 ms, i.e. redrawing as deltas arrive.

Target (issue #4): eight panes streaming 50 tokens/s each stay within 10 % of real time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.tui.tui_fixtures import make_cards, tui_config  # noqa: E402
from troupe.core.llm.scripted import ScriptedBackend  # noqa: E402
from troupe.sessions.guide import Guide  # noqa: E402
from troupe.sessions.session import Session  # noqa: E402
from troupe.tui.launch import new_session_app  # noqa: E402
from troupe.tui.screens.session import SessionScreen  # noqa: E402
from troupe.tui.widgets.persona_pane import PersonaPane  # noqa: E402

CHUNK = 4
"""Characters per streamed delta (about one token)."""


class TimedBackend(ScriptedBackend):
    """Scripted, streaming, and timing every call against its ideal duration."""

    def __init__(self, tps: float) -> None:
        super().__init__(seed=11, stream_chunk=CHUNK, stream_delay=1.0 / tps)
        self.ratios: list[float] = []
        self.tokens = 0

    async def complete(self, request, *, on_delta=None):  # type: ignore[no-untyped-def]
        chunks = 0

        def counting(delta: str) -> None:
            nonlocal chunks
            chunks += 1
            if on_delta is not None:
                on_delta(delta)

        start = time.perf_counter()
        response = await super().complete(request, on_delta=counting)
        elapsed = time.perf_counter() - start
        if chunks > 5:
            self.ratios.append(elapsed / (chunks * self.stream_delay))
            self.tokens += chunks
        return response


def guide() -> Guide:
    return Guide.model_validate(
        {
            "title": "Streaming benchmark",
            "defaults": {"policy": "parallel", "rounds": 1, "max_concurrency": 16},
            "sections": [{"title": "Talk", "prompt": "Tell us about your lunch.", "rounds": 1}],
        }
    )


def line(label: str, backend: TimedBackend, wall: float, cpu: float, extra: str = "") -> str:
    r = sorted(backend.ratios)
    return (
        f"{label:<16} real-time factor mean {statistics.fmean(r):.3f} · p95 {r[int(0.95 * (len(r) - 1))]:.3f} · "
        f"max {r[-1]:.3f} ({len(r)} replies, {backend.tokens / wall:,.0f} tok/s); "
        f"process CPU {100 * cpu / wall:.0f}% of a core{extra}"
    )


async def headless(personas: int, rounds: int, tps: float, workdir: Path) -> None:
    backend = TimedBackend(tps)
    session = await Session.start(guide(), make_cards(personas), backend, workdir / "headless", seed=1)
    session.subscribe_activity(lambda activity: None)  # a listener, so replies stream as in the UI
    start, cpu = time.perf_counter(), time.process_time()
    for n in range(rounds):
        await session.say(f"Question {n + 1}: what would make you buy it?")
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    await session.aclose()
    print(line("headless", backend, wall, cpu))


async def with_ui(personas: int, rounds: int, tps: float, workdir: Path, label: str, flush: float) -> None:
    backend = TimedBackend(tps)
    app = new_session_app(
        guide(),
        make_cards(personas),
        backend,
        workdir / label.replace(" ", "-").replace(",", ""),
        seed=1,
        config=tui_config(workdir, flush_interval=flush, freeze_elapsed=False),
    )
    renders = 0
    original = PersonaPane.render

    def counted(self):  # type: ignore[no-untyped-def]
        nonlocal renders
        renders += 1
        return original(self)

    PersonaPane.render = counted  # type: ignore[method-assign]
    frames = 0
    try:
        async with app.run_test(size=(160, 50)):
            while not (isinstance(app.screen, SessionScreen) and app.screen.history_loaded):
                await asyncio.sleep(0.01)
            screen = app.screen
            display = app._display

            def counting_display(s, renderable):  # type: ignore[no-untyped-def]
                nonlocal frames
                if renderable is not None:
                    frames += 1
                return display(s, renderable)

            app._display = counting_display
            renders = 0
            start, cpu = time.perf_counter(), time.process_time()
            for n in range(rounds):
                screen.speak(f"Question {n + 1}: what would make you buy it?")
                await asyncio.sleep(0.05)
                while any(w.is_running for w in app.workers if w.group == "turns"):
                    await asyncio.sleep(0.01)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            assert len(screen.grid.panes) == personas
    finally:
        PersonaPane.render = original  # type: ignore[method-assign]
    print(
        line(
            label,
            backend,
            wall,
            cpu,
            f"; {renders / wall / personas:.1f} repaints/s a pane, {frames / wall:.0f} frames/s",
        )
    )


async def main(personas: int, rounds: int, tps: float) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="troupe-bench-"))
    print(f"{personas} personas × {tps:g} tokens/s ({CHUNK} characters a token), {rounds} parallel rounds each")
    await headless(personas, rounds, tps, workdir)
    await with_ui(personas, rounds, tps, workdir, "TUI, throttled", 0.1)
    await with_ui(personas, rounds, tps, workdir, "TUI, per token", 0.005)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--personas", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tps", type=float, default=50.0)
    args = parser.parse_args()
    asyncio.run(main(args.personas, args.rounds, args.tps))
