"""The learned layer of triage: logistic regression over character n-grams and the rules' evidence.

Rules catch the words we thought of; callers describe emergencies in words nobody listed
(“满屋子都是气”, “轮子还在转”), and the rules' context words (past, hazard, about the service)
sometimes set aside a real emergency or keep a false one. The model sees both the wording
(character 1-3 grams) and what the rules found (triage/signals.py). One model, trained on all
emergencies pooled, decides whether there is an emergency at all (a threshold chosen by
cross-validation for recall); one model per line decides which lines to ring. Pure Python at run
time; the weights ship as config/triage_model.json.

Callers often speak of something else first (是幺二三四五吧, a water bill, an earlier call). A bag of
n-grams weighs every word of a call, so training adds long calls made of such an opener or an
ordinary request followed by an emergency (`combined`): the words of the other matter learn to
count for nothing rather than against an emergency told after them.

    .venv/bin/python -m triage.model train     # rebuild config/triage_model.json (about 10 minutes on two cores)

Training reads triage/data/*.yaml (labelled utterances) and, as consultations that are never
emergencies, the knowledge base's questions (config/kb/, kb/data/). It never reads bench/data/,
which holds the evaluation sets.
"""

from __future__ import annotations

import glob
import json
import math
import multiprocessing
import os
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from config.settings import EMERGENCY_LINES, REQUEST_TYPES, ConfigError
from triage import rules
from triage.signals import Evidence, evidence, normalise, rule_category

LINES = EMERGENCY_LINES
CATEGORIES = REQUEST_TYPES
RECALL_TARGET = 0.995   # cross-validated recall each line's threshold is chosen for
KEEPS = 0.999           # cross-validated share of real emergencies the veto and the support threshold keep
SEEDS = 5               # SGD runs averaged per model
MIN_CHARS = 4           # distinct characters a text needs before the model judges it
MIN_SUPPORT = 3.0       # the least positive evidence an emergency the rules did not find needs (see "support")


def long_enough(text: str) -> bool:
    """More than MIN_CHARS distinct characters: what the model is trained on and judges."""
    return len(set(text)) > MIN_CHARS


def ngrams(text: str) -> set[str]:
    """Character 1-3 grams of normalised text."""
    out: set[str] = set()
    for n in (1, 2, 3):
        out.update(text[i:i + n] for i in range(len(text) - n + 1))
    return out


def line_features(grams: set[str], ev: Evidence) -> set[str]:
    return grams | ev.features()


def category_features(grams: set[str], text: str, lines: Sequence[str], rule_cat: str) -> set[str]:
    emergency = "E:yes" if lines else "E:no"
    # who it happens to: the caller or their own (求助) or others, seen by a bystander (举报)
    who = "W:self" if re.search(rules.CALLER_VICTIM, text) else "W:other"
    out = grams | {f"RC:{rule_cat}", emergency, who, f"{who}|{emergency}"}
    if re.search(rules.EXPLICIT_TYPE, text):
        out.add(f"X:{rule_cat}")
    return out


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class Linear:
    weights: dict[str, float]
    bias: float

    def prob(self, features: Iterable[str]) -> float:
        return _sigmoid(self.bias + sum(self.weights.get(f, 0.0) for f in features))


