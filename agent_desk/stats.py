"""Wallboard figures from today's call records (pure)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

SERVICE_LEVEL_SECONDS = 15.0


def _t(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def wallboard(calls: list[dict[str, Any]], day_start: dt.datetime) -> dict[str, Any]:
    """Calls answered/abandoned/robot/emergency, service level, average speed of answer and handling
    time, and calls per 15 minutes since ``day_start``."""
    outcomes = Counter(c.get("outcome") or "in_progress" for c in calls)
    waits = [float(c["wait_seconds"]) for c in calls
             if c.get("agent_answered_at") and c.get("wait_seconds") is not None]
    handled = []
    for c in calls:
        start, end = _t(c.get("agent_answered_at")), _t(c.get("ended_at"))
        if start and end:
            handled.append((end - start).total_seconds())
    answered_in_time = sum(1 for w in waits if w <= SERVICE_LEVEL_SECONDS)
    offered = len(waits) + sum(1 for c in calls if c.get("outcome") == "abandoned" and c.get("queued_at"))
    buckets = [0] * 96
    for c in calls:
        t = _t(c.get("arrived_at"))
        if t is not None:
            i = int((t - day_start).total_seconds() // 900)
            if 0 <= i < 96:
                buckets[i] += 1
    return {
        "calls": len(calls),
        "agent_handled": outcomes.get("agent_handled", 0),
        "abandoned": outcomes.get("abandoned", 0),
        "robot_answered": outcomes.get("robot_answered", 0),
        "emergency_transferred": outcomes.get("emergency_transferred", 0),
        "self_service": outcomes.get("self_service", 0),
        "failed": outcomes.get("failed", 0),
        "service_level": round(answered_in_time / offered, 3) if offered else None,
        "average_speed_of_answer": round(sum(waits) / len(waits), 1) if waits else None,
        "average_handling_time": round(sum(handled) / len(handled), 1) if handled else None,
        "per_15_minutes": buckets,
    }
