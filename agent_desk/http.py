"""HTTP JSON API (aiohttp): thin handlers over the services the composition root gives us."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from agent_desk import auth
from agent_desk.events import Hub
from agent_desk.security import CSRF, ENGINE, authenticate, person, require, security_headers
from agent_desk.services import Desk
from ivr.acd import AgentState, TransitionError
from ivr.queueing import AgentQueue
from workorders import orders
from workorders.calls import CallStore

logger = logging.getLogger(__name__)

Reload = Callable[[], Awaitable[list[str]]]
Health = Callable[[], dict[str, Any]]

STORE: web.AppKey[CallStore] = web.AppKey("store", CallStore)
QUEUE: web.AppKey[AgentQueue] = web.AppKey("queue", AgentQueue)
RELOAD: web.AppKey[Reload] = web.AppKey("reload")
HEALTH: web.AppKey[Health] = web.AppKey("health")
DESK: web.AppKey[Desk] = web.AppKey("desk", Desk)
HUB: web.AppKey[Hub] = web.AppKey("hub", Hub)
STAFF = ("supervisor", "admin")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda x: json.dumps(x, ensure_ascii=False))


def _error(status: int, message: str) -> web.Response:
    return _json({"error": message}, status)


def _when(request: web.Request, name: str) -> dt.datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"{name}: not an ISO 8601 time: {raw!r}"}),
                                 content_type="application/json") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _show(request: web.Request, calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mask callers' numbers unless a supervisor asks for them (and the asking is logged)."""
    me = person(request)
    full = request.query.get("numbers") == "full" and me.sees_all
    if full and calls:
        await asyncio.to_thread(auth.audit, request.app[ENGINE], me.id, "saw full numbers",
                                f"{request.path} calls {','.join(str(c['id']) for c in calls[:20])}")
    for c in calls:
        if not full:
            c["caller"] = auth.mask_number(str(c.get("caller", "")))
    return calls


async def list_calls(request: web.Request) -> web.Response:
    me = person(request)
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return _error(400, "limit: not an integer")
    if not 1 <= limit <= 1000:
        return _error(400, "limit: must be between 1 and 1000")
    calls = await request.app[STORE].list(_when(request, "since"), _when(request, "until"), limit,
                                          request.query.get("outcome"))
    if not me.sees_all:
        calls = [c for c in calls if c.get("agent_id") == me.id]
    return _json({"calls": await _show(request, calls)})


async def get_call(request: web.Request) -> web.Response:
    try:
        call_id = int(request.match_info["id"])
    except ValueError:
        return _error(400, "call id must be an integer")
    call = await request.app[STORE].get(call_id)
    if not call or (not person(request).sees_all and call.get("agent_id") != person(request).id):
        return _error(404, f"no call {call_id}")
    return _json((await _show(request, [call]))[0])


async def queue_state(request: web.Request) -> web.Response:
    snap = request.app[QUEUE].snapshot()
    for w in snap["waiting"]:
        w["caller"] = auth.mask_number(str(w["caller"]))
    return _json(snap)


async def set_agent_state(request: web.Request) -> web.Response:
    agent_id = request.match_info["id"]
    if person(request).id != agent_id and not person(request).sees_all:
        return _error(403, "you can only change your own state")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body must be JSON like {\"state\": \"ready\"}")
    if not isinstance(body, dict) or body.get("state") not in ("ready", "not_ready"):
        return _error(400, "state must be \"ready\" or \"not_ready\"")
    reason = str(body.get("reason", ""))[:64]
    try:
        agent = request.app[QUEUE].set_state(agent_id, AgentState(body["state"]), reason)
    except KeyError:
        return _error(404, f"no agent {agent_id}")
    except TransitionError as exc:
        return _error(409, str(exc))
    return _json({"id": agent.id, "state": agent.state.value, "reason": agent.reason})


async def reload_menus(request: web.Request) -> web.Response:
    require(request, "admin")
    problems = await request.app[RELOAD]()
    if problems:
        return _json({"reloaded": False, "problems": problems}, 422)
    return _json({"reloaded": True})


async def health(request: web.Request) -> web.Response:
    return _json(request.app[HEALTH]())


async def me(request: web.Request) -> web.Response:
    p = person(request)
    agent = request.app[QUEUE].agents.get(p.id)
    return _json({"id": p.id, "name": p.name, "role": p.role, "csrf": request.get(CSRF, ""),
                  "state": agent.state.value if agent else None,
                  "order": request.app[DESK].open_orders.get(p.id)})


def _order_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "order id must be an integer"}',
                                 content_type="application/json") from None


