"""Table tests for the menu model and its validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.menu import MenuError, load_menus, load_valid_menus

LINES = {"110", "119", "120", "122"}
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "ivr.yaml"

GOOD = """\
start: main
menus:
  main:
    prompt: 您好
    keys:
      "1": {action: robot}
      "9": {menu: sos}
  sos:
    prompt: 紧急
    keys:
      "2": {emergency: "119"}
      "*": main
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "ivr.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_shipped_menu_is_valid_and_has_the_required_keys() -> None:
    ms = load_valid_menus(SHIPPED, LINES)
    main = ms[ms.start]
    assert {k: t.describe() for k, t in main.keys.items()} == {
        "1": "robot", "2": "queue", "3": "lookup", "9": "menu emergency", "0": "queue"}
    sos = ms[main.keys["9"].menu]
    assert {k: t.emergency for k, t in sos.keys.items() if t.emergency} == {
        "1": "110", "2": "119", "3": "120", "4": "122"}
    assert main.on_fail.action == "queue"
    assert "12345" in main.prompt


def test_good_file_parses(tmp_path: Path) -> None:
    ms = load_valid_menus(write(tmp_path, GOOD), LINES)
    assert ms["sos"].keys["*"].menu == "main"
    assert ms["main"].retries == 2 and ms["main"].timeout == 6


@pytest.mark.parametrize(("text", "line", "expected"), [
    (GOOD.replace('"9": {menu: sos}', '"9": {menu: nowhere}'), 7, "points to unknown menu 'nowhere'"),
    (GOOD.replace('"9": {menu: sos}', '"1": {action: queue}'), 7, "duplicate key"),
    (GOOD.replace('"9": {menu: sos}', '"5": {action: queue}'), 8, "unreachable from start menu"),
    (GOOD.replace('emergency: "119"', 'emergency: "999"'), 11, "emergency line '999' is not configured"),
    (GOOD.replace("prompt: 您好", "prompt_file: missing.wav"), 4, "WAV file not found"),
    (GOOD.replace('"1": {action: robot}', '"1": {action: dance}'), 6, "unknown action 'dance'"),
    (GOOD.replace('"1": {action: robot}', '"12": {action: robot}'), 6, "a key must be one of 0-9, * or #"),
    (GOOD.replace("    prompt: 紧急\n", ""), 8, "needs a prompt"),
    (GOOD + "    timeout: 0\n", 0, "seconds between 1 and 60"),
    (GOOD.replace("start: main", "start: lobby"), 1, "start menu 'lobby' does not exist"),
])
def test_bad_files_are_reported_with_their_line(tmp_path: Path, text: str, line: int, expected: str) -> None:
    _, problems = load_menus(write(tmp_path, text), LINES)
    assert any(expected in p.message for p in problems), problems
    if line:
        assert any(p.line == line for p in problems if expected in p.message), problems


def test_loop_with_no_way_out(tmp_path: Path) -> None:
    text = """\
menus:
  main:
    prompt: a
    keys: {"1": b}
    on_fail: {menu: b}
  b:
    prompt: b
    keys: {"1": main}
    on_fail: {menu: main}
"""
    _, problems = load_menus(write(tmp_path, text), LINES)
    assert sorted(p.where for p in problems if "no way out" in p.message) == ["menus.b", "menus.main"]


@pytest.mark.parametrize("text", ["menus: [1, 2", "just text", "", "menus: {}"])
def test_unusable_files_raise_with_a_reason(tmp_path: Path, text: str) -> None:
    with pytest.raises(MenuError) as err:
        load_menus(write(tmp_path, text), LINES)
    assert str(tmp_path / "ivr.yaml") in str(err.value)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(MenuError) as err:
        load_menus(write(tmp_path, GOOD + '  bad: [unclosed\n  x: 1\n'), LINES)
    assert "YAML syntax error" in str(err.value) and "ivr.yaml:14:" in str(err.value)


def test_load_valid_menus_refuses_a_file_with_any_problem(tmp_path: Path) -> None:
    with pytest.raises(MenuError):
        load_valid_menus(write(tmp_path, GOOD.replace("{menu: sos}", "{menu: nope}")), LINES)
