"""一键转接: put a caller through to 110/119/120/122, bridged by the hotline itself.

The hotline dials the line with the caller's number (From and P-Asserted-Identity), keeps
the caller hearing a prompt and ringback while it rings, and reports failure so the flow
can put the caller at the front of the agent queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from ivr.call import HungUp, Leg, unless_hung_up, until_either_ends
from ivr.record import CallLog
from workorders.models import Outcome

logger = logging.getLogger(__name__)

Dial = Callable[[Leg, str, str], Leg]
Say = Callable[[str], Awaitable[Path]]

LINE_NAMES = {"110": "110报警台", "119": "119火警台", "120": "120急救中心", "122": "122交通事故报警台"}


async def transfer(leg: Leg, line: str, uri: str, *, dial: Dial, say: Say, ringback: Path,
                   ring_timeout: float, log: CallLog) -> bool:
    """Bridge ``leg`` to the emergency line; True if they talked, False to fall back."""
    await log.set(emergency_line=line)
    try:
        far: Leg | None = dial(leg, uri, leg.caller)
    except HungUp:
        raise
    except Exception as exc:  # noqa: BLE001 - the caller must still be served
        logger.error("call %s: cannot dial %s at %s: %s", leg.id, line, uri, exc)
        far = None
    prompt = await say(f"正在为您转接{LINE_NAMES.get(line, line)}，请不要挂机。")
    result = "dial_failed"
    if far is None:
        await leg.play(prompt, barge_in=False)
    else:
        result = await _ring(leg, far, prompt, ringback, ring_timeout, log)
    if result != "answered":
        if far is not None:
            far.hangup()
        logger.warning("call %s: emergency line %s %s, falling back to an agent", leg.id, line, result)
        await log.set(emergency_result=result)
        leg.stop_playing()
        await leg.play(await say("转接未成功，正在为您优先转接人工服务。"), barge_in=False)
        return False
    assert far is not None
    leg.stop_playing()
    leg.bridge(far)
    await log.set(emergency_result="answered", outcome=Outcome.EMERGENCY_TRANSFERRED.value)
    try:
        await until_either_ends(leg, far)
    finally:
        far.hangup()
        leg.hangup()
    return True


async def _ring(leg: Leg, far: Leg, prompt: Path, ringback: Path, timeout: float, log: CallLog) -> str:
    """Prompt, then ringback, while the line rings; the prompt is cut short if it answers."""
    answered = asyncio.ensure_future(far.wait_answered(timeout))
    speaking = asyncio.ensure_future(leg.play(prompt, barge_in=False))
    try:
        await unless_hung_up(leg, asyncio.wait({answered, speaking}, return_when=asyncio.FIRST_COMPLETED))
        if not answered.done():
            await unless_hung_up(leg, speaking)
            leg.start_loop(ringback)
            await unless_hung_up(leg, asyncio.shield(answered))
    except HungUp:
        if leg.ended.is_set():
            far.hangup()
            await log.set(emergency_result="caller_hung_up")
            raise
    finally:
        speaking.cancel()
    if not answered.done():
        return "no_answer"
    if answered.exception() is not None:
        return f"failed_{far.end_code or 'unknown'}"
    return "answered" if answered.result() else "no_answer"
