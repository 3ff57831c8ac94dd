"""Whether the best entry really answers the question: a small logistic model over the index's
features of the top hit (kb/index.py: Index._features), so that out-of-scope questions go to a
person instead of getting a wrong answer read to them.

    .venv/bin/python -m kb.confidence train    # rebuild config/kb_confidence.json

Training data: the shipped entries' own phrasings, each asked of an index built without it
(five folds), labelled by whether the top hit was its entry; and kb/data/out_of_scope_train.yaml,
questions the knowledge base must not answer. The threshold is the lowest that still refuses 92 %
of those out-of-scope questions (the hotline's target is 90 %, on questions never seen).
bench/data/ is never read here.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from config.settings import ConfigError

if TYPE_CHECKING:
    from kb.entries import Entry
    from kb.index import Tokenizer

FOLDS = 5
REFUSAL_TARGET = 0.92   # share of the out-of-scope training questions the threshold must refuse


@dataclass(frozen=True)
class Acceptance:
    weights: dict[str, float]
    bias: float
    threshold: float

    def prob(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * features.get(name, 0.0) for name, w in self.weights.items())
        return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


Row = tuple[dict[str, float], bool]   # (features of the top hit, is it the right entry?)


def fit(rows: Sequence[Row], iterations: int = 25, l2: float = 1e-3) -> tuple[dict[str, float], float]:
    """L2-regularised logistic regression by Newton's method (a handful of dense features)."""
    names = sorted(rows[0][0])
    dim = len(names) + 1                      # last: the bias
    beta = [0.0] * dim
    xs = [[f[k] for k in names] + [1.0] for f, _ in rows]
    ys = [1.0 if y else 0.0 for _, y in rows]
    for _ in range(iterations):
        grad = [-l2 * b for b in beta[:-1]] + [0.0]
        hess = [[(l2 if i == j and i < dim - 1 else 0.0) for j in range(dim)] for i in range(dim)]
        for x, y in zip(xs, ys, strict=True):
            p = 1 / (1 + math.exp(-max(-30.0, min(30.0, sum(b * v for b, v in zip(beta, x, strict=True))))))
            w = p * (1 - p)
            for i in range(dim):
                grad[i] += (y - p) * x[i]
                if x[i]:
                    row = hess[i]
                    for j in range(dim):
                        row[j] += w * x[i] * x[j]
        step = _solve(hess, grad)
        beta = [b + d for b, d in zip(beta, step, strict=True)]
        if max(abs(d) for d in step) < 1e-6:
            break
    return {k: round(v, 4) for k, v in zip(names, beta, strict=False)}, round(beta[-1], 4)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a is symmetric positive definite here)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        if abs(m[c][c]) < 1e-12:
            continue
        for r in range(c + 1, n):
            f = m[r][c] / m[c][c]
            for k in range(c, n + 1):
                m[r][k] -= f * m[c][k]
    out = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) >= 1e-12:
            out[r] = (m[r][n] - sum(m[r][k] * out[k] for k in range(r + 1, n))) / m[r][r]
    return out


def held_out_rows(entries: list[Entry], tok: Tokenizer) -> list[Row]:
    """Each phrasing asked of an index that lacks it: (features of the top hit, top hit right?)."""
    from kb.index import Index

    rows = []
    for k in range(FOLDS):
        asked: list[tuple[str, str]] = []
        kept = []
        for e in entries:
            out = [q for i, q in enumerate(e.questions) if i % FOLDS == k and i > 0]
            asked += [(q, e.id) for q in out]
            kept.append(replace(e, questions=tuple(q for q in e.questions if q not in out)))
        index = Index(kept, tok)
        for q, gold in asked:
            hits = index.search(q, 1)
            if hits:
                rows.append((hits[0].features, hits[0].entry.id == gold))
    return rows


def out_of_scope_rows(entries: list[Entry], tok: Tokenizer, questions: list[str]) -> list[Row]:
    from kb.index import Index

    index = Index(entries, tok)
    return [(h[0].features, False) for q in questions if (h := index.search(q, 1))]


def choose_threshold(model: Acceptance, inside: list[Row], outside: list[Row]) -> tuple[float, str]:
    """The lowest threshold (most right answers) that still refuses REFUSAL_TARGET of the
    out-of-scope questions: a wrong answer read to a caller costs more than a transfer."""
    threshold = 0.95
    for t in [x / 100 for x in range(5, 96)]:
        if sum(1 for f, _ in outside if model.prob(f) < t) / len(outside) >= REFUSAL_TARGET:
            threshold = t
            break
    right = sum(1 for f, ok in inside if ok and model.prob(f) >= threshold) / len(inside)
    wrong = sum(1 for f, ok in inside if not ok and model.prob(f) >= threshold) / len(inside)
    refused = sum(1 for f, _ in outside if model.prob(f) < threshold) / len(outside)
    top1 = sum(1 for _, ok in inside if ok) / len(inside)
    return threshold, (f"threshold {threshold:.2f} on {len(inside)} held-out phrasings and {len(outside)} out-of-scope "
                       f"questions: top-1 {top1:.1%}, answered right {right:.1%}, wrong {wrong:.1%}, "
                       f"out-of-scope refused {refused:.1%}")


def train(entries: list[Entry], tok: Tokenizer, out_of_scope: list[str]) -> tuple[Acceptance, str]:
    inside = held_out_rows(entries, tok)
    outside = out_of_scope_rows(entries, tok, out_of_scope)
    # the out-of-scope questions count as much as the phrasings, whatever their number
    reps = max(1, round(len(inside) / max(1, len(outside))))
    w, b = fit(inside + outside * reps)
    model = Acceptance(w, b, 0.5)
    threshold, report = choose_threshold(model, inside, outside)
    return replace(model, threshold=threshold), report


def save(model: Acceptance, path: Path) -> None:
    path.write_text(json.dumps({"weights": model.weights, "bias": model.bias, "threshold": model.threshold},
                               indent=1, sort_keys=True) + "\n", encoding="utf-8")


def load(path: Path) -> Acceptance | None:
    """The shipped model, or None (plain coverage as confidence) if the file is missing."""
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        weights = {str(k): float(v) for k, v in raw["weights"].items()}
        return Acceptance(weights, float(raw["bias"]), float(raw["threshold"]))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(path, "weights", f"not an acceptance model ({type(exc).__name__}: {exc}); "
                          "rebuild it with: python -m kb.confidence train") from None


def main(argv: list[str]) -> int:
    import yaml

    from kb.entries import read_dir
    from kb.service import load_tokenizer

    if argv[:1] != ["train"]:
        print("usage: python -m kb.confidence train", file=sys.stderr)
        return 2
    root = Path(__file__).resolve().parent.parent
    oos: list[str] = []
    for f in sorted((root / "kb" / "data").glob("out_of_scope_train*.yaml")):
        oos += yaml.safe_load(f.read_text(encoding="utf-8"))["questions"]
    model, report = train(read_dir(root / "config" / "kb"), load_tokenizer(root / "config" / "kb_synonyms.yaml"), oos)
    out = root / "config" / "kb_confidence.json"
    save(model, out)
    print(report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
