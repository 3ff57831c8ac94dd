"""Live events for the desk pages (server-sent events): one queue per open page."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from typing import Any

logger = logging.getLogger(__name__)


class Hub:
    """Publish to one person (an agent's screen pop) or to every supervisor (the wallboard)."""

    def __init__(self) -> None:
        self._by_user: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)
        self._supervisors: set[asyncio.Queue[str]] = set()

    def subscribe(self, user_id: str, supervisor: bool) -> asyncio.Queue[str]:
        q: asyncio.Queue[str] = asyncio.Queue(maxsize=200)
        self._by_user[user_id].add(q)
        if supervisor:
            self._supervisors.add(q)
        return q

    def unsubscribe(self, user_id: str, q: asyncio.Queue[str]) -> None:
        self._by_user[user_id].discard(q)
        self._supervisors.discard(q)

    @staticmethod
    def _frame(kind: str, data: Any) -> str:
        return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"

    def _put(self, queues: set[asyncio.Queue[str]], frame: str) -> None:
        for q in list(queues):
            try:
                q.put_nowait(frame)
            except asyncio.QueueFull:  # a page that stopped reading: it reloads and catches up
                logger.warning("event queue full; dropping an event for a slow page")

    def to_user(self, user_id: str, kind: str, data: Any) -> None:
        self._put(self._by_user.get(user_id, set()), self._frame(kind, data))

    def to_supervisors(self, kind: str, data: Any) -> None:
        self._put(self._supervisors, self._frame(kind, data))
