"""What the readable rules (triage/rules.py) see in a text: cue words per line, negations, and the
context around them (past, about the service, hazard, hypothetical, urgent, injury). Pure.

The rules' own decision is kept (it is what `triage()` uses without a model), and the same
evidence is handed to the learned model as features, so the model can weigh the rules against
the wording instead of only adding to them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from config.settings import EMERGENCY_LINES
from triage import rules

LINE_PRIORITY = ("119", "120", "110", "122")
_PUNCT = re.compile(r"[\s，。！？、；：,.!?;:\"'“”‘’（）()【】\[\]…~～-]+")
_CONTEXTS = (("past", rules.PAST), ("about the service", rules.ABOUT_SERVICE),
             ("hazard or suggestion", rules.HAZARD), ("hypothetical", rules.HYPOTHETICAL))


# the emergency numbers as speech recognition writes them (幺幺九, 一二零), not inside a longer number
_NUMERAL = "零一二三四五六七八九十幺两0-9"
_SPOKEN_LINE = re.compile(rf"(?<![{_NUMERAL}])[幺一][幺一二][零九二](?![{_NUMERAL}])")
_DIGITS = str.maketrans("幺一二九零", "11290")


def _spoken_line(m: re.Match[str]) -> str:
    digits = m.group().translate(_DIGITS)
    return digits if digits in EMERGENCY_LINES else m.group()


def normalise(text: str) -> str:
    """NFKC, no spaces or punctuation, emergency numbers in digits."""
    return _SPOKEN_LINE.sub(_spoken_line, _PUNCT.sub("", unicodedata.normalize("NFKC", text)))


def _figurative(text: str, m: re.Match[str]) -> bool:
    """跟爆炸似的, 像着火了一样: the cue word is a comparison, not an event."""
    after, before = text[m.end():m.end() + 5], text[max(0, m.start() - 4):m.start()]
    return bool(re.match(rules.SIMILE_AS, after)
                or re.match(rules.SIMILE_LIKE, after) and re.search(rules.SIMILE_BEFORE, before))


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 3):start]
    return bool(re.search(rules.NEGATORS, before)) or bool(re.search(r"不是.{0,6}$", text[max(0, start - 8):start])
                                                           and re.search(r"就是|而是|只是", text[start:]))


@dataclass(frozen=True)
class Evidence:
    cues: dict[str, tuple[str, ...]]   # line -> cue words found (not negated)
    negated: tuple[str, ...]           # lines whose cue words were all negated
    context: tuple[str, ...]           # names of the contexts found (past, urgent, injury, ...)
    lines: tuple[str, ...]             # the rules' decision, most urgent first
    reasons: tuple[str, ...]

    def features(self) -> set[str]:
        """The evidence as model features."""
        out = {f"R:{line}" for line in self.cues} | {f"N:{line}" for line in self.negated}
        out |= {f"C:{c}" for c in self.context} | {f"F:{line}" for line in self.lines}
        if self.cues and not self.lines:
            out.add("F:set-aside")
        return out


def evidence(text: str) -> Evidence:
    """The rules applied to normalised text."""
    reasons: list[str] = []
    found: dict[str, list[str]] = {}
    negated: set[str] = set()
    for line, patterns in rules.EMERGENCY_CUES.items():
        for cue in patterns:
            for m in re.finditer(cue, text):
                if _figurative(text, m):
                    reasons.append(f"{line}: '{m.group()}' a comparison")
                    continue
                if _negated(text, m.start()):
                    reasons.append(f"{line}: '{m.group()}' negated")
                    negated.add(line)
                    continue
                found.setdefault(line, []).append(m.group())
    context = [name for name, pattern in _CONTEXTS if re.search(pattern, text)]
    present = re.search(rules.URGENT, text)
    hurt = re.search(rules.INJURY, text)
    unhurt = re.search(rules.NO_INJURY, text)
    context += ["urgent"] * bool(present) + ["injury"] * bool(hurt) + ["no injury"] * bool(unhurt)
    cues = {line: tuple(dict.fromkeys(words)) for line, words in found.items()}
    lines: tuple[str, ...] = ()
    if found:
        ctx = next(((n, hit) for n, p in _CONTEXTS if (hit := re.search(p, text))), None)
        if ctx and not present:
            reasons.append(f"not now: {ctx[0]} ('{ctx[1].group()}')")
        else:
            if hurt and not unhurt and found.keys() & {"122", "119", "110"} and "120" not in found:
                found["120"] = [hurt.group()]
            lines = tuple(line for line in LINE_PRIORITY if line in found)
            reasons += [f"{line}: {'、'.join(dict.fromkeys(found[line]))}" for line in lines]
    return Evidence(cues, tuple(sorted(negated - found.keys())), tuple(context), lines, tuple(reasons))


def rule_category(text: str, lines: tuple[str, ...]) -> tuple[str, list[str]]:
    """The request type by the weighted cue words of rules.CATEGORY_CUES."""
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
