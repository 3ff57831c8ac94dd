"""The call path with real SIP: the hotline process and pjsua2 peers on loopback."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ivr import protocol as P
from tests.harness import CALLER_NUMBER, HotlineProc, Peer, rms, talk_both_ways

pytestmark = pytest.mark.sip


async def test_caller_hears_the_greeting(hotline: HotlineProc, caller: Peer) -> None:
    leg = await caller.dial(hotline.uri)
    await asyncio.sleep(3)
    samples, rate = await caller.heard(leg)
    assert rms(samples[rate:]) > 500, "the caller heard silence instead of the greeting"
    caller.send(P.HANGUP, call=leg)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["caller"] == CALLER_NUMBER and rec["called"] == "12345"
    assert rec["answered_at"] and rec["outcome"] == "abandoned"


async def test_9_2_bridges_the_caller_to_119_with_their_number(
        hotline: HotlineProc, caller: Peer, far: Peer, tmp_path: Path) -> None:
    leg = await caller.dial(hotline.uri)
    await asyncio.sleep(1.5)
    caller.send(P.SEND_DTMF, call=leg, digits="92")
    inc = await far.answer_next()
    assert inc.get("called") == "119"
    assert inc.get("caller") == CALLER_NUMBER, "the fire line must see the citizen's number"
    fleg = str(inc.get("call"))
    heard_by_caller, heard_by_119 = await talk_both_ways(caller, leg, far, fleg, tmp_path)
    assert heard_by_caller > 0.5, "caller does not hear the 119 operator"
    assert heard_by_119 > 0.5, "119 does not hear the caller"
    far.send(P.HANGUP, call=fleg)
    await caller.wait_state(leg, "ended")
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["menu_path"] == "92"
    assert rec["outcome"] == "emergency_transferred"
    assert rec["emergency_line"] == "119" and rec["emergency_result"] == "answered"


async def test_0_rings_the_agent_and_bridges(hotline: HotlineProc, caller: Peer, far: Peer, tmp_path: Path) -> None:
    hotline.set_agent("1001", "ready")
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="0", method="info")  # SIP INFO DTMF this time
    inc = await far.answer_next()
    assert inc.get("called") == "1001" and inc.get("caller") == CALLER_NUMBER
    fleg = str(inc.get("call"))
    heard_by_caller, heard_by_agent = await talk_both_ways(caller, leg, far, fleg, tmp_path)
    assert {a["id"]: a["state"] for a in hotline.api("/api/v1/queue")[1]["agents"]}["1001"] == "on_call"
    assert heard_by_caller > 0.5 and heard_by_agent > 0.5
    caller.send(P.HANGUP, call=leg)
    await far.wait_state(fleg, "ended")
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["outcome"] == "agent_handled" and rec["agent_id"] == "1001"
    assert rec["queued_at"] and rec["agent_answered_at"] and rec["wait_seconds"] is not None
    assert {a["id"]: a["state"] for a in hotline.api("/api/v1/queue")[1]["agents"]}["1001"] == "ready"


async def test_unanswered_119_falls_back_to_an_agent_first(hotline: HotlineProc, caller: Peer, far: Peer) -> None:
    hotline.set_agent("1002", "ready")
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="92")
    ring = await far.event(P.INCOMING)
    assert ring.get("called") == "119"  # rings, nobody answers (ring timeout 4 s in the test config)
    agent = await far.answer_next(timeout=20)
    assert agent.get("called") == "1002"
    far.send(P.HANGUP, call=str(agent.get("call")))
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["emergency_line"] == "119" and rec["emergency_result"] == "no_answer"
    assert rec["outcome"] == "agent_handled" and rec["agent_id"] == "1002"


async def test_no_ready_agent_caller_waits_and_hangs_up_is_abandoned(hotline: HotlineProc, caller: Peer) -> None:
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="2")
    await hotline.wait_for(lambda: hotline.api("/api/v1/queue")[1]["waiting"], what="caller in queue")
    await asyncio.sleep(3)
    samples, rate = await caller.heard(leg, 1.5)
    assert rms(samples) > 100, "a queued caller must hear music or a prompt, not silence"
    caller.send(P.HANGUP, call=leg)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["outcome"] == "abandoned" and rec["queued_at"]
    assert rec["wait_seconds"] >= 2.5
    assert hotline.api("/api/v1/queue")[1]["waiting"] == []


async def test_agent_who_does_not_answer_is_set_not_ready_and_next_rings(
        hotline: HotlineProc, caller: Peer, far: Peer) -> None:
    hotline.set_agent("1001", "ready")
    await asyncio.sleep(0.1)
    hotline.set_agent("1002", "ready")
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="0")
    first = await far.event(P.INCOMING)
    assert first.get("called") == "1001"  # longest idle first; it is left ringing
    second = await far.answer_next(timeout=15)
    assert second.get("called") == "1002"
    def states() -> dict[str, str]:
        return {a["id"]: a["state"] for a in hotline.api("/api/v1/queue")[1]["agents"]}
    await hotline.wait_for(lambda: states() == {"1001": "not_ready", "1002": "on_call"}, what="agent states")
    caller.send(P.HANGUP, call=leg)
    await hotline.wait_call(lambda c: c["outcome"] == "agent_handled" and c["agent_id"] == "1002")


async def test_wrong_keys_then_silence_end_in_the_agent_queue(hotline: HotlineProc, caller: Peer) -> None:
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="7")
    await asyncio.sleep(2)
    caller.send(P.SEND_DTMF, call=leg, digits="8")
    # then nothing: after the retries the caller must be queued for a person, not hung up on
    await hotline.wait_for(lambda: hotline.api("/api/v1/queue")[1]["waiting"], timeout=60, what="queued")
    caller.send(P.HANGUP, call=leg)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["menu_path"] == "78" and rec["queued_at"]


async def test_refer_from_the_caller_is_refused(hotline: HotlineProc, caller: Peer, far: Peer) -> None:
    leg = await caller.dial(hotline.uri)
    caller.send(P.REFER, call=leg, uri=f"sip:110@127.0.0.1:{far.port}")
    status = await caller.event(P.TRANSFER_STATUS, call=leg)
    assert status.get("code") == 403
    with pytest.raises(asyncio.TimeoutError):
        await far.event(P.INCOMING, timeout=2)  # the hotline dialled nobody
    caller.send(P.HANGUP, call=leg)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["detail"]["refused_transfers"] == [f"sip:110@127.0.0.1:{far.port}"]


async def test_unknown_number_gets_404(hotline: HotlineProc, caller: Peer) -> None:
    caller.send(P.DIAL, call="x", uri=f"sip:999@127.0.0.1:{hotline.sip_port}")
    msg = await caller.event(P.STATE, "x")
    while msg.get("state") != "ended":
        msg = await caller.event(P.STATE, "x")
    assert msg.get("code") == 404
    assert hotline.calls() == []
