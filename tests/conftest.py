"""Shared fixtures: a running hotline on loopback and pjsua2 peers around it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import HotlineProc, Peer, http_port, sip_port, start_hotline, write_config

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def far_port() -> int:
    return sip_port()


@pytest.fixture
def hotline_factory(tmp_path: Path, far_port: int) -> Iterator[Callable[..., HotlineProc]]:
    started: list[HotlineProc] = []

    def make(workers: int = 1, **over: Any) -> HotlineProc:
        sip, http = sip_port(), http_port()
        base = 0
        if workers > 1:
            base = sip_port()
            for _ in range(workers - 1):
                sip_port()
        write_config(tmp_path, sip=sip, http=http, far_port=far_port, workers=workers, worker_base=base, **over)
        h = start_hotline(tmp_path, sip, http)
        started.append(h)
        return h

    yield make
    for h in started:
        h.stop()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{tmp_path.name}-hotline.log").write_text(h.tail(400))


@pytest.fixture
def hotline(hotline_factory: Callable[..., HotlineProc]) -> HotlineProc:
    return hotline_factory()


@pytest.fixture
async def caller(tmp_path: Path) -> AsyncIterator[Peer]:
    peer = await Peer("citizen", sip_port(), tmp_path).start()
    yield peer
    await peer.stop()


@pytest.fixture
async def far(tmp_path: Path, far_port: int) -> AsyncIterator[Peer]:
    """Answers for the emergency lines and the agents' softphones."""
    peer = await Peer("far", far_port, tmp_path).start()
    yield peer
    await peer.stop()
