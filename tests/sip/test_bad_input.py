"""Malformed SIP from the network must not take a worker down or lose a call."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ivr import protocol as P
from tests.harness import HotlineProc, Peer, rms

pytestmark = pytest.mark.sip

GARBAGE = [
    b"\x00\xff" * 300,
    b"INVITE sip:12345@127.0.0.1 SIP/2.0\r\n\r\n",
    b"INVITE sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
    b"From: <sip:a@b>;tag=1\r\nTo: <sip:12345@127.0.0.1>\r\nCall-ID: bad1\r\nCSeq: 1 INVITE\r\n"
    b"Contact: <sip:a@127.0.0.1:9>\r\nContent-Type: application/sdp\r\nContent-Length: 9999\r\n\r\nv=0\r\n",
    b"INVITE sip:12345@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\n"
    b"From: <sip:a@b>;tag=2\r\nTo: <sip:12345@127.0.0.1>\r\nCall-ID: bad2\r\nCSeq: 1 INVITE\r\n"
    b"Contact: <sip:a@127.0.0.1:9>\r\nContent-Type: application/sdp\r\nContent-Length: 20\r\n\r\n"
    b"m=audio banana RTP\r\n",
    "BYE sip:无@127.0.0.1 SIP/2.0\r\nCSeq: x BYE\r\n\r\n".encode(),
]


async def test_malformed_sip_is_survived_and_calls_go_on(hotline: HotlineProc, caller: Peer) -> None:
    pid = hotline.api("/health")[1]["workers"][0]["pid"]
    leg = await caller.dial(hotline.uri)  # a call in progress while the garbage arrives
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for packet in GARBAGE:
        sock.sendto(packet, ("127.0.0.1", hotline.sip_port))
    sock.close()
    await asyncio.sleep(2)
    health = hotline.api("/health")[1]
    assert health["status"] == "ok" and health["workers"][0]["pid"] == pid and health["workers"][0]["restarts"] == 0
    samples, _ = await caller.heard(leg)
    assert rms(samples) > 500
    caller.send(P.HANGUP, call=leg)
    rec = await hotline.wait_call(lambda c: c["ended_at"])
    assert rec["outcome"] == "abandoned"
    assert len(hotline.calls()) == 1  # the broken INVITEs created no records
