"""一键转接 from the desk: the agent puts the caller through to 119; the caller is bridged to
the fire line with their own number, the agent's softphone is released, the order is marked."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ivr import protocol as P
from tests.harness import CALLER_NUMBER, HotlineProc, Peer, agent_on_call, rms, talk_both_ways

pytestmark = pytest.mark.sip


async def test_agent_hands_the_caller_over_to_119(hotline: HotlineProc, caller: Peer, far: Peer,
                                                  tmp_path: Path) -> None:
    token = hotline.cli("token", "issue", "1001")
    leg, agent = await agent_on_call(hotline, caller, far)
    admin_token, hotline.token = hotline.token, token
    try:
        status, body = await asyncio.to_thread(hotline.api, "/api/v1/transfer", "POST", {"line": "119"})
    finally:
        hotline.token = admin_token
    assert status == 409 and "未接通" in body["error"]  # nobody answered 119 (ring timeout 4 s): agent keeps the call
    unanswered = await far.event(P.INCOMING, timeout=1)
    assert unanswered.get("called") == "119"
    hotline.token = token
    try:
        pending = asyncio.create_task(asyncio.to_thread(hotline.api, "/api/v1/transfer", "POST", {"line": "119"}))
        fire = await far.event(P.INCOMING, timeout=10)
        assert fire.get("called") == "119" and fire.get("caller") == CALLER_NUMBER
        far.send(P.ANSWER, call=str(fire.get("call")))
        far.send(P.RECORD, call=str(fire.get("call")), file=str(far.recording(str(fire.get("call")))))
        status, body = await pending
    finally:
        hotline.token = admin_token
    assert status == 200 and body["order"]["summary"].startswith("【已一键转接119】")
    await far.wait_state(str(agent.get("call")), "ended")  # the agent's softphone is released
    fleg = str(fire.get("call"))
    heard_by_caller, heard_by_119 = await talk_both_ways(caller, leg, far, fleg, tmp_path)
    assert heard_by_caller > 0.5 and heard_by_119 > 0.5
    far.send(P.HANGUP, call=fleg)
    await caller.wait_state(leg, "ended")
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["emergency_line"] == "119" and rec["emergency_result"] == "answered" and rec["agent_id"] == "1001"
    assert rec["detail"]["agent_transfer"]["result"] == "answered"


async def test_agent_holds_then_transfers_to_another_agent(hotline: HotlineProc, caller: Peer, far: Peer) -> None:
    t1001 = hotline.cli("token", "issue", "1001")
    leg, first = await agent_on_call(hotline, caller, far)
    admin, hotline.token = hotline.token, t1001
    try:
        assert hotline.api("/api/v1/hold", "POST", {"on": True})[0] == 200
        await asyncio.sleep(2.5)
        samples, _ = await caller.heard(leg, 1.5)
        assert rms(samples) > 100  # music on hold, not silence
        caller.send(P.RECORD, call=leg, file=str(caller.recording(leg)))
        assert hotline.api("/api/v1/hold", "POST", {"on": False})[0] == 200
        status, body = hotline.api("/api/v1/transfer-call", "POST", {"to": "1002"})
        assert status == 409 and "不是就绪" in body["error"]  # 1002 is not ready yet: nothing changes
        hotline.token = admin
        hotline.set_agent("1002", "ready")
        hotline.token = t1001
        assert hotline.api("/api/v1/transfer-call", "POST", {"to": "1002"})[0] == 200
    finally:
        hotline.token = admin
    await far.wait_state(str(first.get("call")), "ended")  # 1001's softphone is released
    second = await far.answer_next()
    assert second.get("called") == "1002" and second.get("caller") == CALLER_NUMBER
    far.send(P.HANGUP, call=str(second.get("call")))
    await caller.wait_state(leg, "ended")
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["agent_id"] == "1002" and rec["outcome"] == "agent_handled"
    assert rec["detail"]["agent_transfer"] == {"agent": "1001", "to": "1002"}
