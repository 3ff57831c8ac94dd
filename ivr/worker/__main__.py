"""Entry point of a media worker process: ``python -m ivr.worker --port N``.

The control plane writes commands to our stdin and reads events from our stdout, one JSON
object per line.  C code (pjsua's log) may write to fd 1 too, so the protocol gets a private
duplicate of fd 1 and fd 1 itself is pointed at stderr.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import queue
import signal
import sys
import threading
import time
from typing import BinaryIO

from ivr import protocol as P
from ivr.worker.endpoint import MediaEndpoint, WorkerSettings

logger = logging.getLogger("ivr.worker")


def _parse(argv: list[str] | None) -> WorkerSettings:
    ap = argparse.ArgumentParser(prog="python -m ivr.worker")
    ap.add_argument("--ip", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--public-host", default="")
    ap.add_argument("--numbers", default="", help="comma-separated called numbers; empty = any")
    ap.add_argument("--max-calls", type=int, default=4)
    ap.add_argument("--legs-per-call", type=int, default=2)
    ap.add_argument("--log-level", type=int, default=1)
    ap.add_argument("--rtp-port", type=int, default=0)
    a = ap.parse_args(argv)
    numbers = tuple(n for n in a.numbers.split(",") if n)
    return WorkerSettings(a.ip, a.port, a.public_host, numbers, a.max_calls, a.legs_per_call,
                          a.log_level, a.rtp_port)


def _reader(stream: BinaryIO, inbox: queue.Queue[P.Message | None], emit: object) -> None:
    for line in stream:
        if not line.strip():
            continue
        try:
            inbox.put(P.decode(line))
        except P.ProtocolError as exc:
            logger.warning("bad command line ignored: %s", exc)
    inbox.put(None)  # control plane went away


def main(argv: list[str] | None = None) -> int:
    settings = _parse(argv)
    faulthandler.enable()  # a pjlib assertion aborts: leave a Python stack in the log
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format=f"worker:{settings.port} %(levelname)s %(name)s: %(message)s")
    proto = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(msg: P.Message) -> None:
        try:
            proto.write(msg.encode())
        except (BrokenPipeError, OSError):
            pass

    inbox: queue.Queue[P.Message | None] = queue.Queue()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    ep = MediaEndpoint(settings, emit)
    try:
        ep.start()
    except Exception as exc:  # noqa: BLE001 - report why we could not start, then exit
        emit(P.event(P.ERROR, call="", message=f"worker failed to start: {exc}"))
        return 2
    threading.Thread(target=_reader, args=(sys.stdin.buffer, inbox, emit), daemon=True).start()
    emit(P.event(P.READY, port=settings.port, capacity=ep.inbound_capacity(), max_calls=settings.max_calls))
    next_flush = time.monotonic()
    while not stop.is_set():
        ep.libHandleEvents(10)
        ep.run_deferred()
        if time.monotonic() >= next_flush:
            ep.flush_audio()
            next_flush = time.monotonic() + 0.06
        while True:
            try:
                msg = inbox.get_nowait()
            except queue.Empty:
                break
            if msg is None or msg.kind == P.SHUTDOWN:
                stop.set()
                break
            ep.handle(msg)
    ep.stop()
    proto.close()
    sys.stderr.flush()
    # the stdin reader thread may still block in read(): leave without joining it
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
