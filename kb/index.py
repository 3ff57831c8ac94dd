"""Retrieval for Chinese questions: jieba words + character bigrams, synonyms, BM25, and a
confidence (how much of the question the best entry covers) compared with a calibrated threshold.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb.confidence import Acceptance
from kb.entries import Entry

logger = logging.getLogger(__name__)

_CJK = re.compile(r"[\u4e00-\u9fff]+")
_WORDS = re.compile(r"[\u4e00-\u9fff]+|[a-z0-9]+")
STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 呀 嘛 哦 哈 么 我 我们 你 你们 您 他 她 它 他们 想 想问 问 问一下 请问 一下 那个 这个 就 "
    "是 在 有 和 跟 与 也 都 还 要 会 能 可以 得 着 过 给 把 被 让 去 来 对 说 个 吧 嗯 那 这 呃 喂 你好 您好 麻烦 "
    "一个 现在 今年 需要 怎么 怎样 如何 什么 哪里 哪儿 多少 能不能 可不可以 吗 啥".split())


def load_synonyms(groups: Iterable[Iterable[str]]) -> dict[str, str]:
    """word -> canonical word (the first of its group)."""
    out: dict[str, str] = {}
    for group in groups:
        words = [w.strip() for w in group if w.strip()]
        for w in words:
            out[w] = words[0]
    return out


class Tokenizer:
    def __init__(self, synonyms: dict[str, str], elsewhere: frozenset[str] = frozenset()) -> None:
        import jieba  # loading the dictionary is I/O: done when the index is built, not at import

        jieba.setLogLevel(logging.WARNING)
        for word in [*synonyms, *elsewhere]:
            jieba.add_word(word)
        self._jieba = jieba
        self.synonyms = synonyms
        self.elsewhere = elsewhere  # places outside the city the knowledge base answers for

    def __call__(self, text: str) -> list[str]:
        text = text.lower()
        for phrase, canon in self._phrases():
            if phrase in text:
                text = text.replace(phrase, f" {canon} ")
        words = [self.synonyms.get(w, w) for w in self._jieba.lcut(text) if _WORDS.fullmatch(w)]
        words = [w for w in words if w not in STOPWORDS]
        grams = []
        for run in _CJK.findall(" ".join(words)):
            grams += ["~" + run[i:i + 2] for i in range(len(run) - 1)] + ["~c" + ch for ch in run]
        return words + grams

    def _phrases(self) -> list[tuple[str, str]]:
        # multi-character synonyms are replaced before segmentation, longest first
        if not hasattr(self, "_phrase_list"):
            self._phrase_list = sorted(((w, c) for w, c in self.synonyms.items() if len(w) >= 3 and w != c),
                                       key=lambda x: -len(x[0]))
        return self._phrase_list


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float        # BM25
    confidence: float   # 0..1: the acceptance model's probability that this is the right answer,
    #                     or without one the idf-weighted share of the question the entry covers
    features: dict[str, float] = field(default_factory=dict, compare=False)


class _Bm25:
    """Okapi BM25 over a list of term bags."""

    K1, B = 1.2, 0.75

    def __init__(self, docs: list[Counter[str]]) -> None:
        self.docs = docs
        self.lengths = [sum(d.values()) for d in docs]
        self.postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, d in enumerate(docs):
            for t, n in d.items():
                self.postings[t].append((i, n))
        n_docs = max(1, len(docs))
        self.avg = (sum(self.lengths) / n_docs) or 1.0
        self.idf = {t: math.log(1 + (n_docs - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.max_idf = math.log(1 + (n_docs + 0.5) / 0.5)
        self.common = max(200, n_docs // 20)

    def scores(self, query: Counter[str]) -> dict[int, float]:
        out: dict[int, float] = defaultdict(float)
        for t in query:
            idf = self.idf.get(t)
            if idf is None or len(self.postings[t]) > self.common:
                continue  # a term in more than 5 % of documents costs time and tells little
            for d, n in self.postings[t]:
                norm = 1 - self.B + self.B * self.lengths[d] / self.avg
                out[d] += idf * n * (self.K1 + 1) / (n + self.K1 * norm)
        return out


class Index:
    """Three BM25 indexes, added up per entry: over every phrasing (an entry scores by its best
    phrasing), over each entry's phrasings taken together (words a caller uses that are spread
    over several phrasings), and over the answers, which carry the words a caller uses for their
    situation. Terms: jieba words, character bigrams and single characters (bench/understanding.py
    measured each: single characters catch paraphrases that share no word)."""

    ALL_QUESTIONS_WEIGHT = 0.6
    ANSWER_WEIGHT = 0.7

    def __init__(self, entries: list[Entry], tokenizer: Tokenizer, acceptance: Acceptance | None = None) -> None:
        self.tok = tokenizer
        self.entries = entries
        self.acceptance = acceptance
        self._owner: list[int] = []
        docs: list[Counter[str]] = []
        for i, e in enumerate(entries):
            for q in e.questions:
                docs.append(Counter(self.tok(q + " " + e.topic)))
                self._owner.append(i)
        self._questions = _Bm25(docs)
        self._together = _Bm25([Counter(self.tok(" ".join(e.questions))) for e in entries])
        self._answers = _Bm25([Counter(self.tok(e.answer)) for e in entries])

    def search(self, question: str, k: int = 3) -> list[Hit]:
        q_terms = Counter(self.tok(question))
        if not q_terms:
            return []
        best: dict[int, tuple[float, int]] = {}
        for d, s in self._questions.scores(q_terms).items():
            e = self._owner[d]
            if e not in best or s > best[e][0]:
                best[e] = (s, d)
        combined: dict[int, float] = {e: s for e, (s, _) in best.items()}
        for weight, bm25 in ((self.ALL_QUESTIONS_WEIGHT, self._together), (self.ANSWER_WEIGHT, self._answers)):
            for e, s in bm25.scores(q_terms).items():
                combined[e] = combined.get(e, 0.0) + weight * s
        ranked = sorted(combined.items(), key=lambda x: -x[1])[:max(k, 2)]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        hits = []
        for e, score in ranked[:k]:
            f = self._features(q_terms, e, best.get(e, (0.0, -1))[1], score, second)
            confidence = self.acceptance.prob(f) if self.acceptance else f["coverage"]
            hits.append(Hit(self.entries[e], score, confidence, f))
        return hits

    def _features(self, q: Counter[str], entry: int, doc: int, score: float, second: float) -> dict[str, float]:
        """What the acceptance model weighs: how much of the question the entry covers (by its best
        phrasing, by all its phrasings, by its answer; all terms and whole words only), how much of
        the best phrasing the question says, how much the question says at all (idf mass), how
        much of it the knowledge base knows, and how far the entry is ahead of the next."""
        question = self._questions.docs[doc] if doc >= 0 else Counter()
        together, answer = self._together.docs[entry], self._answers.docs[entry]
        total = covered = best_phrasing = all_phrasings = known = 0.0
        words = words_covered = 0.0
        for t in q:
            idf = self._questions.idf.get(t, self._answers.idf.get(t, self._questions.max_idf))
            total += idf
            known += idf * (t in self._questions.idf or t in self._answers.idf)
            best_phrasing += idf * (t in question)
            all_phrasings += idf * (t in together)
            if t in question:
                covered += idf
            elif t in answer:
                covered += 0.6 * idf
            if not t.startswith("~"):
                words += idf
                words_covered += idf * (t in together or t in answer)
        total = total or 1.0
        idfs = self._questions.idf
        phrasing = sum(idfs.get(t, 0.0) for t in question)
        phrasing_said = sum(idfs.get(t, 0.0) for t in question if t in q)
        return {"said_of_phrasing": phrasing_said / phrasing if phrasing else 0.0,
                "substance": total / (total + 40.0), "coverage": covered / total,
                "elsewhere": 1.0 if any(t in self.tok.elsewhere for t in q) else 0.0,
                "best_phrasing": best_phrasing / total,
                "all_phrasings": all_phrasings / total, "words": words_covered / words if words else 0.0,
                "known": known / total, "margin": (score - second) / score if score > 0 else 0.0,
                "strength": score / (score + total), "length": min(1.0, len(q) / 40)}