@dataclass(frozen=True)
class TriageModel:
    lines: dict[str, Linear]
    categories: dict[str, Linear]
    thresholds: dict[str, float] = field(default_factory=dict)
    emergency: Linear | None = None      # is there an emergency at all (any line), all positives pooled

    def threshold(self, line: str) -> float:
        """Per line; "any": on the pooled model, for an emergency at all; "veto": below which
        the model may overrule the rules (0 when absent: it never does); "support": the positive
        evidence an emergency the rules did not find needs (MIN_SUPPORT when absent)."""
        return self.thresholds.get(line, {"veto": 0.0, "support": MIN_SUPPORT}.get(line, 0.5))

    def emergency_probs(self, features: set[str]) -> tuple[float, dict[str, float]]:
        """From a text's line_features(): whether there is an emergency at all (the pooled model;
        a weights file without it: the most likely line), and each line."""
        per_line = {line: m.prob(features) for line, m in self.lines.items()}
        return (self.emergency.prob(features) if self.emergency else max(per_line.values())), per_line

    def can_judge(self, text: str, grams: set[str]) -> bool:
        """Whether the (normalised) text gives the model something to weigh: enough characters
        (long_enough), some of its n-grams (`grams`) seen in training. On less (喂, 嗯, 转人工, an
        empty or foreign-script utterance) it would answer with its prior, about 0.2, far above
        the emergency threshold; the rules judge such a text alone."""
        known = self.emergency.weights if self.emergency else next(iter(self.lines.values())).weights
        return long_enough(text) and any(g in known for g in grams)

    def support(self, features: set[str]) -> float:
        """The pooled model's evidence for an emergency in the text: its positive weights added
        up. Openers that say nothing (你好 我想问一下) have 1-2; how much an emergency the rules
        did not find needs is the "support" threshold, chosen by cross-validation."""
        if self.emergency is None:
            return self.threshold("support")
        w = self.emergency.weights
        return sum(v for f in features if (v := w.get(f, 0.0)) > 0)

    def category_probs(self, grams: set[str], text: str, lines: Sequence[str], rule_cat: str) -> dict[str, float]:
        f = category_features(grams, text, lines, rule_cat)
        return {c: m.prob(f) for c, m in self.categories.items()}


def fit(rows: Sequence[tuple[Sequence[int], bool]], n_features: int, epochs: int = 12,
        positive_weight: float = 1.0, l2: float = 1e-5, seed: int = 1) -> tuple[list[float], float]:
    """Logistic regression by AdaGrad SGD over integer feature ids; positives weighted up."""
    w = [0.0] * n_features
    g2 = [1e-8] * n_features
    b, b2 = 0.0, 1e-8
    order = list(range(len(rows)))
    rng = random.Random(seed)
    rate = 0.3
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            feats, y = rows[i]
            p = _sigmoid(b + sum(w[f] for f in feats))
            g = ((1.0 if y else 0.0) - p) * (positive_weight if y else 1.0)
            b2 += g * g
            b += rate * g / math.sqrt(b2)
            for f in feats:
                gf = g - l2 * w[f]
                g2[f] += gf * gf
                w[f] += rate * gf / math.sqrt(g2[f])
    return w, b


def _averaged(rows: Sequence[tuple[Sequence[int], bool]], n_features: int, seed: int,
              positive_weight: float = 1.0) -> tuple[list[float], float]:
    """The mean of SEEDS fits in different orders: one SGD run's order shifts borderline texts
    across the threshold; the mean of a few is steadier (and no larger)."""
    fits = [fit(rows, n_features, positive_weight=positive_weight, seed=seed * 100 + k) for k in range(SEEDS)]
    return [sum(ws) / SEEDS for ws in zip(*(w for w, _ in fits), strict=True)], sum(b for _, b in fits) / SEEDS


class _Vocab:
    """Feature ids for the features seen at least MIN_COUNT times (rarer ones only memorise)."""

    MIN_COUNT = 3

    def __init__(self, texts: Iterable[set[str]]) -> None:
        counts: Counter[str] = Counter()
        for feats in texts:
            counts.update(feats)
        self.ids: dict[str, int] = {}
        for f, n in counts.items():
            if n >= self.MIN_COUNT:
                self.ids[f] = len(self.ids)

    def encode(self, feats: Iterable[str]) -> list[int]:
        return [i for f in feats if (i := self.ids.get(f)) is not None]

    def linear(self, w: list[float], b: float) -> Linear:
        names = {i: f for f, i in self.ids.items()}
        return Linear({names[i]: round(v, 2) for i, v in enumerate(w) if abs(v) >= 0.02}, round(b, 3))


