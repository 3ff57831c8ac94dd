"""派单目录: the dispatch catalog (config/dispatch.yaml), validated, and the matching of topics,
districts and handling units (第十一条, 第十二条)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import ConfigError, read_yaml

LEVELS = ("2h", "24h", "7d", "15d")


@dataclass(frozen=True)
class Topic:
    name: str
    keywords: tuple[str, ...]
    unit: str            # may contain {district}
    city_unit: str       # used when the district is unknown
    level: str


@dataclass(frozen=True)
class Catalog:
    districts: tuple[str, ...]
    topics: tuple[Topic, ...]

    def topic(self, name: str) -> Topic | None:
        return next((t for t in self.topics if t.name == name), None)


def load_catalog(path: Path) -> Catalog:
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, "", "top level must be a mapping with districts and topics")
    for key in raw:
        if key not in ("districts", "topics"):
            raise ConfigError(path, str(key), "unknown key (known: districts, topics)")
    districts = raw.get("districts")
    if not isinstance(districts, list) or not districts or not all(isinstance(d, str) and d for d in districts):
        raise ConfigError(path, "districts", "expected a list of district names")
    topics_raw = raw.get("topics")
    if not isinstance(topics_raw, list) or not topics_raw:
        raise ConfigError(path, "topics", "expected a list of topics")
    topics: list[Topic] = []
    for i, t in enumerate(topics_raw):
        topics.append(_topic(path, f"topics[{i}]", t, {x.name for x in topics}))
    return Catalog(tuple(districts), tuple(topics))


def _topic(path: Path, key: str, t: Any, seen: set[str]) -> Topic:
    if not isinstance(t, dict):
        raise ConfigError(path, key, "expected a mapping with name, keywords, unit, level")
    extra = set(t) - {"name", "keywords", "unit", "city_unit", "level"}
    if extra:
        raise ConfigError(path, f"{key}.{sorted(extra)[0]}", "unknown key")
    name = t.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(path, f"{key}.name", "missing or empty")
    if name in seen:
        raise ConfigError(path, f"{key}.name", f"duplicate topic {name!r}")
    kws = t.get("keywords")
    if not isinstance(kws, list) or not kws or not all(isinstance(k, str) and k for k in kws):
        raise ConfigError(path, f"{key}.keywords", "expected a non-empty list of words")
    unit = t.get("unit")
    if not isinstance(unit, str) or not unit:
        raise ConfigError(path, f"{key}.unit", "missing or empty")
    city_unit = t.get("city_unit", unit)
    if "{district}" in unit and (not isinstance(city_unit, str) or not city_unit or "{district}" in city_unit):
        raise ConfigError(path, f"{key}.city_unit", "needed (without {district}) when unit names a district")
    level = str(t.get("level", ""))
    if level not in LEVELS:
        raise ConfigError(path, f"{key}.level", f"must be one of {', '.join(LEVELS)}, got {level!r}")
    return Topic(name, tuple(kws), unit, str(city_unit), level)


def find_district(catalog: Catalog, text: str) -> str:
    """The district named in ``text`` ('朝阳区' or just '朝阳'), or ''."""
    for d in catalog.districts:
        if d in text or (d.endswith("区") and len(d) > 2 and d[:-1] in text):
            return d
    return ""


def match_topic(catalog: Catalog, text: str) -> tuple[Topic | None, list[str]]:
    """The topic with the most (then longest) keywords in ``text``."""
    best: tuple[int, int, int] = (0, 0, 0)
    chosen: Topic | None = None
    words: list[str] = []
    for i, t in enumerate(catalog.topics):
        hits = [k for k in t.keywords if k in text]
        score = (len(hits), sum(map(len, hits)), -i)
        if hits and score > best:
            best, chosen, words = score, t, hits
    return chosen, words


def unit_for(topic: Topic | None, district: str) -> str:
    """Who handles it: the topic's unit in the district; unknown unit but known district → the
    district government (第十二条(二)); neither → ''."""
    if topic is None:
        return f"{district}人民政府" if district else ""
    if "{district}" in topic.unit:
        return topic.unit.format(district=district) if district else topic.city_unit
    return topic.unit
