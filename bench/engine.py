"""Figures for the engine: round latency, calls per turn, prompt sizes, prefix sharing, CPU, RSS.

    python bench/engine.py [--latency 0.3] [--rounds 10] [--quick] [--json]

What it measures (the targets come from issue #3):

* **wall time per round** of a ``parallel`` round against a fake OpenAI-compatible server that
  answers after ``--latency`` seconds (default 300 ms), for 5, 10 and 50 personas. The server runs
  in a separate process, as a real one would, and the session uses the real ``openai`` backend;
  a reference row replaces server and client by an in-process backend that only sleeps, which
  leaves the engine's own overhead;
* **LLM calls per agent turn** on the critical path, and **consolidation calls per turn**;
* **fsync**: the raw cost on this disk, and fsyncs per event with group commit;
* **prompt size** at round 1 and round 50 (10 personas with realistic ~600-token library cards),
  and the **common prefix** that consecutive prompts of one agent share (characters);
* **CPU per agent turn** with the scripted backend at zero latency (the whole process: engine,
  event log, and the scripted model itself);
* **peak RSS** of a 10-persona, 50-round ``troupe run --headless`` in a child process.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from troupe.core.actions import TurnAction  # noqa: E402
from troupe.core.card import PersonaCard  # noqa: E402
from troupe.core.llm.protocol import CallUsage, ChatRequest, ChatResponse  # noqa: E402
from troupe.core.llm.scripted import ScriptedBackend  # noqa: E402
from troupe.core.memory import MemoryNote  # noqa: E402
from troupe.core.prompt import common_prefix_share  # noqa: E402
from troupe.core.tokens import estimate_tokens  # noqa: E402
from troupe.sessions.guide import Guide, parse_guide  # noqa: E402
from troupe.sessions.session import Session  # noqa: E402

QUESTION = (
    "Here is an idea: Gazpacho Go, a chilled ready-to-drink gazpacho in a 330 ml glass bottle, "
    "EUR 2.49, next to the smoothies. What do you think of it, and would you buy it?"
)

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.support.fake_openai import start_fake_server
server = start_fake_server(latency={latency})
print(server.base_url, flush=True)
while True:
    time.sleep(3600)
"""


# -- inputs -------------------------------------------------------------------------------------


def library_cards(n: int) -> list[PersonaCard]:
    """``n`` realistic cards (the shipped library, ~600 tokens each), renamed when repeated."""
    from troupe.personas.card import render_card
    from troupe.personas.library import list_library

    base = [render_card(p) for p in list_library()]
    cards = []
    for i in range(n):
        card = base[i % len(base)]
        if i >= len(base):
            card = dataclasses.replace(card, name=f"{card.name} {i // len(base) + 1}")
        cards.append(card)
    return cards


def one_section_guide(rounds: int, *, max_concurrency: int = 16, policy: str = "parallel") -> Guide:
    return parse_guide(
        {
            "title": "Engine benchmark",
            "defaults": {"policy": policy, "rounds": rounds, "max_concurrency": max_concurrency},
            "sections": [{"title": "Concept reactions", "prompt": QUESTION}],
        }
    )


class SleepingBackend:
    """Sleeps ``latency``, then says a fixed sentence: isolates the engine's own overhead."""

    name = "sleeping"
    model = "none"

    def __init__(self, latency: float) -> None:
        self.latency = latency

    async def complete(self, request: ChatRequest, *, on_delta: Any = None) -> ChatResponse:
        await asyncio.sleep(self.latency)
        model = request.output_model
        if model is TurnAction:
            parsed: Any = TurnAction(
                action="say", text=f"{request.agent} here: fine by me, if the price is right.", to=None, feeling="calm"
            )
        elif model is MemoryNote:
            parsed = MemoryNote(summary="We talked about the bottled soup and its price.")
        elif model is not None:  # a poll answer: one valid instance per answer model, made once
            parsed = _instance(model, request)
        else:
            parsed = None
        usage = CallUsage(prompt_tokens=1000, completion_tokens=30, latency_ms=self.latency * 1000)
        return ChatResponse(text="", parsed=parsed, calls=[usage], model=self.model)

    async def aclose(self) -> None:
        return None


