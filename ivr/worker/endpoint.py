"""The pjsua2 side of a media worker: one Endpoint, its calls, players and bridges.

Everything here runs on the worker's polling thread (``threadCnt = 0``), except DTMF and
end-of-file callbacks, which pjsua2 calls on its media and clock threads; those only emit an
event or queue work for the polling thread.  See DESIGN.md §1 for why.
"""

from __future__ import annotations

import base64
import ctypes
import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pjsua2 as pj

from ivr import protocol as P
from ivr.sipuri import caller_number, request_uri, uri_user

logger = logging.getLogger(__name__)

Emit = Callable[[P.Message], None]

_KEEP_CODECS = {"PCMA/8000": 255, "PCMU/8000": 254, "G722/16000": 200}


@dataclass
class WorkerSettings:
    """What one media worker needs to know; given on its command line."""

    ip: str = "127.0.0.1"
    port: int = 5070
    public_host: str = ""              # host:port put into From/Contact; default ip:port
    numbers: tuple[str, ...] = ()      # called numbers answered; empty = any (test peers)
    max_calls: int = 4                 # pjsua slots in this process
    legs_per_call: int = 2             # slots one inbound call may need (itself + agent/119)
    log_level: int = 1
    rtp_port: int = 0                  # first RTP port; 0 = derived from the SIP port


@dataclass
class Leg:
    """One SIP dialog in this worker and the media attached to it."""

    leg_id: str
    call: Any
    inbound: bool
    media: Any = None
    player: Any = None
    recorder: Any = None
    pending_play: tuple[str, bool] | None = None
    pending_record: str = ""
    tap: Any = None
    pending_listen: bool = False
    peers: set[str] = field(default_factory=set)
    allow_transfer: bool = False
    ended: bool = False
    silent: bool = False               # refused before it began: no events


class _Player(pj.AudioMediaPlayer):  # type: ignore[misc]
    def __init__(self, owner: MediaEndpoint, leg_id: str, file: str) -> None:
        super().__init__()
        self._owner, self._leg_id, self._file = owner, leg_id, file

    def onEof2(self) -> None:  # clock thread: never destroy here
        try:
            self._owner.player_finished(self._leg_id, self)
        except Exception:  # noqa: BLE001 - a traceback would keep objects alive
            logger.exception("leg %s: end-of-file callback failed", self._leg_id)


def _quietly(stop: Callable[[Any], None], target: Any) -> None:
    """Disconnect a media port; it may already be gone with its call, which is fine."""
    if target is None:
        return
    try:
        stop(target)
    except pj.Error:
        pass


def _vector_bytes(vec: Any) -> bytes:
    """The bytes of a SWIG std::vector<unsigned char> read in place (≈2 µs, DESIGN.md §1.7)."""
    addr = int(vec.this)
    begin = ctypes.c_void_p.from_address(addr).value
    end = ctypes.c_void_p.from_address(addr + ctypes.sizeof(ctypes.c_void_p)).value
    if not begin or not end or end <= begin:
        return b""
    return ctypes.string_at(begin, end - begin)


