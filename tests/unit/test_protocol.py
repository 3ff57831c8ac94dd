from __future__ import annotations

import pytest

from ivr import protocol as P


def test_round_trip() -> None:
    msg = P.command(P.DIAL, call="x", uri="sip:119@gw", caller="13800138000")
    back = P.decode(msg.encode())
    assert (back.kind, back.is_event, back.fields) == (P.DIAL, False, msg.fields)
    ev = P.decode(P.event(P.DTMF, call="1", digit="9").encode())
    assert ev.is_event and ev.get("digit") == "9"


@pytest.mark.parametrize(("line", "reason"), [
    (b"not json", "not JSON"), (b"[1,2]", "not an object"), (b"{}", "neither"),
    (b'{"op": 5}', "not a string"), (b"\xff\xfe", "not JSON")])
def test_malformed_lines_are_refused_with_a_reason(line: bytes, reason: str) -> None:
    with pytest.raises(P.ProtocolError, match=reason):
        P.decode(line)
