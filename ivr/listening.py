"""``listen``: ask, and take the answer as keys or speech, with barge-in.

The caller's audio flows from the worker only while this runs (no audio port otherwise).
Speech stops the prompt at once (energy VAD on 20 ms frames); silence after speech, a key,
the maximum duration, or no speech within the timeout ends the turn.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from asr.audio import Vad
from asr.service import AsrService, Stream
from ivr import protocol as P
from ivr.call import Leg

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ListenSettings:
    no_speech_timeout: float = 6.0
    max_duration: float = 15.0
    end_silence: float = 0.6
    vad_threshold: float = 300.0
    max_phrase_seconds: float = 2.0   # longer speech is a description, not a menu word
    min_phrase_confidence: float = 0.5


@dataclass(frozen=True)
class Hearing:
    """Speech recognition for the call flows, when a model is loaded."""

    asr: AsrService
    cfg: ListenSettings


@dataclass(frozen=True)
class Heard:
    digit: str = ""
    phrase: str = ""        # a grammar phrase the caller said
    text: str = ""          # free speech
    confidence: float = 0.0
    spoke_seconds: float = 0.0
    barged_in: bool = False

    @property
    def nothing(self) -> bool:
        return not (self.digit or self.phrase or self.text)


def match_phrase(text: str, phrases: list[str]) -> str:
    """The phrase (longest first) that the grammar recogniser's text contains, or ''."""
    squashed = text.replace(" ", "")
    for phrase in sorted(phrases, key=len, reverse=True):
        if phrase.replace(" ", "") and phrase.replace(" ", "") in squashed:
            return phrase
    return ""


async def listen(leg: Leg, asr: AsrService, *, prompt: Path | None, phrases: list[str] | None,
                 free: bool = True, cfg: ListenSettings | None = None) -> Heard:
    cfg = cfg or ListenSettings()
    vad = Vad(threshold=cfg.vad_threshold, end_silence=cfg.end_silence)
    grammar_stream = asr.stream(phrases) if phrases else None
    free_stream = asr.stream(None) if free else None
    streams = [s for s in (grammar_stream, free_stream) if s is not None]

    def sink(pcm: bytes) -> None:
        vad.feed(pcm)
        for s in streams:
            s.feed(pcm)

    loop = asyncio.get_running_loop()
    leg.audio_sink = sink
    barged = False
    digit = ""
    try:
        leg.send(P.LISTEN, call=leg.id)
        playing = leg.start_prompt(prompt) if prompt is not None and not leg.digits else None
        prompt_end: float | None = None
        while True:
            leg._check()
            if leg.digits:
                digit = leg.digits.popleft()
                break
            if vad.speech_started and playing is not None and not playing.done():
                leg.stop_playing()  # barge-in
                barged = True
            if prompt_end is None and (playing is None or playing.done()):
                prompt_end = loop.time()  # the no-speech timeout runs from the end of the prompt
            if vad.speech_ended:
                break
            if vad.speech_started and vad.fed - vad.started_at >= cfg.max_duration:
                break
            if not vad.speech_started and prompt_end is not None and loop.time() - prompt_end >= cfg.no_speech_timeout:
                break
            await leg._wait_change(0.05)
    finally:
        leg.audio_sink = None
        if not leg.ended.is_set():
            leg.send(P.UNLISTEN, call=leg.id)
            if leg._playing is not None and not leg._playing.done():
                leg.stop_playing()
    spoke = max(0.0, vad.fed - vad.started_at) if vad.speech_started else 0.0
    grammar_result = await _finish(grammar_stream)
    free_result = await _finish(free_stream)
    if digit:
        return Heard(digit=digit, barged_in=barged)
    if not vad.speech_started:
        return Heard()
    if grammar_result and phrases and spoke <= cfg.max_phrase_seconds + cfg.end_silence \
            and grammar_result[1] >= cfg.min_phrase_confidence:
        phrase = match_phrase(grammar_result[0], phrases)
        if phrase:
            return Heard(phrase=phrase, confidence=grammar_result[1], spoke_seconds=spoke, barged_in=barged)
    if free_result and free_result[0]:
        return Heard(text=free_result[0], confidence=free_result[1], spoke_seconds=spoke, barged_in=barged)
    return Heard(spoke_seconds=spoke, barged_in=barged)


async def _finish(stream: Stream | None) -> tuple[str, float] | None:
    if stream is None:
        return None
    result = await stream.finish()
    return result.text, result.confidence
