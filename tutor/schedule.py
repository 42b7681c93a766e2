"""Spaced repetition with FSRS-6 (the `fsrs` package): when should a card come back?

A grade (0-10) and the number of hints used become one of FSRS's four ratings; the scheduler turns the
card's previous memory state plus that rating into a new state and a due date. The state is a plain
dict (`fsrs.Card.to_dict()`), stored with every review, so the current schedule of a card is simply the
state written by its latest review: nothing mutable to race on, and an import of old reviews cannot
move a card's schedule backwards.

Public API (other modules and the app rely on these names):
- `rating_for(score, hints) -> Rating`          grade + hints → Again/Hard/Good/Easy
- `Schedule(desired_retention=0.9)`             `.review(state, rating, now) -> dict`,
                                                `.due(state) -> datetime`, `.preview(state, now)`
- `RATING_NAMES`                                 {1: "again", 2: "hard", 3: "good", 4: "easy"}
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tutor.errors import MissingExtra

try:  # `fsrs` ships in the [grade] extra
    import fsrs
except ImportError:  # pragma: no cover - exercised only without the extra
    fsrs = None

RATING_NAMES = {1: "again", 2: "hard", 3: "good", 4: "easy"}

# Score bands follow the grader's labels: below 3 is "incorrect" (Again: relearn it), 3-7 "partial"
# (Hard: remembered with gaps), 7-9 solid (Good), 9+ complete and fluent (Easy). 9 rather than 8.5 keeps
# Easy for answers that left nothing out: Easy multiplies the next interval, so a wrong Easy is costly.
_AGAIN_BELOW, _HARD_BELOW, _GOOD_BELOW = 3.0, 7.0, 9.0


def _require() -> None:
    if fsrs is None:
        raise MissingExtra("fsrs", "grade")


def rating_for(score: float, hints: int = 0) -> int:
    """The FSRS rating (1 Again .. 4 Easy) for a 0-10 score after `hints` hints.

    Each hint lowers the rating one step, because a hinted recall is weaker evidence of memory. An
    answer that passed (score >= 3) never drops below Hard: the learner did produce it, and Again would
    send the card back into relearning as if nothing had been recalled.
    """
    if score < _AGAIN_BELOW:
        return 1
    base = 2 if score < _HARD_BELOW else 3 if score < _GOOD_BELOW else 4
    return max(2, base - max(0, int(hints)))


class Schedule:
    """FSRS-6 with the package's published default weights.

    Fuzzing is off so that the same history always yields the same due dates (tests, exports and the
    two store back ends must agree); at our scale (a few hundred cards) the clumping fuzz prevents is
    not a problem.
    """

    def __init__(self, desired_retention: float = 0.9) -> None:
        _require()
        self.scheduler = fsrs.Scheduler(desired_retention=desired_retention, enable_fuzzing=False)

    def review(self, state: dict | None, rating: int, now: datetime) -> dict:
        """The memory state after reviewing a card (state None = never seen) with `rating` at `now`."""
        card = fsrs.Card.from_dict(state) if state else fsrs.Card(card_id=0, due=now)
        card, _log = self.scheduler.review_card(card, fsrs.Rating(int(rating)), now)
        return card.to_dict()

    @staticmethod
    def due(state: dict) -> datetime:
        return datetime.fromisoformat(state["due"])

    def preview(self, state: dict | None, now: datetime) -> dict[str, timedelta]:
        """Interval until the next review for each of the four ratings (what the UI shows)."""
        return {name: self.due(self.review(state, r, now)) - now for r, name in RATING_NAMES.items()}

    def retrievability(self, state: dict | None, now: datetime) -> float:
        """Estimated probability (0-1) that the learner still recalls the card now; 0 when never seen."""
        if not state or state.get("stability") is None:
            return 0.0
        return float(self.scheduler.get_card_retrievability(fsrs.Card.from_dict(state), now))


def interval_text(delta: timedelta) -> str:
    """A short human interval: '10 min', '5 h', '3 d', '2 mo'."""
    s = delta.total_seconds()
    if s < 3600:
        return f"{max(1, round(s / 60))} min"
    if s < 86400:
        return f"{round(s / 3600)} h"
    if s < 86400 * 60:
        return f"{round(s / 86400)} d"
    return f"{round(s / 86400 / 30)} mo"
