"""Call records, written through to the database the moment they change.

The database is blocking I/O: every write runs on one dedicated thread (which also keeps
SQLite writes in order), and the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from workorders.models import CallRecord, Outcome, Utterance, WorkOrder

logger = logging.getLogger(__name__)

_SPOKEN = ("caller_said", "robot", "triage")  # detail keys that hold what the caller said
_FIELDS = ("id", "leg_id", "worker", "caller", "called", "arrived_at", "answered_at", "queued_at",
           "agent_answered_at", "ended_at", "menu_path", "outcome", "emergency_line",
           "emergency_result", "agent_id", "wait_seconds", "detail")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).isoformat()
    return v


def record_dict(rec: CallRecord) -> dict[str, Any]:
    out = {f: _iso(getattr(rec, f)) for f in _FIELDS}
    out["detail"] = json.loads(rec.detail) if rec.detail else {}
    return out


class CallStore:
    """The call record table, reached from asyncio through a one-thread executor."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    # ---- sync bodies (db thread) ----------------------------------------------------
    def _create(self, fields: dict[str, Any]) -> int:
        with Session(self.engine) as s, s.begin():
            rec = CallRecord(menu_path="", detail="", **fields)
            s.add(rec)
            s.flush()
            return int(rec.id)

    def _update(self, call_id: int, fields: dict[str, Any]) -> None:
        with Session(self.engine) as s, s.begin():
            if "detail" in fields:
                rec = s.get(CallRecord, call_id)
                old = json.loads(rec.detail) if rec and rec.detail else {}
                old.update(fields["detail"])
                fields = {**fields, "detail": json.dumps(old, ensure_ascii=False)}
            s.execute(update(CallRecord).where(CallRecord.id == call_id).values(**fields))

    def _list(self, since: dt.datetime | None, until: dt.datetime | None, limit: int,
              outcome: str | None) -> list[dict[str, Any]]:
        q = select(CallRecord).order_by(CallRecord.arrived_at.desc(), CallRecord.id.desc()).limit(limit)
        if since:
            q = q.where(CallRecord.arrived_at >= since)
        if until:
            q = q.where(CallRecord.arrived_at < until)
        if outcome:
            q = q.where(CallRecord.outcome == outcome)
        with Session(self.engine) as s:
            return [record_dict(r) for r in s.scalars(q)]

    def _get(self, call_id: int) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            rec = s.get(CallRecord, call_id)
            if rec is None:
                return None
            out = record_dict(rec)
            q = select(Utterance).where(Utterance.call_id == call_id).order_by(Utterance.at, Utterance.id)
            out["utterances"] = [{"at": _iso(u.at), "text": u.text, "confidence": round(u.confidence, 3),
                                  "mode": u.mode, "menu": u.menu} for u in s.scalars(q)]
            return out

    def _add_utterance(self, call_id: int, text: str, confidence: float, mode: str, menu: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.add(Utterance(call_id=call_id, at=now(), text=text, confidence=confidence, mode=mode, menu=menu))

    def _close_open(self, worker: str | None, reason: str) -> int:
        """Mark calls that never ended (worker crash, control-plane restart) as failed."""
        with Session(self.engine) as s, s.begin():
            q = update(CallRecord).where(CallRecord.ended_at.is_(None))
            if worker is not None:
                q = q.where(CallRecord.worker == worker)
            res = s.execute(q.values(ended_at=now(), outcome=Outcome.FAILED.value))
            count = int(getattr(res, "rowcount", 0) or 0)
            if count:
                logger.warning("marked %d unfinished call(s) failed: %s", count, reason)
            return count

    def _purge(self, transcripts_before: dt.datetime, records_before: dt.datetime) -> tuple[int, int]:
        """Delete what callers said before one date and whole call records before another."""
        with Session(self.engine) as s, s.begin():
            old_calls = select(CallRecord.id).where(CallRecord.arrived_at < records_before)
            s.execute(update(WorkOrder).where(WorkOrder.call_id.in_(old_calls)).values(call_id=None))
            s.execute(delete(Utterance).where(Utterance.call_id.in_(old_calls)))
            calls = s.execute(delete(CallRecord).where(CallRecord.arrived_at < records_before))
            said = s.execute(delete(Utterance).where(Utterance.at < transcripts_before))
            for rec in s.scalars(select(CallRecord).where(CallRecord.arrived_at < transcripts_before,
                                                          CallRecord.detail.like("%caller_said%") |
                                                          CallRecord.detail.like("%question%") |
                                                          CallRecord.detail.like("%triage%"))):
                detail = json.loads(rec.detail or "{}")
                for key in _SPOKEN:
                    detail.pop(key, None)
                rec.detail = json.dumps(detail, ensure_ascii=False)
            return int(getattr(said, "rowcount", 0) or 0), int(getattr(calls, "rowcount", 0) or 0)

    def _order(self, number: str) -> dict[str, Any] | None:
        with Session(self.engine) as s:
            wo = s.scalars(select(WorkOrder).where(WorkOrder.number == number)).first()
            if wo is None:
                return None
            return {"number": wo.number, "status": wo.status, "unit": wo.unit,
                    "updated_at": _iso(wo.updated_at)}

    # ---- async API --------------------------------------------------------------------
    async def create(self, **fields: Any) -> int:
        return int(await self._run(self._create, fields))

    async def update(self, call_id: int, **fields: Any) -> None:
        await self._run(self._update, call_id, fields)

    async def list(self, since: dt.datetime | None = None, until: dt.datetime | None = None,
                   limit: int = 100, outcome: str | None = None) -> list[dict[str, Any]]:
        return list(await self._run(self._list, since, until, limit, outcome))

    async def get(self, call_id: int) -> dict[str, Any] | None:
        result = await self._run(self._get, call_id)
        return dict(result) if result else None

    async def add_utterance(self, call_id: int, text: str, confidence: float, mode: str, menu: str = "") -> None:
        await self._run(self._add_utterance, call_id, text, confidence, mode, menu)

    async def close_open(self, worker: str | None, reason: str) -> int:
        return int(await self._run(self._close_open, worker, reason))

    async def purge(self, transcripts_before: dt.datetime, records_before: dt.datetime) -> tuple[int, int]:
        said, calls = await self._run(self._purge, transcripts_before, records_before)
        if said or calls:
            logger.info("retention: deleted %d utterance(s) and %d call record(s)", said, calls)
        return int(said), int(calls)

    async def find_order(self, number: str) -> dict[str, Any] | None:
        result = await self._run(self._order, number)
        return dict(result) if result else None
