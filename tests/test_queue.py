"""The agent queue with real Leg objects and a fake worker (tier 2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ivr import protocol as P
from ivr.acd import Agent, AgentState
from ivr.call import Leg
from ivr.queueing import AgentQueue
from tests.fakes import FakeWorker, fake_say


class FakeLog:
    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}

    async def set(self, **f: Any) -> None:
        await asyncio.sleep(0)  # the real log waits for the database thread
        self.fields.update(f)

    async def stamp(self, name: str) -> None:
        self.fields[name] = True

    async def note(self, **f: Any) -> None:
        self.fields.setdefault("detail", {}).update(f)


def finish_prompts(leg: Any) -> None:
    leg.deliver(P.event(P.PLAYED, call=leg.id))


async def pump(worker: FakeWorker, rounds: int = 20) -> None:
    """Let the flow run, ending each one-shot prompt as a worker would."""
    for _ in range(rounds):
        await asyncio.sleep(0.01)
        for leg in list(worker.legs.values()):
            if leg._playing is not None and not leg._playing.done():
                finish_prompts(leg)


async def ringing(log: FakeLog | None = None) -> tuple[FakeWorker, Agent, Leg, asyncio.Task[Any]]:
    """One ready agent, one caller: the caller is queued and the agent's softphone is ringing."""
    w = FakeWorker()
    agent = Agent("1001", "王丽", "sip:1001@x")
    q = AgentQueue([agent], dial=w.dial, say=fake_say, music=Path("/m.wav"), ring_timeout=5)
    q.set_state("1001", AgentState.READY)
    caller = w.leg("a")
    task = asyncio.create_task(q.serve(caller, log or FakeLog()))  # type: ignore[arg-type]
    await pump(w)
    assert agent.state == AgentState.RINGING
    return w, agent, caller, task


async def test_position_is_announced_while_waiting() -> None:
    w = FakeWorker()
    q = AgentQueue([Agent("1001", "王丽", "sip:1001@x")], dial=w.dial, say=fake_say,
                   music=Path("/tones/queue.wav"), announce_every=0.2)
    first, second = w.leg("a"), w.leg("b")
    tasks = [asyncio.create_task(q.serve(leg, FakeLog())) for leg in (first, second)]  # type: ignore[arg-type]
    await pump(w, 60)
    said = [c["file"] for c in w.commands(P.PLAY) if not c.get("loop")]
    assert "/prompts/您前面还有0位来电者在等待，请稍候。.wav" in said
    assert "/prompts/您前面还有1位来电者在等待，请稍候。.wav" in said
    assert any(c.get("loop") and c["file"] == "/tones/queue.wav" for c in w.commands(P.PLAY))
    snap = q.snapshot()
    assert [x["call"] for x in snap["waiting"]] == ["a", "b"]  # type: ignore[index]
    for leg in (first, second):
        leg.deliver(P.event(P.STATE, call=leg.id, state="ended", code=200))
    await asyncio.gather(*tasks, return_exceptions=True)
    assert q.snapshot()["waiting"] == []


async def test_ready_agent_rings_then_bridges_and_is_ready_again() -> None:
    log = FakeLog()
    w, agent, caller, task = await ringing(log)
    dial = w.commands(P.DIAL)[0]
    assert dial["uri"] == "sip:1001@x" and dial["caller"] == "13800138000"
    agent_leg = w.legs[dial["call"]]
    agent_leg.deliver(P.event(P.STATE, call=agent_leg.id, state="answered", code=200))
    await pump(w)
    assert w.commands(P.BRIDGE) == [{"a": "a", "b": agent_leg.id}]
    assert agent.state == AgentState.ON_CALL
    agent_leg.deliver(P.event(P.STATE, call=agent_leg.id, state="ended", code=200))
    result = await asyncio.wait_for(task, 2)
    assert result.agent is agent and agent.state == AgentState.READY and agent.calls_handled == 1
    assert log.fields["agent_id"] == "1001" and "agent_answered_at" in log.fields
    assert {"call": "a", "code": 0} in w.commands(P.HANGUP)


async def test_caller_who_leaves_while_agent_rings_frees_the_agent() -> None:
    w, agent, caller, task = await ringing()
    caller.deliver(P.event(P.STATE, call="a", state="ended", code=200))
    await asyncio.gather(task, return_exceptions=True)
    agent_leg_id = w.commands(P.DIAL)[0]["call"]
    assert {"call": agent_leg_id, "code": 0} in w.commands(P.HANGUP)
    assert agent.state == AgentState.READY


async def test_caller_leaving_as_the_agent_answers_counts_as_handled() -> None:
    w, agent, caller, task = await ringing()
    agent_leg = w.legs[w.commands(P.DIAL)[0]["call"]]
    agent_leg.deliver(P.event(P.STATE, call=agent_leg.id, state="answered", code=200))
    for _ in range(100):  # let the queue take the answer (it waits on the log) but not bridge yet
        if agent.state == AgentState.ON_CALL:
            break
        await asyncio.sleep(0)
    assert agent.state == AgentState.ON_CALL
    caller.deliver(P.event(P.STATE, call="a", state="ended", code=200))  # before the bridge is made
    result = await asyncio.wait_for(task, 2)
    assert result.agent is agent and agent.state == AgentState.READY
    assert {"call": agent_leg.id, "code": 0} in w.commands(P.HANGUP)
