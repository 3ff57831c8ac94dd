"""CallLog: the record of one call, written to the store at each change."""

from __future__ import annotations

import logging
from typing import Any

from workorders.calls import CallStore, now

logger = logging.getLogger(__name__)


class CallLog:
    """Write-through view of one row in ``calls``; the call flow never buffers state."""

    def __init__(self, store: CallStore, call_id: int, leg_id: str) -> None:
        self.store, self.id, self.leg_id = store, call_id, leg_id
        self.menu_path = ""
        self.outcome: str | None = None
        self.fields: dict[str, Any] = {}

    @classmethod
    async def open(cls, store: CallStore, *, leg_id: str, worker: str, caller: str, called: str) -> CallLog:
        call_id = await store.create(leg_id=leg_id, worker=worker, caller=caller, called=called,
                                     arrived_at=now())
        return cls(store, call_id, leg_id)

    async def set(self, **fields: Any) -> None:
        self.fields.update(fields)
        if "outcome" in fields:
            self.outcome = fields["outcome"]
        await self.store.update(self.id, **fields)

    async def stamp(self, name: str) -> None:
        """Record the time of a step (answered_at, queued_at, ...)."""
        await self.set(**{name: now()})

    async def key(self, digit: str) -> None:
        self.menu_path = (self.menu_path + digit)[-200:]
        await self.set(menu_path=self.menu_path)

    async def note(self, **detail: Any) -> None:
        self.fields.update(detail)
        await self.store.update(self.id, detail=detail)

    async def utterance(self, text: str, confidence: float, mode: str, menu: str = "") -> None:
        """Store what the caller said the moment it is recognised."""
        await self.store.add_utterance(self.id, text, confidence, mode, menu)
