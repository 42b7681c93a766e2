"""Up to three hints per question, each giving away more than the one before and less than the answer.

1. the area: the topic, how many separate points a full answer makes, and how to approach it;
2. key terms: one keyword from each of the first two key points (cards list their most central points
   first), skipping words the question already contains;
3. a partial statement: the first half of the first key point's words, cut off with an ellipsis.

No hint ever contains a whole key point (checked here and tested), and each hint used lowers the rating
the scheduler receives (`tutor.schedule.rating_for`).

Public API: `hints_for(card) -> list[str]`, `MAX_HINTS`.
"""

from __future__ import annotations

from tutor.cards import Card

MAX_HINTS = 3

TOPIC_LABELS = {
    "basics": "deep-learning basics",
    "coding": "implementing it in code",
    "training": "training neural networks",
    "architectures": "network architectures",
    "nlp": "language models and NLP",
    "vision": "computer vision",
    "advanced": "advanced methods",
    "career": "the interview and the job",
}


def _angle(question: str) -> str:
    """How to approach the question, read from its wording (the least a hint can give away)."""
    q = question.lower()
    if any(w in q for w in ("differ", "difference", " vs", "versus", "compare", "trade-off", "tradeoff")):
        return "compare the options point by point rather than defining each one"
    if q.startswith("why"):
        return "give the reasons, not only the definition"
    if q.startswith("how"):
        return "walk through the mechanism step by step"
    if q.startswith(("what is", "what are", "what does", "what do")):
        return "say what it is, how it works, and why it is used"
    return "lead with the main idea, then the details and trade-offs"


def _reveals_point(hint: str, card: Card) -> bool:
    low = hint.lower()
    return any(kp.point.lower() in low for kp in card.key_points)


def _partial(point: str) -> str:
    words = point.split()
    keep = max(1, len(words) // 2) if len(words) > 1 else 0
    return " ".join(words[:keep]) + " …" if keep else "…"


def hints_for(card: Card) -> list[str]:
    """The card's hints, least revealing first (may be fewer than three for a one-word card)."""
    n = len(card.key_points)
    out = [f"Area: {TOPIC_LABELS.get(card.topic, card.topic)}. A complete answer makes {n} separate "
           f"point{'s' if n != 1 else ''}; {_angle(card.question)}."]
    question = card.question.lower()
    terms = []
    for kp in card.key_points[:2]:
        for kw in kp.keywords:
            if kw.lower() not in question and kw.lower() != kp.point.lower():
                terms.append(f"“{kw}”")
                break
    if terms:
        out.append(f"Key term{'s' if len(terms) > 1 else ''} to work in: {', '.join(terms)}.")
    if card.key_points:
        out.append(f"Start from this: “{_partial(card.key_points[0].point)}”")
    return [h for h in out if not _reveals_point(h, card)][:MAX_HINTS]
