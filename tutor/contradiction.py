"""Ways a learner's claim can contradict one sentence of a card, beyond a listed misconception.

tutor/correction.py first looks for the claim among a card's `misconceptions:`; most false claims a
learner makes are not listed there word for word. What they do instead is change one thing about a fact
the card states, and each test here catches one such change, lexically (no embedder in the answer path):

- a **number**: "BERT selects 50% of the tokens" against "15% of tokens selected" — the same words follow
  (or precede) a different number;
- a **reversed clause**: "1x1 convolutions increase the channels" against the clause "1x1 convolutions
  reduce channels before the expensive convolutions" of a longer key point — the grader's antonym and
  negation test (`grade_text.reversal`), run on each clause so a long point does not dilute the overlap;
- a **sign that a formula rules out**: "ReLU outputs negative values" against "ReLU(x) = max(0, x)".

Each test must be sure: a true claim is never to be contradicted, so anything it cannot judge returns None.
"""

from __future__ import annotations

import re

from tutor.grade_text import NEGATORS, STOPWORDS, content_stems, is_negator, negated, reversal, stem, stems, words

# Clause boundaries inside a key point or misconception: a learner's claim usually restates one clause.
_CLAUSES = re.compile(r"\s*[;:]\s*|\s+[-–—]\s+|,\s+(?:and|so|while|whereas|but|which)?\s*|\s+(?:while|whereas|so that|"
                      r"because|along with|just like)\s+|\s+and\s+(?=[a-z]+\s+(?:is|are|has|have|use|uses|make|"
                      r"makes|give|gives|need|needs|can|do|does)\b)", re.I)
# Only the part before these is the belief: "CLIP contrasts two augmentations rather than images with
# their captions" also names the right answer after them.
_BUT_NOT = re.compile(r"\s+(?:rather than|instead of)\s+", re.I)
_POSSESSIVE = re.compile(r"(?<=\w)['’]s\b")
_SAME_AS = {"require": "need", "requires": "needs", "required": "needed", "output": "give", "outputs": "gives",
            "produce": "give", "produces": "gives", "return": "give", "returns": "gives", "best": "better",
            "worst": "worse", "fewest": "fewer"}
_SAME = re.compile(r"\b(" + "|".join(_SAME_AS) + r")\b", re.I)
_WORD_NUMBERS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twice": "2", "half": "0.5"}
# "outputs negative values", "can be negative", "are negative": a sign said of what comes out, not of an input.
_NEGATIVE_OUTPUT = re.compile(r"\b(?:outputs?|returns?|gives?|produces?|yields?|is|are|be|becomes?)\s+"
                              r"(?:(?!for\b|when\b|on\b|if\b|to\b)\w+\s+){0,2}?negative\b", re.I)
