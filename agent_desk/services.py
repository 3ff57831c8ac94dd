"""Desk use cases: the screen pop and its draft order, order edits, the wallboard, agents."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import Engine

from agent_desk import auth, stats
from agent_desk.events import Hub
from ivr import protocol as P
from ivr.acd import Agent
from ivr.call import HungUp, Leg
from ivr.listening import Hearing, listen
from ivr.queueing import AgentQueue
from ivr.record import CallLog
from triage.catalog import Catalog
from workorders import orders
from workorders.calls import CallStore

logger = logging.getLogger(__name__)


def vocabulary(catalog: Catalog) -> orders.Vocabulary:
    units = {t.city_unit for t in catalog.topics} | {t.unit for t in catalog.topics if "{district}" not in t.unit}
    units |= {t.unit.format(district=d) for t in catalog.topics if "{district}" in t.unit for d in catalog.districts}
    units |= {f"{d}人民政府" for d in catalog.districts}
    return orders.Vocabulary(frozenset(t.name for t in catalog.topics), frozenset(catalog.districts),
                             frozenset(units))


class Desk:
    def __init__(self, engine: Engine, store: CallStore, queue: AgentQueue, hub: Hub, catalog: Catalog, *,
                 emergency_uris: Callable[[], dict[str, str]] = dict, ring_timeout: float = 20.0) -> None:
        self.engine, self.store, self.queue, self.hub, self.catalog = engine, store, queue, hub, catalog
        self.emergency_uris, self.ring_timeout = emergency_uris, ring_timeout
        self.vocab = vocabulary(catalog)
        self.open_orders: dict[str, int] = {}  # agent id -> the draft of their current or last call

    async def _db(self, fn: Any, *args: Any, **kw: Any) -> Any:
        return await asyncio.to_thread(fn, *args, **kw)

    # ---- the screen pop --------------------------------------------------------------------
    async def screen_pop(self, leg: Leg, agent: Agent, log: CallLog) -> None:
        """On bridge: a draft order prefilled from what the caller said and triage, shown at once."""
        detail = await self._db(orders.call_detail, self.engine, log.id)
        said = await self._db(orders.transcript, self.engine, log.id)
        tri = detail.get("triage") or {}
        prefill = {"summary": "；".join(said) or str(detail.get("caller_said", ""))}
        prefill.update({k: tri.get(k) or "" for k in ("category", "topic", "district", "unit", "level")})
        draft = await self._db(orders.create_draft, self.engine, log.id, agent.id, prefill)
        self.open_orders[agent.id] = draft["id"]
        previous = await self._db(orders.previous_orders, self.engine, leg.caller, log.id)
        open_same = [o for o in previous if o["status"] == orders.DISPATCHED and tri.get("topic")
                     and o["topic"] == tri.get("topic")]
        self.hub.to_user(agent.id, "pop", {
            "call_id": log.id, "caller": auth.mask_number(leg.caller), "menu_path": log.menu_path,
            "transcript": said, "triage": tri, "previous": previous, "repeat": bool(open_same), "order": draft,
        })

    async def live_transcript(self, leg: Leg, agent: Agent, log: CallLog, hearing: Hearing) -> None:
        """While the caller talks to the agent, each thing they say appears on the agent's page."""
        cfg = replace(hearing.cfg, no_speech_timeout=3600.0)
        try:
            while not leg.ended.is_set():
                heard = await listen(leg, hearing.asr, prompt=None, phrases=None, free=True, cfg=cfg)
                if heard.text:
                    await log.utterance(heard.text, heard.confidence, "free", "agent")
                    self.hub.to_user(agent.id, "said", {"call_id": log.id, "text": heard.text})
        except HungUp:
            pass
        except asyncio.CancelledError:
            if not leg.ended.is_set():
                try:
                    leg.send(P.UNLISTEN, call=leg.id)
                except HungUp:
                    pass
            leg.audio_sink = None
            raise

    def agent_changed(self, agent: Agent) -> None:
        self.hub.to_user(agent.id, "state", {"state": agent.state.value, "reason": agent.reason})
        self.hub.to_supervisors("agents", self.queue.snapshot()["agents"])

    async def hand_over(self, person: auth.Person, line: str) -> dict[str, Any]:
        """一键转接: put the agent's caller through to an emergency line and mark the order."""
        uri = self.emergency_uris().get(line)
        if uri is None:
            raise orders.OrderError("line", f"没有配置{line}的转接号码")
        await self.queue.hand_over(person.id, line, uri, self.ring_timeout)
        order_id = self.open_orders.get(person.id)
        if order_id is None:
            return {"line": line, "transferred": True}
        order = await self._db(orders.mark_transferred, self.engine, order_id, line)
        self.hub.to_user(person.id, "order", order)
        return {"line": line, "transferred": True, "order": order}

    # ---- orders ------------------------------------------------------------------------------
    async def update(self, person: auth.Person, order_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        return dict(await self._db(orders.update_draft, self.engine, order_id, person.id, person.sees_all, fields,
                                   self.vocab))

    async def finalise(self, person: auth.Person, order_id: int, answered: bool) -> dict[str, Any]:
        current = await self._db(orders.get_order, self.engine, order_id, person.id, person.sees_all)
        government = f"{current['district']}人民政府" if current.get("district") else ""
        done = dict(await self._db(orders.finalise, self.engine, order_id, person.id, person.sees_all,
                                   answered_on_the_spot=answered, district_government=government))
        if done.get("agent_id"):
            self.queue.end_wrap_up(str(done["agent_id"]))  # 话后处理 ends with the order
        return done

    # ---- wallboard -----------------------------------------------------------------------------
    async def wallboard(self) -> dict[str, Any]:
        now = dt.datetime.now().astimezone()
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        calls = await self.store.list(since=start, limit=100000)
        figures = stats.wallboard(calls, start)
        snap = self.queue.snapshot()
        waiting = snap["waiting"]
        figures.update(waiting=len(waiting), longest_wait=max((w["waited_seconds"] for w in waiting), default=0),
                       agents=snap["agents"])
        return figures

    async def push_wallboard(self) -> None:
        while True:
            try:
                self.hub.to_supervisors("wallboard", await self.wallboard())
            except Exception:  # noqa: BLE001 - the next round tries again
                logger.exception("wallboard update failed")
            await asyncio.sleep(2)

    async def sync_agents(self) -> None:
        """Agents added with `hotline user add` join the queue without a restart."""
        while True:
            try:
                people = await self._db(auth.list_people, self.engine)
                self.queue.sync([(p.id, p.name, p.sip) for p in people if p.role == "agent" and p.sip])
            except Exception:  # noqa: BLE001
                logger.exception("agent list refresh failed")
            await asyncio.sleep(3)
