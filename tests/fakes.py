"""Tier 2: fakes at the seams. A Leg whose worker is a list of sent commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivr import protocol as P
from ivr.call import Leg


class FakeWorker:
    """Records what the control plane asks a worker to do; events are delivered by the test."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.legs: dict[str, Leg] = {}

    def leg(self, leg_id: str, caller: str = "13800138000") -> Leg:
        def send(kind: str, **fields: Any) -> None:
            self.sent.append((kind, fields))  # the test decides when a prompt ends
        leg = Leg(leg_id, "w1", send, caller=caller, called="12345")
        self.legs[leg_id] = leg
        return leg

    def dial(self, from_leg: Leg, uri: str, caller: str) -> Leg:
        leg = self.leg(f"out-{len(self.legs)}", caller)
        self.sent.append((P.DIAL, {"call": leg.id, "uri": uri, "caller": caller}))
        return leg

    def commands(self, kind: str) -> list[dict[str, Any]]:
        return [f for k, f in self.sent if k == kind]


async def fake_say(text: str) -> Path:
    return Path(f"/prompts/{text}.wav")
