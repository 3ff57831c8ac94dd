"""Quality and speed of understanding: triage and the knowledge base, on the labelled sets.

    .venv/bin/python bench/understanding.py

Sets (bench/data/): triage_eval.yaml (464 items; the triage rules were written while looking at
it, so its figures are development figures), triage_holdout.yaml (160 items written separately
and never used to write rules: the honest figures), kb_eval_0[123].yaml (345 paraphrases of the
shipped entries, split: even rows calibrate the threshold, odd rows test), kb_out_of_scope.yaml
(102 questions the knowledge base must not answer, split the same way).
"""

from __future__ import annotations

import argparse
import glob
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import SHIPPED_DIR  # noqa: E402
from kb.entries import Entry, read_dir  # noqa: E402
from kb.index import Index  # noqa: E402
from kb.service import load_tokenizer  # noqa: E402
from triage.catalog import load_catalog  # noqa: E402
from triage.engine import triage  # noqa: E402
from triage.model import TriageModel  # noqa: E402
from triage.model import load as load_model  # noqa: E402

DATA = ROOT / "bench" / "data"
LINES = ("110", "119", "120", "122")


def triage_report(name: str, items: list[dict[str, Any]], model: TriageModel | None) -> None:
    catalog = load_catalog(SHIPPED_DIR / "dispatch.yaml")
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    any_tp = any_fp = any_fn = cat_ok = 0
    for it in items:
        r = triage(it["text"], catalog, model)
        gold, got = set(it["emergency"]), set(r.lines)
        for line in LINES:
            tp[line] += line in gold and line in got
            fp[line] += line in got and line not in gold
            fn[line] += line in gold and line not in got
        any_tp += bool(gold) and bool(got)
        any_fp += bool(got) and not gold
        any_fn += bool(gold) and not got
        cat_ok += r.category == it["category"]
    print(f"\n{name}: {len(items)} utterances, {sum(1 for i in items if i['emergency'])} emergencies")
    recall, precision = any_tp / max(1, any_tp + any_fn), any_tp / max(1, any_tp + any_fp)
    print(f"  any emergency: recall {recall:.1%}, precision {precision:.1%}")
    for line in LINES:
        print(f"  {line}: recall {tp[line] / max(1, tp[line] + fn[line]):.1%} ({tp[line]}/{tp[line] + fn[line]}), "
              f"precision {tp[line] / max(1, tp[line] + fp[line]):.1%}")
    print(f"  request type accuracy {cat_ok / len(items):.1%}")


def kb_report(index: Index) -> float:
    qs: list[dict[str, str]] = []
    for f in sorted(glob.glob(str(DATA / "kb_eval_*.yaml"))):
        qs += yaml.safe_load(Path(f).read_text(encoding="utf-8"))["questions"]
    oos = yaml.safe_load((DATA / "kb_out_of_scope.yaml").read_text(encoding="utf-8"))["questions"]
    cal_q, test_q, cal_o, test_o = qs[0::2], qs[1::2], oos[0::2], oos[1::2]

    def scored(questions: list[Any], gold: bool) -> list[tuple[bool, float]]:
        out = []
        for q in questions:
            hits = index.search(q["q"] if gold else q, 1)
            ok = bool(hits) and gold and hits[0].entry.id == q["id"]
            out.append((ok, hits[0].confidence if hits else 0.0))
        return out

    cal_in, cal_out = scored(cal_q, True), scored(cal_o, False)
    best, threshold = -1.0, 0.5
    for t in [x / 100 for x in range(20, 91)]:
        answered_ok = sum(1 for ok, c in cal_in if ok and c >= t) / len(cal_in)
        rejected = sum(1 for _, c in cal_out if c < t) / len(cal_out)
        if answered_ok + rejected > best:
            best, threshold = answered_ok + rejected, t
    test_in, test_out = scored(test_q, True), scored(test_o, False)
    top1 = sum(1 for ok, _ in test_in if ok) / len(test_in)
    answered_ok = sum(1 for ok, c in test_in if ok and c >= threshold) / len(test_in)
    answered_wrong = sum(1 for ok, c in test_in if not ok and c >= threshold) / len(test_in)
    rejected = sum(1 for _, c in test_out if c < threshold) / len(test_out)
    print(f"\nknowledge base: {len(index.entries)} entries; calibrated on {len(cal_q)} + {len(cal_o)} questions, "
          f"tested on {len(test_q)} paraphrases + {len(test_o)} out-of-scope")
    print(f"  threshold (confidence) {threshold:.2f}")
    print(f"  top-1 accuracy (no threshold) {top1:.1%}")
    print(f"  at the threshold: answered correctly {answered_ok:.1%}, answered wrongly {answered_wrong:.1%}, "
          f"passed to a person {1 - answered_ok - answered_wrong:.1%}")
    print(f"  out-of-scope rejected {rejected:.1%}")
    return threshold


def synthetic(entries: list[Entry], n: int) -> list[Entry]:
    """n entries made by recombining the shipped ones (for timing only)."""
    rng = random.Random(7)
    districts = ["东城", "西城", "朝阳", "海淀", "丰台", "石景山", "通州", "顺义", "昌平", "大兴", "房山", "门头沟"]
    out = list(entries)
    while len(out) < n:
        a, b = rng.sample(entries, 2)
        d = rng.choice(districts)
        out.append(Entry(f"syn-{len(out)}", (f"{d}{a.questions[0]}", f"{b.questions[-1]}{d}"),
                         a.answer[: len(a.answer) // 2] + b.answer[len(b.answer) // 2:], a.unit, b.topic))
    return out


def speed(entries: list[Entry], n: int) -> None:
    tok = load_tokenizer(SHIPPED_DIR / "kb_synonyms.yaml")
    t0 = time.perf_counter()
    index = Index(synthetic(entries, n), tok)
    build = time.perf_counter() - t0
    qs: list[str] = []
    for f in sorted(glob.glob(str(DATA / "kb_eval_*.yaml"))):
        qs += [q["q"] for q in yaml.safe_load(Path(f).read_text(encoding="utf-8"))["questions"]]
    times = []
    for q in qs * 3:
        t = time.perf_counter()
        index.search(q, 1)
        times.append(time.perf_counter() - t)
    times.sort()
    p99 = times[int(len(times) * 0.99)]
    print(f"\nspeed with {n} entries (index built in {build:.1f} s), {len(times)} questions on one core:")
    print(f"  per question p50 {statistics.median(times) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {times[-1] * 1000:.1f} ms")
    catalog = load_catalog(SHIPPED_DIR / "dispatch.yaml")
    model = load_model(SHIPPED_DIR / "triage_model.json")
    t = time.perf_counter()
    for q in qs:
        triage(q, catalog, model)
    print(f"  triage: {(time.perf_counter() - t) / len(qs) * 1000:.2f} ms per utterance")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10000, help="knowledge base size for the speed test")
    args = ap.parse_args()
    model = load_model(SHIPPED_DIR / "triage_model.json")
    for name, file in (("development set (rules written against it, model trained on it)", "triage_eval.yaml"),
                       ("held-out set (never used for rules or training)", "triage_holdout.yaml")):
        items = yaml.safe_load((DATA / file).read_text(encoding="utf-8"))["items"]
        triage_report(f"triage, rules only, {name}", items, None)
        triage_report(f"triage, rules + model, {name}", items, model)
    entries = read_dir(SHIPPED_DIR / "kb")
    kb_report(Index(entries, load_tokenizer(SHIPPED_DIR / "kb_synonyms.yaml")))
    speed(entries, args.entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