class _Tap(pj.AudioMediaPort):  # type: ignore[misc]
    """Receives the caller's audio from the bridge; only exists while someone listens."""

    def __init__(self, leg_id: str) -> None:
        super().__init__()
        self.leg_id = leg_id
        self.chunks: list[bytes] = []
        self.lock = threading.Lock()

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # clock thread: copy and return
        try:
            if frame.type != pj.PJMEDIA_FRAME_TYPE_AUDIO or frame.size == 0:
                return
            data = _vector_bytes(frame.buf)
            with self.lock:
                self.chunks.append(data)
        except Exception:  # noqa: BLE001
            logger.exception("leg %s: audio frame callback failed", self.leg_id)

    def take(self) -> bytes:
        with self.lock:
            data, self.chunks = b"".join(self.chunks), []
        return data


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, owner: MediaEndpoint, acc: pj.Account, call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(acc, call_id)
        self._owner = owner
        self.leg_id = ""

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        try:
            self._owner.on_state(self)
        except Exception:  # noqa: BLE001
            logger.exception("leg %s: state callback failed", self.leg_id)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        try:
            self._owner.on_media(self)
        except Exception:  # noqa: BLE001
            logger.exception("leg %s: media callback failed", self.leg_id)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        try:
            method = "info" if prm.method == pj.PJSUA_DTMF_METHOD_SIP_INFO else "rfc2833"
            self._owner.emit(P.event(P.DTMF, call=self.leg_id, digit=prm.digit, method=method))
        except Exception:  # noqa: BLE001
            logger.exception("leg %s: DTMF callback failed", self.leg_id)

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:
        # pjsua accepts REFER by default: a caller could make us dial anywhere (toll fraud).
        try:
            leg = self._owner.legs.get(self.leg_id)
            if leg is None or not leg.allow_transfer:
                prm.statusCode = 403
                self._owner.emit(P.event(P.TRANSFER_REFUSED, call=self.leg_id, target=prm.dstUri))
        except Exception:  # noqa: BLE001
            prm.statusCode = 403
            logger.exception("leg %s: transfer callback failed", self.leg_id)


    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:
        try:
            self._owner.emit(P.event(P.TRANSFER_STATUS, call=self.leg_id, code=prm.statusCode,
                                     final=bool(prm.finalNotify)))
        except Exception:  # noqa: BLE001
            logger.exception("leg %s: transfer status callback failed", self.leg_id)


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, owner: MediaEndpoint) -> None:
        super().__init__()
        self._owner = owner

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        try:
            self._owner.on_incoming(self, prm)
        except Exception:  # noqa: BLE001
            logger.exception("incoming call callback failed")