@dataclass(frozen=True)
class Example:
    text: str                    # normalised
    lines: frozenset[str]
    category: str | None         # None: not used for the request type


def load_examples(root: Path) -> list[Example]:
    """The labelled texts the model judges at run time (see TriageModel.can_judge)."""
    out: list[Example] = []
    for f in sorted(glob.glob(str(root / "triage" / "data" / "*.yaml"))):
        for it in yaml.safe_load(Path(f).read_text(encoding="utf-8"))["items"]:
            out.append(Example(normalise(it["text"]), frozenset(it["emergency"]), it["category"]))
    questions: list[str] = []
    for f in sorted(glob.glob(str(root / "config" / "kb" / "*.yaml"))):
        for e in yaml.safe_load(Path(f).read_text(encoding="utf-8"))["entries"]:
            questions += e["questions"]
    for oos in sorted((root / "kb" / "data").glob("out_of_scope_train*.yaml")):
        questions += yaml.safe_load(oos.read_text(encoding="utf-8"))["questions"]
    # consultations: never emergencies; one in six also teaches the request type 咨询
    out += [Example(normalise(q), frozenset(), "咨询" if i % 6 == 0 else None) for i, q in enumerate(questions)]
    return [x for x in out if long_enough(x.text)]


COMBINED = 750          # long calls made per kind (see combined)


def combined(examples: Sequence[Example], seed: int) -> list[Example]:
    """Long calls made from the examples: an opener that says nothing (category None), or an
    ordinary request without an emergency word, before an emergency (still that emergency; the
    request type is left out, the call has two matters); and an opener before a call with no
    emergency (no emergency, that call's type). Bag-of-n-grams weighs every word of a call: without
    these, words of openers and ordinary requests learn to count against an emergency, and an
    emergency told after them is diluted."""
    rng = random.Random(seed)
    openers = [x for x in examples if x.category is None and not x.lines]
    calm = [x for x in examples if not x.lines and x.category is not None and not evidence(x.text).cues]
    urgent = [x for x in examples if x.lines]
    quiet = [x for x in examples if not x.lines and x.category is not None]
    if not (openers and calm and urgent and quiet):
        return []
    out: list[Example] = []
    for _ in range(COMBINED):
        e = rng.choice(urgent)
        out.append(Example(rng.choice(openers).text + e.text, e.lines, None))
        e = rng.choice(urgent)
        out.append(Example(rng.choice(calm).text + e.text, e.lines, None))
        q = rng.choice(quiet)
        out.append(Example(rng.choice(openers).text + q.text, q.lines, q.category))
    return out


def _train(examples: Sequence[Example], seed: int = 1, categories: bool = True) -> TriageModel:
    """The models on these examples and the long calls made from them (combined); without
    `categories`, the emergency models only (for cross-validating their thresholds)."""
    examples = [*examples, *combined(examples, seed)]
    raw: list[set[str]] = []
    cat_raw: list[tuple[set[str], str]] = []
    for x in examples:
        grams = ngrams(x.text)
        raw.append(line_features(grams, evidence(x.text)))
        if categories and x.category is not None:
            gold = tuple(sorted(x.lines))  # at run time the lines decided just before
            rule_cat, _ = rule_category(x.text, gold)
            cat_raw.append((category_features(grams, x.text, gold, rule_cat), x.category))
    vocab = _Vocab(raw + [f for f, _ in cat_raw])
    feats = [vocab.encode(f) for f in raw]

    def weighted(positive: frozenset[str]) -> tuple[list[float], float]:
        """Examples needing any of these lines are positive, weighted up to a quarter of the
        negatives' weight: a missed emergency costs more."""
        rows = [(f, bool(positive & x.lines)) for f, x in zip(feats, examples, strict=True)]
        pos = sum(1 for _, y in rows if y)
        return _averaged(rows, len(vocab.ids), seed, positive_weight=max(1.0, (len(rows) - pos) / max(1, pos) / 4))

    lines = {line: weighted(frozenset({line})) for line in LINES}
    pooled = weighted(frozenset(LINES))
    cat_rows = [(vocab.encode(f), y) for f, y in cat_raw]
    cats = {c: _averaged([(f, y == c) for f, y in cat_rows], len(vocab.ids), seed) for c in CATEGORIES if cat_rows}
    return TriageModel({k: vocab.linear(*v) for k, v in lines.items()}, {k: vocab.linear(*v) for k, v in cats.items()},
                       emergency=vocab.linear(*pooled))


