"""The interviewer's next question after a graded answer: dig into what was wrong or missing.

Priority follows what a real interviewer would chase: a wrong claim first, then a missed point, then a
point only partly made; among equals the point with the larger weight, then the card's own order (cards
list their central points first). When everything was covered the probe is the card's first follow-up
card not yet asked. Questions are phrased from the card's key-point keywords in an interviewer's voice,
never by quoting the key point itself (that would hand over the answer).

The learner's answer to a probe is graded against `probe_card(...)`: the original card narrowed to the
probed point (or the follow-up card itself), so the score says whether that one point is now there. A
compound point made in part ("dropout is off in eval mode; forgetting model.eval() …", one claim said) is
probed, and then graded, on the claims still missing alone: the learner is not asked again for what they said.

Public API: `Probe`, `probe_for(grade, card, cards, asked=()) -> Probe | None`, `probe_card(probe, cards)`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace

from tutor.cards import Card, KeyPoint

_PRIORITY = {"wrong": 0, "missed": 1, "partly": 2}


@dataclass
class Probe:
    question: str
    kind: str  # wrong | missed | partly | follow_up
    card_id: str  # the card whose point (or which follow-up card) the probe is about
    point: str | None = None  # the probed key point; None for a follow-up card
    claim: str | None = None  # of a compound point made in part: the claims still missing (what is graded)

    def to_dict(self) -> dict:
        return asdict(self)


def _short(text: str, width: int = 90) -> str:
    """A quotable piece of the learner's words: one line, at most `width` characters, no closing stop."""
    return textwrap.shorten(" ".join(text.split()), width, placeholder=" …").rstrip(" .;:,")


def _figure(keyword: str) -> bool:
    """A bare number with at most a unit letter ("138M", "0.25", "1,792", "37%"): a card's worked example."""
    return re.fullmatch(r"[~≈]?[\d.,]+\s*[kKMBx%]?", keyword.strip()) is not None


def _term(kp: KeyPoint, card: Card, answer: str) -> str:
    """The point's most specific keyword (most words, then longest) that the question does not already give
    away and the answer did not use: "weighted average" says more about where to go than "umbrella". A
    figure comes last: "Where does “138M” come in?" asks the learner to recall the card's example, not the
    idea ("VGG", "3x3")."""
    q, a = card.question.lower(), answer.lower()
    fresh = [kw for kw in kp.keywords if kw.lower() not in q and kw.lower() not in a] or list(kp.keywords)
    return max(fresh, key=lambda kw: (not _figure(kw), len(kw.split()), len(kw)))


def claim_point(kp: KeyPoint, claim: str) -> KeyPoint:
    """The missing claims of a compound point as a key point of their own, with the point's keywords and
    synonyms that share a content word with them (all the keywords when none does: a term to ask about)."""
    from tutor.grade_text import content_stems

    target = content_stems(claim)

    def belongs(phrase: str) -> bool:
        return bool(content_stems(phrase) & target) or phrase.lower() in claim.lower()

    keywords = tuple(k for k in kp.keywords if belongs(k)) or kp.keywords
    return KeyPoint(claim, keywords, tuple(s for s in kp.synonyms if belongs(s)))


def _question(status: str, term: str, evidence: str, covered: str, rest: bool = False) -> str:
    if rest:
        return (f"You said “{_short(evidence)}”, and that is part of it. What goes with it: where does “{term}” "
                "come in, and why does it matter?")
    if status == "wrong":
        return (f"You said “{_short(evidence)}”. Are you sure about that? Think about “{term}”: "
                "what actually happens there, and why?")
    if status == "partly":
        return (f"You touched on this (“{_short(evidence)}”) but stayed vague. Be precise about “{term}”: "
                "what exactly happens, and why does it matter?")
    if covered:
        return (f"You mentioned “{_short(covered)}”. Take it one step further: where does “{term}” come in, "
                "and what would go wrong without it?")
    return f"Let's come back to something you left out: “{term}”. Where does it come in here, and why?"


def probe_for(grade, card: Card, cards: Mapping[str, Card], asked: Collection[str] = (),
              answer: str = "") -> Probe | None:
    """The probe after `grade` (a `tutor.grade.Grade`) of an answer to `card`; None when nothing is left.

    `asked` holds card ids already asked this session (follow-ups skip them).
    """
    by_point = {kp.point: (i, kp) for i, kp in enumerate(card.key_points)}
    gaps = [p for p in grade.points if p.status in _PRIORITY and p.point in by_point]
    if gaps:
        gap = min(gaps, key=lambda p: (_PRIORITY[p.status], -p.weight, by_point[p.point][0]))
        kp = by_point[gap.point][1]
        covered = next((p.evidence for p in grade.points if p.status == "covered" and p.evidence), "")
        claim = getattr(gap, "missing", "") if gap.status == "partly" else ""
        asked_of = claim_point(kp, claim) if claim else kp
        text = _question(gap.status, _term(asked_of, card, answer), gap.evidence, covered, rest=bool(claim))
        return Probe(text, gap.status, card.id, kp.point, claim or None)
    for ref in card.follow_ups:
        if ref in cards and ref not in asked:
            return Probe(f"Good, that covers it. A natural next question: {cards[ref].question}", "follow_up", ref)
    return None


def probe_card(probe: Probe, cards: Mapping[str, Card]) -> Card:
    """The card the probe's answer is graded against."""
    card = cards[probe.card_id]
    if probe.point is None:
        return card
    kp = next(k for k in card.key_points if k.point == probe.point)
    return replace(card, question=probe.question, key_points=(claim_point(kp, probe.claim) if probe.claim else kp,))
