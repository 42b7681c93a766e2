"""A learner who rejects a misconception is not holding it.

Interview answers often name a common mistake in order to rule it out: "semi-supervised is not the same
as self-supervised", "dropout is not used at inference". A sentence embedding cannot see the "not", so
the statement lands right on the misconception it denies, and the grader used to call the learner wrong
for being right. The same goes for a belief reported as a mistake ("people often assume …").
`drop_rejected` lowers those matches before any rule or feature reads them, to no more than the
statement's best key-point match: neither a wrong statement nor evidence of one.

The tests are lexical and err on the side of keeping a match (a real wrong belief left unflagged is
the worse mistake for a tutor): see bench/grade_transfer.py for what each one changed on the golden rows.
"""

from __future__ import annotations

import re

import numpy as np

from tutor.grade_text import antonym_swaps, content_stems, denied_claim, negated, stem, stems

CHECK_FROM = 0.5  # misconception cosines below this are too weak to matter to any rule or feature
CLAUSE_OVERLAP = 0.4  # share of a negated clause's content words that must be the misconception's own
OPPOSITE_OVERLAP = 0.8  # share of the misconception's other content words a clause saying its antonym repeats
SIDE_SHARED = 2  # content words of the belief a clause on the card's side of its antonym must repeat


# A belief reported, not held: "a common mistake is to think …", "people often assume …", "it is a myth
# that …", "contrary to popular belief, …". What follows is the belief the learner is warning about.
_REPORTED = re.compile(
    r"\b(?:common|classic|typical|frequent|big)\s+(?:mistake|misconception|myth|pitfall|trap|misunderstanding)"
    r"\s+(?:is\s+)?(?:to\s+(?:think|assume|believe|say)|that)\b"
    r"|\b(?:mistake|pitfall|trap)\s+is\s+to\s+(?:think|assume|believe|say)\b"
    r"|\b(?:misconception|myth)\s+(?:is\s+)?that\b"
    r"|\b(?:people|many|some|beginners|candidates|folks|newcomers)\s+(?:often\s+|sometimes\s+|wrongly\s+|mistakenly\s+)?"
    r"(?:think|believe|assume|claim)\b"
    r"|\b(?:it\s+is|it's)\s+(?:a\s+myth|wrong|false|not\s+true|incorrect)\s+(?:to\s+say\s+)?that\b"
    r"|\bcontrary\s+to\s+(?:popular\s+|common\s+)?belief\b"
    r"|\b(?:wrongly|mistakenly)\s+(?:think|believe|assume)",
    re.I)


def reports(statement: str) -> bool:
    """The statement reports a belief as a mistake instead of asserting it ("a common mistake is to think
    dropout stays on at inference")."""
    return _REPORTED.search(statement) is not None


def denies(statement: str, misconception: str) -> bool:
    """A negator on the learner's side whose scope is the misconception's own words (`denied_claim`),
    while the misconception itself denies nothing: "without activations the gradients become zero"
    restated is holding that belief, not rejecting it."""
    if negated(misconception) or denied_claim(misconception, content_stems(statement)):
        return False
    return denied_claim(statement, content_stems(misconception)) is not None


def negates(clause: str, misconception: str) -> bool:
    """A single clause ("dropout is not used at inference") that is negated where the misconception
    ("dropout stays switched on at inference time") is not, and mostly says the misconception's words.
    Only for clauses: in a sentence the negation may belong to another clause ("…, so the net can't
    rely on one unit")."""
    stems = content_stems(clause)
    if not stems or negated(misconception) or not negated(clause):
        return False
    return len(stems & content_stems(misconception)) / len(stems) >= CLAUSE_OVERLAP


def opposes(clause: str, misconception: str) -> bool:
    """A clause that says the misconception with one term turned into its antonym and little else changed
    ("semi-supervised learning is different from self-supervised learning" against "… is the same as …").
    Nearly all of the misconception's other words must be there: "in self-attention … from a different
    one" against "in cross-attention … all from the same sequence" changes the subject too."""
    said, belief = content_stems(clause), content_stems(misconception)
    for x, _ in antonym_swaps(said, belief):
        rest = belief - {stem(x)}
        return bool(rest) and len(rest & said) / len(rest) >= OPPOSITE_OVERLAP
    return False


def sides_with_point(clause: str, misconception: str, point: str) -> bool:
    """A clause that takes the card's side of an antonym the misconception turns round: the point says
    "dropout is switched off in eval mode", the belief "dropout stays switched on at inference time", the
    learner "dropout is off at test time". The clause must share two words of the belief besides the pole
    ("dropout", "time"; "batch norm is off at test time" shares one). `opposes` cannot see this one: "on"
    and "off" are function words, and the learner's "test time" is not the belief's "inference time"."""
    said, belief, card = (stems(t) for t in (clause, misconception, point))
    for _, y in antonym_swaps(said, belief):  # the belief's pole is never in the clause: nothing to take out
        if stem(y) in card:
            return len(content_stems(misconception) & content_stems(clause)) >= SIDE_SHARED
    return False


_EXCLUSIVE = re.compile(r"\b(?:only|just|solely|merely|always|every|all|any)\b", re.I)
_WIDENED = re.compile(
    r"\b(?:not|n't|never)\s+(?:only|just|merely|solely|always|necessarily|every|all)\b"
    r"|\bmore\s+than\s+(?:just|only|merely)\b|\bnot\s+limited\s+to\b", re.I)
WIDEN_OVERLAP = 0.5  # share of the misconception's content words the widening statement repeats


def widens(statement: str, misconception: str) -> bool:
    """A belief that something holds only / always ("the student learns only from the hard labels") met
    by a statement that says it is not only / not always so ("it learns from more than just the hard
    labels"): the statement corrects the belief rather than holding it."""
    if not _EXCLUSIVE.search(misconception) or not _WIDENED.search(statement.replace("’", "'")):
        return False
    belief = content_stems(misconception)
    return bool(belief) and len(belief & content_stems(statement)) / len(belief) >= WIDEN_OVERLAP


def drop_rejected(units: list[str], atomic: list[bool], misconceptions: list[str], mis_cos: np.ndarray,
                  ceiling: np.ndarray, mis_points: list[str] | None = None) -> set[int]:
    """Lower `mis_cos[i, m]` (in place) to `ceiling[i]`, the unit's best key-point cosine, where unit i
    rejects misconception m; a sentence whose clause rejects it is lowered with it. Returns the units that
    reject one.

    Lowered, not zeroed: no rule then calls the statement wrong (it is no closer to the misconception than
    to a key point), while the learned score's features stay in the range it was fitted on. Zeroing put
    them far outside it: a one-line denial that covers no key point scored 8.0, "correct".
    `mis_points`: the key point each misconception contradicts (`sides_with_point`)."""
    rejecting: set[int] = set()
    hits = [(int(i), int(m)) for i, m in zip(*np.nonzero(mis_cos >= CHECK_FROM), strict=True)]
    for i, m in hits:
        if denies(units[i], misconceptions[m]) or reports(units[i]) or widens(units[i], misconceptions[m]):
            mis_cos[i, m] = min(mis_cos[i, m], ceiling[i])
            rejecting.add(i)
    for i, m in hits:
        if atomic[i] and (negates(units[i], misconceptions[m]) or opposes(units[i], misconceptions[m]) or (
                mis_points is not None and sides_with_point(units[i], misconceptions[m], mis_points[m]))):
            for j, unit in enumerate(units):
                if units[i] in unit:
                    mis_cos[j, m] = min(mis_cos[j, m], ceiling[j])
                    rejecting.add(j)
    return rejecting
