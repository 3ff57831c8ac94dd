"""`hotline check-config` as an administrator runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HOTLINE = [sys.executable, "-m", "ivr.cli"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOTLINE, *args], capture_output=True, text=True, timeout=60)


def test_shipped_config_is_ok() -> None:
    r = run("check-config")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok:")


def test_bad_menu_lists_every_problem_with_its_place(tmp_path: Path) -> None:
    (tmp_path / "ivr.yaml").write_text("""\
menus:
  main:
    prompt: 你好
    keys:
      "1": {menu: nowhere}
      "2": {emergency: "999"}
      "3": {action: queue}
      "3": {action: robot}
  orphan:
    prompt_file: missing.wav
""", encoding="utf-8")
    r = run("check-config", "--config", str(tmp_path))
    assert r.returncode == 1
    err = r.stderr
    assert f"{tmp_path / 'ivr.yaml'}:5: menus.main.keys.1: points to unknown menu 'nowhere'" in err
    assert ":6: menus.main.keys.2: emergency line '999' is not configured" in err
    assert ":8: menus.main.keys.3: duplicate key" in err
    assert ":9: menus.orphan: unreachable" in err
    assert ":10: menus.orphan.prompt_file: WAV file not found" in err
    assert "Traceback" not in err


def test_bad_hotline_yaml_stops_with_file_key_reason(tmp_path: Path) -> None:
    (tmp_path / "hotline.yaml").write_text("workers: many\n")
    r = run("check-config", "--config", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.strip() == f"error: {tmp_path / 'hotline.yaml'}: workers: expected an integer, got 'many'"
    r = run("serve", "--config", str(tmp_path))
    assert r.returncode == 1 and "workers: expected an integer" in r.stderr and "Traceback" not in r.stderr


def test_config_dir_must_exist(tmp_path: Path) -> None:
    r = run("check-config", "--config", str(tmp_path / "nope"))
    assert r.returncode == 1 and "not a directory" in r.stderr


def test_a_broken_dispatch_catalog_is_reported_by_check_config(tmp_path: Path) -> None:
    (tmp_path / "dispatch.yaml").write_text("topics: oops\n")
    r = run("check-config", "--config", str(tmp_path))
    assert r.returncode == 1
    assert f"{tmp_path / 'dispatch.yaml'}: districts: expected a list of district names" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(("name", "content", "rebuild"), [
    ("triage_model.json", '{"lines": {"110": {"bias": 0}}}', "python -m triage.model train"),
    ("triage_model.json", "not json", "python -m triage.model train"),
    ("kb_confidence.json", '{"weights": {"coverage": "x"}, "bias": 0, "threshold": 0.4}', "python -m kb.confidence train"),
])
def test_a_broken_model_file_is_reported_by_check_config(tmp_path: Path, name: str, content: str, rebuild: str) -> None:
    (tmp_path / name).write_text(content)
    r = run("check-config", "--config", str(tmp_path))
    assert r.returncode == 1 and str(tmp_path / name) in r.stderr and rebuild in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
