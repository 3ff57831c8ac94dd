"""HTTP API handlers with the real store (SQLite) and queue; bad input gets a clear error."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent_desk.http import make_app
from ivr.acd import Agent
from ivr.queueing import AgentQueue
from tests.fakes import FakeWorker, fake_say
from workorders.calls import CallStore
from workorders.db import make_engine, migrate


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    migrate(engine)
    store = CallStore(engine)
    await store.create(leg_id="a", worker="w1", caller="13800138000", called="12345",
                       arrived_at=dt.datetime(2026, 11, 22, 8, tzinfo=dt.UTC))
    queue = AgentQueue([Agent("1001", "王丽", "sip:1001@x")], dial=FakeWorker().dial, say=fake_say,
                       music=Path("/m.wav"))

    async def reload() -> list[str]:
        return ["ivr.yaml:3: menus.main: boom"]

    app = make_app(store, queue, reload, lambda: {"status": "ok"})
    async with TestClient(TestServer(app)) as c:
        yield c
    store.close()


async def test_calls_listing_and_filters(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/api/v1/calls")
    assert r.status == 200 and [c["leg_id"] for c in (await r.json())["calls"]] == ["a"]
    r = await client.get("/api/v1/calls", params={"since": "2026-11-22T09:00:00+00:00"})
    assert (await r.json())["calls"] == []
    r = await client.get("/api/v1/calls/1")
    assert (await r.json())["caller"] == "13800138000"


@pytest.mark.parametrize(("method", "path", "body", "status", "message"), [
    ("GET", "/api/v1/calls?since=yesterday", None, 400, "since: not an ISO 8601 time"),
    ("GET", "/api/v1/calls?limit=0", None, 400, "limit: must be between 1 and 1000"),
    ("GET", "/api/v1/calls?limit=x", None, 400, "limit: not an integer"),
    ("GET", "/api/v1/calls/abc", None, 400, "call id must be an integer"),
    ("GET", "/api/v1/calls/99", None, 404, "no call 99"),
    ("POST", "/api/v1/agents/1001/state", b"{not json", 400, "body must be JSON"),
    ("POST", "/api/v1/agents/1001/state", b'{"state": "asleep"}', 400, "state must be"),
    ("POST", "/api/v1/agents/9999/state", b'{"state": "ready"}', 404, "no agent 9999"),
    ("POST", "/api/v1/reload", None, 422, None),
])
async def test_bad_requests_get_clear_errors(client: TestClient, method: str, path: str,  # type: ignore[type-arg]
                                             body: bytes | None, status: int, message: str | None) -> None:
    r = await client.request(method, path, data=body)
    assert r.status == status
    payload = await r.json()
    if message:
        assert message in payload["error"]
    else:
        assert payload == {"reloaded": False, "problems": ["ivr.yaml:3: menus.main: boom"]}


async def test_agent_goes_ready_and_not_ready(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/v1/agents/1001/state", json={"state": "ready"})
    assert r.status == 200 and (await r.json())["state"] == "ready"
    r = await client.post("/api/v1/agents/1001/state", json={"state": "not_ready", "reason": "午餐"})
    assert (await r.json()) == {"id": "1001", "state": "not_ready", "reason": "午餐"}
    agents = (await (await client.get("/api/v1/agents")).json())["agents"]
    assert agents[0]["state"] == "not_ready" and agents[0]["reason"] == "午餐"


async def test_oversized_body_is_refused(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/api/v1/agents/1001/state", data=b"x" * 200_000)
    assert r.status == 413
