"""The call-flow facade: one object per SIP leg, so a menu reads top to bottom.

``await leg.play(wav)``, ``await leg.collect_digits(...)``, ``await leg.dial(uri)``,
``await leg.bridge(other)``.  Every wait ends at once with ``HungUp`` when the far end
hangs up (or its worker dies), so a flow never waits on a call that is gone.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from ivr import protocol as P

logger = logging.getLogger(__name__)

Send = Callable[..., None]
T = TypeVar("T")
_leg_serial = itertools.count(1)


class HungUp(Exception):
    """The leg is gone: the caller hung up, the far end hung up, or the worker died."""

    def __init__(self, leg_id: str, code: int = 0, reason: str = "") -> None:
        super().__init__(f"leg {leg_id} ended ({code} {reason})".strip())
        self.code, self.reason = code, reason


class Leg:
    """One SIP dialog on one worker, seen from the control plane."""

    def __init__(self, leg_id: str, worker: str, send: Send, *, caller: str = "", called: str = "",
                 on_gone: Callable[[Leg], None] | None = None) -> None:
        self.id, self.worker, self._send = leg_id, worker, send
        self.caller, self.called = caller, called
        self.digits: deque[str] = deque()
        self.answered = asyncio.Event()
        self.ringing = asyncio.Event()
        self.ended = asyncio.Event()
        self.end_code, self.end_reason = 0, ""
        self.crashed = False
        self.refused_transfers: list[str] = []
        self._changed = asyncio.Event()
        self._playing: asyncio.Future[None] | None = None
        self._on_gone = on_gone
        self.audio_sink: Callable[[bytes], None] | None = None

    # ---- events from the worker -------------------------------------------------------
    def deliver(self, msg: P.Message) -> None:
        if msg.kind == P.DTMF:
            self.digits.append(str(msg.get("digit", "")))
        elif msg.kind == P.PLAYED:
            if self._playing is not None and not self._playing.done():
                self._playing.set_result(None)
        elif msg.kind == P.AUDIO:
            if self.audio_sink is not None:
                self.audio_sink(base64.b64decode(str(msg.get("pcm", ""))))
        elif msg.kind == P.TRANSFER_REFUSED:
            self.refused_transfers.append(str(msg.get("target", "")))
        elif msg.kind == P.STATE:
            state = msg.get("state")
            if state == "ringing":
                self.ringing.set()
            elif state == "answered":
                self.answered.set()
            elif state == "ended":
                self._end(int(msg.get("code") or 0), str(msg.get("reason") or ""))
        self._changed.set()

    def worker_died(self) -> None:
        self.crashed = True
        self._end(0, "media worker died")
        self._changed.set()

    def _end(self, code: int, reason: str) -> None:
        if self.ended.is_set():
            return
        self.end_code, self.end_reason = code, reason
        self.ended.set()
        if self._playing is not None and not self._playing.done():
            self._playing.set_result(None)
        if self._on_gone:
            self._on_gone(self)

    # ---- helpers ----------------------------------------------------------------------
    def _check(self) -> None:
        if self.ended.is_set():
            raise HungUp(self.id, self.end_code, self.end_reason)

    def send(self, kind: str, **fields: object) -> None:
        self._check()
        try:
            self._send(kind, **fields)
        except RuntimeError as exc:  # worker gone between check and send
            self.worker_died()
            raise HungUp(self.id, 0, str(exc)) from exc

    async def _wait_change(self, timeout: float | None) -> bool:
        """Wait until some event arrives for this leg; False on timeout."""
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # ---- the facade -------------------------------------------------------------------
    async def answer(self) -> None:
        self.send(P.ANSWER, call=self.id, code=200)

    async def play(self, wav: Path | str, *, barge_in: bool = True) -> None:
        """Play a prompt to the end, or until a key is pressed when ``barge_in``."""
        self._check()
        if barge_in and self.digits:
            return
        done = self.start_prompt(wav)
        while not done.done():
            await self._wait_change(None)
            self._check()
            if barge_in and self.digits:
                self.stop_playing()
                return
        self._check()

    def start_prompt(self, wav: Path | str) -> asyncio.Future[None]:
        """Start a one-shot prompt; the future completes when it ends or is stopped."""
        self._playing = asyncio.get_running_loop().create_future()
        self.send(P.PLAY, call=self.id, file=str(wav))
        return self._playing

    def start_loop(self, wav: Path | str) -> None:
        """Play a tone or music in a loop until stop_playing() or another play."""
        self._playing = None
        self.send(P.PLAY, call=self.id, file=str(wav), loop=True)

    def stop_playing(self) -> None:
        if not self.ended.is_set():
            self.send(P.STOP_PLAY, call=self.id)
        if self._playing is not None and not self._playing.done():
            self._playing.set_result(None)

    async def collect_digits(self, *, max_digits: int = 1, timeout: float = 6.0,
                             terminator: str = "", inter_digit: float = 5.0) -> str:
        """Collect keys already typed ahead or pressed within ``timeout``; '' if none."""
        got = ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self._check()
            while self.digits:
                d = self.digits.popleft()
                if terminator and d == terminator:
                    return got
                got += d
                if len(got) >= max_digits:
                    return got
                deadline = loop.time() + inter_digit
            remaining = deadline - loop.time()
            if remaining <= 0:
                return got
            await self._wait_change(remaining)

    async def wait_answered(self, timeout: float) -> bool:
        """True once the far end answers; False on timeout (the leg is left ringing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.answered.is_set():
            self._check()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await self._wait_change(remaining)
        return True

    async def wait_ended(self) -> None:
        await self.ended.wait()

    def hangup(self, code: int = 0) -> None:
        if not self.ended.is_set():
            try:
                self._send(P.HANGUP, call=self.id, code=code)
            except RuntimeError:
                self.worker_died()

    def bridge(self, other: Leg) -> None:
        self.send(P.BRIDGE, a=self.id, b=other.id)

    def unbridge(self, other: Leg) -> None:
        self.send(P.UNBRIDGE, a=self.id, b=other.id)


def new_leg_id(prefix: str = "out") -> str:
    return f"{prefix}-{next(_leg_serial)}"


async def unless_hung_up(leg: Leg, aw: Awaitable[T], timeout: float | None = None) -> T | None:
    """Await ``aw`` but give up with HungUp as soon as ``leg`` ends; None on timeout."""
    task = asyncio.ensure_future(aw)
    gone = asyncio.ensure_future(leg.ended.wait())
    try:
        await asyncio.wait({task, gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if leg.ended.is_set():
        task.cancel()
        raise HungUp(leg.id, leg.end_code, leg.end_reason)
    if not task.done():
        task.cancel()
        return None
    return task.result()


async def until_either_ends(a: Leg, b: Leg) -> None:
    """Wait while two bridged legs talk; returns when one of them hangs up."""
    ended = [asyncio.ensure_future(x.ended.wait()) for x in (a, b)]
    try:
        await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in ended:
            t.cancel()
