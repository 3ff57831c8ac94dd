"""Quality and speed of understanding: triage and the knowledge base, on the labelled sets.

    .venv/bin/python bench/understanding.py

Sets (bench/data/), none of them read by training (triage/model.py trains on triage/data/ and the
knowledge base's own questions; kb/confidence.py on the entries' phrasings and kb/data/):

- triage_holdout.yaml (160 items), triage_holdout2.yaml (260), triage_holdout3-15.yaml (300
  each): each written by a separate helper session that saw neither the rules nor the training
  data. Sets 1-5 chose between training runs and model designs. Sets 6-15 were written to the
  labelling guide (triage/data/LABELLING.md) by sessions that opened nothing else; each was
  measured once before it was used to choose later data and designs. Sets 12 and 13 were
  measured once on the model of commit a31fc07, then helped shape the shipped one; sets 14 and 15
  were kept unread until the shipped model was final and measured once on it.
- kb_eval_0[123].yaml (345 paraphrases of the shipped entries) with kb_out_of_scope.yaml (102
  questions the knowledge base must not answer).
- kb_test2.yaml (330 + 100, written after the entries' first added phrasings) and kb_test3.yaml
  (330 + 120, written from the entries before the second round; measured once on the final
  knowledge base).

The knowledge base is measured at the shipped threshold (kb_confidence.json).
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
from kb.confidence import load as load_acceptance  # noqa: E402
from kb.entries import Entry, read_dir  # noqa: E402
from kb.index import Index  # noqa: E402
from kb.service import COVERAGE_THRESHOLD, load_tokenizer  # noqa: E402
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
    any_tp = any_fp = any_fn = cat_ok = first_ok = 0
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
        first_ok += r.emergency in gold
    print(f"\n{name}: {len(items)} utterances, {sum(1 for i in items if i['emergency'])} emergencies")
    recall, precision = any_tp / max(1, any_tp + any_fn), any_tp / max(1, any_tp + any_fp)
    print(f"  any emergency: recall {recall:.1%}, precision {precision:.1%}")
    n_em = any_tp + any_fn
    calm = len(items) - n_em
    print(f"  the line put through first is one the situation needs: {first_ok} of {n_em} "
          f"({first_ok / max(1, n_em):.1%})")
    print(f"  false alarms: {any_fp} of {calm} utterances with no emergency ({any_fp / max(1, calm):.1%})")
    for line in LINES:
        print(f"  {line}: recall {tp[line] / max(1, tp[line] + fn[line]):.1%} ({tp[line]}/{tp[line] + fn[line]}), "
              f"precision {tp[line] / max(1, tp[line] + fp[line]):.1%}")
    print(f"  request type accuracy {cat_ok / len(items):.1%}")


def kb_report(kb: Index, threshold: float) -> None:
    qs: list[dict[str, str]] = []
    for f in sorted(glob.glob(str(DATA / "kb_eval_*.yaml"))):
        qs += yaml.safe_load(Path(f).read_text(encoding="utf-8"))["questions"]
    oos = yaml.safe_load((DATA / "kb_out_of_scope.yaml").read_text(encoding="utf-8"))["questions"]
    print(f"\nknowledge base: {len(kb.entries)} entries, {sum(len(e.questions) for e in kb.entries)} phrasings")
    _kb_test(kb, threshold, "knowledge base, kb_eval_0[123] + kb_out_of_scope", qs, oos)
    for name, what in (("kb_test2.yaml", "written after the entries' first added phrasings"),
                       ("kb_test3.yaml", "written apart from the second round of added phrasings")):
        if (DATA / name).is_file():
            raw = yaml.safe_load((DATA / name).read_text(encoding="utf-8"))
            _kb_test(kb, threshold, f"knowledge base, {name} ({what})", raw["questions"], raw["out_of_scope"])


def _kb_test(kb: Index, t: float, name: str, test_q: list[dict[str, str]], test_o: list[str]) -> None:
    """Top-1, and at the shipped threshold: answered right / wrong / passed to a person."""
    test_in = [(bool(h) and h[0].entry.id == q["id"], h[0].confidence if h else 0.0)
               for q in test_q for h in [kb.search(q["q"], 1)]]
    test_out = [h[0].confidence if h else 0.0 for q in test_o for h in [kb.search(q, 1)]]
    top1 = sum(1 for ok, _ in test_in if ok) / len(test_in)
    answered_ok = sum(1 for ok, c in test_in if ok and c >= t) / len(test_in)
    answered_wrong = sum(1 for ok, c in test_in if not ok and c >= t) / len(test_in)
    rejected = sum(1 for c in test_out if c < t) / len(test_out)
    print(f"\n{name}: {len(test_q)} paraphrases + {len(test_o)} out-of-scope questions")
    print(f"  top-1 accuracy (no threshold) {top1:.1%}")
    print(f"  at the shipped threshold {t:.2f}: answered correctly {answered_ok:.1%}, answered wrongly "
          f"{answered_wrong:.1%}, passed to a person {1 - answered_ok - answered_wrong:.1%}")
    print(f"  out-of-scope rejected {rejected:.1%}")


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


def held_out_sets() -> list[tuple[int, Path]]:
    """The triage sets in bench/data/ by number: triage_holdout.yaml is set 1, triage_holdoutN.yaml set N."""
    return sorted((int(p.stem.removeprefix("triage_holdout") or 1), p) for p in DATA.glob("triage_holdout*.yaml"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=10000, help="knowledge base size for the speed test")
    args = ap.parse_args()
    model = load_model(SHIPPED_DIR / "triage_model.json")
    for n, path in held_out_sets():
        name = f"held-out set {n}"
        items = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
        triage_report(f"triage, rules only, {name}", items, None)
        triage_report(f"triage, rules + model, {name}", items, model)
    entries = read_dir(SHIPPED_DIR / "kb")
    acceptance = load_acceptance(SHIPPED_DIR / "kb_confidence.json")
    threshold = acceptance.threshold if acceptance else COVERAGE_THRESHOLD
    kb_report(Index(entries, load_tokenizer(SHIPPED_DIR / "kb_synonyms.yaml"), acceptance), threshold)
    speed(entries, args.entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
