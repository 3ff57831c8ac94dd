"""The recognition service: one Vosk model per process, one thread per live stream.

Vosk releases the GIL, so streams run in threads of the control plane; the event loop only
hands them audio (queue.Queue in) and gets results back (call_soon_threadsafe out).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from asr.errors import AsrError
from asr.recognizer import Recognizer, Transcript, VoskRecognizer, load_model

logger = logging.getLogger(__name__)

OnPartial = Callable[[str], None]


class Stream:
    """Audio in, partial results out, a final Transcript at the end."""

    def __init__(self, recognizer: Recognizer, loop: asyncio.AbstractEventLoop,
                 on_partial: OnPartial | None = None) -> None:
        self._rec = recognizer
        self._loop = loop
        self._on_partial = on_partial
        self._inbox: queue.Queue[bytes | None] = queue.Queue()
        self._result: asyncio.Future[Transcript] = loop.create_future()
        self._thread = threading.Thread(target=self._run, name="asr-stream", daemon=True)
        self._thread.start()

    def feed(self, pcm: bytes) -> None:
        self._inbox.put(pcm)

    async def finish(self) -> Transcript:
        self._inbox.put(None)
        return await self._result

    def cancel(self) -> None:
        self._inbox.put(None)

    def _run(self) -> None:
        last = ""
        try:
            while (pcm := self._inbox.get()) is not None:
                self._rec.accept(pcm)
                if self._on_partial is not None:
                    text = self._rec.partial()
                    if text and text != last:
                        last = text
                        self._loop.call_soon_threadsafe(self._on_partial, text)
            result = self._rec.final()
            self._loop.call_soon_threadsafe(self._set, result, None)
        except Exception as exc:  # noqa: BLE001 - handed to the awaiting call flow
            logger.exception("recognition stream failed")
            self._loop.call_soon_threadsafe(self._set, None, exc)

    def _set(self, result: Transcript | None, exc: BaseException | None) -> None:
        if self._result.done():
            return
        if exc is not None:
            self._result.set_exception(exc)
        else:
            assert result is not None
            self._result.set_result(result)


class AsrService:
    """Loads the configured model once; says why when it cannot (the hotline then runs on keys)."""

    def __init__(self, model_dir: Path | None) -> None:
        self.model_dir = model_dir
        self.model: Any = None
        self.status = "off: no model configured (asr.model in hotline.yaml)"

    @property
    def available(self) -> bool:
        return self.model is not None

    def load(self) -> None:
        if self.model_dir is None:
            logger.warning("speech recognition is off: no model configured; callers use keys")
            return
        try:
            self.model = load_model(self.model_dir)
        except AsrError as exc:
            self.status = f"off: {exc}"
            logger.error("speech recognition is off: %s; callers use keys", exc)
            return
        self.status = f"on: {self.model_dir}"
        logger.info("speech recognition on with model %s", self.model_dir)

    def stream(self, grammar: list[str] | None = None, on_partial: OnPartial | None = None) -> Stream:
        if self.model is None:
            raise AsrError(self.status)
        return Stream(VoskRecognizer(self.model, grammar), asyncio.get_running_loop(), on_partial)
