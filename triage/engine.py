"""triage(text): emergency line, request type, topic, handling unit, and why (pure)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from triage import rules
from triage.catalog import Catalog, find_district, match_topic, unit_for
from triage.model import TriageModel

LINE_PRIORITY = ("119", "120", "110", "122")
_PUNCT = re.compile(r"[\s，。！？、；：,.!?;:\"'“”‘’（）()【】\[\]…~～-]+")


@dataclass(frozen=True)
class Triage:
    emergency: str | None                 # the line to put the caller through to now
    lines: tuple[str, ...]                # every line the situation needs, most urgent first
    category: str                         # 咨询 / 求助 / 投诉 / 举报 / 建议
    topic: str | None
    unit: str
    level: str | None                     # deadline level of the topic
    district: str
    reasons: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["lines"] = list(self.lines)
        out["reasons"] = list(self.reasons)
        return out


def normalise(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text))


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 3):start]
    return bool(re.search(rules.NEGATORS, before)) or bool(re.search(r"不是.{0,6}$", text[max(0, start - 8):start])
                                                           and re.search(r"就是|而是|只是", text[start:]))


def emergency_lines(text: str) -> tuple[tuple[str, ...], list[str]]:
    """Lines needed now, with the reasons (matched words, or why a match was set aside)."""
    reasons: list[str] = []
    found: dict[str, list[str]] = {}
    for line, cues in rules.EMERGENCY_CUES.items():
        for cue in cues:
            for m in re.finditer(cue, text):
                if _negated(text, m.start()):
                    reasons.append(f"{line}: '{m.group()}' negated")
                    continue
                found.setdefault(line, []).append(m.group())
    if not found:
        return (), reasons
    present = re.search(rules.URGENT, text)
    for name, pattern in (("past", rules.PAST), ("about the service", rules.ABOUT_SERVICE),
                          ("hazard or suggestion", rules.HAZARD), ("hypothetical", rules.HYPOTHETICAL)):
        ctx = re.search(pattern, text)
        if ctx and not present:
            reasons.append(f"not now: {name} ('{ctx.group()}')")
            return (), reasons
    hurt = re.search(rules.INJURY, text)
    if hurt and not re.search(rules.NO_INJURY, text) and found.keys() & {"122", "119", "110"} and "120" not in found:
        found["120"] = [hurt.group()]
    lines = tuple(line for line in LINE_PRIORITY if line in found)
    reasons += [f"{line}: {'、'.join(dict.fromkeys(found[line]))}" for line in lines]
    return lines, reasons


def category_of(text: str, lines: tuple[str, ...]) -> tuple[str, list[str]]:
    scores: dict[str, float] = {}
    hits: dict[str, list[str]] = {}
    for cat, cues in rules.CATEGORY_CUES.items():
        for pattern, weight in cues:
            for m in re.finditer(pattern, text):
                scores[cat] = scores.get(cat, 0.0) + weight
                hits.setdefault(cat, []).append(m.group())
    if lines:
        crime = "110" in lines or "122" in lines
        if crime and re.search(rules.CRIME_REPORT, text) and not re.search(rules.CALLER_VICTIM, text):
            return "举报", ["举报: a crime in progress reported by a witness"]
        return "求助", ["求助: emergency"]
    if not scores:
        return "求助", []
    best = max(rules.CATEGORY_ORDER, key=lambda c: (scores.get(c, 0.0), -rules.CATEGORY_ORDER.index(c)))
    return best, [f"{best}: {'、'.join(dict.fromkeys(hits.get(best, ['emergency'])))}"]


def triage(raw: str, catalog: Catalog, model: TriageModel | None = None) -> Triage:
    text = normalise(raw)
    lines, reasons = emergency_lines(text)
    if model is not None:
        probs = model.emergency_probs(text)
        extra = {line for line, p in probs.items() if p >= model.threshold} - set(lines)
        if extra:
            lines = tuple(line for line in LINE_PRIORITY if line in set(lines) | extra)
            reasons.append("model: " + "、".join(f"{line} p={probs[line]:.2f}" for line in sorted(extra)))
    category, why = category_of(text, lines)
    if model is not None and not lines and not re.search(rules.EXPLICIT_TYPE, text):
        cats = model.category_probs(text)
        best = max(cats, key=lambda c: cats[c])
        if best != category:
            why = [f"{best}: model p={cats[best]:.2f} (rules said {category})"]
            category = best
    topic, words = match_topic(catalog, text)
    district = find_district(catalog, text)
    reasons += why
    if topic is not None:
        reasons.append(f"topic {topic.name}: {'、'.join(words)}")
    return Triage(
        emergency=lines[0] if lines else None, lines=lines, category=category,
        topic=topic.name if topic else None, unit=unit_for(topic, district),
        level="2h" if lines else (topic.level if topic else None), district=district, reasons=tuple(reasons),
    )
