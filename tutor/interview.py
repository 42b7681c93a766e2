"""A timed mock interview: questions across topics, harder after strong answers, easier after weak ones,
a probing follow-up after each, no hints; it ends with a scorecard saved to the progress store.

    interview = MockInterview(store, grade_fn, cards, profile, minutes=30, topics=["training", "nlp"])
    while (q := interview.next_question()):     # None once time is up, the question cap is hit, or no cards
        out = interview.submit(answer)          # graded, stored (kind "interview") and scheduled
        if (p := interview.probe()):
            interview.answer_probe(text)
    card = interview.finish()                   # Scorecard; saved once; card.to_markdown()

Difficulty starts at 2 (standard). A score of 7+ moves the next question up a level, below 4 down one,
mirroring how interviewers escalate. Topics rotate in the order given (default: every topic with cards,
in a seeded shuffle) so one interview samples breadth.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from tutor.cards import Card
from tutor.errors import UserError
from tutor.practice import GradeFn, Question, Round, filter_cards
from tutor.progress import ScorecardRecord, utcnow
from tutor.schedule import Schedule
from tutor.scorecard import Scorecard, build_scorecard

STRONG, WEAK = 7.0, 4.0


class MockInterview(Round):
    kind = "interview"

    def __init__(self, store, grade_fn: GradeFn, cards: Sequence[Card], profile: str, *, minutes: float = 30,
                 topics: Sequence[str] | None = None, questions: int | None = None, seed: int | None = None,
                 now: Callable[[], datetime] = utcnow, schedule: Schedule | None = None) -> None:
        super().__init__(store, grade_fn, cards, profile, now=now, schedule=schedule)
        if minutes <= 0:
            raise UserError(f"--minutes must be positive, not {minutes:g}")
        if questions is not None and questions < 1:
            raise UserError(f"--questions must be at least 1, not {questions}")
        pool: list[Card] = []
        for topic in topics or [None]:
            pool += filter_cards(cards, topic)
        self.pool = list({c.id: c for c in pool}.values())
        order = list(dict.fromkeys(c.topic for c in self.pool))
        if not topics:
            random.Random(seed).shuffle(order)
        self.topics, self.rng = order, random.Random(seed)
        self.minutes, self.max_questions = minutes, questions
        self.difficulty = 2
        self.started_at = self.now()
        self.results: list[dict] = []
        self._scorecard: Scorecard | None = None

    @property
    def ends_at(self) -> datetime:
        return self.started_at + timedelta(minutes=self.minutes)

    def remaining(self) -> timedelta:
        return max(self.ends_at - self.now(), timedelta(0))

    @property
    def finished(self) -> bool:
        return (self._scorecard is not None or self.now() >= self.ends_at
                or (self.max_questions is not None and len(self.results) >= self.max_questions))

    def next_question(self) -> Question | None:
        if self.finished:
            self.current = None
            return None
        left = [c for c in self.pool if c.id not in self.asked]
        if not left:
            self.current = None
            return None
        topic = self.topics[len(self.results) % len(self.topics)]
        in_topic = [c for c in left if c.topic == topic] or left
        gap = min(abs(c.difficulty - self.difficulty) for c in in_topic)
        card = self.rng.choice(sorted((c for c in in_topic if abs(c.difficulty - self.difficulty) == gap),
                                      key=lambda c: c.id))
        return self._ask(Question(card, "interview"))

    def submit(self, answer: str):
        out = super().submit(answer)
        card = self.current.card
        self.results.append({"card_id": card.id, "topic": card.topic, "difficulty": card.difficulty,
                             "question": card.question, "answer": answer, "grade": out.grade.to_dict(),
                             "probe": None})
        if out.grade.score >= STRONG:
            self.difficulty = min(3, self.difficulty + 1)
        elif out.grade.score < WEAK:
            self.difficulty = max(1, self.difficulty - 1)
        return out

    def answer_probe(self, answer: str):
        probe = self._probe
        out = super().answer_probe(answer)
        if self.results and probe is not None:
            self.results[-1]["probe"] = {**probe.to_dict(), "answer": answer, "grade": out.grade.to_dict()}
        return out

    def finish(self) -> Scorecard:
        """End the interview (also early), build the scorecard and save it once."""
        if self._scorecard is None:
            ended = self.now()
            self._scorecard = build_scorecard(self.profile, self.started_at, ended, self.results, self.cards)
            self.store.add_scorecard(ScorecardRecord(self.profile, self._scorecard.to_markdown(),
                                                     self._scorecard.to_dict(), ended))
        self.current = None
        return self._scorecard