_ALWAYS = re.compile(r"\b(always|in every case|no matter what|the more\b.*\bthe better)\b", re.I)
_TOO = re.compile(r"\btoo\s+(\w+)", re.I)
_RANGE = re.compile(r"\b(?:from|between)\s+(-?\d+(?:\.\d+)?)\s+(?:to|and)\s+(-?\d+(?:\.\d+)?)\b", re.I)
# "p - y" against "p + y": the same short operands joined by another operator.
_OPERATION = re.compile(r"(?<![\w-])(\w{1,3})\s+([-+*/])\s+(\w{1,3})(?![\w-])")
_POSITIVE = frozenset({"positive", "nonnegative", "non-negative"})
# "NAME(x) = max(0, x)", "**NAME** `max(0, z)`", "NAME is max(0, …)": the name and a formula that is never negative.
_NONNEG_FORMULA = re.compile(r"([A-Za-z][\w-]*)\W{0,4}(?:\(\s*\w+\s*\)\s*)?(?:=|\bis\b)?\s*`?\s*max\(\s*0\s*,", re.I)
# A negated clause contradicts a positive claim only when it covers this share of the claim's own words.
NEGATION_COVERAGE = 0.6
# Words that negate without a negator: the grader's polarity count cannot see them, so such pairs are not judged.
_IMPLICIT_NEGATION = re.compile(r"\b(independent|unaffected|unchanged|unlike|unrelated|regardless|irrespective|"
                                r"free of|fails?|unable|lacks?|absent|instead)\b", re.I)
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[a-z][a-z0-9]*(?:'[a-z]+)?")  # decimals whole: "0.9" is one number


def plain(text: str) -> str:
    """Possessives off ("a conv layer's parameter count" meets "the parameter count of a conv layer") and
    a few interchangeable words made one ("requires" / "needs", "outputs" / "gives", "best" / "better")."""
    return _SAME.sub(lambda m: _SAME_AS[m.group(0).lower()], _POSSESSIVE.sub("", text))


def clauses(text: str) -> list[str]:
    """`text` and its clauses (at least three words each), the whole first; after "rather than" only the
    part before counts."""
    head = _BUT_NOT.split(text, maxsplit=1)[0]
    parts = [p.strip(" ,.") for p in _CLAUSES.split(head) if p and len(words(p)) >= 3]
    return list(dict.fromkeys([text, head, *parts]))


def _near(seq: list[str]) -> list[str]:
    """The content stems among the first four tokens of `seq`, up to the next number."""
    out = []
    for w in seq[:4]:
        if re.fullmatch(r"[\d.]+", w):
            break
        if content_stems(w):
            out.append(stem(w))
    return out[:2]


def _numbers(text: str) -> list[tuple[str, list[str], list[str]]]:
    """(number, two content stems before it, two after it) for each number in `text` ("%" is a word)."""
    tokens = [_WORD_NUMBERS.get(w, w) for w in _TOKEN.findall(text.lower().replace("%", " percent "))]
    return [(tok, _near(tokens[:i][::-1]), _near(tokens[i + 1:]))
            for i, tok in enumerate(tokens) if re.fullmatch(r"\d+(?:\.\d+)?", tok)]


def numeric(said: str, point: str, subject: frozenset[str] = frozenset()) -> str | None:
    """Why `said` gives another number than `point` for the same thing, or None.

    The same thing: the two content words right after the number are the same ("50% of the tokens" /
    "15% of tokens", "three gates" / "two gates"), or, failing that, the word right before it is ("around
    0.1" / "around 0.9"); and the claim shares at least half of the point's content stems around it (its
    subject, `subject` being the card's own name words), so "two gates" in a claim about GRUs is not held
    against an LSTM's "three gates" unless the point is about GRUs too.
    """
    said_stems = {w for w in content_stems(said) if not w.isdigit()}
    for lo, hi in _RANGE.findall(said):  # "IoU ranges from 0 to 10" against "from 0 to 1"
        for plo, phi in _RANGE.findall(point):
            if (lo, hi) != (plo, phi) and (lo == plo or hi == phi) and len(subject & said_stems) >= 1:
                return f"says {lo} to {hi} where the card says {plo} to {phi}"
    for num, before, after in _numbers(said):
        for pnum, pbefore, pafter in _numbers(point):
            same_after = (bool(after and pafter) and (after[0] in pafter[:2] or pafter[0] in after[:2])
                          and ("percent" in after) == ("percent" in pafter))  # 15% is no count of tokens
            if pnum == num or not (same_after or (not after and before and before[:1] == pbefore[:1])):
                continue
            about = {w for w in content_stems(point) | subject if not w.isdigit()}
            if len(about & said_stems) >= max(2, len(about) // 3):
                return f"says {num} where the card says {pnum}"
    return None


def _negated_stems(text: str) -> set[str]:
    """What each negator in `text` applies to: the first content stem after it ("do not saturate")."""
    ws = words(text)
    out: set[str] = set()
    for i, w in enumerate(ws):
        if is_negator(w):
            out |= set([stem(x) for x in ws[i + 1:i + 4] if x not in STOPWORDS and x not in NEGATORS][:1])
    return out


def reversed_clause(said: str, point: str, subject: frozenset[str] = frozenset()) -> str | None:
    """The grader's reversal test against `point` and each of its clauses.

    An antonym swap or a crossing counts as it is. A negation ("never transfer" against "they transfer
    between models") counts only when what is negated is something the other side says ("do not
    saturate" says nothing about "ReLU has derivative 1 for positive inputs"), the clause holds most of
    what the claim says beyond the card's `subject`, and neither side words a negation without a negator
    ("independent of", "unlike").
    """
    said = plain(said)
    said_stems = content_stems(said) - subject
    whole = stems(plain(point))
    for part in clauses(plain(point)):
        why = reversal(said, part)
        if not why:
            continue
        said_word = why.split("`")[1] if why.startswith("says `") else None
        if said_word is not None and stem(said_word) in whole:
            continue  # "inference" is in another clause of the point ("merged after training, so no inference …")
        if not why.startswith("negates"):
            return why
        part_stems = content_stems(part)
        covered = len(said_stems & part_stems) / len(said_stems) if said_stems else 0.0
        negated_side, other = (said, part_stems) if negated(said) else (part, content_stems(said))
        if (covered >= NEGATION_COVERAGE and _negated_stems(negated_side) & other
                and not _IMPLICIT_NEGATION.search(said + " " + part)):
            return why
    return None


def _call(text: str, start: int) -> str:
    """The call that opens at `start` ("max(0, x)"), up to its matching parenthesis."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0 and text[i] == ")":
            return text[start:i + 1]
    return text[start:]


def formulas(text: str) -> set[str]:
    """The short formulas of `text` ("p - y"), spacing and case normalised."""
    return {f"{a.lower()} {op} {b.lower()}" for a, op, b in _OPERATION.findall(text)}


def operator(said: str, point: str) -> str | None:
    """Why `said` joins the same two short operands as `point` with another operator ("p + y" / "p - y")."""
    ops = {(a.lower(), b.lower()): op for a, op, b in _OPERATION.findall(point)}
    for a, op, b in _OPERATION.findall(said):
        theirs = ops.get((a.lower(), b.lower()))
        if theirs is not None and theirs != op and len(content_stems(said) & content_stems(point)) >= 2:
            return f"says {a} {op} {b} where the card says {a} {theirs} {b}"
    return None


def _base(word: str) -> str:
    """A comparative's base: "higher" → "high", "larger" → "larg", "bigger" → "big" (stems compare)."""
    w = word.lower()
    if w.endswith("ier"):
        return stem(w[:-3] + "y")
    if w.endswith("er") and len(w) > 4:
        w = w[:-2]
        return stem(w[:-1] if len(w) > 2 and w[-1] == w[-2] else w)
    return stem(w)


def too_much(said: str, point: str) -> str | None:
    """An "always" claim about more of something against a point on what goes wrong when it is too much.

    "A higher learning rate always trains faster" against "a learning rate that is too high overshoots the
    minimum …": the point names a failure of the very thing the claim says always helps.
    """
    if not _ALWAYS.search(said) or negated(said):
        return None
    said_bases = {_base(w) for w in words(said)}
    for m in _TOO.finditer(point):
        if _base(m.group(1)) in said_bases and len(content_stems(said) & content_stems(point)) >= 2:
            return f"says always where the card says what goes wrong when it is too {m.group(1)}"
    return None


def negative_output(said: str) -> bool:
    """The claim says something comes out negative ("outputs negative values", "can be negative"), not
    merely that it talks about negative inputs ("ReLU outputs zero for negative inputs")."""
    return bool(_NEGATIVE_OUTPUT.search(said)) and not negated(said)


def sign_word(said: str, point: str, subject: frozenset[str]) -> str | None:
    """Why a key point of the card the claim is about contradicts a claim that its subject comes out
    negative: the point says it is positive ("softmax … positive and summing to 1"), or None."""
    point_words = {w.lower() for w in words(point)}
    if not negative_output(said) or not subject & content_stems(said) or "negative" in point_words:
        return None
    if point_words & _POSITIVE and not negated(point) and subject & content_stems(point):
        return "says negative where the card says positive"
    return None


def formula_sign(said: str, text: str) -> str | None:
    """What a formula of `text` says against a claim that calls its subject negative, or None.

    "ReLU outputs negative values for positive inputs" against "`ReLU(x) = max(0, x)` has derivative 0
    for x < 0": max(0, ·) is never negative, so the answer is "ReLU is max(0, x), which is never
    negative". Only a claim that says the thing outputs (returns, gives, is) something negative, without a
    negation, is judged.
    """
    said_words = {w.lower() for w in words(said)}
    if not negative_output(said):
        return None
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        for m in _NONNEG_FORMULA.finditer(sentence):
            name = m.group(1).strip("*`")
            if name.lower() in said_words and name.lower() not in {"is", "the", "a"}:
                expr = _call(sentence, sentence.index("max(", m.start()))
                return f"{name} is {expr}, which is never negative"
    return None