_INSTANCES: dict[type, Any] = {}


def _instance(model: type, request: ChatRequest) -> Any:
    """A valid instance of ``model`` (the scripted backend's schema writer), cached per model."""
    found = _INSTANCES.get(model)
    if found is None:
        import random

        from troupe.core.llm.scripted import _Writer

        schema = request.json_schema() or {}
        found = _INSTANCES[model] = model.model_validate(_Writer(random.Random(0), request).instance(schema))
    return found


# -- measurements -------------------------------------------------------------------------------


async def timed_rounds(session: Session) -> list[float]:
    """Run the guide; return the wall time of each round beat."""
    walls = []
    while True:
        beat = session.plan[session._cursor] if not session.finished else None
        start = time.perf_counter()
        if not await session.step():
            break
        if beat is not None and beat.kind == "round":
            walls.append(time.perf_counter() - start)
    await session.end("completed")
    return walls


async def latency_run(
    base_url: str | None, personas: int, rounds: int, max_concurrency: int, *, latency: float = 0.3
) -> dict[str, Any]:
    """Rounds against the fake server (``base_url``) with the openai backend — or, with no URL,
    against :class:`SleepingBackend` (the engine alone: no HTTP client, no model CPU)."""
    if base_url is None:
        backend: Any = SleepingBackend(latency)
    else:
        from troupe.core.llm.openai_backend import OpenAIBackend

        backend = OpenAIBackend(base_url=base_url, api_key="sk-bench", model="gpt-4.1-mini", max_retries=0)
    with tempfile.TemporaryDirectory() as tmp:
        session = await Session.start(
            one_section_guide(rounds, max_concurrency=max_concurrency),
            library_cards(personas),
            backend,
            Path(tmp) / "run",
        )
        try:
            walls = await timed_rounds(session)
            events = list(session.events)
            fsyncs = getattr(session.log, "fsyncs", None)
        finally:
            await session.aclose()
            await backend.aclose()
    turns = sum(1 for e in events if e.type in ("say", "think", "pass"))
    calls = [e for e in events if e.type == "llm_call"]
    return {
        "personas": personas,
        "rounds": len(walls),
        "max_concurrency": max_concurrency,
        "backend": backend.name,
        "round_mean_s": statistics.fmean(walls),
        "round_median_s": statistics.median(walls),
        "round_max_s": max(walls),
        "turns": turns,
        "turn_calls_per_turn": sum(1 for c in calls if c.purpose == "turn") / turns,
        "consolidate_calls_per_turn": sum(1 for c in calls if c.purpose == "consolidate") / turns,
        "events": len(events),
        "fsyncs": fsyncs,
    }


