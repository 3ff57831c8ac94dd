"""HTTP JSON API (aiohttp): thin handlers over the services the composition root gives us."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ivr.acd import AgentState, TransitionError
from ivr.queueing import AgentQueue
from workorders.calls import CallStore

logger = logging.getLogger(__name__)

Reload = Callable[[], Awaitable[list[str]]]
Health = Callable[[], dict[str, Any]]

STORE: web.AppKey[CallStore] = web.AppKey("store", CallStore)
QUEUE: web.AppKey[AgentQueue] = web.AppKey("queue", AgentQueue)
RELOAD: web.AppKey[Reload] = web.AppKey("reload")
HEALTH: web.AppKey[Health] = web.AppKey("health")


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


async def list_calls(request: web.Request) -> web.Response:
    try:
        limit = int(request.query.get("limit", "100"))
    except ValueError:
        return _error(400, "limit: not an integer")
    if not 1 <= limit <= 1000:
        return _error(400, "limit: must be between 1 and 1000")
    calls = await request.app[STORE].list(_when(request, "since"), _when(request, "until"), limit,
                                          request.query.get("outcome"))
    return _json({"calls": calls})


async def get_call(request: web.Request) -> web.Response:
    try:
        call_id = int(request.match_info["id"])
    except ValueError:
        return _error(400, "call id must be an integer")
    call = await request.app[STORE].get(call_id)
    return _json(call) if call else _error(404, f"no call {call_id}")


async def queue_state(request: web.Request) -> web.Response:
    return _json(request.app[QUEUE].snapshot())


async def set_agent_state(request: web.Request) -> web.Response:
    agent_id = request.match_info["id"]
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
    problems = await request.app[RELOAD]()
    if problems:
        return _json({"reloaded": False, "problems": problems}, 422)
    return _json({"reloaded": True})


async def health(request: web.Request) -> web.Response:
    return _json(request.app[HEALTH]())


def make_app(store: CallStore, queue: AgentQueue, reload: Reload, health_fn: Health) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[STORE], app[QUEUE], app[RELOAD], app[HEALTH] = store, queue, reload, health_fn
    app.router.add_get("/health", health)
    app.router.add_get("/api/v1/calls", list_calls)
    app.router.add_get("/api/v1/calls/{id}", get_call)
    app.router.add_get("/api/v1/queue", queue_state)
    app.router.add_get("/api/v1/agents", queue_state)
    app.router.add_post("/api/v1/agents/{id}/state", set_agent_state)
    app.router.add_post("/api/v1/reload", reload_menus)
    return app
