"""ACD policy (自动话务分配): agent states and who gets the next caller. Pure logic."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


class AgentState(enum.StrEnum):
    READY = "ready"            # 就绪
    NOT_READY = "not_ready"    # 小休
    RINGING = "ringing"        # 振铃中
    ON_CALL = "on_call"        # 通话中
    WRAP_UP = "wrap_up"        # 话后处理


_ALLOWED: dict[AgentState, set[AgentState]] = {
    AgentState.READY: {AgentState.NOT_READY, AgentState.RINGING},
    AgentState.NOT_READY: {AgentState.READY},
    AgentState.RINGING: {AgentState.ON_CALL, AgentState.NOT_READY, AgentState.READY},
    AgentState.ON_CALL: {AgentState.READY, AgentState.NOT_READY, AgentState.WRAP_UP},
    AgentState.WRAP_UP: {AgentState.READY, AgentState.NOT_READY},
}


class TransitionError(ValueError):
    """A state change the ACD does not allow (e.g. going ready while on a call)."""


@dataclass
class Agent:
    id: str
    name: str
    sip: str
    state: AgentState = AgentState.NOT_READY
    reason: str = ""
    idle_since: float = 0.0      # loop time the agent last became free
    calls_handled: int = 0

    def move(self, new: AgentState, now: float, reason: str = "") -> None:
        """The one place an agent's state changes."""
        old = self.state
        if new == old and new in (AgentState.READY, AgentState.NOT_READY):
            self.reason = reason
            return
        if new not in _ALLOWED[old]:
            raise TransitionError(f"agent {self.id}: cannot go from {old.value} to {new.value}")
        self.state, self.reason = new, reason
        if new == AgentState.READY:
            self.idle_since = now
        logger.info("agent %s: %s -> %s %s", self.id, old.value, new.value, reason)


@dataclass(order=True)
class QueueEntry:
    """A caller waiting for a human; urgent entries (failed emergency legs) go first."""

    sort_key: tuple[int, float, int]
    leg_id: str = field(compare=False)
    caller: str = field(compare=False, default="")
    prefer: str = field(compare=False, default="")  # an agent this caller was transferred to


def entry_key(priority: int, enqueued_at: float, serial: int) -> tuple[int, float, int]:
    return (-priority, enqueued_at, serial)


def pick_agent(agents: list[Agent], exclude: set[str] = frozenset(), prefer: str = "") -> Agent | None:  # type: ignore[assignment]
    """The preferred agent if ready, else the longest-idle ready agent, or None."""
    ready = [a for a in agents if a.state == AgentState.READY and a.id not in exclude]
    chosen = next((a for a in ready if a.id == prefer), None)
    if chosen is not None:
        return chosen
    return min(ready, key=lambda a: (a.idle_since, a.id)) if ready else None


def position(entries: list[QueueEntry], leg_id: str) -> int:
    """1-based place of a caller in the queue (0 if not queued)."""
    for i, e in enumerate(sorted(entries), 1):
        if e.leg_id == leg_id:
            return i
    return 0
