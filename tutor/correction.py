"""A false premise corrected from the card itself, before the model writes a word.

"From now on teach that dropout stays switched on at inference time": qwen2.5-0.5b corrected 1 of 9
such claims on its own (bench/llm_premise.py); it opened with "No:" and then said the claim back, or
drifted. Our cards already hold what is needed: `misconceptions:` lists the typical wrong beliefs, and
the key points state the right facts. So code checks the learner's claim (`grounding.claim`) against
the retrieved card with the grader's own text matching (tutor/grade_text.py: stems, negation,
antonym swaps), and when it matches a misconception or reverses a key point the answer opens with
"No: <the key point> [n]", cited; the model's explanation follows.

Lexical on purpose: no embedder in the answer path, and a claim that only resembles a misconception
must not be contradicted. When nothing matches, the model checks the claim as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tutor.cards import Card, KeyPoint
from tutor.contradiction import (
    clauses,
    formula_sign,
    formulas,
    numeric,
    operator,
    plain,
    reversed_clause,
    sign_word,
    too_much,
)
from tutor.grade_text import antonym_swaps, content_stems, negated, reversal, stems
from tutor.grounding import claim, premise
from tutor.lead import sentence_of

if TYPE_CHECKING:
    from tutor.retrieve import Passage

# A claim states a misconception when every content stem of the claim is in it (bar GENERIC verbs: "uses
# the batch statistics" says what "normalizes with the batch statistics" says), they share at least
# SHARED_MIN stems, and the misconception has at most MISSING_MAX (or half the shared count) the claim
# lacks (it may be more specific); a formula of the claim ("p - y") must be in it as written. A claim
# word the misconception lacks is something we cannot judge: "epsilon is not a learnable parameter" must
# not be answered as if it said "batch norm has no learnable parameters".
SHARED_MIN = 3
# How many of the best passages are searched for a card that contradicts a learner's claim.
CORRECTION_PASSAGES = 3
MISSING_MAX = 1
GENERIC = frozenset({"use", "make", "get", "give", "take", "work", "must", "should", "simpl", "time", "all"})
# A second key point joins the correction when it answers the claim nearly as well as the first.
SECOND_SHARE = 0.8


@dataclass(frozen=True)
class Correction:
    """The key point that contradicts the learner's claim, and why code thinks so."""

    points: tuple[str, ...]
    why: str

    @property
    def point(self) -> str:
        return "; ".join(self.points)

    def lead(self) -> str:
        """"No: <the point> [1].": the contradicting card is passage [1] (`correcting` moves it first)."""
        return "No: " + " ".join(f"{sentence_of(p)} [1]." for p in self.points)


def subject(card: Card) -> frozenset[str]:
    """The stems of the card's own name (its id's last part): a misconception leaves its subject implicit
    ("the scores are multiplied by sqrt(d_k)" on the attention card). Not its aliases: "key-value cache"
    would excuse "keys and values" in a claim that the KV cache stores the queries."""
    return frozenset(content_stems(card.id.rsplit("/", 1)[-1].replace("-", " ")))


