"""The robot in a call (tier 2): real call flow, store, knowledge base, triage and queue; the
worker and the recogniser are fakes at the seams, so the transcript is injected."""

from __future__ import annotations

import asyncio
import base64
import math
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from asr.recognizer import Transcript
from config.settings import SHIPPED_DIR
from ivr import protocol as P
from ivr import robot
from ivr.call import Leg
from ivr.flow import CallFlow, FlowDeps
from ivr.listening import Hearing, ListenSettings
from ivr.menu import load_valid_menus
from ivr.queueing import AgentQueue
from kb.entries import read_dir
from kb.service import open_knowledge_base
from kb.store import import_entries
from tests.fakes import FakeWorker, fake_say
from triage.catalog import load_catalog
from workorders.calls import CallStore
from workorders.db import make_engine, migrate

LOUD = struct.pack("<1600h", *(int(8000 * math.sin(2 * math.pi * 440 * i / 16000)) for i in range(1600)))
QUIET = b"\x00\x00" * 1600


class FakeStream:
    """Hears the next scripted transcript if the caller actually spoke into it."""

    def __init__(self, script: list[str] | None) -> None:
        self.script, self.spoke = script, False

    def feed(self, pcm: bytes) -> None:
        self.spoke = self.spoke or any(pcm)

    async def finish(self) -> Transcript:
        text = self.script.pop(0) if self.script and self.spoke else ""
        return Transcript(text, 0.9 if text else 0.0)


class FakeAsr:
    """Free-speech streams return the next scripted transcript; grammar streams hear nothing."""

    available = True
    status = "on: fake"

    def __init__(self, transcripts: list[str]) -> None:
        self.transcripts = transcripts

    def stream(self, grammar: list[str] | None = None, on_partial: Any = None) -> FakeStream:
        return FakeStream(None if grammar is not None else self.transcripts)


@dataclass
class Rig:
    worker: FakeWorker
    store: CallStore
    flow: CallFlow


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Callable[[list[str]], Rig]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    import_entries(engine, read_dir(SHIPPED_DIR / "kb"))
    kb = open_knowledge_base(engine, None)
    store = CallStore(engine)
    menus = load_valid_menus(SHIPPED_DIR / "ivr.yaml", {"110", "119", "120", "122"})

    def make(transcripts: list[str]) -> Rig:
        w = FakeWorker()
        queue = AgentQueue([], dial=w.dial, say=fake_say, music=Path("/m.wav"))
        hearing = Hearing(FakeAsr(transcripts), ListenSettings(end_silence=0.2, no_speech_timeout=1.0))  # type: ignore[arg-type]
        deps = FlowDeps(store=store, menus=lambda: menus, say=fake_say, dial=w.dial, queue=queue,
                        emergency_uris=lambda: {"119": "sip:119@gw", "120": "sip:120@gw"},
                        ringback=Path("/ring.wav"), emergency_ring_timeout=2, hearing=hearing,
                        understanding=robot.Understanding(kb, load_catalog(SHIPPED_DIR / "dispatch.yaml"), 0.5))
        return Rig(w, store, CallFlow(deps))

    yield make
    store.close()


def speak(leg: Leg) -> None:
    for chunk in [LOUD] * 5 + [QUIET] * 5:
        leg.deliver(P.event(P.AUDIO, call=leg.id, pcm=base64.b64encode(chunk).decode()))


async def drive(rig: Rig, leg: Leg, script: dict[str, Callable[[Leg], None]], seconds: float = 8.0) -> list[str]:
    """Play every prompt instantly; when a prompt whose text contains a key starts, act."""
    task = asyncio.create_task(rig.flow.handle(leg))
    heard: list[str] = []
    seen = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not task.done() and loop.time() < end:
        await asyncio.sleep(0.02)
        for kind, fields in rig.worker.sent[seen:]:
            seen += 1
            if kind == P.PLAY and not fields.get("loop"):
                text = Path(fields["file"]).stem
                heard.append(text)
                for key, act in script.items():
                    if key in text:
                        act(leg)
                leg.deliver(P.event(P.PLAYED, call=leg.id))
            if kind == P.HANGUP and fields["call"] == leg.id:
                leg.deliver(P.event(P.STATE, call=leg.id, state="ended", code=200))
    if not task.done():
        leg.deliver(P.event(P.STATE, call=leg.id, state="ended", code=200))
    await asyncio.wait_for(task, 5)
    return heard


