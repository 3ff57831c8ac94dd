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

from config.settings import EMERGENCY_LINES
from workorders.models import CallRecord, Utterance, WorkOrder
from workorders.orders import CATEGORIES, DRAFT

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
    with Session(engine) as s:
        orders = s.execute(q).all()
        said: dict[int, list[str]] = {}
        free = (select(Utterance.call_id, Utterance.text)
                .where(Utterance.call_id.in_({call_id for _, call_id, _ in orders}), Utterance.mode == "free")
                .order_by(Utterance.at, Utterance.id))
        for call_id, text in s.execute(free):
            if text.strip():
                said.setdefault(call_id, []).append(text.strip())
    return [{"text": mask_digits("，".join(said[call_id])),
             "emergency": [line] if line in EMERGENCY_LINES else [], "category": category}
            for category, call_id, line in orders if call_id in said]