class MediaEndpoint:
    """Owns the pjsua2 Endpoint; every method must be called on the polling thread."""

    def __init__(self, settings: WorkerSettings, emit: Emit) -> None:
        self.settings = settings
        self._emit = emit
        self._emit_lock = threading.Lock()
        self.legs: dict[str, Leg] = {}
        self._deferred: list[Callable[[], None]] = []
        self._deferred_lock = threading.Lock()
        self._serial = 0
        self.ep = pj.Endpoint()
        self.acc: _Account | None = None

    # ---- life cycle -------------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        self.ep.libCreate()
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = False
        cfg.uaConfig.maxCalls = s.max_calls
        cfg.uaConfig.userAgent = "hotline-12345-worker"
        cfg.logConfig.level = s.log_level
        cfg.logConfig.consoleLevel = s.log_level
        cfg.medConfig.clockRate = 16000
        cfg.medConfig.sndClockRate = 16000
        cfg.medConfig.noVad = True
        cfg.medConfig.ecTailLen = 0
        self.ep.libInit(cfg)
        tcfg = pj.TransportConfig()
        tcfg.port = s.port
        tcfg.boundAddress = s.ip
        self.ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
        self.ep.libStart()
        self.ep.audDevManager().setNullDev()
        for codec in self.ep.codecEnum2():
            name_rate = "/".join(codec.codecId.split("/")[:2])
            self.ep.codecSetPriority(codec.codecId, _KEEP_CODECS.get(name_rate, 0))
        acfg = pj.AccountConfig()
        acfg.idUri = f"sip:hotline@{self.host}"
        acfg.mediaConfig.transportConfig.boundAddress = s.ip
        acfg.mediaConfig.transportConfig.port = s.rtp_port or 20000 + (s.port % 1000) * 40
        acfg.mediaConfig.transportConfig.portRange = max(40, s.max_calls * 4)
        self.acc = _Account(self)
        self.acc.create(acfg, True)

    @property
    def host(self) -> str:
        return self.settings.public_host or f"{self.settings.ip}:{self.settings.port}"

    def stop(self) -> None:
        self._hangup_all()
        for _ in range(50):
            self.ep.libHandleEvents(10)
            self.run_deferred()
            if not self.legs:
                break
        self._release_all()
        self.acc = None
        with self._deferred_lock:
            self._deferred.clear()
        gc.collect()  # every Call/player must be gone before libDestroy (DESIGN.md §1.8)
        self.ep.libDestroy()

    def _hangup_all(self) -> None:
        for leg in list(self.legs.values()):
            if not leg.ended:
                try:
                    leg.call.hangup(pj.CallOpParam(True))
                except pj.Error:
                    pass

    def _release_all(self) -> None:
        for leg in list(self.legs.values()):
            self._release(leg)
        self.legs.clear()

    def emit(self, msg: P.Message) -> None:
        with self._emit_lock:
            self._emit(msg)

    def defer(self, fn: Callable[[], None]) -> None:
        with self._deferred_lock:
            self._deferred.append(fn)

    def run_deferred(self) -> None:
        with self._deferred_lock:
            todo, self._deferred = self._deferred, []
        for fn in todo:
            try:
                fn()
            except Exception:  # noqa: BLE001
                logger.exception("deferred work failed")

    def libHandleEvents(self, ms: int) -> None:  # noqa: N802 - mirrors pjsua2
        self.ep.libHandleEvents(ms)

    # ---- admission ----------------------------------------------------------------------
    def inbound_capacity(self) -> int:
        return max(1, self.settings.max_calls // max(1, self.settings.legs_per_call))

    def _inbound_count(self) -> int:
        return sum(1 for leg in self.legs.values() if leg.inbound and not leg.ended)

    def on_incoming(self, acc: _Account, prm: pj.OnIncomingCallParam) -> None:
        msg = prm.rdata.wholeMsg
        called = uri_user(request_uri(msg))
        call = _Call(self, acc, prm.callId)
        self._serial += 1
        leg_id = f"{self.settings.port}-{self._serial}"
        call.leg_id = leg_id
        refusal = None
        if self.settings.numbers and called not in self.settings.numbers:
            refusal = (404, "number not served")
        elif self.settings.numbers and self._inbound_count() >= self.inbound_capacity():
            refusal = (486, "worker full")
        if refusal:
            # keep the Call object until pjsua reports it disconnected (never delete it here)
            self.legs[leg_id] = Leg(leg_id, call, inbound=False, silent=True)
            op = pj.CallOpParam()
            op.statusCode = refusal[0]
            call.answer(op)
            self.emit(P.event(P.REJECTED, called=called, code=refusal[0], reason=refusal[1]))
            return
        self.legs[leg_id] = Leg(leg_id, call, inbound=True)
        self.emit(P.event(
            P.INCOMING, call=leg_id, caller=caller_number(msg), called=called,
            from_uri=call.getInfo().remoteUri,
        ))
        ringing = pj.CallOpParam()
        ringing.statusCode = 180
        call.answer(ringing)

    # ---- call events ------------------------------------------------------------------
    def on_state(self, call: _Call) -> None:
        ci = call.getInfo()
        leg = self.legs.get(call.leg_id)
        if leg is None:
            return
        if leg.silent:
            if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                leg.ended = True
                self.defer(lambda: self._forget(leg.leg_id))
            return
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.emit(P.event(P.STATE, call=leg.leg_id, state="answered", code=ci.lastStatusCode))
        elif ci.state == pj.PJSIP_INV_STATE_EARLY:
            self.emit(P.event(P.STATE, call=leg.leg_id, state="ringing", code=ci.lastStatusCode))
        elif ci.state == pj.PJSIP_INV_STATE_DISCONNECTED and not leg.ended:
            leg.ended = True
            self.emit(P.event(P.STATE, call=leg.leg_id, state="ended",
                              code=ci.lastStatusCode, reason=ci.lastReason))
            self.defer(lambda: self._forget(leg.leg_id))

    def on_media(self, call: _Call) -> None:
        leg = self.legs.get(call.leg_id)
        if leg is None:
            return
        ci = call.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                first = leg.media is None
                leg.media = call.getAudioMedia(i)
                if first:
                    self.emit(P.event(P.MEDIA, call=leg.leg_id))
                self._apply_pending(leg)
                return

    def _apply_pending(self, leg: Leg) -> None:
        if leg.pending_play:
            file, loop = leg.pending_play
            leg.pending_play = None
            self._start_player(leg, file, loop)
        if leg.pending_record:
            file, leg.pending_record = leg.pending_record, ""
            self._start_recorder(leg, file)
        if leg.pending_listen:
            leg.pending_listen = False
            self._start_tap(leg)
        for other_id in list(leg.peers):
            other = self.legs.get(other_id)
            if other and other.media is not None and leg.media is not None:
                leg.media.startTransmit(other.media)
                other.media.startTransmit(leg.media)
                logger.info("bridged %s <-> %s (ports %d, %d)", leg.leg_id, other_id,
                            leg.media.getPortId(), other.media.getPortId())

    def player_finished(self, leg_id: str, player: _Player) -> None:
        def finish() -> None:
            leg = self.legs.get(leg_id)
            if leg is not None and leg.player is player:
                self._stop_player(leg)
                self.emit(P.event(P.PLAYED, call=leg_id))
        self.defer(finish)

    # ---- commands ---------------------------------------------------------------------
    def handle(self, msg: P.Message) -> None:
        handler = getattr(self, f"cmd_{msg.kind}", None)
        if handler is None:
            self.emit(P.event(P.ERROR, call=msg.get("call", ""), message=f"unknown command {msg.kind!r}"))
            return
        try:
            handler(msg)
        except pj.Error as exc:
            self.emit(P.event(P.ERROR, call=msg.get("call", ""), message=f"{msg.kind}: {exc.info()}"))
        except (KeyError, TypeError, ValueError) as exc:
            self.emit(P.event(P.ERROR, call=msg.get("call", ""), message=f"{msg.kind}: bad command: {exc}"))

    def _leg(self, msg: P.Message, key: str = "call") -> Leg:
        leg = self.legs.get(msg.fields[key])
        if leg is None or leg.ended:
            raise KeyError(f"no live call {msg.fields[key]!r}")
        return leg

    def cmd_answer(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        op = pj.CallOpParam()
        op.statusCode = int(msg.get("code", 200))
        leg.call.answer(op)

    def cmd_hangup(self, msg: P.Message) -> None:
        leg = self.legs.get(msg.fields["call"])
        if leg is None or leg.ended:
            return
        op = pj.CallOpParam()
        code = int(msg.get("code", 0))
        if code:
            op.statusCode = code
        leg.call.hangup(op)

    def cmd_play(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        self._stop_player(leg)
        file, loop = str(msg.fields["file"]), bool(msg.get("loop", False))
        if leg.media is None:
            leg.pending_play = (file, loop)
        else:
            self._start_player(leg, file, loop)

    def cmd_stop_play(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        leg.pending_play = None
        self._stop_player(leg)

    def cmd_record(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        if leg.media is None:
            leg.pending_record = str(msg.fields["file"])
        else:
            self._start_recorder(leg, str(msg.fields["file"]))

    def cmd_stop_record(self, msg: P.Message) -> None:
        leg = self.legs.get(msg.fields["call"])
        if leg is not None:
            self._stop_recorder(leg)

    def cmd_dial(self, msg: P.Message) -> None:
        leg_id, uri = str(msg.fields["call"]), str(msg.fields["uri"])
        if leg_id in self.legs:
            raise ValueError(f"leg id {leg_id!r} in use")
        assert self.acc is not None
        call = _Call(self, self.acc)
        call.leg_id = leg_id
        op = pj.CallOpParam(True)
        caller = str(msg.get("caller", ""))
        if caller:
            op.txOption.localUri = f"sip:{caller}@{self.host}"
            pai = pj.SipHeader()
            pai.hName = "P-Asserted-Identity"
            pai.hValue = f"<sip:{caller}@{self.host}>"
            op.txOption.headers.append(pai)
        for name, value in dict(msg.get("headers", {})).items():
            h = pj.SipHeader()
            h.hName, h.hValue = str(name), str(value)
            op.txOption.headers.append(h)
        self.legs[leg_id] = Leg(leg_id, call, inbound=False)
        try:
            call.makeCall(uri, op)
        except pj.Error:
            del self.legs[leg_id]
            self.emit(P.event(P.STATE, call=leg_id, state="ended", code=500, reason="dial failed"))
            raise

    def cmd_bridge(self, msg: P.Message) -> None:
        a, b = self._leg(msg, "a"), self._leg(msg, "b")
        a.peers.add(b.leg_id)
        b.peers.add(a.leg_id)
        self._apply_pending(a)

    def cmd_unbridge(self, msg: P.Message) -> None:
        a, b = self.legs.get(msg.fields["a"]), self.legs.get(msg.fields["b"])
        if a and b:
            self._disconnect(a, b)

    def cmd_send_dtmf(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        digits = str(msg.fields["digits"])
        if msg.get("method", "rfc2833") == "info":
            prm = pj.CallSendDtmfParam()
            prm.digits = digits
            prm.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
            leg.call.sendDtmf(prm)
        else:
            leg.call.dialDtmf(digits)

    def cmd_listen(self, msg: P.Message) -> None:
        leg = self._leg(msg)
        if leg.media is None:
            leg.pending_listen = True
        elif leg.tap is None:
            self._start_tap(leg)

    def cmd_unlisten(self, msg: P.Message) -> None:
        leg = self.legs.get(msg.fields["call"])
        if leg is not None:
            leg.pending_listen = False
            self._stop_tap(leg)

    def flush_audio(self) -> None:
        """Send what the taps collected (called from the polling loop, ~every 100 ms)."""
        for leg in self.legs.values():
            if leg.tap is not None:
                data = leg.tap.take()
                if data:
                    self.emit(P.event(P.AUDIO, call=leg.leg_id, pcm=base64.b64encode(data).decode()))

    def cmd_refer(self, msg: P.Message) -> None:
        self._leg(msg).call.xfer(str(msg.fields["uri"]), pj.CallOpParam(True))

    # ---- media helpers ----------------------------------------------------------------
    def _start_player(self, leg: Leg, file: str, loop: bool) -> None:
        player = _Player(self, leg.leg_id, file)
        try:
            player.createPlayer(file, 0 if loop else pj.PJMEDIA_FILE_NO_LOOP)
        except pj.Error as exc:
            self.emit(P.event(P.ERROR, call=leg.leg_id, message=f"cannot play {file}: {exc.info()}"))
            self.emit(P.event(P.PLAYED, call=leg.leg_id, file=file, failed=True))
            return
        leg.player = player
        player.startTransmit(leg.media)

    def _stop_player(self, leg: Leg) -> None:
        player, leg.player = leg.player, None
        if player is None:
            return
        if not leg.ended:
            _quietly(player.stopTransmit, leg.media)
        # keep the Python object alive until the C++ side is gone (DESIGN.md §1.8)
        self.defer(lambda: player)

    def _start_recorder(self, leg: Leg, file: str) -> None:
        self._stop_recorder(leg)
        rec = pj.AudioMediaRecorder()
        rec.createRecorder(file)
        leg.media.startTransmit(rec)
        leg.recorder = rec

    def _stop_recorder(self, leg: Leg) -> None:
        rec, leg.recorder = leg.recorder, None
        if rec is None:
            return
        if leg.media is not None:
            _quietly(leg.media.stopTransmit, rec)
        del rec  # pjsua_recorder_destroy writes the WAV header

    def _start_tap(self, leg: Leg) -> None:
        tap = _Tap(leg.leg_id)
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, 16000, 1, 20000, 16)
        tap.createPort(f"tap-{leg.leg_id}", fmt)
        leg.media.startTransmit(tap)
        leg.tap = tap

    def _stop_tap(self, leg: Leg) -> None:
        tap, leg.tap = leg.tap, None
        if tap is None:
            return
        if leg.media is not None:
            _quietly(leg.media.stopTransmit, tap)
        # Destroy the C++ port now, on this thread, while the Python object is alive; the clock
        # thread would otherwise call into a half-destroyed object (DESIGN.md §1.8).
        tap.thisown = False
        pj.AudioMediaPort.__swig_destroy__(tap)
        self.defer(lambda: tap)

    def _disconnect(self, a: Leg, b: Leg) -> None:
        a.peers.discard(b.leg_id)
        b.peers.discard(a.leg_id)
        for x, y in ((a, b), (b, a)):
            if x.media is not None and y.media is not None:
                _quietly(x.media.stopTransmit, y.media)

    def _release(self, leg: Leg) -> None:
        for other_id in list(leg.peers):
            other = self.legs.get(other_id)
            if other is not None:
                self._disconnect(leg, other)
        self._stop_player(leg)
        self._stop_recorder(leg)
        self._stop_tap(leg)
        leg.media = None

    def _forget(self, leg_id: str) -> None:
        leg = self.legs.pop(leg_id, None)
        if leg is not None:
            self._release(leg)
