"""The records the progress store keeps: reviews, conversations, interview scorecards, and what an
import did. Plain dataclasses with `to_dict()` / `from_dict()` (the export format); timestamps are
timezone-aware UTC, and every record carries a random id so writers and imports never collide.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Self


def utcnow() -> datetime:
    return datetime.now(UTC)


def _new_id() -> str:
    return uuid.uuid4().hex


def as_utc(value: datetime | str) -> datetime:
    """A datetime (or ISO text) as timezone-aware UTC; a naive value is taken to be UTC already."""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


class _Record:
    """The export format shared by every record: its one timestamp field (`_stamp`) as ISO text."""

    _stamp: ClassVar[str]

    def __post_init__(self) -> None:
        setattr(self, self._stamp, as_utc(getattr(self, self._stamp)))

    def to_dict(self) -> dict:
        return {**asdict(self), self._stamp: getattr(self, self._stamp).isoformat()}

    @classmethod
    def from_dict(cls, d: dict) -> Self:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class Review(_Record):
    """One graded answer. `rating` (1-4) and `state` (FSRS after it) are None when it did not move the
    schedule (an answer to a probing follow-up)."""

    profile: str
    card_id: str
    topic: str
    reviewed_at: datetime
    score: float
    label: str
    rating: int | None = None
    hints: int = 0
    kind: str = "quiz"  # quiz | probe | interview
    question: str = ""
    answer: str = ""
    grade: dict = field(default_factory=dict)  # Grade.to_dict(): per-point statuses feed mastery
    state: dict | None = None
    id: str = field(default_factory=_new_id)

    _stamp: ClassVar[str] = "reviewed_at"


@dataclass
class Conversation(_Record):
    """One question and answer of `tutor chat` or the app; `thread` groups the turns of one chat."""

    profile: str
    question: str
    answer: str
    citations: list[dict] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)
    thread: str = ""
    id: str = field(default_factory=_new_id)

    _stamp: ClassVar[str] = "created_at"


@dataclass
class ScorecardRecord(_Record):
    """A finished mock interview: the Markdown shown to the learner and the data behind it."""

    profile: str
    markdown: str
    data: dict = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    id: str = field(default_factory=_new_id)

    _stamp: ClassVar[str] = "created_at"


@dataclass
class ImportReport:
    added: dict[str, int] = field(default_factory=lambda: {"reviews": 0, "conversations": 0, "scorecards": 0})
    already_present: int = 0
    # Same id, different content: the stored record wins (an import never overwrites).
    conflicts: int = 0
    # Reviews older than the newest stored review of their card: kept as history, schedule unchanged.
    older_than_stored: int = 0
    profiles: list[str] = field(default_factory=list)  # whose records the file held (see them with --profile)

    def summary(self) -> str:
        a = self.added
        text = (f"imported {a['reviews']} reviews, {a['conversations']} conversations, {a['scorecards']} "
                f"scorecards; {self.already_present} already present")
        if self.older_than_stored:
            text += (f"; {self.older_than_stored} reviews are older than your latest review of the same card: "
                     "kept as history, schedules unchanged")
        if self.conflicts:
            text += f"; {self.conflicts} records differ from the stored ones with the same id: kept the stored ones"
        if self.profiles:
            text += f" (profiles: {', '.join(self.profiles)})"
        return text
