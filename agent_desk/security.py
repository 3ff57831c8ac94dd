"""Who is asking: session cookie or bearer token on every route, CSRF on every state change."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import Engine

from agent_desk import auth

ENGINE: web.AppKey[Engine] = web.AppKey("engine", Engine)
PERSON: web.RequestKey[auth.Person] = web.RequestKey("person", auth.Person)
CSRF: web.RequestKey[str] = web.RequestKey("csrf", str)
COOKIE = "hotline_session"
PUBLIC = {"/health", "/login", "/favicon.ico"}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def person(request: web.Request) -> auth.Person:
    return request[PERSON]


def require(request: web.Request, *roles: str) -> auth.Person:
    p = person(request)
    if p.role not in roles:
        raise web.HTTPForbidden(text='{"error": "not allowed for your role"}', content_type="application/json")
    return p


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC or request.path.startswith("/static/"):
        return await handler(request)
    engine = request.app[ENGINE]
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        found = await asyncio.to_thread(auth.bearer, engine, header[7:].strip())
        if found is None:
            raise web.HTTPUnauthorized(text='{"error": "unknown token"}', content_type="application/json")
        request[PERSON] = found
        return await handler(request)
    token = request.cookies.get(COOKIE, "")
    live = await asyncio.to_thread(auth.session, engine, token) if token else None
    if live is None:
        if _is_api(request):
            raise web.HTTPUnauthorized(text='{"error": "please log in"}', content_type="application/json")
        raise web.HTTPFound("/login")
    request[PERSON], request[CSRF] = live[0], live[1]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent and request.content_type == "application/x-www-form-urlencoded":
            sent = str((await request.post()).get("csrf", ""))
        if not hmac.compare_digest(sent, live[1]):
            raise web.HTTPForbidden(text='{"error": "missing or wrong CSRF token"}', content_type="application/json")
    return await handler(request)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")
    return response
