"""Audio helpers (pure): WAV files to 16 kHz mono PCM, and an energy voice-activity detector."""

from __future__ import annotations

import math
import struct
import warnings
import wave
from dataclasses import dataclass, field
from pathlib import Path

from asr.errors import AsrError

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop  # removed in 3.13; this project pins Python 3.11

RATE = 16000
FRAME_BYTES = 640  # 20 ms at 16 kHz, 16-bit mono


def read_wav_16k(path: Path) -> bytes:
    """Any PCM WAV (rate, mono/stereo, 8/16/32-bit) -> 16 kHz 16-bit mono bytes."""
    if not path.is_file():
        raise AsrError(f"{path}: no such file")
    try:
        with wave.open(str(path)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            data = w.readframes(w.getnframes())
    except (wave.Error, EOFError, struct.error) as exc:
        raise AsrError(f"{path}: not a PCM WAV file ({exc})") from None
    if not data:
        raise AsrError(f"{path}: the WAV file holds no audio")
    if width not in (1, 2, 3, 4):
        raise AsrError(f"{path}: unsupported sample width {width * 8} bit")
    if width == 1:
        data = audioop.bias(data, 1, -128)
    if width != 2:
        data = audioop.lin2lin(data, width, 2)
    if channels == 2:
        data = audioop.tomono(data, 2, 0.5, 0.5)
    elif channels != 1:
        raise AsrError(f"{path}: {channels} channels; give mono or stereo")
    if rate != RATE:
        data, _ = audioop.ratecv(data, 2, 1, rate, RATE, None)
    return data


def frame_level(pcm: bytes) -> float:
    """RMS level of 16-bit PCM."""
    return float(audioop.rms(pcm, 2)) if pcm else 0.0


def db(level: float) -> float:
    return 20 * math.log10(max(level, 1.0) / 32768)


@dataclass
class Vad:
    """Energy voice-activity detection over 20 ms frames.

    ``speech_started`` turns true after ``start_frames`` loud frames in a row; ``speech_ended``
    after ``end_silence`` seconds of quiet following speech.
    """

    threshold: float = 300.0
    start_frames: int = 3
    end_silence: float = 0.8
    speech_started: bool = False
    speech_ended: bool = False
    started_at: float = 0.0   # seconds of audio fed before speech started
    fed: float = 0.0
    _loud: int = 0
    _quiet: float = 0.0
    _rest: bytes = field(default=b"", repr=False)

    def feed(self, pcm: bytes) -> None:
        data = self._rest + pcm
        whole = len(data) - len(data) % FRAME_BYTES
        self._rest = data[whole:]
        for i in range(0, whole, FRAME_BYTES):
            self._frame(data[i:i + FRAME_BYTES])

    def _frame(self, frame: bytes) -> None:
        self.fed += 0.02
        loud = frame_level(frame) >= self.threshold
        if not self.speech_started:
            self._loud = self._loud + 1 if loud else 0
            if self._loud >= self.start_frames:
                self.speech_started = True
                self.started_at = self.fed - 0.02 * self.start_frames
            return
        if self.speech_ended:
            return
        self._quiet = 0.0 if loud else self._quiet + 0.02
        if self._quiet >= self.end_silence:
            self.speech_ended = True
