"""``hotline asr install-model``: fetch or unpack a Vosk model, check it loads, configure it."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from asr.errors import AsrError
from asr.recognizer import load_model

Progress = Callable[[int, int], None]


def progress_bar(out: TextIO = sys.stderr, label: str = "") -> Progress:
    def show(done: int, total: int) -> None:
        if total > 0:
            frac = min(done / total, 1.0)
            bar = "#" * int(frac * 30)
            out.write(f"\r{label}[{bar:<30}] {frac * 100:5.1f}% {done / 1e6:7.1f}/{total / 1e6:.1f} MB")
        else:
            out.write(f"\r{label}{done / 1e6:7.1f} MB")
        out.flush()
    return show


def fetch(source: str, dest: Path, progress: Progress) -> Path:
    """Copy a local zip, or download a URL, to ``dest`` with progress."""
    if re.match(r"^https?://", source):
        try:
            with urllib.request.urlopen(source, timeout=60) as resp, dest.open("wb") as f:  # noqa: S310 - http(s) only
                total = int(resp.headers.get("Content-Length") or 0)
                done = 0
                while chunk := resp.read(1 << 20):
                    f.write(chunk)
                    done += len(chunk)
                    progress(done, total)
        except OSError as exc:
            raise AsrError(f"{source}: download failed: {exc}") from None
        return dest
    path = Path(source)
    if not path.is_file():
        raise AsrError(f"{source}: no such file (give a .zip of a Vosk model or an http(s) URL)")
    total, done = path.stat().st_size, 0
    with path.open("rb") as src, dest.open("wb") as f:
        while chunk := src.read(1 << 20):
            f.write(chunk)
            done += len(chunk)
            progress(done, total)
    return dest


def unpack(archive: Path, into: Path) -> Path:
    """Extract safely and return the directory that holds am/final.mdl."""
    try:
        with zipfile.ZipFile(archive) as z:
            for member in z.namelist():
                target = (into / member).resolve()
                if not str(target).startswith(str(into.resolve())):
                    raise AsrError(f"{archive.name}: unsafe path in archive: {member}")
            z.extractall(into)
    except zipfile.BadZipFile:
        raise AsrError(f"{archive.name}: not a zip file") from None
    found = sorted(p.parent.parent for p in into.rglob("am/final.mdl"))
    if not found:
        raise AsrError(f"{archive.name}: no Vosk model inside (am/final.mdl missing)")
    return found[0]


def install(source: str, models_dir: Path, progress: Progress) -> Path:
    """Install the model under ``models_dir/<name>`` and return that directory (loaded once to check)."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".install-") as tmp:
        work = Path(tmp)
        archive = fetch(source, work / "model.zip", progress)
        root = unpack(archive, work / "unpacked")
        name = root.name if root != work / "unpacked" else Path(source).stem
        load_model(root)  # refuse a model Vosk cannot load before touching the configuration
        final = models_dir / name
        if final.exists():
            shutil.rmtree(final)
        shutil.move(str(root), final)
    return final.resolve()


def set_model_in_config(config_file: Path, model: Path) -> None:
    """Point ``asr.model`` in hotline.yaml at ``model``, keeping the rest of the file as written."""
    text = config_file.read_text(encoding="utf-8") if config_file.exists() else ""
    line = f"  model: {model}"
    if re.search(r"(?m)^asr:\s*$", text):
        block = r"(?m)(^asr:[ \t]*\n(?:(?:[ \t]+[^\n]*|[ \t]*)\n)*?)[ \t]+model:[^\n]*"
        if re.search(block, text):
            text = re.sub(block, lambda m: m.group(1) + line, text, count=1)
        else:
            text = re.sub(r"(?m)^asr:\s*$", "asr:\n" + line, text, count=1)
    else:
        text = text.rstrip("\n") + ("\n" if text else "") + "asr:\n" + line + "\n"
    config_file.write_text(text, encoding="utf-8")
