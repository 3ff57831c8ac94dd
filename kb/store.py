"""The knowledge base in the database: upsert from YAML (all or nothing), export, load."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from kb.entries import Entry
from workorders.models import KnowledgeEntry


@dataclass(frozen=True)
class ImportReport:
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def _row_entry(r: KnowledgeEntry) -> Entry:
    return Entry(r.id, tuple(json.loads(r.questions)), r.answer, r.unit, r.topic, r.valid_from, r.valid_to)


def import_entries(engine: Engine, entries: list[Entry]) -> ImportReport:
    """Upsert by id in one transaction: a failure leaves the knowledge base as it was."""
    added, changed, unchanged = [], [], []
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as s, s.begin():
        existing = {r.id: r for r in s.scalars(select(KnowledgeEntry).where(
            KnowledgeEntry.id.in_([e.id for e in entries])))}
        for e in entries:
            row = existing.get(e.id)
            if row is None:
                s.add(KnowledgeEntry(id=e.id, questions=json.dumps(list(e.questions), ensure_ascii=False),
                                     answer=e.answer, unit=e.unit, topic=e.topic, valid_from=e.valid_from,
                                     valid_to=e.valid_to, updated_at=now))
                added.append(e.id)
            elif _row_entry(row) != e:
                row.questions = json.dumps(list(e.questions), ensure_ascii=False)
                row.answer, row.unit, row.topic = e.answer, e.unit, e.topic
                row.valid_from, row.valid_to, row.updated_at = e.valid_from, e.valid_to, now
                changed.append(e.id)
            else:
                unchanged.append(e.id)
    return ImportReport(added, changed, unchanged)


def load_entries(engine: Engine) -> list[Entry]:
    with Session(engine) as s:
        return [_row_entry(r) for r in s.scalars(select(KnowledgeEntry).order_by(KnowledgeEntry.id))]


def version(engine: Engine) -> tuple[int, str]:
    """Changes when any entry is added or changed (the server polls this to reload)."""
    with Session(engine) as s:
        count, latest = s.execute(select(func.count(KnowledgeEntry.id), func.max(KnowledgeEntry.updated_at))).one()
        return int(count), str(latest)