@dataclass(frozen=True)
class OutOfFold:
    """What a model trained without an example made of it."""
    probs: dict[str, float]      # per line
    p_any: float                 # the pooled model
    support: float               # the pooled model's positive evidence
    rules_found: bool            # whether the rules found an emergency in it


def cross_validated(examples: Sequence[Example], folds: int = 5) -> list[OutOfFold]:
    """Out-of-fold judgements, one per example."""
    idx = list(range(len(examples)))
    random.Random(3).shuffle(idx)
    out: list[OutOfFold] = [OutOfFold({}, 0.0, 0.0, False)] * len(examples)
    jobs = [(examples, set(idx[k::folds]), k) for k in range(folds)]
    with multiprocessing.Pool(min(folds, os.cpu_count() or 1)) as pool:  # the same folds and seeds: the same result
        for judged in pool.starmap(_fold, jobs):
            for i, o in judged.items():
                out[i] = o
    return out


def _fold(examples: Sequence[Example], test: set[int], seed: int) -> dict[int, OutOfFold]:
    """The examples of `test` judged by a model trained on the others."""
    model = _train([x for i, x in enumerate(examples) if i not in test], seed=seed, categories=False)
    out = {}
    for i in sorted(test):
        ev = evidence(examples[i].text)
        features = line_features(ngrams(examples[i].text), ev)
        p_any, probs = model.emergency_probs(features)
        out[i] = OutOfFold(probs, p_any, model.support(features), bool(ev.lines))
    return out


