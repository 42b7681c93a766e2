"""How well a learner knows each topic, and which key points they miss most, from stored reviews.

Mastery of a topic is the recency-weighted mean score of its reviews (weight halves every
`HALF_LIFE_DAYS`, so last week's answers count more than last quarter's), scaled to 0-1, beside the share
of the topic's cards seen. Due counts come from each card's newest FSRS state.

Public API: `topic_mastery(reviews, states, cards, now) -> list[TopicMastery]`,
`weakest_points(reviews, n=5) -> list[WeakPoint]`, `weak_topics(masteries) -> list[str]`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from tutor.cards import Card
from tutor.progress import Review

# Two weeks: about the gap between practice sessions before an interview loop; an answer from a month
# ago still counts, at a quarter of today's weight.
HALF_LIFE_DAYS = 14.0
# Point statuses that count as "missed" for the weakest-points list.
_MISSED = {"missed", "wrong"}


@dataclass
class TopicMastery:
    topic: str
    seen: int
    total: int
    mastery: float | None  # 0-1; None when nothing in the topic was answered yet
    due_now: int
    due_week: int
    reviews: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class WeakPoint:
    point: str
    card_id: str
    missed: int  # times graded missed or wrong
    asked: int  # times the point was graded at all

    def to_dict(self) -> dict:
        return asdict(self)


def recency_weight(age: timedelta) -> float:
    return 0.5 ** (max(age.total_seconds(), 0.0) / 86400.0 / HALF_LIFE_DAYS)


def topic_mastery(reviews: Iterable[Review], states: dict[str, dict], cards: Sequence[Card],
                  now: datetime) -> list[TopicMastery]:
    """One row per topic that has cards, in the cards' topic order."""
    topic_of = {c.id: c.topic for c in cards}
    totals: dict[str, int] = defaultdict(int)
    for c in cards:
        totals[c.topic] += 1
    seen: dict[str, set[str]] = defaultdict(set)
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    counts: dict[str, int] = defaultdict(int)
    for r in reviews:
        topic = topic_of.get(r.card_id, r.topic)
        if r.kind != "probe":
            seen[topic].add(r.card_id)
        w = recency_weight(now - r.reviewed_at)
        weighted[topic][0] += w * r.score
        weighted[topic][1] += w
        counts[topic] += 1
    due_now: dict[str, int] = defaultdict(int)
    due_week: dict[str, int] = defaultdict(int)
    for card_id, state in states.items():
        topic = topic_of.get(card_id)
        if topic is None:
            continue  # a card that left the corpus
        due = datetime.fromisoformat(state["due"])
        due_now[topic] += due <= now
        due_week[topic] += due <= now + timedelta(days=7)
    out = []
    for topic in dict.fromkeys(c.topic for c in cards):
        total_w = weighted[topic][1]
        mastery = round(weighted[topic][0] / total_w / 10.0, 3) if total_w > 0 else None
        out.append(TopicMastery(topic, len(seen[topic] & set(topic_of)), totals[topic], mastery,
                                due_now[topic], due_week[topic], counts[topic]))
    return out


def weak_topics(masteries: Sequence[TopicMastery], below: float = 0.7) -> list[str]:
    """Topics answered before whose mastery is under `below` (the grader's "correct" line), weakest first."""
    rows = [m for m in masteries if m.mastery is not None and m.mastery < below]
    return [m.topic for m in sorted(rows, key=lambda m: m.mastery)]


def weakest_points(reviews: Iterable[Review], n: int = 5) -> list[WeakPoint]:
    """The key points graded missed or wrong most often (ties: the larger share missed first)."""
    missed: dict[tuple[str, str], int] = defaultdict(int)
    asked: dict[tuple[str, str], int] = defaultdict(int)
    for r in reviews:
        for p in (r.grade or {}).get("points", []):
            key = (p.get("point", ""), r.card_id)
            asked[key] += 1
            missed[key] += p.get("status") in _MISSED or bool(p.get("missing"))  # a claim of it still missing
    rows = [WeakPoint(point, card_id, missed[(point, card_id)], asked[(point, card_id)])
            for point, card_id in asked if missed[(point, card_id)]]
    rows.sort(key=lambda w: (-w.missed, -w.missed / w.asked, w.card_id, w.point))
    return rows[:n]
