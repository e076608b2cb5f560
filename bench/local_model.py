"""Figures for the embedded ``local`` backend on this machine.

    python bench/local_model.py [--threads N] [--model PATH.gguf] [--personas 5]

Prints:
* load time (the GGUF into memory, once per process);
* time to first token and tokens/s of one streamed persona turn (after a warm-up turn, so the
  numbers are the steady state a session sees);
* the wall time of one ``parallel`` round: N TurnAction requests for N short persona cards
  issued at once with ``asyncio.gather`` — the backend queues them on its single worker, so the
  round costs about N turns, and the event loop stays free meanwhile (the "loop stalls" figure
  is the longest gap between two ticks of a 10 ms heartbeat during the round).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from troupe.core.actions import TurnAction  # noqa: E402
from troupe.core.llm.local import LocalBackend  # noqa: E402
from troupe.core.llm.protocol import ChatRequest, Message  # noqa: E402

RULES = (
    "You are a participant in a moderated focus group. Stay in character, speak naturally, "
    "react to what others say, never mention that you are an AI. "
) * 12
PERSONAS = [
    ("Maria Lopez", "42 · nurse · Seville", "A warm, practical nurse who cooks for a big family and watches prices."),
    ("Tom Becker", "67 · retired engineer · Leeds", "A blunt retired engineer who distrusts fads and new food."),
    ("Aiko Sato", "24 · designer · Osaka", "A young designer who trains daily and loves trying healthy snacks."),
    ("Kwame Mensah", "35 · teacher · Accra", "A thoughtful teacher on a tight budget who reads every label."),
    ("Lena Vogel", "29 · barista · Berlin", "A chatty barista who cares about sustainability and packaging."),
    ("Raj Patel", "51 · shop owner · Leicester", "A shop owner who thinks about margins and what sells."),
    ("Sofia Rossi", "38 · lawyer · Milan", "A busy lawyer who eats at her desk and values convenience."),
    ("Jonas Berg", "19 · student · Oslo", "A student who cooks cheap and shares everything on social media."),
]
QUESTION = (
    "Moderator: Here is a new product: bottled gazpacho, 330 ml, 2.49 euros, in the chilled aisle. What do you think?"
)


def request_for(name: str, descriptor: str, short: str) -> ChatRequest:
    card = {"name": name, "descriptor": descriptor, "prompt": RULES, "short_prompt": short, "traits": {}}
    return ChatRequest(
        messages=[Message("system", RULES + f"\nYou are {name}."), Message("user", QUESTION)],
        output_model=TurnAction,
        agent=name,
        metadata={"card": card},
    )


async def heartbeat(stop: asyncio.Event, gaps: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def main(args: argparse.Namespace) -> None:
    backend = LocalBackend(args.model, n_threads=args.threads, seed=1)
    print(f"model      {backend.model}  ({backend.path.stat().st_size / 1e6:.0f} MB)")
    print(f"machine    {platform.machine()}, {os.cpu_count()} CPUs, n_threads={backend._key.n_threads}")
    load = await backend.load()
    print(f"load       {load * 1000:.0f} ms")

    await backend.complete(request_for(*PERSONAS[0]))  # warm-up: first prompt, grammar compile

    ttfts, rates = [], []
    for persona in PERSONAS[1:4]:
        first: list[float] = []
        start = time.perf_counter()
        response = await backend.complete(
            request_for(*persona), on_delta=lambda _t, first=first: first or first.append(time.perf_counter())
        )
        total = time.perf_counter() - start
        usage = response.calls[-1]
        ttft = first[0] - start
        ttfts.append(ttft)
        rates.append(usage.completion_tokens / max(1e-9, total - ttft))
        print(
            f"turn       {persona[0]:<13} prompt {usage.prompt_tokens} tok, reply {usage.completion_tokens} tok, "
            f"{total:.2f} s: {response.parsed.text if response.parsed else response.text!r}"
        )
    print(f"first tok  {statistics.median(ttfts) * 1000:.0f} ms (median of {len(ttfts)})")
    print(f"speed      {statistics.median(rates):.1f} tokens/s while generating (median)")

    requests = [request_for(*p) for p in PERSONAS[: args.personas]]
    stop, gaps = asyncio.Event(), []
    beat = asyncio.create_task(heartbeat(stop, gaps))
    start = time.perf_counter()
    responses = await asyncio.gather(*(backend.complete(r) for r in requests))
    wall = time.perf_counter() - start
    stop.set()
    await beat
    tokens = sum(r.completion_tokens for r in responses)
    print(
        f"round      {len(requests)} personas in parallel: {wall:.2f} s wall, {tokens} reply tokens, "
        f"{sum(len(r.calls) for r in responses)} calls, loop stalls ≤ {max(gaps) * 1000:.0f} ms"
    )
    for request, response in zip(requests, responses):
        action = response.parsed
        assert isinstance(action, TurnAction)
        print(f"  {request.agent:<13} {action.action:<5} {action.text}")
    await backend.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="a .gguf file (default: the shipped SmolLM2-135M)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--personas", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
