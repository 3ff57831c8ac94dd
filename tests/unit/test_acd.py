"""ACD policy: who gets the next caller, and which agent state changes are allowed."""

from __future__ import annotations

import pytest

from ivr.acd import Agent, AgentState, QueueEntry, TransitionError, entry_key, pick_agent, position


def agent(i: str, state: AgentState, idle: float) -> Agent:
    return Agent(i, i, f"sip:{i}@x", state=state, idle_since=idle)


@pytest.mark.parametrize(("agents", "expected"), [
    ([], None),
    ([agent("a", AgentState.NOT_READY, 0)], None),
    ([agent("a", AgentState.READY, 5), agent("b", AgentState.READY, 3)], "b"),
    ([agent("a", AgentState.READY, 1), agent("b", AgentState.ON_CALL, 0)], "a"),
    ([agent("a", AgentState.RINGING, 0), agent("b", AgentState.READY, 9)], "b"),
    ([agent("b", AgentState.READY, 1), agent("a", AgentState.READY, 1)], "a"),
])
def test_longest_idle_ready_agent_is_chosen(agents: list[Agent], expected: str | None) -> None:
    got = pick_agent(agents)
    assert (got.id if got else None) == expected


def test_urgent_callers_go_first_then_by_arrival() -> None:
    entries = [QueueEntry(entry_key(0, 1.0, 1), "early"), QueueEntry(entry_key(0, 2.0, 2), "late"),
               QueueEntry(entry_key(10, 3.0, 3), "fire-fallback")]
    assert [position(entries, x) for x in ("fire-fallback", "early", "late", "none")] == [1, 2, 3, 0]


@pytest.mark.parametrize(("old", "new", "ok"), [
    (AgentState.NOT_READY, AgentState.READY, True),
    (AgentState.READY, AgentState.RINGING, True),
    (AgentState.RINGING, AgentState.ON_CALL, True),
    (AgentState.RINGING, AgentState.NOT_READY, True),
    (AgentState.ON_CALL, AgentState.READY, True),
    (AgentState.NOT_READY, AgentState.ON_CALL, False),
    (AgentState.NOT_READY, AgentState.RINGING, False),
    (AgentState.READY, AgentState.ON_CALL, False),
])
def test_state_transitions(old: AgentState, new: AgentState, ok: bool) -> None:
    a = agent("a", old, 0)
    if ok:
        a.move(new, 42.0)
        assert a.state == new
        if new == AgentState.READY:
            assert a.idle_since == 42.0
    else:
        with pytest.raises(TransitionError):
            a.move(new, 42.0)
        assert a.state == old
