"""IVR menus (ivr.yaml): the model, the parser and the validator. Pure: no engines, no I/O
beyond reading the file and checking that WAV prompts exist."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VALID_KEYS = set("0123456789*#")
ACTIONS = ("robot", "triage", "queue", "lookup", "hangup")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a menu file, with its place in the file."""

    line: int
    where: str
    message: str

    def format(self, file: Path | str) -> str:
        return f"{file}:{self.line}: {self.where}: {self.message}"


class MenuError(ValueError):
    """A menu file that cannot be used."""

    def __init__(self, file: Path | str, problems: list[Problem]) -> None:
        self.file, self.problems = str(file), problems
        super().__init__("\n".join(p.format(file) for p in problems))


@dataclass(frozen=True)
class Target:
    """Where a key leads: another menu, an emergency line, or an action."""

    menu: str = ""
    emergency: str = ""
    action: str = ""
    say: str = ""  # spoken before the action (e.g. a goodbye)

    @property
    def kind(self) -> str:
        return "menu" if self.menu else "emergency" if self.emergency else self.action

    def describe(self) -> str:
        return f"menu {self.menu}" if self.menu else f"emergency {self.emergency}" if self.emergency else self.action


@dataclass(frozen=True)
class Menu:
    name: str
    prompt: str = ""
    prompt_file: str = ""
    keys: dict[str, Target] = field(default_factory=dict)
    timeout: float = 6.0
    retries: int = 2
    on_fail: Target = Target(action="queue")
    invalid: str = "您的输入有误，请重新选择。"
    words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> phrases a caller may say
    on_speech: Target = Target(action="queue")  # where a free description goes

    def phrase_key(self, phrase: str) -> str:
        return next((k for k, ps in self.words.items() if phrase in ps), "")

    def phrases(self) -> list[str]:
        return [p for ps in self.words.values() for p in ps]


@dataclass(frozen=True)
class MenuSet:
    """The whole menu tree, frozen; a reload builds a new one."""

    start: str
    menus: dict[str, Menu]
    source: str = ""

    def __getitem__(self, name: str) -> Menu:
        return self.menus[name]

    def prompts(self) -> list[str]:
        """Every text to synthesise for these menus."""
        texts = []
        for m in self.menus.values():
            if m.prompt:
                texts.append(m.prompt)
            texts.append(m.invalid)
            texts.extend(t.say for t in [*m.keys.values(), m.on_fail] if t.say)
        return list(dict.fromkeys(texts))


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and remembers each mapping's lines."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    out = _Lines()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        key = str(key) if isinstance(key, int) else key
        if key in out:
            out.duplicates.append((key, key_node.start_mark.line + 1))
            continue
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


class _Lines(dict):  # type: ignore[type-arg]
    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}
        self.duplicates: list[tuple[Any, int]] = []


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(d: Any, key: Any = None) -> int:
    if isinstance(d, _Lines):
        return d.lines.get(key, d.line) if key is not None else d.line
    return 0


def _target(raw: Any, where: str, line: int, problems: list[Problem]) -> Target | None:
    if isinstance(raw, str):  # shorthand: "menu_name" or "queue"
        raw = {"action": raw} if raw in ACTIONS else {"menu": raw}
    if not isinstance(raw, dict):
        problems.append(Problem(line, where, "expected {menu: NAME}, {emergency: LINE} or {action: ...}"))
        return None
    unknown = set(raw) - {"menu", "emergency", "action", "say"}
    if unknown:
        problems.append(Problem(line, where, f"unknown field {sorted(unknown)[0]!r}"))
        return None
    chosen = [k for k in ("menu", "emergency", "action") if raw.get(k) not in (None, "")]
    if len(chosen) != 1:
        problems.append(Problem(line, where, "give exactly one of menu, emergency or action"))
        return None
    t = Target(menu=str(raw.get("menu") or ""), emergency=str(raw.get("emergency") or ""),
               action=str(raw.get("action") or ""), say=str(raw.get("say") or ""))
    if t.action and t.action not in ACTIONS:
        problems.append(Problem(line, where, f"unknown action {t.action!r} (use {', '.join(ACTIONS)})"))
        return None
    return t


