"""A citizen's call from answer to hang-up: menus, then robot, lookup, emergency or agent."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from ivr import emergency
from ivr import robot as robot_mod
from ivr.call import HungUp, Leg
from ivr.listening import Hearing, listen
from ivr.menu import Menu, MenuSet, Target
from ivr.queueing import AgentQueue
from ivr.record import CallLog
from ivr.robot import Understanding, robot
from workorders.calls import CallStore, now
from workorders.models import Outcome

logger = logging.getLogger(__name__)

Say = Callable[[str], Awaitable[Path]]
Dial = Callable[[Leg, str, str], Leg]

GOODBYE = "感谢您的来电，再见。"
LOOKUP_ASK = "请输入工单编号，以井号键结束。"
EMERGENCY_PRIORITY = 10


async def _ask(leg: Leg, menu: Menu, prompt: Path, hearing: Hearing | None, log: CallLog) -> tuple[str, str]:
    """One turn of a menu: ('key', digit) or ('speech', text) or ('', '') for nothing."""
    if hearing is None or not hearing.asr.available:
        await leg.play(prompt)
        digit = await leg.collect_digits(max_digits=1, timeout=menu.timeout)
        return ("key", digit) if digit else ("", "")
    heard = await listen(leg, hearing.asr, prompt=prompt, phrases=menu.phrases() or None, free=True,
                         cfg=hearing.cfg)
    if heard.digit:
        return "key", heard.digit
    if heard.phrase:
        await log.utterance(heard.phrase, heard.confidence, "grammar", menu.name)
        return "key", menu.phrase_key(heard.phrase)
    if heard.text:
        await log.utterance(heard.text, heard.confidence, "free", menu.name)
        return "speech", heard.text
    return "", ""


async def run_menu(leg: Leg, menus: MenuSet, say: Say, log: CallLog, hearing: Hearing | None = None) -> Target:
    """Walk the menu tree from the start until a key (or what the caller said) leads out of it."""
    name = menus.start
    base = Path(menus.source).parent if menus.source else Path(".")
    while True:
        menu = menus[name]
        prompt = (base / menu.prompt_file) if menu.prompt_file else await say(menu.prompt)
        target: Target | None = None
        for _attempt in range(menu.retries + 1):
            kind, value = await _ask(leg, menu, prompt, hearing, log)
            if kind == "speech":
                await log.note(caller_said=value)
                target = menu.on_speech
                break
            if value:
                await log.key(value)
            if value in menu.keys:
                target = menu.keys[value]
                break
            if value:
                leg.digits.clear()
                await leg.play(await say(menu.invalid), barge_in=False)
        if target is None:
            logger.info("call %s: no valid choice in menu %s, going to %s", leg.id, name, menu.on_fail.describe())
            target = menu.on_fail
        if not target.menu:
            return target
        name = target.menu


def order_number(digits: str) -> str:
    """Keys typed for an order number -> the printed form (20261122000123 -> 20261122-000123)."""
    return f"{digits[:8]}-{digits[8:]}" if len(digits) == 14 and digits.isdigit() else digits


@dataclass
class FlowDeps:
    store: CallStore
    menus: Callable[[], MenuSet]
    say: Say
    dial: Dial
    queue: AgentQueue
    emergency_uris: Callable[[], dict[str, str]]
    ringback: Path
    emergency_ring_timeout: float
    hearing: Hearing | None = None
    understanding: Understanding | None = None


class CallFlow:
    """Runs one coroutine per incoming call."""

    def __init__(self, deps: FlowDeps) -> None:
        self.d = deps

    async def handle(self, leg: Leg) -> None:
        log = await CallLog.open(self.d.store, leg_id=leg.id, worker=leg.worker,
                                 caller=leg.caller, called=leg.called)
        menus = self.d.menus()  # a reload applies to new calls only
        try:
            await leg.answer()
            await log.stamp("answered_at")
            target = await run_menu(leg, menus, self.d.say, log, self.d.hearing)
            await self._act(leg, target, log, log.fields.get("caller_said"))
        except HungUp:
            logger.info("call %s: ended (%s %s)", leg.id, leg.end_code, leg.end_reason)
        except Exception:
            logger.exception("call %s: call flow failed", leg.id)
            await log.note(error="call flow failed")
            if log.outcome is None:
                await log.set(outcome=Outcome.FAILED.value)
        finally:
            leg.hangup()
            await self._close(leg, log)

    async def _close(self, leg: Leg, log: CallLog) -> None:
        outcome = log.outcome
        if leg.refused_transfers:
            await log.note(refused_transfers=leg.refused_transfers[:10])
        if leg.crashed:
            outcome = Outcome.FAILED.value
            await log.note(failure="media worker died during the call")
        elif outcome is None:
            outcome = Outcome.ABANDONED.value
        await log.set(ended_at=now(), outcome=outcome)

    async def _act(self, leg: Leg, target: Target, log: CallLog, said: str | None = None) -> None:
        if target.emergency:
            await self._emergency(leg, target.emergency, log)
        elif target.action in ("robot", "triage"):
            await self._robot(leg, said if target.action == "triage" else None, log)
        elif target.action == "lookup":
            await self._lookup(leg, log)
        elif target.action == "hangup":
            await log.set(outcome=Outcome.SELF_SERVICE.value)
            await leg.play(await self.d.say(target.say or GOODBYE), barge_in=False)
        else:
            await self._agent(leg, log)

    async def _robot(self, leg: Leg, said: str | None, log: CallLog) -> None:
        u = self.d.understanding
        if u is None or (said is None and (self.d.hearing is None or not self.d.hearing.asr.available)):
            await log.note(robot="not available")
            await leg.play(await self.d.say(robot_mod.UNAVAILABLE), barge_in=False)
            await self._agent(leg, log)
            return
        result = await robot(leg, said, u, self.d.say, self.d.hearing, log)
        if result.emergency:
            await self._emergency(leg, result.emergency, log)
        elif not result.done:
            await self._agent(leg, log)

    async def _agent(self, leg: Leg, log: CallLog, priority: int = 0) -> None:
        result = await self.d.queue.serve(leg, log, priority=priority)
        if result.agent is not None:
            await log.set(outcome=Outcome.AGENT_HANDLED.value)

    async def _emergency(self, leg: Leg, line: str, log: CallLog) -> None:
        uri = self.d.emergency_uris().get(line)
        if uri and await emergency.transfer(leg, line, uri, dial=self.d.dial, say=self.d.say,
                                            ringback=self.d.ringback,
                                            ring_timeout=self.d.emergency_ring_timeout, log=log):
            return
        if not uri:
            await log.set(emergency_line=line, emergency_result="not_configured")
        await self._agent(leg, log, priority=EMERGENCY_PRIORITY)

    async def _lookup(self, leg: Leg, log: CallLog) -> None:
        for _attempt in range(2):
            await leg.play(await self.d.say(LOOKUP_ASK))
            digits = await leg.collect_digits(max_digits=20, timeout=10, terminator="#")
            if not digits:
                continue
            await log.key(digits + "#")
            order = await self.d.store.find_order(order_number(digits))
            if order is None:
                await leg.play(await self.d.say("未查询到该工单，请核对编号。"), barge_in=False)
                continue
            await log.set(outcome=Outcome.SELF_SERVICE.value)
            text = f"工单{order['number']}，当前状态：{order['status']}。"
            if order.get("unit"):
                text += f"承办单位：{order['unit']}。"
            await leg.play(await self.d.say(text + GOODBYE), barge_in=False)
            return
        await self._agent(leg, log)
