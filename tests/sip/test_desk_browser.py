"""The agent desk in Debian's Chromium (Playwright) with a real SIP caller and softphone:
log in, go ready, the softphone rings, the screen pop shows what the caller said, the order is
finalised and lands in the database linked to the call. Screenshots go to test-artifacts/."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ivr import protocol as P
from tests.harness import HotlineProc, Peer, speak, vosk_test_model

pytestmark = pytest.mark.sip

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


@pytest.fixture
def desk_hotline(hotline_factory: Callable[..., HotlineProc], tmp_path: Path, far_port: int) -> HotlineProc:
    shutil.copy(Path(__file__).resolve().parents[1] / "data" / "ivr_ko.yaml", tmp_path / "ivr.yaml")
    h = hotline_factory(asr={"model": str(vosk_test_model())}, queue={"wrap_up": 30})
    h.cli("user", "add", "1001", "--role", "agent", "--name", "王丽", "--sip", f"sip:1001@127.0.0.1:{far_port}",
          "--password-stdin", stdin="agent-password-1\n")
    h.cli("user", "add", "boss", "--role", "supervisor", "--name", "张班长", "--password-stdin",
          stdin="super-password-1\n")
    return h


async def log_in(browser: object, h: HotlineProc, user: str, password: str) -> object:
    page = await browser.new_page(viewport={"width": 1280, "height": 860})  # type: ignore[attr-defined]
    await page.goto(f"http://127.0.0.1:{h.http_port}/login")
    await page.fill("#user", user)
    await page.fill("#password", password)
    await page.click("button[type=submit]")
    return page


async def test_agent_takes_a_call_and_finalises_the_order(desk_hotline: HotlineProc, browser: object,
                                                          caller: Peer, far: Peer, tmp_path: Path) -> None:
    h = desk_hotline
    ARTIFACTS.mkdir(exist_ok=True)
    page = await log_in(browser, h, "1001", "agent-password-1")
    await page.wait_for_url("**/desk")
    await page.keyboard.press("F2")  # 就绪
    await page.wait_for_function("document.getElementById('state').textContent === '就绪'")
    leg = await caller.dial(h.uri)
    await asyncio.sleep(1.0)
    caller.send(P.PLAY, call=leg, file=str(speak(tmp_path, "안녕하세요 우리 집 앞 도로에 큰 구멍이 생겨서 아주 위험합니다")))
    ring = await far.answer_next(timeout=40)  # the agent's softphone rings and answers
    assert ring.get("called") == "1001"
    await page.wait_for_function("document.getElementById('caller').textContent.includes('****')", timeout=15000)
    assert await page.text_content("#caller") == "138****8000"
    said = await page.inner_text("#transcript")
    assert said.strip() and "等待来电" not in said  # the caller's recognised words are on screen
    await page.wait_for_function("document.getElementById('state').textContent === '通话中'")
    # the caller goes on talking to the agent: their words appear live
    caller.send(P.PLAY, call=leg, file=str(speak(tmp_path, "그리고 밤에는 가로등도 꺼져 있어서 너무 어둡습니다")))
    await page.wait_for_selector("#transcript li.live", timeout=20000)
    assert (await page.inner_text("#transcript li.live")).strip()
    await page.select_option("#category", "投诉")
    await page.select_option("#topic", "市政设施")
    await page.select_option("#district", "朝阳区")
    await page.fill("#unit", "朝阳区城市管理委员会")
    await page.select_option("#level", "7d")
    await page.fill("#street", "望京西园三区")
    await page.wait_for_function("document.getElementById('saved').textContent.startsWith('已保存')")
    await page.screenshot(path=str(ARTIFACTS / "desk-screen-pop.png"), full_page=True)
    far.send(P.HANGUP, call=str(ring.get("call")))  # the agent hangs up on the softphone
    await page.wait_for_function("document.getElementById('state').textContent === '话后处理'")
    await page.keyboard.press("Control+Enter")  # 办结派单
    await page.wait_for_function("document.getElementById('number').textContent.startsWith('工单号')")
    number = (await page.text_content("#number") or "").replace("工单号", "").strip()
    assert re.fullmatch(r"\d{8}-\d{6}", number)
    await page.wait_for_function("document.getElementById('state').textContent === '就绪'")  # wrap-up ended
    await page.screenshot(path=str(ARTIFACTS / "desk-finalised.png"), full_page=True)
    html = await page.content()
    assert "13800138000" not in html  # the agent never sees the full number

    status, body = h.api("/api/v1/orders")
    order = next(o for o in body["orders"] if o["number"] == number)
    call = next(c for c in h.calls() if c["id"] == order["call_id"])
    assert call["caller"] == "13800138000" and call["agent_id"] == "1001"
    assert order["status"] == "已派单" and order["unit"] == "朝阳区城市管理委员会" and order["street"] == "望京西园三区"
    assert order["summary"].strip() and order["deadline"]

    board = await log_in(browser, h, "boss", "super-password-1")
    await board.wait_for_url("**/wallboard")
    await board.wait_for_function("document.getElementById('handled').textContent === '1'", timeout=10000)
    assert "王丽" in await board.inner_text("#agents")
    await board.screenshot(path=str(ARTIFACTS / "wallboard.png"), full_page=True)
