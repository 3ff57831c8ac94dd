"""People and credentials: argon2 passwords, login sessions with CSRF tokens and an idle timeout,
lockout after repeated wrong passwords, API bearer tokens, and the audit log (blocking; call from
a thread)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from ivr.sipuri import is_sip_uri
from workorders.models import AuditEntry, Credential, User

logger = logging.getLogger(__name__)

ROLES = ("agent", "supervisor", "admin")
MAX_FAILURES = 5
LOCK_FOR = dt.timedelta(minutes=15)
IDLE_TIMEOUT = dt.timedelta(minutes=30)
_ID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_hasher = PasswordHasher()


class AuthError(ValueError):
    """A refused login or a bad user definition; the message is safe to show."""


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str
    sip: str

    @property
    def sees_all(self) -> bool:
        return self.role in ("supervisor", "admin")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _person(u: User) -> Person:
    return Person(u.id, u.name, u.role, u.sip)


def add_user(engine: Engine, user_id: str, role: str, *, name: str = "", sip: str = "",
             password: str | None = None) -> Person:
    """Create or update a user; a password of None keeps the old one."""
    if not _ID_RE.match(user_id):
        raise AuthError(f"user name {user_id!r}: letters, digits, . _ - only (max 64)")
    if role not in ROLES:
        raise AuthError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if sip and not is_sip_uri(sip):
        raise AuthError(f"--sip {sip!r} is not a SIP URI")
    if role == "agent" and not sip:
        raise AuthError("an agent needs --sip: the URI of their softphone")
    if password is not None and len(password) < 8:
        raise AuthError("the password needs at least 8 characters")
    with Session(engine) as s, s.begin():
        u = s.get(User, user_id)
        if u is None:
            u = User(id=user_id, name=name or user_id, role=role, sip=sip, password_hash="", failed_logins=0,
                     created_at=_now())
            s.add(u)
        u.role, u.sip = role, sip
        u.name = name or u.name
        if password is not None:
            u.password_hash = _hasher.hash(password)
        return _person(u)


def list_people(engine: Engine) -> list[Person]:
    with Session(engine) as s:
        return [_person(u) for u in s.scalars(select(User).order_by(User.id))]


def login(engine: Engine, user_id: str, password: str) -> tuple[str, str, Person]:
    """(session token, CSRF token, person); wrong passwords lock the account for a while."""
    refusal = ""
    with Session(engine) as s, s.begin():  # failures are counted and committed before refusing
        u = s.get(User, user_id)
        now = _now()
        if u is None or not u.password_hash:
            _hasher.hash(password)  # same work either way: no user enumeration by timing
            refusal = "用户名或密码错误"
        elif (locked := _aware(u.locked_until)) and locked > now:
            refusal = f"账号已锁定，请于{locked.astimezone().strftime('%H:%M')}后再试"
        else:
            try:
                _hasher.verify(u.password_hash, password)
            except (VerificationError, InvalidHashError):
                u.failed_logins += 1
                refusal = "用户名或密码错误"
                if u.failed_logins >= MAX_FAILURES:
                    u.locked_until, u.failed_logins = now + LOCK_FOR, 0
                    logger.warning("user %s: locked after %d wrong passwords", user_id, MAX_FAILURES)
                    refusal = "密码错误次数过多，账号已锁定15分钟"
        if not refusal:
            assert u is not None
            u.failed_logins, u.locked_until = 0, None
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
            s.add(Credential(token_hash=_digest(token), kind="session", user_id=u.id, csrf=csrf, created_at=now,
                             last_seen=now))
            who = _person(u)
    if refusal:
        raise AuthError(refusal)
    return token, csrf, who


def session(engine: Engine, token: str) -> tuple[Person, str] | None:
    """The person and CSRF token of a live session (touching it), or None if unknown or idle too long."""
    with Session(engine) as s, s.begin():
        c = s.get(Credential, _digest(token))
        if c is None or c.kind != "session":
            return None
        now = _now()
        last = _aware(c.last_seen)
        if last is None or now - last > IDLE_TIMEOUT:
            s.delete(c)
            return None
        c.last_seen = now
        u = s.get(User, c.user_id)
        return (_person(u), c.csrf) if u else None


def logout(engine: Engine, token: str) -> None:
    with Session(engine) as s, s.begin():
        s.execute(delete(Credential).where(Credential.token_hash == _digest(token)))


def issue_token(engine: Engine, user_id: str) -> str:
    with Session(engine) as s, s.begin():
        if s.get(User, user_id) is None:
            raise AuthError(f"no user {user_id!r}")
        token, now = secrets.token_urlsafe(32), _now()
        s.add(Credential(token_hash=_digest(token), kind="token", user_id=user_id, csrf="", created_at=now,
                         last_seen=now))
        return token


def bearer(engine: Engine, token: str) -> Person | None:
    with Session(engine) as s:
        c = s.get(Credential, _digest(token))
        if c is None or c.kind != "token":
            return None
        u = s.get(User, c.user_id)
        return _person(u) if u else None


def audit(engine: Engine, user_id: str, action: str, target: str) -> None:
    with Session(engine) as s, s.begin():
        s.add(AuditEntry(at=_now(), user_id=user_id, action=action, target=target[:128]))


def mask_number(number: str) -> str:
    """138****5678: enough for an agent to confirm, not enough to call back privately."""
    if len(number) >= 7:
        return number[:3] + "*" * (len(number) - 7) + number[-4:] if len(number) > 7 else "***" + number[-4:]
    return "*" * len(number)