def press(digit: str) -> Callable[[Leg], None]:
    return lambda leg: leg.deliver(P.event(P.DTMF, call=leg.id, digit=digit))


async def test_menu_1_question_is_answered_from_the_knowledge_base(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["请问北京今年什么时候开始供暖"])
    leg = r.worker.leg("a")
    heard = await drive(r, leg, {"欢迎致电12345": press("1"), "咨询的问题": speak, "是否解决": press("1")})
    rec = (await r.store.list())[0]
    full = await r.store.get(rec["id"])
    assert full is not None
    assert full["outcome"] == "robot_answered" and full["menu_path"] == "1"
    assert full["detail"]["robot"]["entry"] == "u3-gongnuan-shijian"
    assert full["detail"]["robot"]["verdict"] == "satisfied"
    assert [u["text"] for u in full["utterances"]] == ["请问北京今年什么时候开始供暖"]
    answer = next(h for h in heard if "11月15日" in h)  # the answer itself was read to the caller
    assert heard.index(answer) < next(i for i, h in enumerate(heard) if "是否解决" in h)


async def test_menu_1_answers_a_question_told_as_a_need(rig: Callable[[list[str]], Rig]) -> None:
    """Triage reads this as 求助, but the caller chose the consultation menu and the knowledge base
    knows the answer: the robot answers instead of queueing."""
    r = rig(["暖气不热了 屋里才十五度 该找谁"])
    leg = r.worker.leg("a")
    await drive(r, leg, {"欢迎致电12345": press("1"), "咨询的问题": speak, "是否解决": press("1")})
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None and full["detail"]["triage"]["category"] == "求助"
    assert full["detail"]["robot"]["entry"] == "u3-nuanqi-bure" and full["outcome"] == "robot_answered"


async def test_unanswerable_question_goes_to_a_person_with_the_question(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["明天北京会下雨吗"])
    leg = r.worker.leg("a")
    heard = await drive(r, leg, {"欢迎致电12345": press("1"), "咨询的问题": speak}, seconds=3)
    assert any("需要人工为您解答" in h for h in heard)
    assert any("转接人工服务" in h for h in heard)  # queued
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None and full["detail"]["robot"]["entry"] is None
    assert full["detail"]["robot"]["question"] == "明天北京会下雨吗" and full["queued_at"]


async def test_verdict_0_transfers_to_a_person(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["请问北京今年什么时候开始供暖"])
    leg = r.worker.leg("a")
    await drive(r, leg, {"欢迎致电12345": press("1"), "咨询的问题": speak, "是否解决": press("0")}, seconds=3)
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None and full["detail"]["robot"]["verdict"] == "transfer" and full["queued_at"]


async def test_described_emergency_is_confirmed_then_transferred(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["我家厨房着火了烟特别大"])
    leg = r.worker.leg("a")
    heard = await drive(r, leg, {"欢迎致电12345": speak, "需要火警119": press("1")}, seconds=4)
    assert any("需要火警119" in h for h in heard)
    assert [c["uri"] for c in r.worker.commands(P.DIAL)] == ["sip:119@gw"]
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None
    assert full["detail"]["triage"]["emergency"] == "119" and full["detail"]["emergency_confirmation"] == "1"
    assert full["emergency_line"] == "119"


async def test_unconfirmed_emergency_is_transferred_after_the_timeout(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["我爸突然倒地叫不醒了"])
    leg = r.worker.leg("a")
    await drive(r, leg, {"欢迎致电12345": speak}, seconds=4)
    assert [c["uri"] for c in r.worker.commands(P.DIAL)] == ["sip:120@gw"]
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None and full["detail"]["emergency_confirmation"] == "no answer"


async def test_a_complaint_described_in_words_goes_to_a_person(rig: Callable[[list[str]], Rig]) -> None:
    r = rig(["我要投诉楼下饭馆半夜太吵了"])
    leg = r.worker.leg("a")
    await drive(r, leg, {"欢迎致电12345": speak}, seconds=3)
    full = await r.store.get((await r.store.list())[0]["id"])
    assert full is not None
    assert full["detail"]["triage"]["category"] == "投诉" and full["detail"]["caller_said"] == "我要投诉楼下饭馆半夜太吵了"
    assert full["queued_at"] and not r.worker.commands(P.DIAL)

