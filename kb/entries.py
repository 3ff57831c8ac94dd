"""Knowledge entries and their YAML form, validated whole before anything is written (pure)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.settings import ConfigError, read_yaml

ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_ANSWER = 600


@dataclass(frozen=True)
class Entry:
    id: str
    questions: tuple[str, ...]
    answer: str
    unit: str = ""
    topic: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    def as_yaml(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "questions": list(self.questions), "answer": self.answer}
        for key in ("unit", "topic"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        for key in ("valid_from", "valid_to"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key).isoformat()
        return out


def _date(path: Path, key: str, value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(path, key, f"not a date (YYYY-MM-DD): {value!r}") from None


def parse_entries(path: Path, data: Any) -> list[Entry]:
    """Entries from loaded YAML; the first problem refuses the whole file, naming the entry."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise ConfigError(path, "entries", "the file needs an 'entries:' list")
    out: list[Entry] = []
    seen: set[str] = set()
    for i, raw in enumerate(data["entries"]):
        where = f"entries[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(path, where, "expected a mapping with id, questions, answer")
        eid = raw.get("id")
        if isinstance(eid, str):
            where = f"entries[{i}] (id {eid})"
        extra = set(raw) - {"id", "questions", "answer", "unit", "topic", "valid_from", "valid_to"}
        if extra:
            raise ConfigError(path, f"{where}.{sorted(extra)[0]}", "unknown field")
        if not isinstance(eid, str) or not ID_RE.match(eid):
            raise ConfigError(path, f"{where}.id", "expected lowercase letters, digits, - or _ (max 64)")
        if eid in seen:
            raise ConfigError(path, f"{where}.id", "duplicate id")
        seen.add(eid)
        qs = raw.get("questions")
        if isinstance(qs, str):
            qs = [qs]
        if not isinstance(qs, list) or not qs or not all(isinstance(q, str) and q.strip() for q in qs):
            raise ConfigError(path, f"{where}.questions", "expected a non-empty list of questions")
        if any(len(q) > 200 for q in qs):
            raise ConfigError(path, f"{where}.questions", "a question is longer than 200 characters")
        answer = raw.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            raise ConfigError(path, f"{where}.answer", "missing or empty")
        if len(answer) > MAX_ANSWER:
            raise ConfigError(path, f"{where}.answer", f"longer than {MAX_ANSWER} characters (it is read aloud)")
        for key in ("unit", "topic"):
            if raw.get(key) is not None and not isinstance(raw.get(key), str):
                raise ConfigError(path, f"{where}.{key}", "expected text")
        vf, vt = _date(path, f"{where}.valid_from", raw.get("valid_from")), _date(path, f"{where}.valid_to",
                                                                                 raw.get("valid_to"))
        if vf and vt and vt < vf:
            raise ConfigError(path, f"{where}.valid_to", "ends before valid_from")
        out.append(Entry(eid, tuple(q.strip() for q in qs), answer.strip(), str(raw.get("unit") or ""),
                         str(raw.get("topic") or ""), vf, vt))
    return out


def read_entries(path: Path) -> list[Entry]:
    return parse_entries(path, read_yaml(path))


def read_dir(directory: Path) -> list[Entry]:
    """All entries of the *.yaml files in a directory (the shipped knowledge base)."""
    out: list[Entry] = []
    ids: set[str] = set()
    for f in sorted(directory.glob("*.yaml")):
        for e in read_entries(f):
            if e.id in ids:
                raise ConfigError(f, e.id, "duplicate id across files")
            ids.add(e.id)
            out.append(e)
    return out


def dump_entries(entries: list[Entry]) -> str:
    return yaml.safe_dump({"entries": [e.as_yaml() for e in entries]}, allow_unicode=True, sort_keys=False,
                          width=1000)
