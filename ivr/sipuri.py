"""Pure helpers for the bits of SIP text the hotline reads: users, numbers, headers."""

from __future__ import annotations

import re

_URI_RE = re.compile(r"(sips?):(?:([^@;>\s]+)@)?([^;>\s]+)", re.IGNORECASE)
_PHONE_RE = re.compile(r"^\+?[0-9*#]{1,32}$")


def parse_uri(text: str) -> tuple[str, str, str] | None:
    """Return (scheme, user, hostport) of the first SIP URI in ``text``, or None."""
    m = _URI_RE.search(text)
    if not m:
        return None
    return m.group(1).lower(), m.group(2) or "", m.group(3)


def uri_user(text: str) -> str:
    """The user part of the first SIP URI in ``text`` ('' if none)."""
    parsed = parse_uri(text)
    return parsed[1] if parsed else ""


def is_sip_uri(text: str) -> bool:
    parsed = parse_uri(text)
    return bool(parsed and parsed[2]) and text.strip().lower().startswith(("sip:", "sips:"))


def request_uri(message: str) -> str:
    """The Request-URI of a SIP request's start line ('' if not a request)."""
    first = message.split("\r\n", 1)[0].split("\n", 1)[0]
    parts = first.split(" ")
    return parts[1] if len(parts) == 3 and parts[2].startswith("SIP/") else ""


def header(message: str, name: str) -> str:
    """The value of the first header ``name`` (case-insensitive) in a SIP message."""
    wanted = name.lower()
    for line in message.replace("\r\n", "\n").split("\n")[1:]:
        if not line:
            break
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == wanted:
            return value.strip()
    return ""


def caller_number(message: str) -> str:
    """Who is calling: P-Asserted-Identity if the gateway set it, else the From user."""
    for name in ("P-Asserted-Identity", "From", "f"):
        user = uri_user(header(message, name))
        if user:
            return user
    return ""


def safe_number(text: str) -> str:
    """A phone number fit to put into a SIP URI user part, or '' if it is not one."""
    return text if _PHONE_RE.match(text) else ""
