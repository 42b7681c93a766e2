"""A keyword grader with the shape of `tutor.grade.Grade`, for unit tests of practice and interviews.

A key point is "covered" when one of its keywords appears in the answer, "wrong" when the answer says
"not <keyword>", else "missed". Score = 10 × covered weight share, so tests control the score exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class FakePointGrade:
    point: str
    status: str
    evidence: str
    credit: float
    weight: float
    source: str


@dataclass
class FakeGrade:
    score: float
    label: str
    points: list[FakePointGrade]
    misconceptions: list = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    feedback: str = ""
    card_id: str | None = None
    question: str = ""
    latency_s: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def label_for(score: float) -> str:
    return "correct" if score >= 7 else "partial" if score >= 3 else "incorrect"


class FakeGrader:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.prepared: list[tuple[str, tuple[str, ...]]] = []  # (card id, its key points) as practice asked

    def prepare(self, card) -> None:
        self.prepared.append((card.id, tuple(kp.point for kp in card.key_points)))

    def __call__(self, answer: str, *, card) -> FakeGrade:
        self.calls.append((answer, card.id))
        low = answer.lower()
        points = []
        for kp in card.key_points:
            hit = next((k for k in kp.keywords if k.lower() in low), None)
            if hit and f"not {hit.lower()}" in low:
                points.append(FakePointGrade(kp.point, "wrong", f"not {hit}", 0.0, 1.0, card.id))
            elif hit:
                points.append(FakePointGrade(kp.point, "covered", hit, 1.0, 1.0, card.id))
            else:
                points.append(FakePointGrade(kp.point, "missed", "", 0.0, 1.0, card.id))
        score = round(10 * sum(p.credit for p in points) / max(1, len(points)), 1)
        flags = ["empty"] if not answer.strip() else []
        return FakeGrade(score, label_for(score), points, flags=flags, feedback=f"see {card.id}",
                         card_id=card.id, question=card.question)


def full_answer(card) -> str:
    """An answer naming one keyword of every key point (scores 10 with FakeGrader)."""
    return ". ".join(kp.keywords[0] for kp in card.key_points)


def partial_answer(card, n: int = 1) -> str:
    return ". ".join(kp.keywords[0] for kp in card.key_points[:n])
