"""诉求工单: drafts created when a call is bridged, saved as the agent types, finalised once with a
number the caller can be read (20261122-000123) and a deadline (第十条, 第十二条, 第十三条).

Blocking database code: the HTTP layer runs it on a thread. Every write is one transaction, so a
refused update or finalise leaves the order exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.settings import REQUEST_TYPES
from workorders.models import CallRecord, Utterance, WorkOrder

CATEGORIES = REQUEST_TYPES
LEVELS = {"2h": dt.timedelta(hours=2), "24h": dt.timedelta(hours=24), "7d": dt.timedelta(days=7),
          "15d": dt.timedelta(days=15)}
DRAFT, DISPATCHED, ANSWERED = "草稿", "已派单", "即时答复"
LIMITS = {"summary": 2000, "unit": 128, "topic": 64, "district": 32, "street": 64}


class OrderError(ValueError):
    """A refused change, with the field it is about (shown next to that field)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status


@dataclass(frozen=True)
class Vocabulary:
    """What the form may contain: the dispatch catalog's topics, districts and units."""

    topics: frozenset[str]
    districts: frozenset[str]
    units: frozenset[str]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).isoformat()


def order_dict(o: WorkOrder) -> dict[str, Any]:
    return {"id": o.id, "number": o.number, "status": o.status, "category": o.category, "topic": o.topic,
            "summary": o.summary, "district": o.district, "street": o.street, "unit": o.unit, "level": o.level,
            "copy_to": o.copy_to, "deadline": _iso(o.deadline), "call_id": o.call_id, "agent_id": o.agent_id,
            "created_at": _iso(o.created_at), "updated_at": _iso(o.updated_at), "finalized_at": _iso(o.finalized_at)}


def create_draft(engine: Engine, call_id: int, agent_id: str, prefill: dict[str, str]) -> dict[str, Any]:
    """The draft that appears the moment a call is bridged to an agent."""
    now = _now()
    with Session(engine) as s, s.begin():
        o = WorkOrder(status=DRAFT, call_id=call_id, agent_id=agent_id, created_at=now, updated_at=now,
                      **{k: str(v)[: LIMITS.get(k, 16)] for k, v in prefill.items() if k in
                         ("category", "topic", "summary", "district", "unit", "level")})
        s.add(o)
        s.flush()
        return order_dict(o)


def _owned(s: Session, order_id: int, agent_id: str, sees_all: bool) -> WorkOrder:
    o = s.get(WorkOrder, order_id)
    if o is None or (not sees_all and o.agent_id != agent_id):
        raise OrderError("id", f"没有这个工单 {order_id}", 404)  # not "forbidden": do not confirm it exists
    return o


def get_order(engine: Engine, order_id: int, agent_id: str, sees_all: bool) -> dict[str, Any]:
    with Session(engine) as s:
        return order_dict(_owned(s, order_id, agent_id, sees_all))


def _clean(fields: dict[str, Any], vocab: Vocabulary) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        if key not in ("category", "topic", "summary", "district", "street", "unit", "level"):
            raise OrderError(key, "不能修改的字段")
        if not isinstance(value, str):
            raise OrderError(key, "应为文本")
        value = value.strip()
        if len(value) > LIMITS.get(key, 16):
            raise OrderError(key, f"太长（最多{LIMITS.get(key, 16)}字）")
        if key == "category" and value and value not in CATEGORIES:
            raise OrderError(key, f"类型只能是{'、'.join(CATEGORIES)}")
        if key == "level" and value and value not in LEVELS:
            raise OrderError(key, "时限只能是 2h、24h、7d、15d")
        if key == "topic" and value and value not in vocab.topics:
            raise OrderError(key, f"派单目录中没有主题“{value}”")
        if key == "district" and value and value not in vocab.districts:
            raise OrderError(key, f"没有这个区“{value}”")
        if key == "unit" and value and value not in vocab.units:
            raise OrderError(key, f"派单目录中没有承办单位“{value}”")
        out[key] = value
    return out