def choose_thresholds(examples: Sequence[Example], folds: int = 5) -> tuple[dict[str, float], dict[str, str]]:
    """From cross-validated judgements: "any", the threshold on the pooled model whose recall
    of emergencies is at least RECALL_TARGET, but not below 0.02, where false alarms would
    outnumber the emergencies found; "veto", below which the model may set aside an emergency the
    rules found (it keeps KEEPS of the real ones); "support", the positive evidence an
    emergency the rules did not find needs (it keeps KEEPS of the real ones the model found
    alone, and is never below MIN_SUPPORT); per line, the threshold with the best F2 (which lines
    to ring: a line missing, 120 beside 119 where someone is hurt, costs more than one too many,
    which the agent sees and the caller never hears)."""
    cv = cross_validated(examples, folds)
    pairs = list(zip(cv, examples, strict=True))
    thresholds, report = {}, {}
    top = sorted(o.p_any for o, x in pairs if x.lines)
    t_any = max(0.02, min(0.5, _quantile(top, 1 - RECALL_TARGET) - 1e-3))
    tp = sum(1 for p in top if p >= t_any)
    fp = sum(1 for o, x in pairs if not x.lines and o.p_any >= t_any)
    thresholds["any"] = round(t_any, 3)
    report["any"] = f"threshold {t_any:.3f}: recall {tp}/{len(top)}, precision {tp / max(1, tp + fp):.1%}"
    # an emergency the rules found stands unless the model is surer it is none than it was for all
    # but KEEPS of the real emergencies the rules found (one mislabelled or odd example must
    # not decide it alone)
    ruled = [(o.p_any, bool(x.lines)) for o, x in pairs if o.rules_found]
    caught = sorted(p for p, y in ruled if y)
    t_veto = min(t_any, _quantile(caught, 1 - KEEPS) - 1e-4) if caught else 0.0
    thresholds["veto"] = round(max(0.0, t_veto), 5)
    lost = sum(1 for p in caught if p < t_veto)
    report["veto"] = (f"threshold {t_veto:.5f}: sets aside {sum(1 for p, y in ruled if not y and p < t_veto)} of "
                      f"{sum(1 for _, y in ruled if not y)} false rule alarms, {lost} of {len(caught)} real ones")
    # the model alone: how much evidence its real finds had, and its false alarms
    alone = [(o.support, bool(x.lines)) for o, x in pairs if not o.rules_found and o.p_any >= t_any]
    found = sorted(s for s, y in alone if y)
    t_sup = max(MIN_SUPPORT, _quantile(found, 1 - KEEPS) - 1e-3) if found else MIN_SUPPORT
    thresholds["support"] = round(t_sup, 2)
    report["support"] = (f"threshold {t_sup:.2f}: drops {sum(1 for s, y in alone if not y and s < t_sup)} of "
                         f"{sum(1 for _, y in alone if not y)} false alarms the model raised alone, "
                         f"{sum(1 for s in found if s < t_sup)} of {len(found)} real ones")
    oof = [(o.probs, x.lines) for o, x in pairs]
    for line in LINES:
        def f2(t: float, line: str = line) -> float:
            tp = sum(1 for p, gold in oof if line in gold and p[line] >= t)
            fp = sum(1 for p, gold in oof if line not in gold and p[line] >= t)
            fn = sum(1 for p, gold in oof if line in gold and p[line] < t)
            return 5 * tp / max(1, 5 * tp + 4 * fn + fp)
        t = max((x / 100 for x in range(5, 91)), key=f2)
        thresholds[line] = t
        report[line] = f"threshold {t:.2f}: F2 {f2(t):.1%}"
    return thresholds, report


def _quantile(ascending: Sequence[float], share: float) -> float:
    return ascending[int(len(ascending) * share)]


def train(root: Path) -> tuple[TriageModel, dict[str, str]]:
    examples = load_examples(root)
    thresholds, report = choose_thresholds(examples)
    m = _train(examples)
    return TriageModel(m.lines, m.categories, thresholds, m.emergency), report


def save(model: TriageModel, path: Path) -> None:
    def linear(m: Linear) -> dict[str, object]:
        return {"bias": m.bias, "weights": m.weights}

    data = {"thresholds": model.thresholds, "emergency": linear(model.emergency) if model.emergency else None,
            "lines": {k: linear(m) for k, m in model.lines.items()},
            "categories": {k: linear(m) for k, m in model.categories.items()}}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True), encoding="utf-8")


def load(path: Path) -> TriageModel | None:
    """The shipped weights, or None (rules only) if the file is missing."""
    if not path.is_file():
        return None

    def linear(d: dict[str, object]) -> Linear:
        return Linear({str(k): float(v) for k, v in dict(d["weights"]).items()}, float(d["bias"]))  # type: ignore[call-overload, arg-type]

    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return TriageModel({k: linear(v) for k, v in raw["lines"].items()},
                           {k: linear(v) for k, v in raw.get("categories", {}).items()},
                           {str(k): float(v) for k, v in raw.get("thresholds", {}).items()},
                           linear(raw["emergency"]) if raw.get("emergency") else None)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(path, "lines", f"not a triage model ({type(exc).__name__}: {exc}); "
                          "rebuild it with: python -m triage.model train") from None


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv[:1] != ["train"]:
        print("usage: python -m triage.model train", file=sys.stderr)
        return 2
    out = root / "config" / "triage_model.json"
    model, report = train(root)
    save(model, out)
    for line, text in report.items():
        print(f"{line}: {text}")
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
