"""SQLAlchemy 2 models: call records (通话记录) and work orders (诉求工单)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Outcome(enum.StrEnum):
    """How a call ended, as the hotline's reports count it."""

    ROBOT_ANSWERED = "robot_answered"
    EMERGENCY_TRANSFERRED = "emergency_transferred"
    AGENT_HANDLED = "agent_handled"
    SELF_SERVICE = "self_service"
    ABANDONED = "abandoned"
    FAILED = "failed"


class CallRecord(Base):
    """通话记录: one citizen call, written at every change."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leg_id: Mapped[str] = mapped_column(String(64), index=True)
    worker: Mapped[str] = mapped_column(String(32))
    caller: Mapped[str] = mapped_column(String(64))
    called: Mapped[str] = mapped_column(String(64))
    arrived_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    agent_answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    menu_path: Mapped[str] = mapped_column(String(256), default="")
    outcome: Mapped[str | None] = mapped_column(String(32), index=True)
    emergency_line: Mapped[str | None] = mapped_column(String(8))
    emergency_result: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")


class WorkOrder(Base):
    """诉求工单: one citizen request; the agent desk fills in the rest of its life cycle."""

    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(32), unique=True, index=True)  # given at finalise
    status: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(128), default="")
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    agent_id: Mapped[str | None] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(64), default="")
    district: Mapped[str] = mapped_column(String(32), default="")
    street: Mapped[str] = mapped_column(String(64), default="")
    level: Mapped[str] = mapped_column(String(8), default="")
    deadline: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finalized_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    copy_to: Mapped[str] = mapped_column(String(128), default="")


class Utterance(Base):
    """What the caller said, as recognised, with when and how (grammar or free speech)."""

    __tablename__ = "utterances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float] = mapped_column(Float)
    mode: Mapped[str] = mapped_column(String(16))
    menu: Mapped[str] = mapped_column(String(64), default="")


class KnowledgeEntry(Base):
    """热线数据库 entry: the questions it answers and the answer read to the caller."""

    __tablename__ = "kb_entries"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    questions: Mapped[str] = mapped_column(Text)   # JSON list
    answer: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(128), default="")
    topic: Mapped[str] = mapped_column(String(64), default="")
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class User(Base):
    """A person who signs in: 话务员 agent, supervisor or admin."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    sip: Mapped[str] = mapped_column(String(256), default="")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Credential(Base):
    """A login session (kind 'session', with its CSRF token) or an API bearer token (kind 'token')."""

    __tablename__ = "credentials"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who saw or exported personal data, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
