"""Speech recognition with the real Korean Vosk model on audio made by espeak-ng."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

from asr.audio import Vad, read_wav_16k
from asr.errors import AsrError
from asr.install import set_model_in_config
from asr.recognizer import load_model, parse_grammar
from asr.service import AsrService
from tests.harness import speak, vosk_test_model

MENU = ["상담원", "화재", "민원", "아니요", "예"]
CLI = [sys.executable, "-m", "ivr.cli"]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def model() -> object:
    return load_model(vosk_test_model())


def resampled(tmp_path: Path, src: Path, rate: int, channels: int = 1) -> Path:
    out = tmp_path / f"{src.stem}-{rate}-{channels}.wav"
    subprocess.run(["sox", str(src), "-r", str(rate), "-c", str(channels), str(out)], check=True)
    return out


@pytest.mark.parametrize("word", ["상담원", "민원", "아니요"])
def test_transcribe_gives_the_same_words_at_8_16_and_22_khz(tmp_path: Path, word: str) -> None:
    original = speak(tmp_path, word)  # espeak-ng writes 22.05 kHz
    grammar = json.dumps(MENU, ensure_ascii=False)
    texts = set()
    for wav in (original, resampled(tmp_path, original, 8000), resampled(tmp_path, original, 16000, 2)):
        r = cli("transcribe", str(wav), "--model", str(vosk_test_model()), "--grammar", grammar)
        assert r.returncode == 0, r.stderr
        texts.add(r.stdout.strip())
    assert texts == {word}


def test_free_speech_transcript_is_not_empty(tmp_path: Path) -> None:
    r = cli("transcribe", str(speak(tmp_path, "안녕하세요 도로에 구멍이 있어요")), "--model", str(vosk_test_model()),
            "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["text"].strip()


@pytest.mark.parametrize(("setup", "args", "message"), [
    ("missing", ["--model", "{tmp}/nope"], "model directory not found"),
    ("corrupt", ["--model", "{tmp}/corrupt"], "Vosk could not load the model"),
    ("notmodel", ["--model", "{tmp}"], "not a Vosk model"),
    ("textwav", ["--model", "{model}"], "not a PCM WAV file"),
    ("emptywav", ["--model", "{model}"], "holds no audio"),
    ("ok", ["--model", "{model}", "--grammar", "[]"], "grammar is empty"),
    ("ok", ["--model", "{model}", "--grammar", "상담원"], "grammar is not JSON"),
    ("ok", ["--model", "{model}", "--grammar", '{"a": 1}'], "must be a JSON list"),
])
def test_bad_input_gives_one_clear_line(tmp_path: Path, setup: str, args: list[str], message: str) -> None:
    wav = speak(tmp_path, "예")
    if setup == "corrupt":
        bad = tmp_path / "corrupt"
        shutil.copytree(vosk_test_model() / "conf", bad / "conf")
        (bad / "am").mkdir()
        (bad / "am" / "final.mdl").write_bytes(b"\x00garbage" * 100)
    elif setup == "textwav":
        wav = tmp_path / "notes.wav"
        wav.write_text("this is not audio")
    elif setup == "emptywav":
        wav = tmp_path / "empty.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
    full = [a.replace("{tmp}", str(tmp_path)).replace("{model}", str(vosk_test_model())) for a in args]
    r = cli("transcribe", str(wav), *full)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.stderr, r.stderr


def test_parse_grammar_drops_blank_and_unk() -> None:
    assert parse_grammar('["상담원", " ", "[unk]"]') == ["상담원"]
    with pytest.raises(AsrError):
        parse_grammar('["[unk]"]')


def test_wav_reader_converts_rate_and_channels(tmp_path: Path) -> None:
    src = speak(tmp_path, "예")
    mono16 = read_wav_16k(resampled(tmp_path, src, 16000))
    stereo8 = read_wav_16k(resampled(tmp_path, src, 8000, 2))
    assert abs(len(mono16) - len(stereo8)) < 3200  # same duration within 0.1 s


def test_vad_finds_speech_start_and_end(tmp_path: Path) -> None:
    pcm = read_wav_16k(speak(tmp_path, "상담원"))
    silence = b"\x00\x00" * 16000
    vad = Vad(threshold=300, end_silence=0.5)
    vad.feed(silence)
    assert not vad.speech_started
    vad.feed(pcm[: len(pcm) // 2])
    assert vad.speech_started and not vad.speech_ended and 0.95 <= vad.started_at <= 1.3
    vad.feed(pcm[len(pcm) // 2:] + silence)
    assert vad.speech_ended


async def test_service_streams_partials_and_final(tmp_path: Path) -> None:
    svc = AsrService(vosk_test_model())
    await asyncio.to_thread(svc.load)
    assert svc.available and svc.status.startswith("on:")
    partials: list[str] = []
    stream = svc.stream(MENU, on_partial=partials.append)
    pcm = read_wav_16k(speak(tmp_path, "화재"))
    for i in range(0, len(pcm), 3200):
        stream.feed(pcm[i:i + 3200])
    result = await stream.finish()
    assert result.text == "화재" and result.confidence > 0.5


@pytest.mark.parametrize(("model_dir", "status"), [
    (None, "off: no model configured"),
    (Path("/nonexistent/model"), "off: /nonexistent/model: model directory not found")])
def test_service_without_a_usable_model_says_why(model_dir: Path | None, status: str) -> None:
    svc = AsrService(model_dir)
    svc.load()
    assert not svc.available and svc.status.startswith(status)
    with pytest.raises(AsrError):
        svc.stream(None)


def test_install_model_from_zip_sets_the_config(tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "vosk-model-test"), "zip", vosk_test_model().parent, "model")
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "hotline.yaml").write_text(f"# site settings\ndata_dir: {tmp_path / 'data'}\nworkers: 1\n")
    r = cli("asr", "install-model", archive, "--config", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "100.0%" in r.stderr  # the progress bar reached the end
    installed = tmp_path / "data" / "models" / "model"
    assert (installed / "am" / "final.mdl").is_file()
    text = (cfg / "hotline.yaml").read_text()
    assert text.startswith("# site settings\n") and f"asr:\n  model: {installed.resolve()}" in text
    r = cli("transcribe", str(speak(tmp_path, "민원")), "--config", str(cfg), "--grammar", json.dumps(MENU))
    assert r.returncode == 0 and r.stdout.strip() == "민원", r.stderr


def test_install_model_refuses_a_zip_without_a_model(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "readme.txt").write_text("hi")
    archive = shutil.make_archive(str(tmp_path / "junk"), "zip", tmp_path, "junk")
    r = cli("asr", "install-model", archive, "--config", str(tmp_path))
    assert r.returncode == 1 and "no Vosk model inside" in r.stderr
    r = cli("asr", "install-model", str(tmp_path / "missing.zip"), "--config", str(tmp_path))
    assert r.returncode == 1 and "no such file" in r.stderr


def test_set_model_in_config_replaces_an_existing_value(tmp_path: Path) -> None:
    f = tmp_path / "hotline.yaml"
    f.write_text("asr:\n  model: null  # none yet\n  end_silence: 0.8\nworkers: 2\n")
    set_model_in_config(f, Path("/srv/models/cn"))
    assert f.read_text() == "asr:\n  model: /srv/models/cn\n  end_silence: 0.8\nworkers: 2\n"
