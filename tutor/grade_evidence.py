"""Evidence: how well each learner statement matches each key point and each misconception.

A `Rubric` is what an answer is graded against (a card's key points and misconceptions, or the claims
of a free reference), with its embeddings computed once and cached. An `Evidence` holds the raw
matrices for one answer — statement × point cosine and keyword match, statement × misconception cosine,
and reversed claims — and no decision at all: thresholds and weights live in `tutor.grade`, so the
calibration can re-score thousands of parameter settings without embedding anything again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from tutor.cards import Card, KeyPoint
from tutor.embed import Embedder
from tutor.grade_text import (
    ROLE_PAIRS,
    content_stems,
    contrasted_terms,
    reversal,
    role_swap,
    statements,
    stems,
    words,
)
from tutor.judge import Judge
from tutor.rejection import drop_rejected
from tutor.shorthand import expand


@dataclass
class Rubric:
    source: str  # the card id, or "reference"
    question: str
    points: list[KeyPoint]
    misconceptions: list[str]
    point_vecs: list[np.ndarray]  # per point: rows for the point and each of its synonyms
    mis_vecs: np.ndarray  # (n_misconceptions, dim)
    mis_point: list[int]  # the key point each misconception contradicts (nearest by cosine)
    question_vec: np.ndarray  # (dim,)
    passages: list[str]  # per point: the card sentence it comes from, for feedback to cite
    card: Card | None = None
    sentence_vecs: np.ndarray | None = None  # the card answer's (or reference's) sentences
    sentences: list[str] = field(default_factory=list)  # their text, for the judge's premise
    # per point: the claims a compound point ("A; B") joins, as sub-points, and their embeddings (the claim and
    # the synonyms that belong to it); empty for a point that makes one claim (tutor.grade reads them for the
    # verdicts only: the learned score never sees them)
    claims: list[tuple[KeyPoint, ...]] = field(default_factory=list)
    claim_vecs: list[list[np.ndarray]] = field(default_factory=list)


@dataclass
class Evidence:
    units: list[str]  # the learner's statements (sentences, then clauses)
    cos: np.ndarray  # (units, points) best cosine to the point or one of its synonyms
    lex: np.ndarray  # (units, points) keyword / synonym / point-word match in 0..1
    mis_cos: np.ndarray  # (units, misconceptions)
    reversed: list[list[str | None]]  # [unit][point]: why the unit contradicts the point, or None
    question_cos: np.ndarray  # (units,)
    support: np.ndarray | None = None  # (units,) best cosine to any sentence of the card answer / reference
    # The judge's conflict margins (tutor.judge), None without a judge: per sentence, against its best
    # point and the two card sentences nearest it; per point, of the statement that matches it best.
    conflict: np.ndarray | None = None  # (sentences,)
    point_conflict: np.ndarray | None = None  # (points,); UNREAD where no statement makes the point
    # The reader's 0-1 verdict on the whole answer beside the rubric (tutor.reader), None without a reader.
    reader: float | None = None
    # The misconception spotter's highest 0-1 verdict on one statement beside one of the rubric's
    # misconceptions (tutor.spotter), None without a spotter.
    spot: float | None = None
    spotted: list[tuple[int, int, float]] = field(default_factory=list)  # (misconception, unit, verdict) read
    plain: list[str] = field(default_factory=list)  # `units` with shorthand spelled out (tutor.shorthand)
    to_card: np.ndarray | None = None  # (units, card sentences) cosines: where the judge finds each one's premise
    claim_match: list[np.ndarray] = field(default_factory=list)  # per point: (units, its claims) match, as `match`
    # The full grader's quick model was sure of the grade, so the judge's long sentence pairs were not read
    # (tutor.grade.Grader.evidence).
    settled: bool = False

    @property
    def match(self) -> np.ndarray:
        """(units, points) cosine and keyword match, half each: how well a statement makes a point."""
        return 0.5 * self.cos + 0.5 * self.lex


JUDGED_MATCH = 0.5  # a point is judged against its best statement only when that statement makes it this well
UNREAD = -10.0  # the point margin of a point the judge did not read (below any margin it gives)


def n_sentences(ev: Evidence) -> int:
    """Sentences come first in `units`; clauses repeat their text, so shape is read off the sentences."""
    seen = ""
    for n, u in enumerate(ev.units):
        if u in seen:
            return n
        seen += " " + u
    return len(ev.units)


def _passage_for(point: KeyPoint, sentences: list[str]) -> str:
    """The answer sentence sharing most stems with the point: what feedback quotes from the card."""
    target = content_stems(" ".join((point.point, *point.phrases)))
    best = max(sentences, key=lambda s: len(target & content_stems(s)), default="")
    return re.sub(r"\*\*|`|^#+\s*", "", best).strip()


MIN_CLAIM_STEMS = 3  # a piece of a compound point with fewer content words ("accurate but slower") is no claim


def claims(point: str) -> list[str]:
    """The claims a compound key point joins with ";" ("dropout is off in eval mode; forgetting model.eval()
    makes predictions random"), or [] for a single claim. A piece too short to stand alone joins its
    neighbour (and a point left with one claim is no compound)."""
    out: list[str] = []
    for piece in (p.strip() for p in point.split(";")):
        if not piece:
            continue
        if out and min(len(content_stems(out[-1])), len(content_stems(piece))) < MIN_CLAIM_STEMS:
            out[-1] = f"{out[-1]}; {piece}"
        else:
            out.append(piece)
    return out if len(out) > 1 and all(len(content_stems(c)) >= MIN_CLAIM_STEMS for c in out) else []


def _claim_points(kp: KeyPoint, parts: list[str], part_vecs: np.ndarray, synonym_vecs: np.ndarray
                  ) -> tuple[KeyPoint, ...]:
    """Each claim as a key point of its own, with the point's keywords and synonyms that belong to it: those
    sharing a content word with it, a synonym sharing none with any claim going to the nearest claim."""
    part_stems = [content_stems(c) for c in parts]

    def owner(phrase: str, vec: np.ndarray | None) -> int | None:
        shared = [len(content_stems(phrase) & st) for st in part_stems]
        if max(shared) > 0:
            return int(np.argmax(shared))
        if any(phrase.lower() in c.lower() for c in parts):
            return next(i for i, c in enumerate(parts) if phrase.lower() in c.lower())
        return int(np.argmax(part_vecs @ vec)) if vec is not None else None

    keywords: list[list[str]] = [[] for _ in parts]
    synonyms: list[list[str]] = [[] for _ in parts]
    for kw in kp.keywords:
        if (i := owner(kw, None)) is not None:
            keywords[i].append(kw)
    for syn, vec in zip(kp.synonyms, synonym_vecs, strict=True):
        synonyms[owner(syn, vec)].append(syn)
    return tuple(KeyPoint(c, tuple(k), tuple(s)) for c, k, s in zip(parts, keywords, synonyms, strict=True))


def build_rubric(embedder: Embedder, source: str, question: str, points: list[KeyPoint],
                 misconceptions: list[str], answer: str = "", card: Card | None = None) -> Rubric:
    texts = [question]
    spans = []
    for kp in points:
        group = [kp.point, *kp.synonyms]
        spans.append((len(texts), len(texts) + len(group)))
        texts.extend(group)
    texts.extend(misconceptions)
    sentences = [s for s in statements(answer) if len(words(s)) >= 4][:40]
    n_fixed = len(texts)
    texts.extend(sentences)
    vecs = embedder.encode(texts)
    sentence_vecs, vecs = vecs[n_fixed:], vecs[:n_fixed]
    point_vecs = [vecs[a:b] for a, b in spans]
    mis_vecs = vecs[n_fixed - len(misconceptions):] if misconceptions else np.zeros((0, vecs.shape[1]), np.float32)
    # The claims in a batch of their own: the batch above stays what it was, and so do its vectors.
    parts = [claims(kp.point) for kp in points]
    flat = [c for ps in parts for c in ps]
    part_vecs, part_at = (embedder.encode(flat) if flat else np.zeros((0, vecs.shape[1]), np.float32)), 0
    claim_points: list[tuple[KeyPoint, ...]] = []
    claim_vecs: list[list[np.ndarray]] = []
    for kp, ps, pv in zip(points, parts, point_vecs, strict=True):
        if not ps:
            claim_points.append(())
            claim_vecs.append([])
            continue
        cv, part_at = part_vecs[part_at:part_at + len(ps)], part_at + len(ps)
        subs = _claim_points(kp, ps, cv, pv[1:])
        claim_points.append(subs)
        claim_vecs.append([np.vstack([cv[i], *(pv[1 + kp.synonyms.index(s)] for s in sub.synonyms)])
                           for i, sub in enumerate(subs)])
    heads = np.vstack([pv[0] for pv in point_vecs]) if point_vecs else np.zeros((0, vecs.shape[1]), np.float32)
    mis_point = [int(np.argmax(heads @ m)) for m in mis_vecs] if len(heads) else []
    return Rubric(source, question, list(points), list(misconceptions), point_vecs, mis_vecs, mis_point,
                  vecs[0], [_passage_for(kp, sentences) for kp in points], card, sentence_vecs, sentences,
                  claim_points, claim_vecs)


def card_rubric(embedder: Embedder, card: Card) -> Rubric:
    return build_rubric(embedder, card.id, card.question, list(card.key_points), list(card.misconceptions),
                        card.answer, card)


def reference_points(reference: str) -> list[KeyPoint]:
    """A free reference's claims as key points: each statement with a few content words, no keywords."""
    found: list[str] = []
    for s in statements(reference):
        if len(content_stems(s)) >= 3 and not any(s in c for c in found):
            found.append(s)
    top = [c for c in found if not any(c != o and c in o for o in found)]
    return [KeyPoint(c, ()) for c in top[:8]]


def _phrase_hit(phrase: str, unit_lower: str, unit_stems: set[str]) -> bool:
    stems = content_stems(phrase)
    if not stems:
        return phrase.lower() in unit_lower
    return stems <= unit_stems or (len(phrase) >= 4 and phrase.lower() in unit_lower)


def lexical(unit: str, point: KeyPoint) -> float:
    """1.0 when a keyword or synonym appears (stemmed), else the share of the point's content words."""
    lower, unit_stems = unit.lower(), stems(unit)
    if any(_phrase_hit(p, lower, unit_stems) for p in point.phrases):
        return 1.0
    target = content_stems(point.point)
    return len(target & unit_stems) / len(target) if target else 0.0


def read_both(unit: str, plain: str, point: KeyPoint) -> float:
    """`lexical` of the statement as written and with its shorthand spelled out, the better of the two: the
    cards' phrases keep their own shorthand ("dropout off at eval", "lr too high"), which the spelled-out
    statement no longer contains (`expand` returns `unit` itself when it has no shorthand)."""
    value = lexical(plain, point)
    return value if plain is unit or value == 1.0 else max(value, lexical(unit, point))


SWAPPED = "says of"  # how a role swap's reason starts (`contradiction`); features count swaps apart


def contradiction(statement: str, point: str, pairs: tuple[tuple[str, str], ...] = ROLE_PAIRS) -> str | None:
    """Why `statement` contradicts `point`: a negation or antonym (`grade_text.reversal`), or two terms of
    the same kind with their roles exchanged (`grade_text.role_swap`, `pairs` from the card's id)."""
    why = reversal(statement, point)
    if why is None and (swap := role_swap(statement, point, pairs)):
        why = f"{SWAPPED} `{swap[0]}` what the point says of `{swap[1]}`"
    return why


def is_swap(why: str | None) -> bool:
    """Whether a contradiction (an `Evidence.reversed` cell) is a role swap rather than a reversal."""
    return bool(why) and why.startswith(SWAPPED)


def judge_conflicts(judge: Judge, rubric: Rubric, ev: Evidence, to_card: np.ndarray | None,
                    sentences: bool = True) -> None:
    """Fill `ev.conflict` and `ev.point_conflict` in one batch of judge pairs (sentences + points);
    `sentences=False`: the per-point pairs alone (the verdicts read them; only the learned score's features
    read the sentence pairs, the long ones), leaving `ev.conflict` None. Per-point margins the evidence
    holds already are kept, so a later whole reading adds the sentence pairs alone.

    A sentence is read beside its best point and the card's two sentences nearest it, in card order, so a
    right sentence that says more than its point has the card's other words to agree with. The per-point
    reading (best statement against the point alone) is the second view. Dev 8-seed CV (338 rows, in band /
    agreement / QWK): neither .738 / .755 / .754; sentence view .737 / .763 / .765; point view
    .738 / .764 / .766; both (features contra_max, contra_n4, contra_points) .754 / .777 / .781."""
    ns, k = n_sentences(ev) if sentences else 0, len(rubric.points)
    match, said = ev.match, ev.plain
    pairs = []
    for i in range(ns):
        premise = rubric.points[int(match[i].argmax())].point
        if rubric.sentences and to_card is not None:
            near = sorted(np.argsort(-to_card[i])[:2])
            premise = f"{premise}. " + " ".join(rubric.sentences[t] for t in near)
        pairs.append((said[i], premise))
    # Only a point some statement makes (match >= JUDGED_MATCH) is read: a conflict with a point nobody
    # made is not a wrong claim, and the pair would cost ~15 ms for a margin no feature reads. Points read
    # already (for a settled answer's verdicts) are not read again: a pair's margin is the pair's alone.
    read = [j for j in range(k) if match[:, j].max() >= JUDGED_MATCH] if ev.point_conflict is None else []
    pairs += [(said[int(match[:, j].argmax())], rubric.points[j].point) for j in read]
    margins = judge.conflict(pairs)
    ev.conflict = margins[:ns] if sentences else None
    if ev.point_conflict is None:
        ev.point_conflict = np.full(k, UNREAD, np.float32)
        ev.point_conflict[read] = margins[ns:]


def atomic_units(units: list[str]) -> list[bool]:
    """Which statements hold no other statement (a clause, not the sentence around it): polarity is read on
    these alone."""
    return [not any(j != i and v in u for j, v in enumerate(units)) for i, u in enumerate(units)]


def gather(embedder: Embedder, rubric: Rubric, text: str, judge: Judge | None = None) -> Evidence:
    """All learner statements embedded in one batch, matched against every point and misconception."""
    units = statements(text)
    n, k = len(units), len(rubric.points)
    if n == 0:
        z = np.zeros((0, k), np.float32)
        return Evidence([], z, z, np.zeros((0, len(rubric.misconceptions)), np.float32), [], np.zeros(0))
    # Matched with its shorthand spelled out ("grads" → "gradients"), quoted as the learner wrote it.
    plain = [expand(u) for u in units]
    vecs = embedder.encode(plain)
    cos = np.column_stack([(vecs @ pv.T).max(axis=1) for pv in rubric.point_vecs]) if k else np.zeros((n, 0))
    pairs_read = list(zip(units, plain, strict=True))  # each statement as written and spelled out
    lex = np.array([[read_both(u, e, kp) for kp in rubric.points] for u, e in pairs_read],
                   dtype=np.float32).reshape(n, k)
    mis_cos = vecs @ rubric.mis_vecs.T if len(rubric.mis_vecs) else np.zeros((n, 0), np.float32)
    # Polarity is judged on the smallest units only: in "X, so the net cannot rely on Y" the negation
    # belongs to the second clause, not to the whole sentence that also states X.
    atomic = atomic_units(units)
    # A statement that rejects a misconception has spent its negation on it: "you should not stop the
    # first time the loss goes up" denies that belief and does not reverse "training halts when …".
    best = cos.max(axis=1) if k else np.zeros(n, np.float32)
    rejecting = drop_rejected(plain, atomic, rubric.misconceptions, mis_cos, best,
                              [rubric.points[j].point for j in rubric.mis_point])
    pairs = ROLE_PAIRS + contrasted_terms(rubric.source)
    rev = [[contradiction(u, kp.point, pairs) if atomic[i] and i not in rejecting and (lex[i, j] > 0 or
            cos[i, j] > 0.5) else None for j, kp in enumerate(rubric.points)] for i, u in enumerate(plain)]
    # (units, card sentences) cosines: the support feature's maximum and the judge's nearest card sentences
    to_card = vecs @ rubric.sentence_vecs.T if rubric.sentence_vecs is not None and len(
        rubric.sentence_vecs) else None
    support = to_card.max(axis=1) if to_card is not None else np.zeros(n, np.float32)
    claim_match = [np.column_stack([0.5 * (vecs @ cv.T).max(axis=1) + 0.5 * np.array([read_both(u, e, sub)
                                                                                      for u, e in pairs_read])
                                    for sub, cv in zip(subs, cvs, strict=True)]) if subs else np.zeros((n, 0))
                   for subs, cvs in zip(rubric.claims, rubric.claim_vecs, strict=True)]
    ev = Evidence(units, cos, lex, mis_cos, rev, vecs @ rubric.question_vec, support, plain=plain, to_card=to_card,
                  claim_match=claim_match)
    if judge is not None and k:
        judge_conflicts(judge, rubric, ev, to_card)
    return ev
