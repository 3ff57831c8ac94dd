"""Labelled utterances from the hotline's own work: what callers said, with what the agents decided.

A finalised work order carries the request type its agent confirmed; its call carries the
emergency line it was put through to (by the IVR after the caller confirmed, or by the agent's
一键转接). Joined with the caller's own free-speech utterances, that is training data for the
triage model in the format of triage/data/*.yaml — real wordings instead of written ones:

    hotline labels export FILE [--since YYYY-MM-DD]
    cp FILE triage/data/ && .venv/bin/python -m triage.model train

The file holds callers' words: runs of five or more digits (phone, ID and card numbers) are
masked, and the export is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from workorders.models import CallRecord, Utterance, WorkOrder
from workorders.orders import DRAFT

CATEGORIES = ("咨询", "求助", "投诉", "举报", "建议")
LINES = ("110", "119", "120", "122")
_DIGITS = re.compile(r"[0-9０-９]{5,}")


def mask_digits(text: str) -> str:
    return _DIGITS.sub(lambda m: "*" * len(m.group()), text)


def labelled_utterances(engine: Engine, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """One item per finalised order whose caller described the request in their own words."""
    q = (select(WorkOrder.category, CallRecord.id, CallRecord.emergency_line)
         .join(CallRecord, WorkOrder.call_id == CallRecord.id)
         .where(WorkOrder.status != DRAFT, WorkOrder.category.in_(CATEGORIES))
         .order_by(WorkOrder.finalized_at, WorkOrder.id))
    if since is not None:
        q = q.where(WorkOrder.finalized_at >= since)
    out: list[dict[str, Any]] = []
    with Session(engine) as s:
        for category, call_id, line in s.execute(q).all():
            said = s.scalars(select(Utterance.text).where(Utterance.call_id == call_id, Utterance.mode == "free")
                             .order_by(Utterance.at)).all()
            text = mask_digits("，".join(t.strip() for t in said if t.strip()))
            if text:
                out.append({"text": text, "emergency": [line] if line in LINES else [], "category": category})
    return out
