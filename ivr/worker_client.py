"""Asyncio side of a media worker process: start it, send commands, route its events.

Used by the supervisor for the hotline's own workers and by the tests to drive a second
pjsua2 process as a caller, an agent's softphone or an emergency line.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence

from ivr import protocol as P

logger = logging.getLogger(__name__)

EventHandler = Callable[[P.Message], Awaitable[None] | None]


class WorkerGone(RuntimeError):
    """The worker process is not running (crashed, stopped or never started)."""


class WorkerClient:
    """One media worker process and the JSON-lines pipe to it."""

    def __init__(self, name: str, port: int, *, ip: str = "127.0.0.1", numbers: Sequence[str] = (),
                 max_calls: int = 4, legs_per_call: int = 2, public_host: str = "",
                 log_level: int = 1, on_event: EventHandler | None = None) -> None:
        self.name, self.port, self.ip = name, port, ip
        self._args = [
            "--ip", ip, "--port", str(port), "--numbers", ",".join(numbers),
            "--max-calls", str(max_calls), "--legs-per-call", str(legs_per_call),
            "--public-host", public_host, "--log-level", str(log_level),
        ]
        self.on_event = on_event
        self.proc: asyncio.subprocess.Process | None = None
        self.capacity = 0
        self._ready: asyncio.Future[P.Message] | None = None
        self._reader: asyncio.Task[None] | None = None
        self.events: asyncio.Queue[P.Message] = asyncio.Queue()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def start(self, timeout: float = 15.0) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ivr.worker", *self._args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.create_task(self._read_loop(), name=f"worker-{self.name}-reader")
        try:
            ready = await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except (TimeoutError, WorkerGone):
            await self.kill()
            raise WorkerGone(f"worker {self.name} on port {self.port} did not start") from None
        self.capacity = int(ready.get("capacity", 1))

    async def _read_loop(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                break
            try:
                msg = P.decode(line)
            except P.ProtocolError as exc:
                logger.warning("worker %s: bad event line: %s", self.name, exc)
                continue
            if msg.kind == P.READY and self._ready and not self._ready.done():
                self._ready.set_result(msg)
                continue
            if msg.kind == P.ERROR and msg.get("call", "") == "" and self._ready and not self._ready.done():
                logger.error("worker %s: %s", self.name, msg.get("message"))
            await self._dispatch(msg)
        await self.proc.wait()
        if self._ready and not self._ready.done():
            self._ready.set_exception(WorkerGone(self.name))

    async def _dispatch(self, msg: P.Message) -> None:
        if self.on_event is None:
            await self.events.put(msg)
            return
        try:
            result = self.on_event(msg)
            if result is not None:
                await result
        except Exception:  # noqa: BLE001 - one bad event must not stop the reader
            logger.exception("worker %s: event handler failed on %s", self.name, msg.kind)

    async def wait_closed(self) -> int:
        if self._reader is not None:
            await self._reader
        assert self.proc is not None
        return await self.proc.wait()

    def send(self, kind: str, **fields: object) -> None:
        if not self.alive or self.proc is None or self.proc.stdin is None:
            raise WorkerGone(f"worker {self.name} is not running")
        self.proc.stdin.write(P.command(kind, **fields).encode())

    async def stop(self, timeout: float = 5.0) -> None:
        if not self.alive:
            return
        try:
            self.send(P.SHUTDOWN)
            assert self.proc is not None
            await asyncio.wait_for(self.proc.wait(), timeout)
        except (TimeoutError, WorkerGone, ConnectionResetError):
            await self.kill()
        if self._reader is not None:
            await self._reader

    async def kill(self) -> None:
        if self.alive and self.proc is not None:
            self.proc.kill()
            await self.proc.wait()

    # ---- for peers and tests -------------------------------------------------------------
    async def next_event(self, kind: str | None = None, *, call: str | None = None,
                         timeout: float = 10.0) -> P.Message:
        """The next queued event of ``kind`` (and leg), skipping others; for peers without on_event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {kind} event from {self.name} within {timeout}s")
            msg = await asyncio.wait_for(self.events.get(), remaining)
            if (kind is None or msg.kind == kind) and (call is None or msg.get("call") == call):
                return msg
