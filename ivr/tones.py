"""Call-progress tones written as WAV files (pure maths, no engine).

China's ringback tone is 450 Hz, 1 s on and 4 s off; the queue tone is a soft
two-note chime so a waiting caller knows the line is alive.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 16000


def _pcm(segments: list[tuple[float, float]], amplitude: float = 0.3) -> bytes:
    """16-bit mono samples for (frequency Hz or 0 for silence, seconds) segments."""
    out = bytearray()
    for freq, seconds in segments:
        n = int(RATE * seconds)
        for i in range(n):
            value = amplitude * math.sin(2 * math.pi * freq * i / RATE) if freq else 0.0
            out += struct.pack("<h", int(value * 32767))
    return bytes(out)


def write_wav(path: Path, pcm: bytes, rate: int = RATE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    tmp.replace(path)
    return path


def ringback(path: Path) -> Path:
    """One ringback cycle (loop it): 450 Hz for 1 s, then 4 s of silence."""
    return write_wav(path, _pcm([(450, 1.0), (0, 4.0)]))


def queue_music(path: Path) -> Path:
    """A gentle chime cycle for callers waiting in the queue (loop it)."""
    notes = [523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.0, 698.46]
    return write_wav(path, _pcm([seg for f in notes for seg in ((f, 0.45), (0, 0.05))], 0.15))


def test_tone(path: Path, freq: float = 1000.0, seconds: float = 3.0) -> Path:
    """A steady tone, used by peers to prove audio flows through a bridge."""
    return write_wav(path, _pcm([(freq, seconds)]))
