"""Worker crashes and several workers behind Kamailio."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr import protocol as P
from tests.harness import HotlineProc, Peer, rms, sip_port

pytestmark = pytest.mark.sip


async def test_killed_worker_call_is_failed_and_worker_comes_back(hotline: HotlineProc, caller: Peer) -> None:
    leg = await caller.dial(hotline.uri)
    await hotline.wait_for(lambda: hotline.api("/health")[1]["calls_in_progress"] == 1, what="call up")
    pid = hotline.api("/health")[1]["workers"][0]["pid"]
    os.kill(pid, signal.SIGKILL)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["outcome"] == "failed"
    assert "worker" in rec["detail"]["failure"]
    health = await hotline.wait_for(
        lambda: (h := hotline.api("/health")[1])["status"] == "ok" and h["workers"][0]["pid"] != pid and h,
        what="worker restarted")
    assert health["workers"][0]["restarts"] == 1
    caller.send(P.HANGUP, call=leg)
    # the restarted worker answers new calls
    leg2 = await caller.dial(hotline.uri)
    await asyncio.sleep(2)
    samples, _ = await caller.heard(leg2)
    assert rms(samples) > 500
    caller.send(P.HANGUP, call=leg2)


async def test_calls_beyond_one_worker_go_to_another_through_kamailio(
        hotline_factory: Callable[..., HotlineProc], tmp_path: Path) -> None:
    hotline = hotline_factory(workers=2)  # 4 pjsua slots each = 2 citizens each (a slot kept per second leg)
    peers = [await Peer(f"c{i}", sip_port(), tmp_path).start() for i in range(4)]
    try:
        legs = [await p.dial(hotline.uri, caller=f"1390000000{i}") for i, p in enumerate(peers)]
        await asyncio.sleep(2)
        for p, leg in zip(peers, legs, strict=True):
            samples, _ = await p.heard(leg)
            assert rms(samples) > 500, f"{p.client.name} heard nothing"
        health = hotline.api("/health")[1]
        assert sorted(w["calls"] for w in health["workers"]) == [2, 2]
        # a fifth caller finds every worker full: refused cleanly by Kamailio, nothing half-open
        extra = await Peer("c5", sip_port(), tmp_path).start()
        peers.append(extra)
        extra.send(P.DIAL, call="x", uri=hotline.uri)
        msg = await extra.event(P.STATE, "x")
        while msg.get("state") != "ended":
            msg = await extra.event(P.STATE, "x")
        assert msg.get("code") in (486, 503)
        for p, leg in zip(peers, legs, strict=False):
            p.send(P.HANGUP, call=leg)
        records = await hotline.wait_for(
            lambda: (cs := hotline.calls()) and len(cs) == 4 and all(c["ended_at"] for c in cs) and cs,
            what="4 records")
        assert {c["worker"] for c in records} == {"w1", "w2"}
    finally:
        for p in peers:
            await p.stop()