def _words(raw: Any, keys: dict[str, Target], where: str, line: int,
           problems: list[Problem]) -> dict[str, tuple[str, ...]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(line, f"{where}.words", "expected a mapping of key to a list of phrases"))
        return {}
    out: dict[str, tuple[str, ...]] = {}
    for key, phrases in raw.items():
        kwhere = f"{where}.words.{key}"
        if key not in keys:
            problems.append(Problem(_line(raw, key), kwhere, f"no key {key!r} in this menu's keys"))
            continue
        if isinstance(phrases, str):
            phrases = [phrases]
        if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            problems.append(Problem(_line(raw, key), kwhere, "expected a non-empty list of phrases"))
            continue
        out[str(key)] = tuple(p.strip() for p in phrases)
    return out


def parse(data: Any, problems: list[Problem]) -> MenuSet | None:
    """Build a MenuSet from loaded YAML, adding what is wrong to ``problems``."""
    if not isinstance(data, dict) or not isinstance(data.get("menus"), dict) or not data["menus"]:
        problems.append(Problem(_line(data), "menus", "the file needs a 'menus:' mapping with at least one menu"))
        return None
    extra = set(data) - {"start", "menus"}
    for k in sorted(extra):
        problems.append(Problem(_line(data, k), str(k), "unknown key (known: start, menus)"))
    for dup, line in getattr(data["menus"], "duplicates", []):
        problems.append(Problem(line, f"menus.{dup}", "duplicate menu name"))
    start = str(data.get("start", "main"))
    menus: dict[str, Menu] = {}
    for name, raw in data["menus"].items():
        where, line = f"menus.{name}", _line(data["menus"], name)
        if not isinstance(raw, dict):
            problems.append(Problem(line, where, "expected a mapping"))
            continue
        unknown = set(raw) - {"prompt", "prompt_file", "keys", "timeout", "retries", "on_fail", "invalid",
                              "words", "on_speech"}
        for k in sorted(unknown):
            problems.append(Problem(_line(raw, k), f"{where}.{k}", "unknown field"))
        if not raw.get("prompt") and not raw.get("prompt_file"):
            problems.append(Problem(line, where, "needs a prompt (text) or a prompt_file (WAV)"))
        keys: dict[str, Target] = {}
        raw_keys = raw.get("keys") or {}
        if not isinstance(raw_keys, dict):
            problems.append(Problem(_line(raw, "keys"), f"{where}.keys", "expected a mapping of key to target"))
            raw_keys = {}
        for dup, dline in getattr(raw_keys, "duplicates", []):
            problems.append(Problem(dline, f"{where}.keys.{dup}", "duplicate key"))
        for key, traw in raw_keys.items():
            kwhere, kline = f"{where}.keys.{key}", _line(raw_keys, key)
            if not isinstance(key, str) or len(key) != 1 or key not in VALID_KEYS:
                problems.append(Problem(kline, kwhere, "a key must be one of 0-9, * or #"))
                continue
            t = _target(traw, kwhere, kline, problems)
            if t:
                keys[key] = t
        on_fail = Target(action="queue")
        if "on_fail" in raw:
            on_fail = _target(raw["on_fail"], f"{where}.on_fail", _line(raw, "on_fail"), problems) or on_fail
        on_speech = Target(action="queue")
        if "on_speech" in raw:
            on_speech = _target(raw["on_speech"], f"{where}.on_speech", _line(raw, "on_speech"),
                                problems) or on_speech
        words = _words(raw.get("words"), keys, where, _line(raw, "words"), problems)
        timeout, retries = raw.get("timeout", 6), raw.get("retries", 2)
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 60:
            problems.append(Problem(_line(raw, "timeout"), f"{where}.timeout", "seconds between 1 and 60"))
            timeout = 6
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 5:
            problems.append(Problem(_line(raw, "retries"), f"{where}.retries", "an integer between 0 and 5"))
            retries = 2
        menus[str(name)] = Menu(
            name=str(name), prompt=str(raw.get("prompt") or ""), prompt_file=str(raw.get("prompt_file") or ""),
            keys=keys, timeout=float(timeout), retries=retries, on_fail=on_fail,
            invalid=str(raw.get("invalid") or Menu.invalid), words=words, on_speech=on_speech,
        )
    return MenuSet(start, menus)