def update_draft(engine: Engine, order_id: int, agent_id: str, sees_all: bool, fields: dict[str, Any],
                 vocab: Vocabulary) -> dict[str, Any]:
    clean = _clean(fields, vocab)
    with Session(engine) as s, s.begin():
        o = _owned(s, order_id, agent_id, sees_all)
        if o.status != DRAFT:
            raise OrderError("status", f"工单已办结为{o.status}，不能再修改", 409)
        for k, v in clean.items():
            setattr(o, k, v)
        o.updated_at = _now()
        return order_dict(o)


def finalise(engine: Engine, order_id: int, agent_id: str, sees_all: bool, *, answered_on_the_spot: bool,
             district_government: str = "") -> dict[str, Any]:
    """Give the order its number and deadline; once only."""
    for attempt in range(5):
        try:
            return _finalise_once(engine, order_id, agent_id, sees_all, answered_on_the_spot, district_government)
        except IntegrityError:  # two finalised at the same moment took the same number: take the next
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def _finalise_once(engine: Engine, order_id: int, agent_id: str, sees_all: bool, answered: bool,
                   district_government: str) -> dict[str, Any]:
    now = _now()
    with Session(engine) as s, s.begin():
        o = _owned(s, order_id, agent_id, sees_all)
        if o.status != DRAFT:
            raise OrderError("status", f"工单已办结（{o.number}），不能重复办结", 409)
        if o.category not in CATEGORIES:
            raise OrderError("category", "请选择诉求类型")
        if not o.summary.strip():
            raise OrderError("summary", "请填写诉求内容")
        if not answered:
            if not o.unit:
                raise OrderError("unit", "请选择承办单位（或保存为即时答复）")
            if o.level not in LEVELS:
                raise OrderError("level", "请选择办理时限")
        day = now.astimezone().strftime("%Y%m%d")
        n = s.scalar(select(func.count(WorkOrder.id)).where(WorkOrder.number.like(f"{day}-%"))) or 0
        o.number = f"{day}-{n + 1:06d}"
        o.status = ANSWERED if answered else DISPATCHED
        o.finalized_at = o.updated_at = now
        o.deadline = None if answered else now + LEVELS[o.level]
        # a street office (街道/乡镇) also copies its district government (第十二条(一))
        o.copy_to = district_government if not answered and ("街道" in o.unit or "乡镇" in o.unit) else ""
        s.flush()
        return order_dict(o)


def mark_transferred(engine: Engine, order_id: int, line: str) -> dict[str, Any]:
    """An order whose caller the agent put through to an emergency line says so at the top."""
    with Session(engine) as s, s.begin():
        o = s.get(WorkOrder, order_id)
        if o is None:
            raise OrderError("id", f"没有这个工单 {order_id}", 404)
        tag = f"【已一键转接{line}】"
        if not o.summary.startswith(tag):
            o.summary = (tag + o.summary)[: LIMITS["summary"]]
        if o.status == DRAFT and not o.level:
            o.level = "2h"
        o.updated_at = _now()
        return order_dict(o)


def orders_of(engine: Engine, agent_id: str, sees_all: bool, limit: int = 50) -> list[dict[str, Any]]:
    with Session(engine) as s:
        q = select(WorkOrder).order_by(WorkOrder.id.desc()).limit(limit)
        if not sees_all:
            q = q.where(WorkOrder.agent_id == agent_id)
        return [order_dict(o) for o in s.scalars(q)]


def previous_orders(engine: Engine, caller: str, exclude_call: int) -> list[dict[str, Any]]:
    """The caller's earlier orders (a repeat of an open matter is flagged: 第十一条(三))."""
    with Session(engine) as s:
        q = (select(WorkOrder).join(CallRecord, WorkOrder.call_id == CallRecord.id)
             .where(CallRecord.caller == caller, CallRecord.id != exclude_call, WorkOrder.number.is_not(None))
             .order_by(WorkOrder.id.desc()).limit(10))
        return [order_dict(o) for o in s.scalars(q)]


def transcript(engine: Engine, call_id: int) -> list[str]:
    with Session(engine) as s:
        q = select(Utterance.text).where(Utterance.call_id == call_id).order_by(Utterance.at, Utterance.id)
        return list(s.scalars(q))


def call_detail(engine: Engine, call_id: int) -> dict[str, Any]:
    with Session(engine) as s:
        rec = s.get(CallRecord, call_id)
        return json.loads(rec.detail) if rec and rec.detail else {}
