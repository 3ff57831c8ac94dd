"""Agent desk latency: a ready agent to their softphone ringing (caller already waiting), and the
screen pop after the bridge, as the agent's page receives it (server-sent events).

    .venv/bin/python bench/desk_latency.py --trials 5
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import protocol as P  # noqa: E402
from tests.harness import Peer, start_hotline, write_config  # noqa: E402


async def pop_listener(url: str, token: str, got: asyncio.Queue[float]) -> None:
    async with aiohttp.ClientSession() as s, s.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
        async for line in r.content:
            if line.startswith(b"event: pop"):
                await got.put(time.monotonic())


async def run(trials: int) -> tuple[list[float], list[float]]:
    work = Path(tempfile.mkdtemp(prefix="hotline-desk-"))
    write_config(work, sip=5700, http=18992, far_port=5790, queue={"wrap_up": 0})
    h = start_hotline(work, 5700, 18992, timeout=120)
    caller, far = await Peer("c", 5795, work).start(), await Peer("f", 5790, work).start()
    agent_token = h.cli("token", "issue", "1001")
    pops: asyncio.Queue[float] = asyncio.Queue()
    listener = asyncio.create_task(pop_listener("http://127.0.0.1:18992/api/v1/events", agent_token, pops))
    ring, pop = [], []
    try:
        await asyncio.sleep(0.5)
        for _ in range(trials):
            leg = await caller.dial(h.uri, record=False)
            caller.send(P.SEND_DTMF, call=leg, digits="0")
            await h.wait_for(lambda: h.api("/api/v1/queue")[1]["waiting"], what="caller waiting")
            t0 = time.monotonic()
            h.set_agent("1001", "ready")
            inc = await far.event(P.INCOMING, timeout=10)
            ring.append(time.monotonic() - t0)
            far.send(P.ANSWER, call=str(inc.get("call")))
            t1 = time.monotonic()
            popped = await asyncio.wait_for(pops.get(), 10)
            pop.append(popped - t1)
            far.send(P.HANGUP, call=str(inc.get("call")))
            await caller.wait_state(leg, "ended")
            h.set_agent("1001", "not_ready")
            await asyncio.sleep(0.3)
    finally:
        listener.cancel()
        await caller.stop()
        await far.stop()
        h.stop()
        shutil.rmtree(work, ignore_errors=True)
    return ring, pop


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    ring, pop = asyncio.run(run(args.trials))
    for name, values in (("agent ready -> softphone rings", ring), ("answer sent -> screen pop received", pop)):
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
              f"({', '.join(f'{v * 1000:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