async def _order_call(request: web.Request, work: Any) -> web.Response:
    try:
        return _json(await work)
    except orders.OrderError as exc:
        return _json({"error": exc.message, "field": exc.field}, exc.status)


async def get_order(request: web.Request) -> web.Response:
    p = person(request)
    return await _order_call(request, asyncio.to_thread(orders.get_order, request.app[ENGINE], _order_id(request),
                                                        p.id, p.sees_all))


async def update_order(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body must be a JSON object of fields")
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object of fields")
    return await _order_call(request, request.app[DESK].update(person(request), _order_id(request), body))


async def finalise_order(request: web.Request) -> web.Response:
    answered = request.query.get("answered") == "1"
    return await _order_call(request, request.app[DESK].finalise(person(request), _order_id(request), answered))


async def my_orders(request: web.Request) -> web.Response:
    p = person(request)
    return _json({"orders": await asyncio.to_thread(orders.orders_of, request.app[ENGINE], p.id, p.sees_all)})


async def hand_over(request: web.Request) -> web.Response:
    require(request, "agent")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "body must be JSON like {\"line\": \"119\"}")
    line = str(body.get("line", "")) if isinstance(body, dict) else ""
    if line not in ("110", "119", "120", "122"):
        return _error(400, "line must be 110, 119, 120 or 122")
    try:
        return _json(await request.app[DESK].hand_over(person(request), line))
    except TransitionError as exc:
        return _error(409, str(exc))
    except orders.OrderError as exc:
        return _json({"error": exc.message, "field": exc.field}, exc.status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}', content_type="application/json")
    return body


async def hold(request: web.Request) -> web.Response:
    me = require(request, "agent")
    on = bool((await _body(request)).get("on", True))
    try:
        request.app[QUEUE].hold(me.id, on)
    except TransitionError as exc:
        return _error(409, str(exc))
    return _json({"held": on})


async def transfer_call(request: web.Request) -> web.Response:
    me = require(request, "agent")
    to = str((await _body(request)).get("to", ""))[:64]
    try:
        request.app[QUEUE].transfer(me.id, to)
    except TransitionError as exc:
        return _error(409, str(exc))
    return _json({"transferred": True, "to": to or "queue"})


async def wallboard_json(request: web.Request) -> web.Response:
    require(request, *STAFF)
    return _json(await request.app[DESK].wallboard())


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: this agent's screen pops and state; the wallboard for supervisors."""
    p = person(request)
    hub = request.app[HUB]
    q = hub.subscribe(p.id, p.sees_all)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await resp.prepare(request)
    try:
        await resp.write(b": connected\n\n")
        if p.sees_all:
            await resp.write(hub._frame("wallboard", await request.app[DESK].wallboard()).encode())
        while True:
            try:
                frame = await asyncio.wait_for(q.get(), 15)
            except TimeoutError:
                frame = ": keep-alive\n\n"
            await resp.write(frame.encode())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(p.id, q)
    return resp


def make_app(store: CallStore, queue: AgentQueue, reload: Reload, health_fn: Health, *, engine: Any,
             desk: Desk, hub: Hub) -> web.Application:
    from agent_desk import pages

    app = web.Application(client_max_size=64 * 1024, middlewares=[security_headers, authenticate])
    app[STORE], app[QUEUE], app[RELOAD], app[HEALTH] = store, queue, reload, health_fn
    app[ENGINE], app[DESK], app[HUB] = engine, desk, hub
    pages.add_routes(app)
    app.router.add_get("/api/v1/me", me)
    app.router.add_get("/api/v1/events", events)
    app.router.add_get("/api/v1/orders", my_orders)
    app.router.add_get("/api/v1/orders/{id}", get_order)
    app.router.add_put("/api/v1/orders/{id}", update_order)
    app.router.add_post("/api/v1/orders/{id}/finalise", finalise_order)
    app.router.add_get("/api/v1/wallboard", wallboard_json)
    app.router.add_post("/api/v1/transfer", hand_over)
    app.router.add_post("/api/v1/hold", hold)
    app.router.add_post("/api/v1/transfer-call", transfer_call)
    app.router.add_get("/health", health)
    app.router.add_get("/api/v1/calls", list_calls)
    app.router.add_get("/api/v1/calls/{id}", get_call)
    app.router.add_get("/api/v1/queue", queue_state)
    app.router.add_get("/api/v1/agents", queue_state)
    app.router.add_post("/api/v1/agents/{id}/state", set_agent_state)
    app.router.add_post("/api/v1/reload", reload_menus)
    return app
