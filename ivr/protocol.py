"""Messages between the control plane and a media worker: one JSON object per line.

Commands go to the worker (``op``), events come back (``ev``).  Both sides keep these
plain dicts small and flat so a worker that crashes mid-line loses nothing but that line.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# Commands (control plane -> worker)
ANSWER = "answer"          # call, code
PLAY = "play"              # call, file, loop
STOP_PLAY = "stop_play"    # call
DIAL = "dial"              # call (new leg id), uri, caller, headers
BRIDGE = "bridge"          # a, b
UNBRIDGE = "unbridge"      # a, b
HANGUP = "hangup"          # call, code
SEND_DTMF = "send_dtmf"    # call, digits, method ("rfc2833" | "info")
RECORD = "record"          # call, file
STOP_RECORD = "stop_record"  # call
REFER = "refer"            # call, uri (peer/test use: ask the far end to transfer)
LISTEN = "listen"          # call: stream the caller's audio (16 kHz PCM) until unlisten
UNLISTEN = "unlisten"      # call
SHUTDOWN = "shutdown"

# Events (worker -> control plane)
READY = "ready"            # port, capacity
INCOMING = "incoming"      # call, caller, called, from_uri, pai
MEDIA = "media"            # call  (audio flowing)
STATE = "state"            # call, state, code, reason
DTMF = "dtmf"              # call, digit, method
PLAYED = "played"          # call, file
TRANSFER_REFUSED = "transfer_refused"  # call, target
TRANSFER_STATUS = "transfer_status"    # call, code, final  (a REFER we sent: the far end's answer)
REJECTED = "rejected"      # called, code, reason  (refused before a call existed)
ERROR = "error"            # call, message
AUDIO = "audio"            # call, pcm (base64 of 16 kHz 16-bit mono, ~100 ms per event)


@dataclass(frozen=True)
class Message:
    """One line on the wire: a command (``op``) or an event (``ev``) with its fields."""

    kind: str
    fields: dict[str, Any] = field(default_factory=dict)
    is_event: bool = True

    def encode(self) -> bytes:
        body = {("ev" if self.is_event else "op"): self.kind, **self.fields}
        return (json.dumps(body, ensure_ascii=False) + "\n").encode()

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def event(kind: str, **fields: Any) -> Message:
    return Message(kind, fields, True)


def command(kind: str, **fields: Any) -> Message:
    return Message(kind, fields, False)


class ProtocolError(ValueError):
    """A line that is not a well-formed message."""


def decode(line: bytes | str) -> Message:
    """Parse one wire line; raise ProtocolError with the reason if it is malformed."""
    try:
        body = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ProtocolError("message is not an object")
    if "ev" in body:
        kind, is_event = body.pop("ev"), True
    elif "op" in body:
        kind, is_event = body.pop("op"), False
    else:
        raise ProtocolError("message has neither 'ev' nor 'op'")
    if not isinstance(kind, str):
        raise ProtocolError("message kind is not a string")
    return Message(kind, body, is_event)
