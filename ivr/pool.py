"""The media worker pool: starts the workers (and Kamailio in front of them), restarts a
worker that dies, and routes each worker's events to the legs it carries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr import protocol as P
from ivr.call import HungUp, Leg, new_leg_id
from ivr.kamailio import Kamailio
from ivr.worker_client import WorkerClient, WorkerGone

logger = logging.getLogger(__name__)

OnIncoming = Callable[[Leg], Coroutine[Any, Any, None]]
OnWorkerLost = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class PoolConfig:
    listen_host: str
    listen_port: int
    worker_ip: str
    worker_base_port: int
    workers: int
    calls_per_worker: int
    numbers: tuple[str, ...]
    run_dir: Path


class MediaPool:
    def __init__(self, cfg: PoolConfig, on_incoming: OnIncoming, on_worker_lost: OnWorkerLost) -> None:
        self.cfg = cfg
        self._on_incoming, self._on_worker_lost = on_incoming, on_worker_lost
        self.workers: dict[str, WorkerClient] = {}
        self.legs: dict[str, Leg] = {}
        self.restarts: dict[str, int] = {}
        self.kamailio: Kamailio | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._supervisors: list[asyncio.Task[None]] = []
        self._stopping = False

    def addresses(self) -> list[tuple[str, str, int]]:
        c = self.cfg
        if c.workers == 1:
            return [("w1", c.listen_host, c.listen_port)]
        return [(f"w{i + 1}", c.worker_ip, c.worker_base_port + i) for i in range(c.workers)]

    async def start(self) -> None:
        started: list[asyncio.Future[None]] = []
        for name, ip, port in self.addresses():
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            started.append(fut)
            self._supervisors.append(asyncio.create_task(self._supervise(name, ip, port, fut), name=f"sup-{name}"))
        await asyncio.gather(*started)
        if self.cfg.workers > 1:
            per_worker = max(1, self.cfg.calls_per_worker // 2)
            self.kamailio = Kamailio(f"{self.cfg.listen_host}:{self.cfg.listen_port}", self.cfg.run_dir / "kamailio",
                                     [(ip, port) for _, ip, port in self.addresses()], per_worker)
            await self.kamailio.start()

    def _client(self, name: str, ip: str, port: int) -> WorkerClient:
        async def on_event(msg: P.Message) -> None:
            self._route(name, msg)
        return WorkerClient(name, port, ip=ip, numbers=self.cfg.numbers, max_calls=self.cfg.calls_per_worker,
                            on_event=on_event)

    async def _supervise(self, name: str, ip: str, port: int, first: asyncio.Future[None]) -> None:
        delay = 0.5
        while not self._stopping:
            client = self._client(name, ip, port)
            try:
                await client.start()
            except WorkerGone as exc:
                if not first.done():
                    first.set_exception(exc)
                    return
                logger.error("worker %s failed to restart; retrying in %.1f s", name, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
                continue
            self.workers[name] = client
            if not first.done():
                first.set_result(None)
            delay = 0.5
            code = await client.wait_closed()
            self.workers.pop(name, None)
            self._lost(name)
            if self._stopping:
                return
            self.restarts[name] = self.restarts.get(name, 0) + 1
            logger.error("worker %s exited with code %s; its calls are recorded as failed; restarting", name, code)
            await self._on_worker_lost(name)
            await asyncio.sleep(0.2)

    def _lost(self, name: str) -> None:
        for leg in [x for x in self.legs.values() if x.worker == name]:
            leg.worker_died()

    def _route(self, worker: str, msg: P.Message) -> None:
        if msg.kind == P.INCOMING:
            leg = self._new_leg(str(msg.get("call")), worker, caller=str(msg.get("caller", "")),
                                called=str(msg.get("called", "")))
            task: asyncio.Task[None] = asyncio.create_task(self._on_incoming(leg), name=f"call-{leg.id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        elif msg.kind == P.REJECTED:
            logger.info("worker %s refused a call to %s: %s %s", worker, msg.get("called"), msg.get("code"),
                        msg.get("reason"))
        elif msg.kind == P.ERROR:
            logger.warning("worker %s: %s", worker, msg.get("message"))
        else:
            if msg.kind == P.TRANSFER_REFUSED:
                logger.warning("call %s: refused REFER to %s (the hotline never transfers for callers)",
                               msg.get("call"), msg.get("target"))
            target = self.legs.get(str(msg.get("call")))
            if target is not None:
                target.deliver(msg)

    def _new_leg(self, leg_id: str, worker: str, caller: str = "", called: str = "") -> Leg:
        client = self.workers[worker]
        leg = Leg(leg_id, worker, client.send, caller=caller, called=called, on_gone=self._forget)
        self.legs[leg_id] = leg
        return leg

    def _forget(self, leg: Leg) -> None:
        self.legs.pop(leg.id, None)

    def dial(self, from_leg: Leg, uri: str, caller: str) -> Leg:
        """A new outgoing leg on ``from_leg``'s worker (so the two can be bridged)."""
        if from_leg.worker not in self.workers:
            raise HungUp(from_leg.id, 0, "media worker gone")
        leg = self._new_leg(new_leg_id(f"{from_leg.id}-o"), from_leg.worker)
        try:
            leg.send(P.DIAL, call=leg.id, uri=uri, caller=caller)
        except HungUp:
            self.legs.pop(leg.id, None)
            raise
        return leg

    def status(self) -> list[dict[str, object]]:
        def pid(name: str) -> int | None:
            proc = self.workers[name].proc if name in self.workers else None
            return proc.pid if proc is not None else None
        return [{"name": name, "address": f"{ip}:{port}", "running": name in self.workers, "pid": pid(name),
                 "restarts": self.restarts.get(name, 0),
                 "calls": sum(1 for x in self.legs.values() if x.worker == name)}
                for name, ip, port in self.addresses()]

    async def stop(self) -> None:
        self._stopping = True
        if self.kamailio is not None:
            await self.kamailio.stop()
        for client in list(self.workers.values()):
            await client.stop()
        for t in self._supervisors:
            t.cancel()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._supervisors, *self._tasks, return_exceptions=True)
