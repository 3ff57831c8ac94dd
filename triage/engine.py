"""triage(text): emergency line, request type, topic, handling unit, and why (pure)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from triage.catalog import Catalog, find_district, match_topic, unit_for
from triage.model import TriageModel, line_features, ngrams
from triage.signals import LINE_PRIORITY, Evidence, evidence, normalise, rule_category


@dataclass(frozen=True)
class Triage:
    emergency: str | None                 # the line to put the caller through to now
    lines: tuple[str, ...]                # every line the situation needs, the one to ring first leading
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


def triage(raw: str, catalog: Catalog, model: TriageModel | None = None) -> Triage:
    text = normalise(raw)
    ev = evidence(text)
    lines, reasons = ev.lines, list(ev.reasons)
    grams = ngrams(text) if model is not None else set()
    if model is not None and not model.can_judge(text, grams):
        reasons.append("model: too little to judge; rules only")
        model = None
    if model is not None:
        lines, why = _model_lines(grams, ev, model)
        reasons += why
    category, why = rule_category(text, lines)
    if model is not None:
        cats = model.category_probs(grams, text, lines, category)
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


def _model_lines(grams: set[str], ev: Evidence, model: TriageModel) -> tuple[tuple[str, ...], list[str]]:
    """The model's decision (it sees the rules' evidence), and where it differs from the rules:
    whether there is an emergency at all by the pooled model (an emergency the rules found stands
    unless the model is below the veto threshold), then which lines by each line's own model."""
    features = line_features(grams, ev)
    p_any, probs = model.emergency_probs(features)
    chosen: set[str] = set()
    if ev.lines:
        emergency = p_any >= model.threshold("veto")
    else:  # the model alone: it must be sure enough and have found something to go on
        emergency = p_any >= model.threshold("any") and model.support(features) >= model.threshold("support")
    if emergency:
        chosen = {line for line, p in probs.items() if p >= model.threshold(line)}
        chosen = chosen or set(ev.lines) or {max(probs, key=lambda line: probs[line])}
    why = [f"model: {line} p={probs[line]:.2f}" for line in LINE_PRIORITY if line in chosen - set(ev.lines)]
    why += [f"model: {line} set aside p={probs[line]:.2f}" for line in LINE_PRIORITY if line in set(ev.lines) - chosen]
    # the line the model is surest of first (a spurious 119 or 120 beside a sure 110 must not go
    # first); lines about as sure (to 0.01) in the order fire, medical, police, traffic
    order = sorted(chosen, key=lambda line: (-round(probs[line], 2), LINE_PRIORITY.index(line)))
    return tuple(order), why