async def scripted_run(personas: int, rounds: int) -> dict[str, Any]:
    """Zero-latency scripted run: prompt sizes, prefix sharing and CPU per turn."""
    backend = ScriptedBackend(seed=1)
    cards = library_cards(personas)
    with tempfile.TemporaryDirectory() as tmp:
        session = await Session.start(one_section_guide(rounds), cards, backend, Path(tmp) / "run")
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await session.run_to_end()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        events = list(session.events)
        await session.aclose()
    turns = sum(1 for e in events if e.type in ("say", "think", "pass"))
    by_agent: dict[str, list[str]] = {}
    sizes: dict[str, list[int]] = {}
    for request in backend.requests:
        if request.purpose != "turn":
            continue
        text = "".join(f"<{m.role}>{m.content}" for m in request.messages)
        by_agent.setdefault(request.agent or "", []).append(text)
        sizes.setdefault(request.agent or "", []).append(sum(estimate_tokens(m.content) for m in request.messages))
    shares = [common_prefix_share(a, b) for texts in by_agent.values() for a, b in zip(texts, texts[1:])]
    first = [s[0] for s in sizes.values()]
    last = [s[-1] for s in sizes.values()]
    peak = [max(s) for s in sizes.values()]
    card_tokens = statistics.fmean(estimate_tokens(c.prompt) for c in cards)
    return {
        "personas": personas,
        "rounds": rounds,
        "turns": turns,
        "card_tokens": card_tokens,
        "prompt_round1_max": max(first),
        "prompt_round1_mean": statistics.fmean(first),
        "prompt_last_max": max(last),
        "prompt_last_mean": statistics.fmean(last),
        "prompt_peak": max(peak),
        "prefix_share_mean": statistics.fmean(shares),
        "prefix_share_median": statistics.median(shares),
        "prefix_share_p10": sorted(shares)[len(shares) // 10],
        "cpu_ms_per_turn": cpu / turns * 1000,
        "wall_ms_per_turn": wall / turns * 1000,
        "consolidate_calls_per_turn": sum(1 for r in backend.requests if r.purpose == "consolidate") / turns,
    }


def rss_run(personas: int, rounds: int) -> dict[str, Any]:
    """Peak RSS of ``troupe run --headless`` (scripted) in a child process."""
    from troupe.personas.library import list_library

    names = ",".join(p.slug for p in list_library()[:personas])
    with tempfile.TemporaryDirectory() as tmp:
        guide = Path(tmp) / "bench.toml"
        guide.write_text(
            f'title = "RSS benchmark"\n[defaults]\npolicy = "parallel"\nrounds = {rounds}\n'
            f'[[sections]]\ntitle = "Talk"\nprompt = "{QUESTION}"\n',
            encoding="utf-8",
        )
        code = (
            "import resource, sys\n"
            "from troupe.sessions.cli import main\n"
            "rc = main(sys.argv[1:])\n"
            "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
            "sys.exit(rc)\n"
        )
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                "run",
                str(guide),
                "--backend",
                "scripted",
                "--headless",
                "--personas",
                names,
                "--out",
                str(Path(tmp) / "run"),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            timeout=600,
        )
        wall = time.perf_counter() - start
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-2000:])
        rss_kb = int(next(line.split()[1] for line in out.stderr.splitlines() if line.startswith("RSS_KB")))
        events = sum(1 for _ in open(Path(tmp) / "run" / "events.jsonl", encoding="utf-8"))
    return {"personas": personas, "rounds": rounds, "rss_mb": rss_kb / 1024, "wall_s": wall, "events": events}


# -- scale (issue 14): Troupe vs the bare client vs the in-process floor ------------------------

POLL_GUIDE = {
    "title": "Scale poll",
    "sections": [
        {
            "title": "Purchase intent",
            "prompt": QUESTION,
            "rounds": 0,
            "polls": [{"id": "intent", "question": "Would you buy Gazpacho Go?", "kind": "likert5", "reveal": False}],
        }
    ],
}


class Recording:
    """Wraps a backend and keeps the turn and poll requests (for the bare-client replay)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.requests = inner, []
        self.name, self.model = inner.name, inner.model

    async def complete(self, request: ChatRequest, *, on_delta: Any = None) -> ChatResponse:
        if request.purpose in ("turn", "poll"):
            self.requests.append(request)
        return await self.inner.complete(request, on_delta=on_delta)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _backend(url: str | None, latency: float, personas: int) -> Any:
    if url is None:
        return SleepingBackend(latency)
    from troupe.core.llm.openai_backend import OpenAIBackend

    return OpenAIBackend(
        base_url=url, api_key="sk-bench", model="gpt-4.1-mini", max_retries=0, max_concurrency=max(64, personas)
    )


async def scale_round(url: str | None, personas: int, rounds: int, latency: float) -> dict[str, Any]:
    """``rounds`` parallel rounds of ``personas`` at concurrency = panel size: wall per round,
    CPU per agent-turn, and every round's requests (for :func:`bare_bursts`)."""
    backend = Recording(_backend(url, latency, personas))
    with tempfile.TemporaryDirectory() as tmp:
        session = await Session.start(
            one_section_guide(rounds, max_concurrency=min(256, personas)),
            library_cards(personas),
            backend,
            Path(tmp) / "run",
            max_concurrency=personas,
        )
        cpu0 = time.process_time()
        try:
            walls = await timed_rounds(session)
        finally:
            cpu = time.process_time() - cpu0
            await session.aclose()
            await backend.aclose()
    return {
        "personas": personas,
        "rounds": len(walls),
        "round_mean_s": statistics.fmean(walls),
        "round_min_s": min(walls),
        "round_max_s": max(walls),
        "cpu_ms_per_turn": cpu / (personas * len(walls)) * 1000,
        "cpu_ms_per_round": cpu / len(walls) * 1000,
        "requests": backend.requests,
    }


