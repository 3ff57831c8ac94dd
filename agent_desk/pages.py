"""The desk's pages (Chinese UI, server-rendered shells with light JS): login, agent, wallboard."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from html import escape
from pathlib import Path

from aiohttp import web

from agent_desk import auth
from agent_desk.security import COOKIE, CSRF, ENGINE, person

STATIC = Path(__file__).resolve().parent / "static"


def _page(title: str, body: str, csrf: str = "", script: str = "", me: str = "") -> web.Response:
    html = (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<meta name='csrf' content='{escape(csrf)}'><meta name='me' content='{escape(me)}'>"
            f"<link rel='stylesheet' href='/static/desk.css'></head><body>{body}"
            + (f"<script src='/static/{script}'></script>" if script else "") + "</body></html>")
    return web.Response(text=html, content_type="text/html")


def _header(p: auth.Person, csrf: str) -> str:
    links = "<a href='/wallboard' style='color:#fff'>监控大屏</a> <a href='/admin' style='color:#fff'>用户管理</a>" \
        if p.role == "admin" else ""
    return (f"<header><h1>12345 市民服务热线 · {escape(p.name)}（{escape(p.role)}）</h1>{links}"
            f"<span id='state' class='badge'>—</span>"
            f"<form method='post' action='/logout'><input type='hidden' name='csrf' value='{escape(csrf)}'>"
            f"<button>退出</button></form></header>")


async def login_form(request: web.Request, message: str = "") -> web.Response:
    # keep the token the browser already has: a second load (another tab, a favicon redirect)
    # must not invalidate the form on screen
    token = request.cookies.get("login_csrf") or secrets.token_urlsafe(24)
    resp = _page("登录 12345 坐席", f"""<main style='max-width:360px;margin:60px auto'><section>
<h2>12345 坐席登录</h2><form method='post' action='/login'>
<input type='hidden' name='csrf' value='{token}'>
<label for='user'>用户名</label><input id='user' name='user' autocomplete='username' autofocus required maxlength='64'>
<label for='password'>密码</label><input id='password' name='password' type='password' autocomplete='current-password'
 required maxlength='256'>
<p class='err' id='message'>{escape(message)}</p><button type='submit'>登录</button></form></section></main>""")
    resp.set_cookie("login_csrf", token, httponly=True, samesite="Strict", path="/login", max_age=1800)
    return resp


async def login(request: web.Request) -> web.Response:
    form = await request.post()
    sent = str(form.get("csrf", ""))
    if not sent or not hmac.compare_digest(sent, request.cookies.get("login_csrf", "")):
        return await login_form(request, "表单已过期，请重新登录")
    user, password = str(form.get("user", ""))[:64], str(form.get("password", ""))[:256]
    try:
        token, _csrf, who = await asyncio.to_thread(auth.login, request.app[ENGINE], user, password)
    except auth.AuthError as exc:
        resp = await login_form(request, str(exc))
        resp.set_status(401)
        return resp
    resp = web.HTTPFound("/desk" if who.role == "agent" else "/wallboard")
    resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/")
    resp.del_cookie("login_csrf", path="/login")
    raise resp


async def logout(request: web.Request) -> web.Response:
    await asyncio.to_thread(auth.logout, request.app[ENGINE], request.cookies.get(COOKIE, ""))
    resp = web.HTTPFound("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


async def home(request: web.Request) -> web.Response:
    role = person(request).role
    raise web.HTTPFound({"agent": "/desk", "admin": "/admin"}.get(role, "/wallboard"))


def _options(values: list[str], blank: str = "") -> str:
    return f"<option value=''>{blank}</option>" + "".join(f"<option>{escape(v)}</option>" for v in values)


async def desk(request: web.Request) -> web.Response:
    from agent_desk.http import DESK

    p, csrf = person(request), str(request.get(CSRF, ""))
    d = request.app[DESK]
    body = _header(p, csrf) + f"""<main class='grid'>
<section><h3>来电信息</h3>
<div><button id='ready' title='F2'>就绪 <span class='kbd'>F2</span></button>
<button id='break' title='F3'>小休 <span class='kbd'>F3</span></button>
<select id='reason' style='width:auto'><option>休息</option><option>培训</option><option>会议</option></select></div>
<div>一键转接：<button class='xfer' data-line='110'>110 <span class='kbd'>Alt+1</span></button>
<button class='xfer' data-line='119'>119 <span class='kbd'>Alt+2</span></button>
<button class='xfer' data-line='120'>120 <span class='kbd'>Alt+3</span></button>
<button class='xfer' data-line='122'>122 <span class='kbd'>Alt+4</span></button>
<span id='xfer' class='err'></span></div>
<div><button id='hold'>保持 <span class='kbd'>F4</span></button>
<button id='toqueue'>转回队列 <span class='kbd'>F6</span></button>
<select id='toagent' style='width:auto'>{_options(sorted(d.queue.agents), "选择坐席")}</select>
<button id='transfer'>转坐席 <span class='kbd'>F7</span></button></div>
<p>来电号码：<b id='caller'>—</b>　按键路径：<b id='path'>—</b></p><p id='repeat'></p>
<h4>来电人所说（语音识别）</h4><ol id='transcript'><li class='kbd'>等待来电…</li></ol>
<h4>智能分析</h4><p id='triage' class='kbd'>—</p><h4>历史工单</h4><ul id='previous'></ul></section>
<section><h3>诉求工单 <span id='number' class='ok'></span></h3>
<form id='order' onsubmit='return false'>
<div class='grid'><div><label for='category'>诉求类型</label><select id='category' name='category'>
{_options(["咨询", "求助", "投诉", "举报", "建议"], "请选择")}</select></div>
<div><label for='topic'>主题</label><select id='topic' name='topic'>
{_options(sorted(d.vocab.topics), "请选择")}</select></div>
<div><label for='district'>区</label><select id='district' name='district'>
{_options(list(d.catalog.districts), "请选择")}</select></div>
<div><label for='street'>街道/地点</label><input id='street' name='street' maxlength='64'></div></div>
<label for='summary'>诉求内容</label><textarea id='summary' name='summary' maxlength='2000'></textarea>
<div class='grid'><div><label for='unit'>承办单位</label><input id='unit' name='unit' list='units' maxlength='128'>
<datalist id='units'>{"".join(f"<option>{escape(u)}</option>" for u in sorted(d.vocab.units))}</datalist></div>
<div><label for='level'>办理时限</label><select id='level' name='level'>
{_options(["2h", "24h", "7d", "15d"], "请选择")}</select></div></div>
<p id='saved' class='kbd'></p><p id='error' class='err'></p>
<button id='finalise'>办结派单 <span class='kbd'>Ctrl+Enter</span></button>
<button id='answered'>即时答复 <span class='kbd'>Ctrl+Shift+Enter</span></button>
</form></section></main>"""
    return _page("坐席工作台", body, csrf, "desk.js", p.id)


async def wallboard(request: web.Request) -> web.Response:
    p, csrf = person(request), str(request.get(CSRF, ""))
    if not p.sees_all:
        raise web.HTTPFound("/desk")
    body = _header(p, csrf) + """<main>