def validate(ms: MenuSet, data: Any, base_dir: Path, emergency_lines: set[str]) -> list[Problem]:
    """Cross-checks: targets exist, everything reachable, WAVs present, every menu has a way out."""
    problems: list[Problem] = []
    rmenus = data["menus"]
    if ms.start not in ms.menus:
        problems.append(Problem(_line(data, "start"), "start", f"start menu {ms.start!r} does not exist"))
    for m in ms.menus.values():
        where, raw = f"menus.{m.name}", rmenus.get(m.name, {})
        if m.prompt_file:
            wav = (base_dir / m.prompt_file) if not Path(m.prompt_file).is_absolute() else Path(m.prompt_file)
            if not wav.is_file():
                problems.append(Problem(_line(raw, "prompt_file"), f"{where}.prompt_file",
                                        f"WAV file not found: {wav}"))
        for key, t in [*m.keys.items(), ("on_fail", m.on_fail), ("on_speech", m.on_speech)]:
            kwhere = f"{where}.{key}" if key in ("on_fail", "on_speech") else f"{where}.keys.{key}"
            kline = _line(raw, key) if key in ("on_fail", "on_speech") else _line(raw.get("keys", {}), key)
            if t.menu and t.menu not in ms.menus:
                problems.append(Problem(kline, kwhere, f"points to unknown menu {t.menu!r}"))
            if t.emergency and t.emergency not in emergency_lines:
                problems.append(Problem(kline, kwhere,
                                        f"emergency line {t.emergency!r} is not configured in hotline.yaml emergency:"))
    reachable = _reachable(ms)
    for name in ms.menus:
        if name not in reachable and ms.start in ms.menus:
            problems.append(Problem(_line(rmenus, name), f"menus.{name}", f"unreachable from start menu {ms.start!r}"))
    for name in sorted(reachable - _with_exit(ms)):
        problems.append(Problem(_line(rmenus, name), f"menus.{name}",
                                "loop with no way out: no key or on_fail ever leaves the menus"))
    return problems


def _reachable(ms: MenuSet) -> set[str]:
    seen: set[str] = set()
    todo = [ms.start] if ms.start in ms.menus else []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        m = ms.menus[name]
        todo += [t.menu for t in [*m.keys.values(), m.on_fail, m.on_speech] if t.menu in ms.menus]
    return seen


def _with_exit(ms: MenuSet) -> set[str]:
    """Menus from which some path reaches an action or an emergency line."""
    good = {n for n, m in ms.menus.items() if any(not t.menu for t in [*m.keys.values(), m.on_fail])}
    changed = True
    while changed:
        changed = False
        for n, m in ms.menus.items():
            if n not in good and any(t.menu in good for t in [*m.keys.values(), m.on_fail]):
                good.add(n)
                changed = True
    return good


def load_menus(path: Path, emergency_lines: set[str]) -> tuple[MenuSet, list[Problem]]:
    """Read, parse and validate ivr.yaml; raise MenuError only if it cannot be read at all."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except OSError as exc:
        raise MenuError(path, [Problem(0, "file", f"cannot read: {exc.strerror}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        raise MenuError(path, [Problem(line, "file", f"YAML syntax error: {getattr(exc, 'problem', exc)}")]) from exc
    problems: list[Problem] = []
    for dup, line in getattr(data, "duplicates", []):
        problems.append(Problem(line, str(dup), "duplicate top-level key"))
    ms = parse(data, problems)
    if ms is None:
        raise MenuError(path, problems)
    problems += validate(ms, data, path.parent, emergency_lines)
    return MenuSet(ms.start, ms.menus, str(path)), problems


def load_valid_menus(path: Path, emergency_lines: set[str]) -> MenuSet:
    """Like load_menus, but any problem refuses the whole file."""
    ms, problems = load_menus(path, emergency_lines)
    if problems:
        raise MenuError(path, problems)
    return ms