async def scale_poll(url: str | None, personas: int, latency: float) -> dict[str, Any]:
    """A private poll of ``personas`` (no discussion): wall of the poll beat."""
    backend = Recording(_backend(url, latency, personas))
    with tempfile.TemporaryDirectory() as tmp:
        session = await Session.start(
            parse_guide(POLL_GUIDE), library_cards(personas), backend, Path(tmp) / "run", max_concurrency=personas
        )
        try:
            await session.step()  # section_started (+ the prompt)
            wall = 0.0
            while not session.finished:
                start = time.perf_counter()
                await session.step()
                wall += time.perf_counter() - start
            answers = sum(1 for e in session.events if e.type == "poll_answer")
        finally:
            await session.aclose()
            await backend.aclose()
    return {"personas": personas, "wall_s": wall, "answers": answers, "requests": backend.requests}


async def bare_bursts(url: str, requests: list[ChatRequest], size: int) -> float:
    """The same requests with the bare ``openai`` client (``chat.completions.create``, no Troupe
    around it), ``size`` at once as Troupe sent them (one burst per round): mean wall per burst."""
    import openai

    from troupe.core.llm.openai_backend import OpenAIBackend, response_format_for

    shaper = OpenAIBackend(base_url=url, api_key="sk-bench", model="gpt-4.1-mini")
    bodies = [
        shaper._request_kwargs(
            list(r.messages), r, "gpt-4.1-mini", response_format_for(r.output_model) if r.output_model else None
        )
        for r in requests
    ]
    await shaper.aclose()
    client = openai.AsyncOpenAI(base_url=url, api_key="sk-bench", max_retries=0, timeout=120)
    await client.chat.completions.create(**bodies[0])  # warm the connection pool like Troupe's first call
    walls = []
    for i in range(0, len(bodies), size):
        start = time.perf_counter()
        await asyncio.gather(*(client.chat.completions.create(**b) for b in bodies[i : i + size]))
        walls.append(time.perf_counter() - start)
    await client.close()
    return statistics.fmean(walls)