<section class='tiles'>
<div>排队等待<div class='big' id='waiting'>0</div></div><div>最长等待(秒)<div class='big' id='longest'>0</div></div>
<div>15秒接通率<div class='big' id='sl'>—</div></div><div>平均应答(秒)<div class='big' id='asa'>—</div></div>
<div>人工接听<div class='big' id='handled'>0</div></div><div>放弃<div class='big' id='abandoned'>0</div></div>
<div>智能答复<div class='big' id='robot'>0</div></div><div>紧急转接<div class='big' id='emergency'>0</div></div>
</section><section><h3>今日每15分钟来电量</h3><svg id='chart' width='100%' height='140' viewBox='0 0 960 140'></svg>
平均处理时长(秒)：<b id='aht'>—</b></section>
<section><h3>坐席状态</h3><table><thead><tr><th>工号</th><th>姓名</th><th>状态</th><th>原因</th><th>接听</th></tr></thead>
<tbody id='agents'></tbody></table></section></main>"""
    return _page("班长监控大屏", body, csrf, "wallboard.js")


async def admin(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    """用户管理: list people, add or update one (agents need their softphone URI)."""
    p, csrf = person(request), str(request.get(CSRF, ""))
    if p.role != "admin":
        raise web.HTTPFound("/")
    people = await asyncio.to_thread(auth.list_people, request.app[ENGINE])
    rows = "".join(f"<tr><td>{escape(u.id)}</td><td>{escape(u.name)}</td><td>{escape(u.role)}</td>"
                   f"<td>{escape(u.sip)}</td></tr>" for u in people)
    body = _header(p, csrf) + f"""<main><section><h3>用户管理</h3>
<table><thead><tr><th>用户名</th><th>姓名</th><th>角色</th><th>软电话</th></tr></thead>
<tbody id='users'>{rows}</tbody></table>
</section><section><h3>添加或修改用户</h3><form method='post' action='/admin/users'>
<input type='hidden' name='csrf' value='{escape(csrf)}'>
<div class='grid'><div><label for='uid'>用户名</label><input id='uid' name='user' required maxlength='64'></div>
<div><label for='uname'>姓名</label><input id='uname' name='name' maxlength='64'></div>
<div><label for='role'>角色</label><select id='role' name='role'>{_options(list(auth.ROLES))}</select></div>
<div><label for='sip'>软电话 SIP 地址（坐席必填）</label><input id='sip' name='sip' maxlength='256'
 placeholder='sip:1001@10.0.0.21'></div>
<div><label for='pw'>新密码（至少8位，留空则不改）</label><input id='pw' name='password' type='password'
 maxlength='256' autocomplete='new-password'></div></div>
<p class='err' id='message'>{escape(message)}</p><button type='submit'>保存</button></form></section></main>"""
    resp = _page("用户管理", body, csrf)
    resp.set_status(status)
    return resp


async def save_user(request: web.Request) -> web.Response:
    p = person(request)
    if p.role != "admin":
        raise web.HTTPForbidden(text="admins only")
    form = await request.post()
    password = str(form.get("password", "")) or None
    try:
        saved = await asyncio.to_thread(
            auth.add_user, request.app[ENGINE], str(form.get("user", ""))[:64], str(form.get("role", "")),
            name=str(form.get("name", ""))[:64], sip=str(form.get("sip", ""))[:256], password=password)
    except auth.AuthError as exc:
        return await admin(request, f"未保存：{exc}", 400)
    await asyncio.to_thread(auth.audit, request.app[ENGINE], p.id, "saved user", saved.id)
    return await admin(request, f"已保存用户 {saved.id}（{saved.role}）")


async def no_icon(request: web.Request) -> web.Response:
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
    app.router.add_get("/desk", desk)
    app.router.add_get("/wallboard", wallboard)
    app.router.add_get("/admin", admin)
    app.router.add_post("/admin/users", save_user)
    app.router.add_static("/static/", STATIC, append_version=True)
