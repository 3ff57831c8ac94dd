"""Administrators edit ivr.yaml on a running hotline; callers look up their orders."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ivr import protocol as P
from tests.harness import HotlineProc, Peer, rms
from workorders.db import make_engine
from workorders.models import WorkOrder

pytestmark = pytest.mark.sip
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "ivr.yaml"


async def test_sighup_applies_new_menus_to_new_calls_and_keeps_calls_in_progress(
        hotline_factory: Callable[..., HotlineProc], tmp_path: Path, caller: Peer) -> None:
    shutil.copy(SHIPPED, tmp_path / "ivr.yaml")
    hotline = hotline_factory()
    ongoing = await caller.dial(hotline.uri)
    text = SHIPPED.read_text(encoding="utf-8").replace(
        '"2": {action: queue}', '"2": {action: hangup, say: 您的诉求已记录，再见。}')
    (tmp_path / "ivr.yaml").write_text(text, encoding="utf-8")
    os.kill(hotline.proc.pid, signal.SIGHUP)
    await hotline.wait_for(lambda: "menus reloaded" in hotline.log.read_text(errors="replace"), what="reload")
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="2")
    await caller.wait_state(leg, "ended", timeout=30)  # the new menu says goodbye and hangs up
    rec = await hotline.wait_call(lambda c: c["leg_id"] != "" and c["menu_path"] == "2" and c["ended_at"])
    assert rec["outcome"] == "self_service"
    # the call that was in progress during the reload is still up and hears audio
    await asyncio.sleep(1)
    samples, _ = await caller.heard(ongoing, 1)
    assert rms(samples) > 100
    caller.send(P.HANGUP, call=ongoing)


async def test_invalid_menu_file_is_refused_and_the_old_menus_stay(
        hotline_factory: Callable[..., HotlineProc], tmp_path: Path, caller: Peer) -> None:
    shutil.copy(SHIPPED, tmp_path / "ivr.yaml")
    hotline = hotline_factory()
    (tmp_path / "ivr.yaml").write_text(SHIPPED.read_text(encoding="utf-8").replace(
        "{menu: emergency}", "{menu: emergancy}"), encoding="utf-8")
    status, body = hotline.api("/api/v1/reload", "POST")
    assert status == 422 and body["reloaded"] is False
    assert any("points to unknown menu 'emergancy'" in p for p in body["problems"])
    far_calls_before = len(hotline.calls())
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="9")  # old menus: 9 still leads to the emergency menu
    await hotline.wait_call(lambda c: c["menu_path"] == "9", timeout=10)
    caller.send(P.HANGUP, call=leg)
    assert len(hotline.calls()) == far_calls_before + 1


async def test_order_lookup_reads_the_status(hotline: HotlineProc, caller: Peer) -> None:
    engine = make_engine(f"sqlite:///{hotline.dir / 'hotline.db'}")
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        s.add(WorkOrder(number="20261122-000123", status="办理中", category="投诉", summary="噪音",
                        unit="朝阳区人民政府", created_at=now, updated_at=now))
    engine.dispose()
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="3")
    await asyncio.sleep(1.5)
    caller.send(P.SEND_DTMF, call=leg, digits="20261122000123#")
    await caller.wait_state(leg, "ended", timeout=40)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["outcome"] == "self_service"
    assert rec["menu_path"] == "320261122000123#"
    samples, rate = await caller.heard(leg)
    assert rms(samples[-3 * rate:]) > 300  # the status was read out before the goodbye
