"""Callers speak instead of pressing keys: real Vosk model, espeak-ng speech, real SIP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivr import protocol as P
from tests.harness import HotlineProc, Peer, rms, speak, vosk_test_model

pytestmark = pytest.mark.sip

MENUS = (Path(__file__).resolve().parents[1] / "data" / "ivr_ko.yaml").read_text(encoding="utf-8")


@pytest.fixture
def speech_hotline(hotline_factory: Callable[..., HotlineProc], tmp_path: Path) -> HotlineProc:
    (tmp_path / "ivr.yaml").write_text(MENUS, encoding="utf-8")
    h = hotline_factory(asr={"model": str(vosk_test_model()), "end_silence": 1.5})
    assert h.api("/health")[1]["asr"].startswith("on:")
    return h


async def test_saying_the_menu_word_reaches_an_agent(speech_hotline: HotlineProc, caller: Peer, far: Peer,
                                                     tmp_path: Path) -> None:
    speech_hotline.set_agent("1001", "ready")
    leg = await caller.dial(speech_hotline.uri)
    await asyncio.sleep(1.0)
    caller.send(P.PLAY, call=leg, file=str(speak(tmp_path, "상담원")))
    inc = await far.answer_next(timeout=30)
    assert inc.get("called") == "1001"
    far.send(P.HANGUP, call=str(inc.get("call")))
    rec = await speech_hotline.wait_call(lambda c: c["ended_at"])
    assert rec["menu_path"] == "0" and rec["outcome"] == "agent_handled"
    full = speech_hotline.api(f"/api/v1/calls/{rec['id']}")[1]
    assert [(u["text"], u["mode"], u["menu"]) for u in full["utterances"]] == [("상담원", "grammar", "main")]


async def test_a_free_description_is_transcribed_and_queued_with_the_text(
        speech_hotline: HotlineProc, caller: Peer, far: Peer, tmp_path: Path) -> None:
    speech_hotline.set_agent("1002", "ready")
    leg = await caller.dial(speech_hotline.uri)
    await asyncio.sleep(1.0)
    description = speak(tmp_path, "안녕하세요 우리 집 앞 도로에 큰 구멍이 생겨서 아주 위험합니다")
    caller.send(P.PLAY, call=leg, file=str(description))
    inc = await far.answer_next(timeout=40)
    assert inc.get("called") == "1002"
    far.send(P.HANGUP, call=str(inc.get("call")))
    rec = await speech_hotline.wait_call(lambda c: c["ended_at"])
    full = speech_hotline.api(f"/api/v1/calls/{rec['id']}")[1]
    free = [u for u in full["utterances"] if u["mode"] == "free"]
    assert len(free) == 1 and len(free[0]["text"].split()) >= 3
    assert full["detail"]["caller_said"] == free[0]["text"]
    assert full["outcome"] == "agent_handled" and full["menu_path"] == ""


async def test_speaking_stops_the_greeting_at_once(speech_hotline: HotlineProc, caller: Peer, tmp_path: Path) -> None:
    word = speak(tmp_path, "상담원")
    leg = await caller.dial(speech_hotline.uri)
    recording_started = time.monotonic()
    await asyncio.sleep(2.0)
    spoke_at = time.monotonic() - recording_started
    caller.send(P.PLAY, call=leg, file=str(word))
    await asyncio.sleep(2.5)
    samples, rate = await caller.heard(leg)
    before = samples[int((spoke_at - 1.0) * rate):int(spoke_at * rate)]
    # the greeting runs ~8 s; after barge-in the caller hears silence until their words end (1.5 s)
    after = samples[int((spoke_at + 0.7) * rate):int((spoke_at + 1.5) * rate)]
    assert rms(before) > 500, "the greeting was playing before the caller spoke"
    assert rms(after) < 100, f"the greeting kept playing over the caller (rms {rms(after):.0f})"
    caller.send(P.HANGUP, call=leg)


async def test_a_broken_model_leaves_the_hotline_on_keys(hotline_factory: Callable[..., HotlineProc],
                                                         caller: Peer, far: Peer, tmp_path: Path) -> None:
    h = hotline_factory(asr={"model": str(tmp_path / "no-such-model")})
    assert h.api("/health")[1]["asr"].startswith("off:") and "model directory not found" in h.api("/health")[1]["asr"]
    leg = await caller.dial(h.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="92")
    inc = await far.answer_next()
    assert inc.get("called") == "119"
    far.send(P.HANGUP, call=str(inc.get("call")))
    await caller.wait_state(leg, "ended")
