"""What the Practice, Mock interview and Progress pages show, decided outside the pages.

The practice engine (`tutor.practice`, `tutor.interview`, `tutor.mastery`) already decides what to ask
and how to schedule; this module turns its results into rows a page can lay out (per-point ✓/~/✗ with
the learner's own words, progress summaries, chart data) and wires it to the Tutor's cards and grader.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from tutor.cards import Card
from tutor.config import data_home
from tutor.hints import hints_for
from tutor.mastery import TopicMastery, WeakPoint, topic_mastery, weakest_points
from tutor.practice import PracticeSession, Question, grader_for
from tutor.progress import Conversation as ConversationRecord
from tutor.progress import open_store, utcnow
from tutor.session import Conversation, Source, Turn

SYMBOLS = {"covered": "✓", "partly": "~", "missed": "✗", "wrong": "✗"}
STATUS_WORDS = {"covered": "covered", "partly": "partly covered", "missed": "missed", "wrong": "wrong claim"}
DIFFICULTY = {1: "screening", 2: "standard", 3: "senior"}
GradeFn = Callable[..., object]


def store_for(home: Path | None = None):
    """The learner's progress store: $TUTOR_DB when set, else SQLite under the data home."""
    return open_store(None, home or data_home())


def cards_of(tutor) -> list[Card]:
    """The indexed cards (what practice asks about), in id order."""
    return sorted(tutor.index.cards.values(), key=lambda c: c.id)


def grade_fn_for(tutor) -> GradeFn:
    """`grade(answer, card=card) -> Grade`: the Tutor's grader as practice calls it (answer length checked)."""
    return grader_for(tutor)


@dataclass
class PointRow:
    symbol: str
    status: str
    point: str
    evidence: str


def point_rows(grade) -> list[PointRow]:
    """One row per key point: ✓ covered, ~ partly, ✗ missed or wrong, with the learner's deciding words."""
    rows = []
    for p in getattr(grade, "points", []):
        evidence = p.evidence.strip()
        if not evidence and p.status == "missed":
            evidence = "not mentioned"
        rows.append(PointRow(SYMBOLS.get(p.status, "?"), STATUS_WORDS.get(p.status, p.status), p.point, evidence))
    return rows


def question_badges(q: Question) -> str:
    reason = {"due": "due for review", "weak": "weak topic", "new": "new card", "ahead": "review ahead",
              "interview": "interview", "chosen": "chosen from Progress"}.get(q.reason, q.reason)
    return f"{q.card.topic} · {DIFFICULTY.get(q.card.difficulty, q.card.difficulty)} · {reason}"


def practise_card(session: PracticeSession, card: Card) -> Question:
    """Open `card` as the session's current question (a weak point picked on the Progress page)."""
    question = session._ask(Question(card, "chosen"))
    session._hints = hints_for(card)
    return question


def due_text(due: datetime | None, now: datetime | None = None) -> str:
    if due is None:
        return ""
    days = (due - (now or utcnow())).total_seconds() / 86400
    if days < 1:
        return "comes back later today" if days > 0 else "due again now"
    return f"comes back in {days:.0f} day{'s' if round(days) != 1 else ''}"


@dataclass
class ProgressSummary:
    masteries: list[TopicMastery]
    weakest: list[WeakPoint]
    due_today: int
    due_week: int
    n_reviews: int
    per_day: dict[str, int]  # ISO date -> answers graded that day (last 30 days)

    def mastery_chart(self) -> dict[str, list]:
        """Chart rows: topic, mastery % (0 when not practised yet) and the label drawn at the bar's end."""
        pct = [None if m.mastery is None else round(100 * m.mastery) for m in self.masteries]
        return {"topic": [m.topic for m in self.masteries],
                "mastery %": [p or 0 for p in pct],
                "label": ["not practised yet" if p is None else f"{p}% · {m.seen}/{m.total} cards"
                          for p, m in zip(pct, self.masteries, strict=True)]}


def progress_summary(store, profile: str, cards: Sequence[Card], now: datetime | None = None) -> ProgressSummary:
    now = now or utcnow()
    reviews = store.reviews(profile)
    states = store.schedule_states(profile)
    masteries = topic_mastery(reviews, states, cards, now)
    since = (now - timedelta(days=29)).date()
    counts = Counter(r.reviewed_at.date().isoformat() for r in reviews if r.reviewed_at.date() >= since)
    per_day = {(since + timedelta(days=i)).isoformat(): 0 for i in range(30)}
    per_day.update(counts)
    return ProgressSummary(masteries, weakest_points(reviews, n=8), sum(m.due_now for m in masteries),
                           sum(m.due_week for m in masteries), len(reviews), per_day)


def save_turn(store, profile: str, conversation: Conversation, turn: Turn) -> None:
    """Keep an answered turn, so the conversation can be reopened from the Ask page later."""
    store.add_conversation(ConversationRecord(
        profile, turn.question, turn.answer, [s.__dict__ | {"standalone": turn.standalone} for s in turn.sources]
        or [{"standalone": turn.standalone}], thread=conversation.id))


def past_conversations(store, profile: str, limit: int = 10) -> list[tuple[str, str, int]]:
    """(thread id, first question, number of turns), newest first."""
    threads: dict[str, list[ConversationRecord]] = {}
    for rec in store.conversations(profile):
        threads.setdefault(rec.thread or rec.id, []).append(rec)
    ordered = sorted(threads.items(), key=lambda kv: max(r.created_at for r in kv[1]), reverse=True)
    out = []
    for thread, recs in ordered[:limit]:
        recs.sort(key=lambda r: r.created_at)
        out.append((thread, recs[0].question, len(recs)))
    return out


def reopen(store, profile: str, thread: str) -> Conversation:
    """Rebuild a stored conversation; its follow-ups are read in the reopened context."""
    recs = sorted((r for r in store.conversations(profile) if (r.thread or r.id) == thread),
                  key=lambda r: r.created_at)
    turns = []
    for r in recs:
        cites = [c for c in r.citations if isinstance(c, dict)]
        standalone = next((c.get("standalone") for c in cites if c.get("standalone")), r.question)
        sources = [Source(**{k: c[k] for k in ("n", "title", "where", "text", "card_id") if k in c})
                   for c in cites if "n" in c]
        turns.append(Turn(r.question, standalone, r.answer, sources))
    return Conversation(id=thread, turns=turns)


def scorecard_body(scorecard) -> str:
    """The scorecard's Markdown for the page: its own title dropped (the page has one), sections one
    level smaller so they sit under the page's headings."""
    body = scorecard.to_markdown().split("\n", 1)[1]
    return "\n".join("#" + ln if ln.startswith("## ") else ln for ln in body.splitlines())
