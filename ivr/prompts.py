"""Spoken prompts: text -> WAV by pyttsx3 + espeak-ng (Mandarin), cached on disk.

The engine is not thread-safe and ``runAndWait`` may return before the file exists
(DESIGN.md §1), so one thread owns it, does one file at a time and waits for the file.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import queue
import threading
import time
import uuid
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger(__name__)


class SynthesisError(RuntimeError):
    """The TTS engine could not produce a prompt."""


class Synthesizer(Protocol):
    def synthesize(self, text: str, out: Path) -> Path: ...


class EspeakSynthesizer:
    """pyttsx3 driving espeak-ng; call only from one thread."""

    def __init__(self, voice: str = "sit/cmn", rate: int = 150) -> None:
        self.voice, self.rate = voice, rate
        self._engine: Any = None

    def _init(self) -> Any:
        import pyttsx3  # imported here: loading espeak-ng is I/O, not an import-time effect

        engine = pyttsx3.init("espeak")
        engine.setProperty("voice", self.voice)
        engine.setProperty("rate", self.rate)
        return engine

    def synthesize(self, text: str, out: Path) -> Path:
        # pyttsx3's espeak driver can finish an utterance after runAndWait returns, or replay the
        # previous one first; so each attempt writes a file of its own and we wait for *that* file.
        for attempt in range(1, 4):
            if self._engine is None:
                self._engine = self._init()
            tmp = out.with_name(f"{out.stem}.{uuid.uuid4().hex[:8]}.part.wav")
            self._engine.save_to_file(text, str(tmp))
            self._engine.runAndWait()
            if _wait_for_file(tmp, 3.0 * attempt):
                tmp.replace(out)
                return out
            logger.warning("espeak-ng gave no audio for %r (attempt %d); retrying", text[:20], attempt)
            self._engine = None
        raise SynthesisError(f"espeak-ng produced no audio for {text[:30]!r}")


def _wait_for_file(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 44:
            time.sleep(0.02)  # let the writer close the file
            return True
        time.sleep(0.01)
    return False


class PromptCache:
    """Synthesised prompts on disk, keyed by (text, voice, rate); one engine thread."""

    def __init__(self, directory: Path, synth: Synthesizer, voice: str, rate: int) -> None:
        self.directory = directory
        self.synth = synth
        self.key_suffix = f"{voice}|{rate}"
        self._jobs: queue.Queue[tuple[str, Path, Future[Path]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def path_for(self, text: str) -> Path:
        digest = hashlib.sha256(f"{text}|{self.key_suffix}".encode()).hexdigest()[:24]
        return self.directory / f"{digest}.wav"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for stray in self.directory.glob("*.part.wav"):
            stray.unlink(missing_ok=True)
        self._thread = threading.Thread(target=self._run, name="tts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            text, path, fut = job
            try:
                if not path.exists():
                    self.synth.synthesize(text, path)
                fut.set_result(path)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting caller
                fut.set_exception(exc)

    def submit(self, text: str) -> Future[Path]:
        path = self.path_for(text)
        fut: Future[Path] = Future()
        if path.exists():
            fut.set_result(path)
        else:
            self._jobs.put((text, path, fut))
        return fut

    def get_blocking(self, text: str) -> Path:
        return self.submit(text).result(timeout=30)

    async def get(self, text: str) -> Path:
        return await asyncio.wrap_future(self.submit(text))
