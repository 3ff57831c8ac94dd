"""The desk's HTTP side with the real store, auth and orders (SQLite): access control, CSRF,
lockout, masking, and bad input getting clear errors with nothing half-written."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent_desk import auth
from agent_desk.events import Hub
from agent_desk.http import make_app
from agent_desk.services import Desk
from config.settings import SHIPPED_DIR
from ivr.acd import Agent
from ivr.queueing import AgentQueue
from tests.fakes import FakeWorker, fake_say
from triage.catalog import load_catalog
from workorders import orders
from workorders.calls import CallStore
from workorders.db import make_engine, migrate

PASSWORD = "correct-horse-1"


@dataclass
class Env:
    client: TestClient  # type: ignore[type-arg]
    engine: Any
    store: CallStore
    call_id: int
    order_1001: int
    order_1002: int
    tokens: dict[str, str]

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    store = CallStore(engine)
    call_id = await store.create(leg_id="a", worker="w1", caller="13800138000", called="12345",
                                 arrived_at=dt.datetime.now(dt.UTC))  # today: the wallboard counts today
    await store.update(call_id, agent_id="1001")
    for uid, role, sip in (("1001", "agent", "sip:1001@x"), ("1002", "agent", "sip:1002@x"), ("boss", "supervisor", "")):
        auth.add_user(engine, uid, role, sip=sip, password=PASSWORD)
    tokens = {u: auth.issue_token(engine, u) for u in ("1001", "1002", "boss")}
    o1 = orders.create_draft(engine, call_id, "1001", {"summary": "楼下饭馆太吵", "category": "投诉"})["id"]
    o2 = orders.create_draft(engine, call_id, "1002", {"summary": "别人的工单"})["id"]
    queue = AgentQueue([Agent("1001", "王丽", "sip:1001@x"), Agent("1002", "李强", "sip:1002@x")],
                       dial=FakeWorker().dial, say=fake_say, music=Path("/m.wav"))
    hub = Hub()
    desk = Desk(engine, store, queue, hub, load_catalog(SHIPPED_DIR / "dispatch.yaml"))

    async def reload() -> list[str]:
        return ["ivr.yaml:3: menus.main: boom"]

    app = make_app(store, queue, reload, lambda: {"status": "ok"}, engine=engine, desk=desk, hub=hub)
    async with TestClient(TestServer(app)) as c:
        yield Env(c, engine, store, call_id, o1, o2, tokens)
    store.close()


async def login(env: Env, user: str, password: str = PASSWORD) -> tuple[int, str]:
    """Log in through the form like a browser; returns (status, CSRF token of the session)."""
    page = await env.client.get("/login")
    token = re.search(r"name='csrf' value='([^']+)'", await page.text()).group(1)  # type: ignore[union-attr]
    r = await env.client.post("/login", data={"user": user, "password": password, "csrf": token},
                              allow_redirects=False)
    if r.status != 302:
        return r.status, ""
    me = await (await env.client.get("/api/v1/me")).json()
    return 302, me["csrf"]


async def test_pages_need_a_login_and_the_agent_lands_on_the_desk(env: Env) -> None:
    r = await env.client.get("/desk", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/login"
    assert (await env.client.get("/api/v1/calls")).status == 401
    status, csrf = await login(env, "1001")
    assert status == 302 and csrf
    html = await (await env.client.get("/desk")).text()
    assert "诉求工单" in html and "13800138000" not in html
    cookie = next(c for c in env.client.session.cookie_jar if c.key == "hotline_session")
    assert cookie["httponly"] and cookie["samesite"] == "Strict"


async def test_a_state_change_without_the_csrf_token_is_refused(env: Env) -> None:
    _, csrf = await login(env, "1001")
    r = await env.client.post("/api/v1/agents/1001/state", json={"state": "ready"})
    assert r.status == 403 and "CSRF" in (await r.json())["error"]
    r = await env.client.post("/api/v1/agents/1001/state", json={"state": "ready"}, headers={"X-CSRF-Token": csrf})
    assert r.status == 200 and (await r.json())["state"] == "ready"
    r = await env.client.post("/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert r.status == 403


async def test_five_wrong_passwords_lock_the_account(env: Env) -> None:
    for _ in range(4):
        assert (await login(env, "1002", "wrong-password"))[0] == 401
    page = await env.client.get("/login")
    token = re.search(r"name='csrf' value='([^']+)'", await page.text()).group(1)  # type: ignore[union-attr]
    r = await env.client.post("/login", data={"user": "1002", "password": "wrong-password", "csrf": token})
    assert r.status == 401 and "锁定" in await r.text()
    assert (await login(env, "1002", PASSWORD))[0] == 401  # even the right password, for a while


async def test_an_agent_cannot_read_another_agents_order(env: Env) -> None:
    r = await env.client.get(f"/api/v1/orders/{env.order_1002}", headers=env.bearer("1001"))
    assert r.status == 404
    r = await env.client.put(f"/api/v1/orders/{env.order_1002}", json={"summary": "x"}, headers=env.bearer("1001"))
    assert r.status == 404
    r = await env.client.get(f"/api/v1/orders/{env.order_1002}", headers=env.bearer("boss"))
    assert r.status == 200 and (await r.json())["summary"] == "别人的工单"


async def test_numbers_are_masked_for_agents_and_full_numbers_are_audited(env: Env) -> None:
    r = await env.client.get("/api/v1/calls", headers=env.bearer("1001"))
    assert [c["caller"] for c in (await r.json())["calls"]] == ["138****8000"]
    r = await env.client.get("/api/v1/calls?numbers=full", headers=env.bearer("1001"))
    assert (await r.json())["calls"][0]["caller"] == "138****8000"  # agents never get the full number
    r = await env.client.get("/api/v1/calls", headers=env.bearer("1002"))
    assert (await r.json())["calls"] == []  # not their call
    r = await env.client.get("/api/v1/calls?numbers=full", headers=env.bearer("boss"))
    assert (await r.json())["calls"][0]["caller"] == "13800138000"
    from sqlalchemy.orm import Session

    from workorders.models import AuditEntry
    with Session(env.engine) as s:
        assert [(a.user_id, a.action) for a in s.query(AuditEntry)] == [("boss", "saw full numbers")]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"summary": ""}, None, None),  # an empty field while typing is fine for a draft
    ({"summary": "x" * 2001}, "summary", "太长"),
    ({"topic": "外星人"}, "topic", "派单目录中没有主题"),
    ({"unit": "火星办事处"}, "unit", "派单目录中没有承办单位"),
    ({"category": "闲聊"}, "category", "类型只能是"),
    ({"level": "3d"}, "level", "时限只能是"),
    ({"number": "20260101-000001"}, "number", "不能修改"),
    ({"summary": 42}, "summary", "应为文本"),
])
async def test_bad_fields_are_refused_and_nothing_is_half_written(env: Env, fields: dict[str, Any],
                                                                  field: str | None, message: str | None) -> None:
    url = f"/api/v1/orders/{env.order_1001}"
    before = await (await env.client.get(url, headers=env.bearer("1001"))).json()
    r = await env.client.put(url, json={**fields, "street": "望京西园三区"}, headers=env.bearer("1001"))
    after = await (await env.client.get(url, headers=env.bearer("1001"))).json()
    if field is None:
        assert r.status == 200
        return
    body = await r.json()
    assert r.status == 400 and body["field"] == field and message in body["error"]
    assert after == before  # the valid street was not saved either


async def test_finalise_gives_a_number_and_a_deadline_once(env: Env) -> None:
    url = f"/api/v1/orders/{env.order_1001}"
    r = await env.client.post(url + "/finalise", headers=env.bearer("1001"))
    assert r.status == 400 and (await r.json())["field"] == "unit"  # dispatch needs a unit
    await env.client.put(url, json={"unit": "朝阳区城市管理委员会", "level": "24h", "district": "朝阳区",
                                    "topic": "噪音扰民"}, headers=env.bearer("1001"))
    r = await env.client.post(url + "/finalise", headers=env.bearer("1001"))
    done = await r.json()
    assert r.status == 200 and re.fullmatch(r"\d{8}-\d{6}", done["number"]) and done["status"] == "已派单"
    assert dt.datetime.fromisoformat(done["deadline"]) - dt.datetime.fromisoformat(done["finalized_at"]) == \
        dt.timedelta(hours=24)
    again = await env.client.post(url + "/finalise", headers=env.bearer("1001"))
    assert again.status == 409 and done["number"] in (await again.json())["error"]
    edit = await env.client.put(url, json={"summary": "改"}, headers=env.bearer("1001"))
    assert edit.status == 409


async def test_answered_on_the_spot_needs_no_unit(env: Env) -> None:
    r = await env.client.post(f"/api/v1/orders/{env.order_1001}/finalise?answered=1", headers=env.bearer("1001"))
    done = await r.json()
    assert r.status == 200 and done["status"] == "即时答复" and done["deadline"] is None


async def test_a_street_office_copies_its_district_government(env: Env) -> None:
    units = {"望京街道办事处"}
    from agent_desk.http import DESK
    desk = env.client.app[DESK]  # type: ignore[union-attr]
    desk.vocab = orders.Vocabulary(desk.vocab.topics, desk.vocab.districts, desk.vocab.units | units)
    url = f"/api/v1/orders/{env.order_1001}"
    await env.client.put(url, json={"unit": "望京街道办事处", "level": "7d", "district": "朝阳区"}, headers=env.bearer("1001"))
    done = await (await env.client.post(url + "/finalise", headers=env.bearer("1001"))).json()
    assert done["copy_to"] == "朝阳区人民政府"  # 第十二条(一)


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("GET", "/api/v1/calls?since=yesterday", None, 400, "since: not an ISO 8601 time"),
    ("GET", "/api/v1/calls?limit=0", None, 400, "limit: must be between 1 and 1000"),
    ("GET", "/api/v1/calls/abc", None, 400, "call id must be an integer"),
    ("GET", "/api/v1/calls/99", None, 404, "no call 99"),
    ("POST", "/api/v1/agents/1001/state", b"{not json", 400, "body must be JSON"),
    ("POST", "/api/v1/agents/1001/state", b'{"state": "asleep"}', 400, "state must be"),
    ("POST", "/api/v1/agents/9999/state", b'{"state": "ready"}', 404, "no agent 9999"),
    ("PUT", "/api/v1/orders/1", b"[1, 2]", 400, "JSON object"),
    ("POST", "/api/v1/reload", None, 403, "not allowed"),
])
async def test_bad_requests_get_clear_errors(env: Env, method: str, path: str, body: bytes | None, status: int,
                                             message: str) -> None:
    r = await env.client.request(method, path, data=body, headers=env.bearer("boss"))
    assert r.status == status
    assert message in (await r.json())["error"]


async def test_an_agent_changes_only_their_own_state(env: Env) -> None:
    r = await env.client.post("/api/v1/agents/1002/state", json={"state": "ready"}, headers=env.bearer("1001"))
    assert r.status == 403
    r = await env.client.post("/api/v1/agents/1002/state", json={"state": "ready"}, headers=env.bearer("boss"))
    assert r.status == 200


async def test_oversized_body_is_refused(env: Env) -> None:
    r = await env.client.put(f"/api/v1/orders/{env.order_1001}", data=b"x" * 200_000, headers=env.bearer("1001"))
    assert r.status == 413


async def test_unknown_token_is_refused(env: Env) -> None:
    r = await env.client.get("/api/v1/calls", headers={"Authorization": "Bearer nope"})
    assert r.status == 401


async def test_wallboard_is_for_supervisors(env: Env) -> None:
    assert (await env.client.get("/api/v1/wallboard", headers=env.bearer("1001"))).status == 403
    w = await (await env.client.get("/api/v1/wallboard", headers=env.bearer("boss"))).json()
    assert w["calls"] == 1 and len(w["per_15_minutes"]) == 96 and {a["id"] for a in w["agents"]} == {"1001", "1002"}


async def test_admin_page_adds_an_agent_who_can_then_log_in(env: Env) -> None:
    auth.add_user(env.engine, "root", "admin", password=PASSWORD)
    _, csrf = await login(env, "root")
    page = await (await env.client.get("/admin")).text()
    assert "用户管理" in page and "1001" in page
    r = await env.client.post("/admin/users", data={"csrf": csrf, "user": "1003", "name": "赵敏", "role": "agent",
                                                    "sip": "not a uri", "password": "new-agent-pw"})
    assert r.status == 400 and "SIP URI" in await r.text()
    r = await env.client.post("/admin/users", data={"csrf": csrf, "user": "1003", "name": "赵敏", "role": "agent",
                                                    "sip": "sip:1003@10.0.0.3", "password": "new-agent-pw"})
    assert r.status == 200 and "已保存用户 1003" in await r.text()
    r = await env.client.post("/admin/users", data={"user": "evil", "role": "admin", "password": "whatever-1"})
    assert r.status == 403  # no CSRF token: refused
    await env.client.post("/logout", data={"csrf": csrf})
    assert (await login(env, "1003", "new-agent-pw"))[0] == 302
    assert (await env.client.get("/admin", allow_redirects=False)).status == 302  # agents are sent away


async def test_finalise_refuses_an_empty_description_and_leaves_the_draft(env: Env) -> None:
    url = f"/api/v1/orders/{env.order_1001}"
    await env.client.put(url, json={"summary": "   ", "unit": "朝阳区城市管理委员会", "level": "7d"},
                         headers=env.bearer("1001"))
    r = await env.client.post(url + "/finalise", headers=env.bearer("1001"))
    body = await r.json()
    assert r.status == 400 and body["field"] == "summary" and "诉求内容" in body["error"]
    after = await (await env.client.get(url, headers=env.bearer("1001"))).json()
    assert after["status"] == "草稿" and after["number"] is None
