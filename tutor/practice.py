"""The practice loop: pick the next card, offer hints, grade the answer, schedule it, probe the gaps.

    session = PracticeSession(store, grade_fn, cards, profile, topic="training", now=clock)
    q = session.next_question()        # Question(card, reason="due"|"weak"|"new"|"ahead") or None
    session.hint()                     # up to three, least revealing first; each lowers the rating
    out = session.submit(answer)       # Outcome(grade, rating, due, interval, review); review is stored
    p = session.probe()                # Probe: the interviewer's follow-up on the biggest gap, or None
    session.answer_probe(text)         # Outcome for the probe (stored as kind "probe", not scheduled)
    session.skip()                     # move on without grading

Order of questions: due cards (most overdue first), then cards from weak topics (unseen first, then the
lowest last score), then new cards (easiest first), then — unless `due_only` — the cards due soonest.
A card is asked once per session unless `repeat=True`. `grade_fn(answer, card=card) -> Grade` is the
grader (`grader_for(tutor)` in the app and CLI, a fake in tests); `now` is a clock so tests can fix time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from tutor.cards import TOPICS, Card
from tutor.errors import UserError
from tutor.hints import hints_for
from tutor.mastery import topic_mastery, weak_topics
from tutor.probe import Probe, probe_card, probe_for
from tutor.progress import Review, utcnow
from tutor.schedule import RATING_NAMES, Schedule, rating_for

Grade = Any  # tutor.grade.Grade: score, label, points, misconceptions, flags, feedback, to_dict()


class GradeFn(Protocol):
    """`grade_fn(answer, card=card) -> Grade`. One that also has `prepare(card)` is told each card as it is
    asked, before the answer comes (`grader_for`'s builds the card's rubric then)."""

    def __call__(self, answer: str, *, card: Card) -> Grade: ...


class PracticeGrader:
    """The real grader as practice calls it, from a `tutor.tutor.Tutor` (template feedback, no LLM).

    It calls `Tutor.grader.grade(answer, card=card)` rather than `Tutor.grade(card_id=…)` because a probe
    grades against a card narrowed to one point, which has no id of its own in the index.
    """

    def __init__(self, tutor) -> None:
        self.grader, self.config = tutor.grader, tutor.config

    def __call__(self, answer: str, *, card: Card) -> Grade:
        from tutor.tutor import check_answer  # loaded already: the grader came from a Tutor

        return self.grader.grade(check_answer(answer, self.config), card=card)

    def prepare(self, card: Card) -> None:
        """While the learner reads and answers (Grader.prepare). Measured on 40 cards, each graded once as
        practice does (2 cores; bench/practice_grade.py): first grade on a card p50 432-476 ms unprepared,
        231-284 ms prepared; the first grade of a process 2.8-3.5 s unprepared (the judge opening), 247-328 ms
        prepared."""
        self.grader.prepare(card)


def grader_for(tutor) -> GradeFn:
    return PracticeGrader(tutor)


@dataclass
class Question:
    card: Card
    reason: str  # due | weak | new | ahead | interview
    due: datetime | None = None

    def to_dict(self) -> dict:
        return {"card_id": self.card.id, "topic": self.card.topic, "difficulty": self.card.difficulty,
                "question": self.card.question, "reason": self.reason,
                "due": self.due.isoformat() if self.due else None}


@dataclass
class Outcome:
    grade: Grade
    review: Review
    rating: int | None = None  # None: did not move the schedule (a probe)
    due: datetime | None = None

    @property
    def interval(self) -> timedelta | None:
        return self.due - self.review.reviewed_at if self.due else None

    @property
    def rating_name(self) -> str | None:
        return RATING_NAMES.get(self.rating) if self.rating else None

    def to_dict(self) -> dict:
        return {"grade": self.grade.to_dict(), "rating": self.rating_name,
                "due": self.due.isoformat() if self.due else None, "review_id": self.review.id}


def filter_cards(cards: Sequence[Card], topic: str | None = None, difficulty: int | None = None) -> list[Card]:
    """The cards matching the filters; a bad filter or an empty result is a UserError that says what exists."""
    if topic is not None and topic not in TOPICS:
        raise UserError(f"unknown topic {topic!r}; choose one of: {', '.join(TOPICS)}")
    if difficulty is not None and difficulty not in (1, 2, 3):
        raise UserError(f"difficulty must be 1 (screening), 2 (standard) or 3 (senior), not {difficulty}")
    out = [c for c in cards if (topic is None or c.topic == topic)
           and (difficulty is None or c.difficulty == difficulty)]
    if not out:
        have = sorted({c.topic for c in cards})
        raise UserError(f"no cards match topic={topic or 'any'} difficulty={difficulty or 'any'}; topics with "
                        f"cards: {', '.join(have) or 'none (run: tutor ingest)'}")
    return out


class Round:
    """What a quiz and a mock interview share: grading, storing and scheduling one answer, and its probe."""

    kind = "quiz"

    def __init__(self, store, grade_fn: GradeFn, cards: Sequence[Card], profile: str, *,
                 now: Callable[[], datetime] = utcnow, schedule: Schedule | None = None) -> None:
        self.store, self.grade_fn, self.profile, self.now = store, grade_fn, profile, now
        self.cards = {c.id: c for c in cards}
        self.schedule = schedule or Schedule()
        self.current: Question | None = None
        self.asked: list[str] = []
        self.hints_used = 0
        self.last: Outcome | None = None
        self._probe: Probe | None = None

    def _ask(self, question: Question) -> Question:
        self.current, self.hints_used, self.last, self._probe = question, 0, None, None
        self.asked.append(question.card.id)
        self._prepare(question.card)
        return question

    def _prepare(self, card: Card) -> None:
        prepare = getattr(self.grade_fn, "prepare", None)
        if prepare is not None:
            prepare(card)

    def submit(self, answer: str) -> Outcome:
        """Grade the answer to the current question, schedule the card and store the review."""
        if self.current is None:
            raise UserError("there is no open question; ask for the next one first")
        card, now = self.current.card, self.now()
        grade = self.grade_fn(answer, card=card)
        rating = rating_for(grade.score, self.hints_used)
        state = self.schedule.review(self.store.schedule_states(self.profile).get(card.id), rating, now)
        review = Review(self.profile, card.id, card.topic, now, grade.score, grade.label, rating, self.hints_used,
                        self.kind, card.question, answer, grade.to_dict(), state)
        self.store.add_review(review)
        self.last = Outcome(grade, review, rating, Schedule.due(state))
        self._probe = probe_for(grade, card, self.cards, set(self.asked), answer)
        if self._probe is not None and self._probe.card_id in self.cards:
            self._prepare(probe_card(self._probe, self.cards))
        return self.last

    def probe(self) -> Probe | None:
        """The follow-up on the last graded answer (None before a grade, or when nothing is left to ask)."""
        return self._probe

    def answer_probe(self, answer: str) -> Outcome:
        """Grade the answer to the probe against the probed point; stored, but the schedule is unchanged."""
        if self._probe is None:
            raise UserError("there is no follow-up question to answer")
        probe, now = self._probe, self.now()
        card = probe_card(probe, self.cards)
        grade = self.grade_fn(answer, card=card)
        review = Review(self.profile, card.id, card.topic, now, grade.score, grade.label, None, 0, "probe",
                        probe.question, answer, grade.to_dict(), None)
        self.store.add_review(review)
        if probe.kind == "follow_up":
            self.asked.append(probe.card_id)
        self._probe = None
        return Outcome(grade, review)


class PracticeSession(Round):
    def __init__(self, store, grade_fn: GradeFn, cards: Sequence[Card], profile: str, *,
                 topic: str | None = None, difficulty: int | None = None, due_only: bool = False,
                 repeat: bool = False, now: Callable[[], datetime] = utcnow, schedule: Schedule | None = None) -> None:
        super().__init__(store, grade_fn, cards, profile, now=now, schedule=schedule)
        self.all_cards = list(cards)
        self.pool = filter_cards(cards, topic, difficulty)
        self.due_only, self.repeat = due_only, repeat
        self._hints: list[str] = []

    def next_question(self) -> Question | None:
        """The next card to ask, or None when the session has nothing left (see the module docstring)."""
        question = self._pick()
        if question is not None:
            self._ask(question)
            self._hints = hints_for(question.card)
        else:
            self.current = None
        return question

    def _pick(self) -> Question | None:
        now = self.now()
        states = self.store.schedule_states(self.profile)
        pool = [c for c in self.pool if self.repeat or c.id not in self.asked]
        due_at = {c.id: Schedule.due(states[c.id]) for c in pool if c.id in states}
        due = sorted((c for c in pool if c.id in due_at and due_at[c.id] <= now), key=lambda c: (due_at[c.id], c.id))
        if due:
            return Question(due[0], "due", due_at[due[0].id])
        if self.due_only:
            return None
        reviews = self.store.reviews(self.profile)
        last_score = {r.card_id: r.score for r in reviews if r.kind != "probe"}
        weak = weak_topics(topic_mastery(reviews, states, self.all_cards, now))
        unseen = sorted((c for c in pool if c.id not in states), key=lambda c: (c.difficulty, c.id))
        for topic in weak:
            fresh = [c for c in unseen if c.topic == topic]
            shaky = sorted((c for c in pool if c.topic == topic and last_score.get(c.id, 10.0) < 7.0),
                           key=lambda c: (last_score[c.id], c.id))
            if fresh or shaky:
                card = (fresh or shaky)[0]
                return Question(card, "weak", due_at.get(card.id))
        if unseen:
            return Question(unseen[0], "new")
        ahead = sorted((c for c in pool if c.id in due_at), key=lambda c: (due_at[c.id], c.id))
        return Question(ahead[0], "ahead", due_at[ahead[0].id]) if ahead else None

    @property
    def hints_left(self) -> int:
        return len(self._hints) - self.hints_used if self.current else 0

    def hint(self) -> str | None:
        """The next hint for the current question, or None when all were shown (or no question is open)."""
        if self.current is None or self.last is not None or self.hints_used >= len(self._hints):
            return None
        self.hints_used += 1
        return self._hints[self.hints_used - 1]

    def skip(self) -> None:
        self.current, self._probe = None, None
