"""The agent queue: callers wait with music and position announcements while the ACD
rings the longest-idle ready agent's softphone; answered calls are bridged."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.acd import Agent, AgentState, QueueEntry, TransitionError, entry_key, pick_agent, position
from ivr.call import HungUp, Leg, unless_hung_up, until_either_ends
from ivr.record import CallLog

logger = logging.getLogger(__name__)

Dial = Callable[[Leg, str, str], Leg]
Say = Callable[[str], Awaitable[Path]]
OnBridged = Callable[[Leg, Agent, CallLog], Awaitable[None]]
Listener = Callable[[Leg, Agent, CallLog], Coroutine[Any, Any, None]]
OnAgent = Callable[[Agent], None]


@dataclass
class Talk:
    """A caller bridged to an agent; ``handed_to`` is set when the agent puts them through to 110/119/…"""

    leg: Leg
    agent_leg: Leg
    log: CallLog
    handed_to: Leg | None = None
    requeue_to: str | None = None  # "" = back to the queue, or the agent to transfer to
    held: bool = False


@dataclass
class QueueResult:
    agent: Agent | None
    wait_seconds: float


class AgentQueue:
    """Callers waiting for a human and the agents who can take them."""

    def __init__(self, agents: list[Agent], *, dial: Dial, say: Say, music: Path,
                 ring_timeout: float = 15.0, announce_every: float = 30.0, wrap_up: float = 0.0,
                 on_bridged: OnBridged | None = None, on_change: OnAgent | None = None) -> None:
        self.agents = {a.id: a for a in agents}
        self.wrap_up = wrap_up
        self.on_bridged, self.on_change = on_bridged, on_change
        self.listener: Listener | None = None  # runs while a caller talks to an agent (live transcript)
        self._wrap_timers: dict[str, asyncio.TimerHandle] = {}
        self._talks: dict[str, Talk] = {}
        self.entries: list[QueueEntry] = []
        self._offers: dict[str, asyncio.Future[Agent]] = {}
        self._dial, self._say, self._music = dial, say, music
        self.ring_timeout, self.announce_every = ring_timeout, announce_every
        self._serial = itertools.count()

    # ---- agent side -------------------------------------------------------------------
    def set_state(self, agent_id: str, state: AgentState, reason: str = "") -> Agent:
        agent = self.agents.get(agent_id)
        if agent is None:
            raise KeyError(agent_id)
        if state not in (AgentState.READY, AgentState.NOT_READY):
            raise TransitionError("an agent can only choose ready or not_ready")
        if agent.state in (AgentState.RINGING, AgentState.ON_CALL) and state == AgentState.READY:
            raise TransitionError(f"agent {agent_id} is {agent.state.value}")
        self._move(agent, state, reason)
        self._match()
        return agent

    def _move(self, agent: Agent, state: AgentState, reason: str = "") -> None:
        agent.move(state, self._now(), reason)
        timer = self._wrap_timers.pop(agent.id, None)
        if timer is not None:
            timer.cancel()
        if self.on_change is not None:
            self.on_change(agent)

    def end_wrap_up(self, agent_id: str) -> None:
        """The order is finalised (or wrap-up time ran out): ready for the next caller."""
        agent = self.agents.get(agent_id)
        if agent is not None and agent.state == AgentState.WRAP_UP:
            self._move(agent, AgentState.READY, "")
            self._match()

    def sync(self, people: list[tuple[str, str, str]]) -> None:
        """Add agents who were created while running (id, name, softphone URI); update URIs."""
        for agent_id, name, sip in people:
            if agent_id in self.agents:
                self.agents[agent_id].sip, self.agents[agent_id].name = sip, name
            else:
                self.agents[agent_id] = Agent(agent_id, name, sip)

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        now = self._now()
        waiting = sorted(self.entries)
        return {
            "waiting": [{"position": i, "call": e.leg_id, "caller": e.caller,
                         "waited_seconds": round(now - e.sort_key[1], 1), "priority": -e.sort_key[0]}
                        for i, e in enumerate(waiting, 1)],
            "agents": [{"id": a.id, "name": a.name, "state": a.state.value, "reason": a.reason,
                        "calls_handled": a.calls_handled} for a in self.agents.values()],
        }

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _match(self) -> None:
        """Offer waiting callers, most urgent first, to the longest-idle ready agents."""
        for entry in sorted(self.entries):
            fut = self._offers.get(entry.leg_id)
            if fut is None or fut.done():
                continue
            agent = pick_agent(list(self.agents.values()), prefer=entry.prefer)
            if agent is None:
                return
            self._move(agent, AgentState.RINGING, f"caller {entry.leg_id}")
            self.entries.remove(entry)
            fut.set_result(agent)

    # ---- caller side ------------------------------------------------------------------
    async def serve(self, leg: Leg, log: CallLog, *, priority: int = 0) -> QueueResult:
        """Wait for an agent, ring them, bridge; returns when the conversation ends."""
        started = self._now()
        entry = QueueEntry(entry_key(priority, started, next(self._serial)), leg.id, leg.caller)
        await log.stamp("queued_at")
        await leg.play(await self._say("正在为您转接人工服务，请稍候。"), barge_in=False)
        served_by: Agent | None = None
        try:
            while True:
                agent = await self._wait_offer(leg, entry)
                agent_leg = await self._ring(leg, agent, log)
                if agent_leg is None:
                    entry = QueueEntry(entry.sort_key, leg.id, leg.caller)  # keep the caller's place
                    continue
                wait = self._now() - started
                if served_by is None:
                    await log.set(wait_seconds=round(wait, 2))
                    await log.stamp("agent_answered_at")
                await log.set(agent_id=agent.id)
                served_by = agent
                try:
                    requeue = await self._talk(leg, agent_leg, agent, log)
                except HungUp:  # the caller left just as the agent answered: the agent had them
                    return QueueResult(agent, wait)
                if requeue is None:
                    return QueueResult(agent, wait)
                # transferred by the agent: first in line again, for the chosen agent if any
                entry = QueueEntry(entry_key(priority + 20, started, next(self._serial)), leg.id, leg.caller,
                                   prefer=requeue)
                await log.note(agent_transfer={"agent": agent.id, "to": requeue or "queue"})
                await leg.play(await self._say("正在为您转接，请稍候。"), barge_in=False)
        except HungUp:
            await log.set(wait_seconds=round(self._now() - started, 2))
            raise
        finally:
            if entry in self.entries:
                self.entries.remove(entry)
            fut = self._offers.pop(leg.id, None)
            if fut is not None and fut.done() and not fut.cancelled():
                self._release(fut.result())

    async def _wait_offer(self, leg: Leg, entry: QueueEntry) -> Agent:
        fut: asyncio.Future[Agent] = asyncio.get_running_loop().create_future()
        self._offers[leg.id] = fut
        self.entries.append(entry)
        self._match()
        while not fut.done():
            leg.start_loop(self._music)
            await unless_hung_up(leg, asyncio.shield(fut), self.announce_every)
            if not fut.done():
                n = position(self.entries, leg.id)
                leg.stop_playing()
                await leg.play(await self._say(f"您前面还有{max(n - 1, 0)}位来电者在等待，请稍候。"), barge_in=False)
        del self._offers[leg.id]
        return fut.result()

    async def _ring(self, leg: Leg, agent: Agent, log: CallLog) -> Leg | None:
        """Ring one agent; on no answer set them not-ready and return None."""
        try:
            agent_leg = self._dial(leg, agent.sip, leg.caller)
        except HungUp:
            raise
        except Exception:  # noqa: BLE001 - a bad agent URI must not drop the caller
            logger.exception("call %s: cannot dial agent %s", leg.id, agent.id)
            self._move(agent, AgentState.NOT_READY, "呼叫失败")
            return None
        answered = False
        try:
            answered = bool(await unless_hung_up(leg, agent_leg.wait_answered(self.ring_timeout)))
        except HungUp:
            if leg.ended.is_set():  # the caller left while the agent's phone rang
                agent_leg.hangup()
                self._release(agent)
                raise
            logger.info("call %s: agent %s rejected the call (%s)", leg.id, agent.id, agent_leg.end_code)
        if answered:
            self._move(agent, AgentState.ON_CALL)
            return agent_leg
        logger.info("call %s: agent %s did not answer", leg.id, agent.id)
        agent_leg.hangup()
        self._move(agent, AgentState.NOT_READY, "未接听")
        await log.note(**{f"agent_{agent.id}_missed": True})
        return None

    async def _talk(self, leg: Leg, agent_leg: Leg, agent: Agent, log: CallLog) -> str | None:
        """Bridge and wait; returns None when the call is over, or where the agent transferred it."""
        leg.stop_playing()
        talk = self._talks[agent.id] = Talk(leg, agent_leg, log)
        listening: asyncio.Task[None] | None = None
        try:
            leg.bridge(agent_leg)
            if self.on_bridged is not None:
                try:
                    await self.on_bridged(leg, agent, log)
                except Exception:  # noqa: BLE001 - the conversation goes on without a screen pop
                    logger.exception("call %s: screen pop for agent %s failed", leg.id, agent.id)
            if self.listener is not None:
                listening = asyncio.create_task(self.listener(leg, agent, log), name=f"live-{leg.id}")
            await until_either_ends(leg, agent_leg)
            if listening is not None:
                listening.cancel()
            if talk.handed_to is not None:  # the agent put the caller through: stay until that ends
                self._after_call(agent)
                await until_either_ends(leg, talk.handed_to)
            elif talk.requeue_to is not None and not leg.ended.is_set():
                return talk.requeue_to
            return None
        finally:
            if listening is not None:
                listening.cancel()
            self._talks.pop(agent.id, None)
            requeued = talk.requeue_to is not None and not leg.ended.is_set() and talk.handed_to is None
            for other in (agent_leg, talk.handed_to, None if requeued else leg):
                if other is not None:
                    other.hangup()
            self._after_call(agent)

    def hold(self, agent_id: str, on: bool) -> None:
        """保持: the caller hears music while the agent is away; off: talking again."""
        talk = self._talk_of(agent_id)
        if on and not talk.held:
            talk.leg.unbridge(talk.agent_leg)
            talk.leg.start_loop(self._music)
        elif not on and talk.held:
            talk.leg.stop_playing()
            talk.leg.bridge(talk.agent_leg)
        talk.held = on

    def transfer(self, agent_id: str, to: str = "") -> None:
        """Back to the queue (to="") or to a ready agent; the caller keeps the front of the line."""
        talk = self._talk_of(agent_id)
        if to:
            target = self.agents.get(to)
            if target is None or to == agent_id:
                raise TransitionError(f"没有坐席 {to}")
            if target.state != AgentState.READY:
                raise TransitionError(f"坐席 {to} 现在不是就绪状态")
        talk.requeue_to = to
        talk.leg.unbridge(talk.agent_leg)
        talk.leg.start_loop(self._music)
        talk.agent_leg.hangup()

    def _talk_of(self, agent_id: str) -> Talk:
        talk = self._talks.get(agent_id)
        if talk is None or talk.handed_to is not None or talk.requeue_to is not None:
            raise TransitionError("当前没有通话")
        return talk

    async def hand_over(self, agent_id: str, line: str, uri: str, ring_timeout: float) -> None:
        """一键转接 from the desk: dial the line with the caller's number while the agent stays on;
        once it answers, the caller is bridged to it and the agent's leg is released."""
        talk = self._talks.get(agent_id)
        if talk is None or talk.handed_to is not None:
            raise TransitionError("当前没有可以转接的通话")
        far = self._dial(talk.leg, uri, talk.leg.caller)
        try:
            answered = await unless_hung_up(talk.leg, far.wait_answered(ring_timeout))
        except HungUp:
            answered = False
        if not answered:
            far.hangup()
            await talk.log.note(agent_transfer={"agent": agent_id, "line": line, "result": "no answer"})
            raise TransitionError(f"{line}未接通，来电仍由您接听")
        talk.handed_to = far
        talk.leg.unbridge(talk.agent_leg)
        talk.leg.bridge(far)
        talk.agent_leg.hangup()
        await talk.log.set(emergency_line=line, emergency_result="answered")
        await talk.log.note(agent_transfer={"agent": agent_id, "line": line, "result": "answered"})

    def _after_call(self, agent: Agent) -> None:
        """Count the call once and move the agent to wrap-up (or straight to ready)."""
        if agent.state != AgentState.ON_CALL:
            return
        agent.calls_handled += 1
        if self.wrap_up > 0:
            self._move(agent, AgentState.WRAP_UP, "话后处理")
            self._wrap_timers[agent.id] = asyncio.get_running_loop().call_later(
                self.wrap_up, self.end_wrap_up, agent.id)
        else:
            self._move(agent, AgentState.READY)
        self._match()

    def _release(self, agent: Agent) -> None:
        if agent.state == AgentState.RINGING:
            self._move(agent, AgentState.READY, "caller left")
            self._match()
