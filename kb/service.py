"""KnowledgeBase: the index over the database's entries, rebuilt when the entries change."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from config.settings import config_file, read_yaml
from kb.confidence import Acceptance
from kb.confidence import load as load_acceptance
from kb.index import Hit, Index, Tokenizer, load_synonyms
from kb.store import load_entries, version

logger = logging.getLogger(__name__)

COVERAGE_THRESHOLD = 0.35  # without an acceptance model (kb_confidence.json), on plain coverage


@dataclass(frozen=True)
class Answer:
    id: str | None
    score: float
    confidence: float
    answer: str
    unit: str = ""

    def as_json(self) -> dict[str, object]:
        if self.id is None:
            return {"id": None, "score": round(self.score, 3), "confidence": round(self.confidence, 3)}
        return {"id": self.id, "score": round(self.score, 3), "confidence": round(self.confidence, 3),
                "answer": self.answer, "unit": self.unit}


def load_tokenizer(synonyms_file: Path) -> Tokenizer:
    raw = read_yaml(synonyms_file) or {}
    groups = raw.get("groups", []) if isinstance(raw, dict) else []
    elsewhere = raw.get("elsewhere", []) if isinstance(raw, dict) else []
    return Tokenizer(load_synonyms(g for g in groups if isinstance(g, list)),
                     frozenset(str(w) for w in elsewhere) if isinstance(elsewhere, list) else frozenset())


def open_knowledge_base(engine: Engine, config_dir: Path | None, threshold: float | None = None) -> KnowledgeBase:
    """The knowledge base with the operator's (or the shipped) synonyms and acceptance model."""
    return KnowledgeBase(engine, load_tokenizer(config_file(config_dir, "kb_synonyms.yaml")), threshold,
                         load_acceptance(config_file(config_dir, "kb_confidence.json")))


class KnowledgeBase:
    """Answers questions from the entries valid today; call refresh() to pick up edits.

    An answer is given when its confidence reaches the threshold: the one configured, else the one
    the acceptance model was calibrated with (kb/confidence.py)."""

    def __init__(self, engine: Engine, tokenizer: Tokenizer, threshold: float | None = None,
                 acceptance: Acceptance | None = None) -> None:
        self.engine, self.tok, self.acceptance = engine, tokenizer, acceptance
        self.threshold = threshold if threshold is not None else (
            acceptance.threshold if acceptance is not None else COVERAGE_THRESHOLD)
        self._index: Index | None = None
        self._version: tuple[int, str] | None = None
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Rebuild the index if the entries changed since last time; True if it did."""
        v = version(self.engine)
        if v == self._version and self._index is not None:
            return False
        today = dt.date.today()
        entries = [e for e in load_entries(self.engine) if e.valid_on(today)]
        index = Index(entries, self.tok, self.acceptance)
        with self._lock:
            self._index, self._version = index, v
        logger.info("knowledge base loaded: %d entries in force", len(entries))
        return True

    def search(self, question: str, k: int = 3) -> list[Hit]:
        if self._index is None:
            self.refresh()
        assert self._index is not None
        return self._index.search(question, k)

    def ask(self, question: str) -> Answer:
        hits = self.search(question, 1)
        if not hits or hits[0].confidence < self.threshold:
            best = hits[0] if hits else None
            return Answer(None, best.score if best else 0.0, best.confidence if best else 0.0, "")
        h = hits[0]
        return Answer(h.entry.id, h.score, h.confidence, h.entry.answer, h.entry.unit)