def rss_poll(personas: int) -> dict[str, Any]:
    """Peak RSS of a child process running a private poll of ``personas`` (in-process backend)."""
    code = (
        "import asyncio, resource, sys\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        "from bench.engine import scale_poll\n"
        f"out = asyncio.run(scale_poll(None, {personas}, 0.3))\n"
        "print('RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, out['answers'], file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    line = next(x for x in out.stderr.splitlines() if x.startswith("RSS_KB"))
    _, kb, answers = line.split()
    return {"personas": personas, "rss_mb": int(kb) / 1024, "answers": int(answers)}


def scale_main(latency: float, personas: int, population: int, rounds: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    figures["round_floor"] = asyncio.run(scale_round(None, personas, rounds, latency))
    figures["poll_floor"] = asyncio.run(scale_poll(None, population, latency))
    proc, url = start_server(latency)
    try:
        figures["round_http"] = asyncio.run(scale_round(url, personas, rounds, latency))
        figures["round_bare"] = asyncio.run(bare_bursts(url, figures["round_http"]["requests"], personas))
        figures["poll_http"] = asyncio.run(scale_poll(url, population, latency))
        figures["poll_bare"] = asyncio.run(bare_bursts(url, figures["poll_http"]["requests"], population))
    finally:
        proc.kill()
        proc.wait()
    figures["rss"] = rss_poll(population)
    for key in ("round_floor", "round_http", "poll_floor", "poll_http"):
        figures[key].pop("requests", None)

    rf, rh, pf, ph = figures["round_floor"], figures["round_http"], figures["poll_floor"], figures["poll_http"]
    ms = int(latency * 1000)
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nScale (issue 14) — latency {ms} ms; load average {load} (2 shared cores: wall figures are noisy)\n")
    head = f"{'':44} {'in-process floor':>18} {'Troupe via HTTP':>16} {'bare client':>12}  target"
    print(head)
    print("-" * len(head) + "--------------------")
    print(
        f"{f'round, {personas} personas (' + str(rf['rounds']) + ' rounds)':44} "
        f"{rf['round_mean_s'] * 1000:>15.0f} ms {rh['round_mean_s'] * 1000:>13.0f} ms "
        f"{figures['round_bare'] * 1000:>9.0f} ms  floor ≤ 400 ms; HTTP ≤ bare × 1.15"
    )
    fastest = f"  fastest of the {rf['rounds']} rounds"
    print(f"{fastest:44} {rf['round_min_s'] * 1000:>15.0f} ms {rh['round_min_s'] * 1000:>13.0f} ms")
    print(
        f"{f'private poll, {population} personas':44} {pf['wall_s'] * 1000:>15.0f} ms {ph['wall_s'] * 1000:>13.0f} ms "
        f"{figures['poll_bare'] * 1000:>9.0f} ms  floor ≤ 600 ms"
    )
    for label, http, bare in (
        ("Troupe via HTTP ÷ bare client, round", rh["round_mean_s"], figures["round_bare"]),
        ("Troupe via HTTP ÷ bare client, poll", ph["wall_s"], figures["poll_bare"]),
    ):
        print(f"{label:44} {'':>18} {http / bare:>15.2f}× {'':>12}  ≤ 1.15×")
    print(
        f"{f'Troupe CPU per round, {personas} personas':44} {rf['cpu_ms_per_round']:>15.0f} ms {'':>16} {'':>12}  "
        "what the floor adds to one latency, less the noise"
    )
    print(
        f"{f'CPU per agent-turn, {personas} personas':44} {rf['cpu_ms_per_turn']:>15.2f} ms {'':>16} {'':>12}  ≤ 2 ms"
    )
    print(
        f"{f'peak RSS, poll of {population} personas':44} {figures['rss']['rss_mb']:>15.0f} MB {'':>16} {'':>12}  ≤ 400 MB"
    )
    return figures


def fsync_cost(samples: int = 200) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("a", dir=ROOT, suffix=".fsync", delete=True) as fh:
        times = []
        for _ in range(samples):
            fh.write("x" * 300 + "\n")
            fh.flush()
            start = time.perf_counter()
            os.fsync(fh.fileno())
            times.append(time.perf_counter() - start)
    times.sort()
    return {"median_ms": times[len(times) // 2] * 1000, "p90_ms": times[int(len(times) * 0.9)] * 1000}


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), latency=latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("the fake server did not start")
    return proc, url


# -- report -------------------------------------------------------------------------------------


def check(ok: bool) -> str:
    return "ok" if ok else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency", type=float, default=0.3, help="fake server latency, seconds (default 0.3)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per latency run (default 10)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds everywhere (a smoke run)")
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON too")
    parser.add_argument(
        "--scale", action="store_true", help="only the scale figures (issue 14): 200-persona rounds, 1,000-persona poll"
    )
    parser.add_argument("--personas", type=int, default=200, help="with --scale: panel size (default 200)")
    parser.add_argument("--population", type=int, default=1000, help="with --scale: poll size (default 1000)")
    args = parser.parse_args(argv)
    if args.scale:
        figures = scale_main(args.latency, args.personas, args.population, 3)
        if args.json:
            print(json.dumps(figures, indent=2, default=str))
        return 0
    rounds = 3 if args.quick else args.rounds
    long_rounds = 10 if args.quick else 50

    figures: dict[str, Any] = {"fsync": fsync_cost()}
    proc, url = start_server(args.latency)
    try:
        figures["latency"] = [
            asyncio.run(latency_run(url, 5, rounds, 16)),
            asyncio.run(latency_run(url, 10, rounds, 16)),
            asyncio.run(latency_run(url, 50, max(3, rounds // 2), 64)),
            asyncio.run(latency_run(url, 50, max(3, rounds // 2), 16)),
        ]
    finally:
        proc.kill()
        proc.wait()
    figures["engine_only"] = asyncio.run(latency_run(None, 50, max(3, rounds // 2), 64, latency=args.latency))
    figures["prompts"] = asyncio.run(scripted_run(10, long_rounds))
    figures["prompts5"] = asyncio.run(scripted_run(5, long_rounds))
    figures["rss"] = rss_run(10, long_rounds)

    lat, pr, rss, fs = figures["latency"], figures["prompts"], figures["rss"], figures["fsync"]
    pr5, eng = figures["prompts5"], figures["engine_only"]
    ms = int(args.latency * 1000)
    rows = []
    for run, target in zip(lat, (0.4, 0.5, 0.5, None)):
        label = f"round wall, {run['personas']} personas (max_concurrency {run['max_concurrency']})"
        value = (
            f"{run['round_mean_s'] * 1000:.0f} ms mean, {run['round_max_s'] * 1000:.0f} max ({run['rounds']} rounds)"
        )
        rows.append(
            (
                label,
                value,
                f"≤ {target * 1000:.0f} ms" if target else "(reference)",
                check(run["round_mean_s"] <= target) if target else "",
            )
        )
    rows.append(
        (
            f"round wall, 50 personas, in-process backend sleeping {ms} ms (engine only)",
            f"{eng['round_mean_s'] * 1000:.0f} ms mean, {eng['round_max_s'] * 1000:.0f} max ({eng['rounds']} rounds)",
            "(reference)",
            "",
        )
    )
    calls = max(r["turn_calls_per_turn"] for r in lat)
    rows.append(("LLM calls per agent turn (critical path)", f"{calls:.2f}", "1.0", check(abs(calls - 1.0) < 1e-9)))
    cons = max([r["consolidate_calls_per_turn"] for r in lat] + [pr["consolidate_calls_per_turn"]])
    rows.append(("consolidation calls per turn (max of runs)", f"{cons:.3f}", "≤ 0.2", check(cons <= 0.2)))
    big = lat[2]
    rows.append(("fsync on this disk", f"{fs['median_ms']:.2f} ms median, {fs['p90_ms']:.2f} p90", "", ""))
    rows.append(
        (
            f"fsyncs per event ({big['personas']}-persona run)",
            f"{big['fsyncs']} / {big['events']}",
            "group commit",
            check(big["fsyncs"] < big["events"]),
        )
    )
    rows.append(
        (
            f"prompt tokens, round 1 ({pr['card_tokens']:.0f}-token cards)",
            f"{pr['prompt_round1_max']} max",
            "≤ 2,500",
            check(pr["prompt_round1_max"] <= 2500),
        )
    )
    rows.append(
        (
            f"prompt tokens, round {pr['rounds']}",
            f"{pr['prompt_last_max']} max (peak {pr['prompt_peak']})",
            "≤ 3,500",
            check(pr["prompt_peak"] <= 3500),
        )
    )
    for p in (pr5, pr):
        rows.append(
            (
                f"common prefix of consecutive prompts, {p['personas']} personas",
                f"{p['prefix_share_mean']:.0%} mean, {p['prefix_share_median']:.0%} median, "
                f"{p['prefix_share_p10']:.0%} p10",
                "≥ 70 %",
                check(p["prefix_share_mean"] >= 0.7),
            )
        )
    rows.append(
        (
            "CPU per agent turn (scripted, 0 latency)",
            f"{pr['cpu_ms_per_turn']:.2f} ms",
            "≤ 5 ms",
            check(pr["cpu_ms_per_turn"] <= 5),
        )
    )
    rows.append(
        (
            f"peak RSS, {rss['personas']} personas × {rss['rounds']} rounds headless",
            f"{rss['rss_mb']:.0f} MB ({rss['events']} events, {rss['wall_s']:.1f} s)",
            "< 150 MB",
            check(rss["rss_mb"] < 150),
        )
    )

    width = max(len(r[0]) for r in rows)
    vwidth = max(len(r[1]) for r in rows)
    print(f"Troupe engine benchmark — fake OpenAI server at {ms} ms, parallel policy, python {sys.version.split()[0]}")
    print(f"{'measure'.ljust(width)}  {'value'.ljust(vwidth)}  {'target':<13} ")
    print("-" * (width + vwidth + 22))
    for label, value, target, verdict in rows:
        print(f"{label.ljust(width)}  {value.ljust(vwidth)}  {target:<13} {verdict}")
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
