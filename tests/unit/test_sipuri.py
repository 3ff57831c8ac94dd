from __future__ import annotations

import pytest

from ivr.flow import order_number
from ivr.sipuri import caller_number, is_sip_uri, request_uri, uri_user

INVITE = ("INVITE sip:12345@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n"
          "From: \"Zhang\" <sip:13800138000@gw>;tag=1\r\nTo: <sip:12345@h>\r\n\r\n")


def test_request_uri_and_caller() -> None:
    assert uri_user(request_uri(INVITE)) == "12345"
    assert caller_number(INVITE) == "13800138000"
    pai = INVITE.replace("To:", "P-Asserted-Identity: <sip:+8613900001111@gw>\r\nTo:")
    assert caller_number(pai) == "+8613900001111"


@pytest.mark.parametrize(("text", "ok"), [
    ("sip:119@gateway.example", True), ("sips:1001@10.0.0.1:5061", True), ("sip:gw.example", True),
    ("tel:119", False), ("http://x", False), ("sip:", False), ("119", False)])
def test_is_sip_uri(text: str, ok: bool) -> None:
    assert is_sip_uri(text) is ok


def test_order_number_from_keys() -> None:
    assert order_number("20261122000123") == "20261122-000123"
    assert order_number("123") == "123"
