"""Recognizers: a small interface, and Vosk behind it (grammar or free speech)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from asr.audio import RATE
from asr.errors import AsrError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transcript:
    text: str
    confidence: float  # mean word confidence, 0..1 (0 when nothing was recognised)


class Recognizer(Protocol):
    def accept(self, pcm: bytes) -> bool: ...
    def partial(self) -> str: ...
    def final(self) -> Transcript: ...


def load_model(path: Path) -> Any:
    """Load a Vosk model directory, or raise AsrError saying what is wrong with it."""
    import vosk  # the engine loads only where recognition runs

    vosk.SetLogLevel(-1)
    if not path.exists():
        raise AsrError(f"{path}: model directory not found")
    if not path.is_dir():
        raise AsrError(f"{path}: not a directory (give the unpacked Vosk model directory)")
    if not (path / "am" / "final.mdl").is_file() or not (path / "conf").is_dir():
        raise AsrError(f"{path}: not a Vosk model (am/final.mdl or conf/ missing)")
    try:
        with _kaldi_log_captured() as log:
            model = vosk.Model(str(path))
    except Exception:  # noqa: BLE001 - vosk raises a bare Exception
        why = log[-1][:200] if log else "no detail"
        raise AsrError(f"{path}: Vosk could not load the model (corrupt or incomplete): {why}") from None
    # grammars may name [unk] (out-of-grammar speech) only where the vocabulary has it
    words = path / "graph" / "words.txt"
    model.has_unk = words.is_file() and "[unk]" in words.read_text(encoding="utf-8", errors="replace").split()
    return model


@contextlib.contextmanager
def _kaldi_log_captured() -> Iterator[list[str]]:
    """Kaldi prints its errors on fd 2; catch them so the caller gets one clear line instead."""
    lines: list[str] = []
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            log.seek(0)
            lines.extend(log.read().strip().splitlines())


def parse_grammar(text: str) -> list[str]:
    """A grammar given as a JSON list of phrases; refuse anything else with the reason."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AsrError(f"grammar is not JSON: {exc.msg}") from None
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise AsrError("grammar must be a JSON list of phrases, e.g. [\"咨询\", \"投诉\"]")
    phrases = [p.strip() for p in value if p.strip() and p.strip() != "[unk]"]
    if not phrases:
        raise AsrError("grammar is empty: give at least one phrase")
    return phrases


class VoskRecognizer:
    """One Vosk stream; not thread-safe (one thread feeds it)."""

    def __init__(self, model: Any, grammar: list[str] | None = None) -> None:
        import vosk

        if grammar is not None:
            if not grammar:
                raise AsrError("grammar is empty: give at least one phrase")
            phrases = [*grammar, "[unk]"] if getattr(model, "has_unk", False) else list(grammar)
            self._rec = vosk.KaldiRecognizer(model, RATE, json.dumps(phrases, ensure_ascii=False))
        else:
            self._rec = vosk.KaldiRecognizer(model, RATE)
        self._rec.SetWords(True)
        self.grammar = grammar
        self._texts: list[Transcript] = []

    def accept(self, pcm: bytes) -> bool:
        """Feed audio; True when Vosk found the end of an utterance (its text is kept)."""
        if self._rec.AcceptWaveform(pcm):
            self._keep(self._rec.Result())
            return True
        return False

    def partial(self) -> str:
        return str(json.loads(self._rec.PartialResult()).get("partial", ""))

    def final(self) -> Transcript:
        self._keep(self._rec.FinalResult())
        words = " ".join(t.text for t in self._texts if t.text)
        confs = [t.confidence for t in self._texts if t.text]
        self._texts = []
        return Transcript(words, sum(confs) / len(confs) if confs else 0.0)

    def _keep(self, raw: str) -> None:
        result = json.loads(raw)
        words = [w for w in result.get("result", []) if w.get("word") != "[unk]"]
        text = " ".join(w["word"] for w in words)
        if text:
            conf = sum(float(w.get("conf", 0.0)) for w in words) / len(words)
            self._texts.append(Transcript(text, conf))


def transcribe(model: Any, pcm: bytes, grammar: list[str] | None = None) -> Transcript:
    """Recognise a whole recording (16 kHz mono PCM)."""
    rec = VoskRecognizer(model, grammar)
    for i in range(0, len(pcm), 8000):
        rec.accept(pcm[i:i + 8000])
    return rec.final()