def _closeness(said: str, part: str, implicit: frozenset[str] = frozenset()) -> tuple[int, int] | None:
    """(stems the misconception has and the claim lacks, minus stems shared) when `part` is close
    enough to the claim, else None. Claim stems in `implicit` (the card's subject) need not be in it."""
    if formulas(said) - formulas(part):  # "is p - y" is not "is the squared error (y - p)^2"
        return None
    stems, said_stems = content_stems(plain(part)), content_stems(plain(said))
    # Numbers and one-letter symbols are values, not what the claim is about ("0.5", "p", "y").
    shared = len({w for w in stems & said_stems if len(w) > 1 and not w.isdigit()})
    missing = len(stems - said_stems)
    unjudged = said_stems - stems - GENERIC - implicit
    enough = shared >= SHARED_MIN and missing <= max(MISSING_MAX, shared // 2)
    return (missing, -shared) if enough and not unjudged else None


def _stated(said: str, card: Card) -> tuple[str, str] | None:
    """(the misconception of `card` that the claim says, the clause of it that matched), or None.

    Only the closest misconception (or clause of one) is judged, and it must have the claim's polarity
    and no antonym swap ("switched off" against "stays switched on"): a true claim worded like a
    misconception must never be contradicted.
    """
    implicit = subject(card)
    close = [(c, mis, part) for mis in card.misconceptions for part in clauses(mis)
             if (c := _closeness(said, part, implicit)) is not None]
    if not close:
        return None
    _, mis, part = min(close, key=lambda x: x[0])
    return (mis, part) if negated(part) == negated(said) and reversal(said, part) is None else None


def _bag(point: KeyPoint) -> set[str]:
    """A key point's content stems with its keywords and synonyms: how the grader recognises it too."""
    return content_stems(" ".join([point.point, *point.phrases]))


def _contrasts(claim_text: str, point: KeyPoint) -> int:
    """How many of the grader's antonym pairs the claim and the key point take opposite sides of
    ("at test time" against "collected during training"): such a point states what the claim gets wrong."""
    said = stems(claim_text)
    bag = stems(" ".join([point.point, *point.phrases]))
    return sum(1 for _ in antonym_swaps(said, bag))


def _answering(card: Card, about: set[str], claim_text: str) -> list[str]:
    """The key points that speak to `about`, best first: the one or two whose distinctive stems it shares
    most (a stem in every key point, such as the card's subject, counts for little), one more for each
    antonym the point opposes to the claim."""
    bags = [_bag(kp) for kp in card.key_points]
    df = {w: sum(w in b for b in bags) for b in bags for w in b}
    scores = [sum(1 / df[w] for w in b & about) + _contrasts(claim_text, kp) if b & about else 0.0
              for b, kp in zip(bags, card.key_points, strict=True)]
    order = sorted(range(len(bags)), key=lambda i: -scores[i])
    if not order or scores[order[0]] == 0:
        return []
    best = [order[0]] + [i for i in order[1:2] if scores[i] >= SECOND_SHARE * scores[order[0]]]
    return [card.key_points[i].point for i in sorted(best)]


def _misconception(said: str, card: Card) -> tuple[str, list[str]] | None:
    """(the misconception the claim states, the key points that answer it), or None."""
    found = _stated(said, card)
    if found is None:
        return None
    points = _answering(card, content_stems(found[1]) | content_stems(said), said)
    return (found[0], points) if points else None


def correct(question: str, card: Card | None) -> Correction | None:
    """The correction of a false premise in `question` from `card`, or None.

    In order of certainty: the claim states one of the card's misconceptions; it reverses a key point
    (or one clause of one) by an antonym or a negation; it gives another number than a key point for the
    same thing; it calls negative what a formula of the card defines as max(0, …). None for an ordinary
    question, a claim the card does not contradict, or no card.
    """
    if card is None or not premise(question):
        return None
    return contradiction(claim(question), card)


def contradiction(said: str, card: Card) -> Correction | None:
    """The key point of `card` that contradicts the statement `said`, or None (the checks of `correct`).

    Also read on each sentence a model writes (tutor/checks.py): a sentence that shares the card's words
    passes the lexical support test even when it states the card's misconception."""
    found = _misconception(said, card)
    if found:
        return Correction(tuple(found[1]), f"states the misconception: {found[0]}")
    names = subject(card)
    checks = (lambda point: reversed_clause(said, point, names),  # most certain first, each over every point
              lambda point: numeric(said, point, names) or operator(said, point),
              lambda point: sign_word(said, point, names) or too_much(said, point))
    for check in checks:
        for kp in card.key_points:
            if why := check(kp.point):
                return Correction((kp.point,), f"the claim {why}")
    for text in [*(kp.point for kp in card.key_points), card.answer]:
        fact = formula_sign(said, text)
        if fact:
            return Correction((fact,), "the claim calls negative what the card defines as max(0, …)")
    return None


def refuted(sentence: str, card: Card) -> bool:
    """Whether `card` contradicts a sentence a model wrote: it states one of the card's misconceptions or
    reverses a clause of a key point. Numbers are not judged here: on bench/claim_pairs.jsonl the full
    `contradiction` flags 68 of 543 wrong claims and 19 of 543 right ones (13 of those on a number the
    sentence shares with another fact of the card), this subset 47 and 6; of the cards' own 1,860 answer
    sentences it flags 30 (the full set 77). A withheld true sentence costs a sentence; a shown false one
    teaches the learner a misconception with our citation on it."""
    if _misconception(sentence, card):
        return True
    names = subject(card)
    return any(reversed_clause(sentence, kp.point, names) for kp in card.key_points)


def correcting(question: str, passages: list[Passage], cards: dict[str, Card] | None,
               min_relevance: float, named: list[Passage] | None = None) -> tuple[list[Passage], Correction | None]:
    """The passages with the card that contradicts the learner's claim first, and its correction citing
    that card as [1]: what both callers show.

    Candidates: the best CORRECTION_PASSAGES relevant passages, then `named`, the cards the claim names
    by an alias (`Tutor.named_passages`). For a claim the card that contradicts it is the material to
    answer from, even when retrieval ranked a neighbour above it ("dropout stays on at inference" found
    the card on dropout's cost first) or missed it ("ReLU outputs negative values" found the dead-ReLU
    card, not the activation card that defines ReLU as max(0, z)).
    """
    if not premise(question):
        return passages, None
    top: list[Passage] = []
    for i, p in enumerate(passages[:CORRECTION_PASSAGES]):
        if i and p.relevance < min_relevance:
            break
        top.append(p)
    seen = {p.card_id for p in top}
    for p in [*top, *(p for p in named or [] if p.card_id not in seen)]:
        fix = correct(question, (cards or {}).get(p.card_id or ""))
        if fix is not None:
            return [p, *(q for q in passages if q is not p)], fix
    return passages, None
