"""The robot: answers consultations from the knowledge base and spots emergencies in what the
caller said (第十一条, 第三十条). Anything it cannot settle goes to a person with the words attached."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.call import Leg
from ivr.listening import Hearing, listen
from ivr.record import CallLog
from kb.service import Answer, KnowledgeBase
from triage.catalog import Catalog
from triage.engine import Triage, triage
from triage.model import TriageModel
from workorders.models import Outcome

logger = logging.getLogger(__name__)

Say = Callable[[str], Awaitable[Path]]

ASK = "请在提示音后简要说出您要咨询的问题。"
UNAVAILABLE = "智能问答暂时无法使用，现在为您转接人工服务。"
NOT_FOUND = "这个问题需要人工为您解答，正在为您转接。"
VERDICT = "是否解决了您的问题？满意请按1，转人工请按0。"
THANKS = "感谢您的评价，再见。"
LINE_WORDS = {"110": "报警110", "119": "火警119", "120": "急救120", "122": "交通事故122"}
YES = ["是", "是的", "对", "对的", "确认", "转"]
NO = ["不是", "不用", "不对", "不要"]
ROBOT_PROMPTS = [ASK, UNAVAILABLE, NOT_FOUND, VERDICT, THANKS]


def confirm_prompt(line: str) -> str:
    return f"您是否需要{LINE_WORDS.get(line, line)}？立即转接请按1或说是，不需要请按0。"


@dataclass
class Understanding:
    kb: KnowledgeBase
    catalog: Catalog
    confirm_timeout: float = 5.0
    model: TriageModel | None = None


@dataclass(frozen=True)
class RobotResult:
    """What the call flow does next: done, an emergency line, or a person (with priority)."""

    done: bool = False
    emergency: str = ""


async def understand(text: str, u: Understanding, log: CallLog) -> Triage:
    result = triage(text, u.catalog, u.model)
    await log.note(triage=result.as_json())
    return result


async def confirm_emergency(leg: Leg, line: str, say: Say, hearing: Hearing | None, timeout: float,
                            log: CallLog) -> bool:
    """One short question; 1 / 是 or no answer within ``timeout`` → transfer; 0 / 不是 → no."""
    prompt = await say(confirm_prompt(line))
    leg.digits.clear()
    if hearing is not None and hearing.asr.available:
        heard = await listen(leg, hearing.asr, prompt=prompt, phrases=YES + NO, free=False,
                             cfg=replace(hearing.cfg, no_speech_timeout=timeout))
        answer = heard.digit or ("1" if heard.phrase in YES else "0" if heard.phrase in NO else "")
    else:
        await leg.play(prompt)
        answer = await leg.collect_digits(max_digits=1, timeout=timeout)
    await log.note(emergency_confirmation=answer or "no answer")
    return answer != "0"


async def answer_question(leg: Leg, text: str, u: Understanding, say: Say, log: CallLog) -> bool:
    """Read the best knowledge-base answer and ask for a verdict; True if the caller is satisfied."""
    answer: Answer = await asyncio.to_thread(u.kb.ask, text)
    record = {"question": text, "entry": answer.id, "confidence": round(answer.confidence, 3)}
    if answer.id is None:
        await log.note(robot={**record, "verdict": "no answer good enough"})
        await leg.play(await say(NOT_FOUND), barge_in=False)
        return False
    await log.note(robot=record)
    await leg.play(await say(answer.answer))
    await leg.play(await say(VERDICT))
    verdict = await leg.collect_digits(max_digits=1, timeout=8)
    await log.note(robot={**record, "verdict": {"1": "satisfied", "0": "transfer"}.get(verdict, "no answer")})
    if verdict == "1":
        await log.set(outcome=Outcome.ROBOT_ANSWERED.value)
        await leg.play(await say(THANKS), barge_in=False)
        return True
    return False


async def robot(leg: Leg, text: str | None, u: Understanding, say: Say, hearing: Hearing | None,
                log: CallLog) -> RobotResult:
    """Menu 1 (text is None: ask first) or a free description the caller already gave. A caller
    who chose the consultation menu gets the knowledge base's answer whatever the request type
    (暖气不热找谁 reads as 求助); a described complaint, report or request goes to a person."""
    asked = text is None
    if text is None:
        if hearing is None or not hearing.asr.available:
            await log.note(robot={"verdict": "speech recognition off"})
            await leg.play(await say(UNAVAILABLE), barge_in=False)
            return RobotResult()
        for _attempt in range(2):
            heard = await listen(leg, hearing.asr, prompt=await say(ASK), phrases=None, free=True, cfg=hearing.cfg)
            if heard.digit == "0":
                return RobotResult()
            if heard.text:
                text = heard.text
                await log.utterance(text, heard.confidence, "free", "robot")
                break
        if text is None:
            return RobotResult()
    result = await understand(text, u, log)
    if result.emergency:
        if await confirm_emergency(leg, result.emergency, say, hearing, u.confirm_timeout, log):
            return RobotResult(emergency=result.emergency)
        return RobotResult()
    if result.category != "咨询" and not asked:
        return RobotResult()  # complaints, help, reports, suggestions: a person writes the order
    return RobotResult(done=await answer_question(leg, text, u, say, log))
