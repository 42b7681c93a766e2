"""A conversation as the app keeps it: turns with their cited passages, follow-ups asked in context.

The page only lays these out. What a turn shows (the validated answer, not the raw stream; each
citation's card title, source and passage text; the nearest covered questions after a refusal) is
decided here, so the browser, AppTest and any other front end show the same thing.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from tutor.answer import Answer
from tutor.recap import led_with
from tutor.settings import Settings, backend_args

MAX_SUGGESTIONS = 3
_LEAD_IN = re.compile(r"\s*The nearest questions I can help with:\s*$", re.MULTILINE)


@dataclass
class Source:
    """One citation, with what the sources panel shows when it is opened."""

    n: int
    title: str
    where: str  # card id, or the document's file name
    text: str
    card_id: str | None = None
    chunk_id: str | None = None

    @property
    def label(self) -> str:
        return f"[{self.n}] {self.title} — {self.where}"


@dataclass
class Turn:
    question: str
    standalone: str
    answer: str
    sources: list[Source] = field(default_factory=list)
    refused: bool = False
    suggestions: list[str] = field(default_factory=list)
    notice: str | None = None
    backend: str = ""
    latency_s: float = 0.0
    first_token_s: float | None = None

    @property
    def shown_text(self) -> str:
        """The answer as the page shows it: after a refusal the suggestions become buttons, so the
        text's own list of them (and its lead-in) is dropped rather than shown twice."""
        if not (self.refused and self.suggestions):
            return self.answer
        kept = [ln for ln in self.answer.splitlines() if ln.strip().lstrip("-* ").strip() not in self.suggestions]
        return _LEAD_IN.sub("", "\n".join(kept)).strip()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Turn:
        d = dict(d)
        d["sources"] = [Source(**s) for s in d.get("sources", [])]
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def _short_source(source: str) -> str:
    return source.rsplit("/", 1)[-1] if "/" in source and not source.startswith("corpus/cards") else source


def sources_of(answer: Answer) -> list[Source]:
    by_chunk = {p.chunk_id: p for p in answer.passages}
    out = []
    for c in answer.citations:
        p = by_chunk.get(c.chunk_id)
        title = (p.title if p else "") or c.chunk_id
        where = c.card_id or _short_source(c.source)
        out.append(Source(c.n, title, where, p.text if p else "", c.card_id, c.chunk_id))
    return out


def suggestions_of(answer: Answer, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """After a refusal: the nearest curated questions, which the tutor can answer, to ask instead."""
    if not answer.refused:
        return []
    seen: list[str] = []
    for p in answer.passages:
        if p.card_id and p.title and p.title not in seen:
            seen.append(p.title)
    return seen[:limit]


def turn_of(answer: Answer) -> Turn:
    return Turn(
        question=answer.question, standalone=answer.standalone, answer=answer.answer,
        sources=sources_of(answer), refused=answer.refused, suggestions=suggestions_of(answer),
        notice=answer.notice, backend=answer.backend, latency_s=answer.latency_s,
        first_token_s=answer.first_token_s,
    )


@dataclass
class Conversation:
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    turns: list[Turn] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)

    @property
    def history(self) -> list[str]:
        """What retrieval reads a follow-up against: the standalone form of each earlier answered question.

        A refused turn found no material, so it says nothing about the subject: "and why does it help?"
        after "what is batch norm?" and an off-topic aside still means batch norm."""
        return [t.standalone for t in self.turns if not t.refused]

    @property
    def shown(self) -> str | None:
        """The passage the last answered turn led with ([1]): a follow-up that lands on it again is answered
        with the part of it that bears on the follow-up, not the same answer twice (tutor/recap.py)."""
        answered = [t for t in self.turns if not t.refused]
        return led_with(answered[-1].sources) if answered else None

    @property
    def title(self) -> str:
        return self.turns[0].question if self.turns else "New conversation"

    def ask(self, tutor, settings: Settings, question: str) -> Iterator[str | Turn]:
        """Text pieces while the answer streams, then the finished `Turn` (already appended)."""
        backend, model = backend_args(tutor, settings)
        for event in tutor.stream(question, self.history, backend=backend, model=model, detail=settings.detail,
                                  shown=self.shown):
            if isinstance(event, Answer):
                turn = turn_of(event)
                self.turns.append(turn)
                yield turn
            else:
                yield event

    def to_dict(self) -> dict:
        return {"id": self.id, "started_at": self.started_at, "turns": [t.to_dict() for t in self.turns]}

    @classmethod
    def from_dict(cls, d: dict) -> Conversation:
        return cls(id=d["id"], started_at=d.get("started_at", time.time()),
                   turns=[Turn.from_dict(t) for t in d.get("turns", [])])
