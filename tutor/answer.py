"""What an answer is (text, citations, refusal) and the extractive backend that needs no LLM.

The extractive backend is the floor every LLM backend falls back to: it quotes our curated answer for
the best-matching card, cites it, and refuses below the relevance threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from tutor.retrieve import Passage


@dataclass
class Citation:
    n: int
    chunk_id: str
    card_id: str | None
    source: str


@dataclass
class Answer:
    question: str
    standalone: str
    answer: str
    citations: list[Citation]
    refused: bool
    passages: list[Passage]
    backend: str
    latency_s: float = 0.0
    first_token_s: float | None = None
    notice: str | None = None
    id: str | None = None
    match: str | None = None  # exact | closest | none (tutor.answerability); None until the Tutor decides
    extra: dict = field(default_factory=dict)
    # The model's raw reply (cut to chain.MODEL_TEXT_CHARS), for `tutor eval` rows only: never in to_dict, so
    # a reply the guard stopped (a recited prompt) is not printed by `--json`.
    model_text: str | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        d = {
            "id": self.id,
            "question": self.question,
            "standalone": self.standalone,
            "answer": self.answer,
            "citations": [asdict(c) for c in self.citations],
            "refused": self.refused,
            "passages": [p.to_dict() for p in self.passages],
            "backend": self.backend,
            "latency_s": round(self.latency_s, 4),
            "first_token_s": None if self.first_token_s is None else round(self.first_token_s, 4),
            "notice": self.notice,
            "match": self.match if self.match is not None else ("none" if self.refused else "exact"),
        }
        d.update(self.extra)
        return d


def cite(n: int, p: Passage) -> Citation:
    return Citation(n, p.chunk_id, p.card_id, p.source)


# A refusal suggests a nearby question only when its passage is at least this close (dense cosine): "how do I
# bake bread" has nothing near it, and suggesting FID and gradient checking reads as noise. Chosen on the
# dev split of corpus/golden/out_of_scope.jsonl (cards-only index, session 16): the uncovered deep-learning
# questions' closest passages are at .36 or more, so .3 keeps all their suggestions (dev 14/14, test 17/17)
# while off-domain questions get none in 34 of 51 dev and 35 of 49 test rows (before: suggestions for all).
SUGGEST_MIN_COSINE = 0.3


def nearest_topics(passages: list[Passage], n: int = 3, min_cosine: float | None = None) -> list[str]:
    seen: list[str] = []
    # Curated card questions name a topic better than a window cut from a document.
    for p in sorted(passages, key=lambda p: p.card_id is None):
        if min_cosine is not None and p.cosine < min_cosine:
            continue
        if p.title not in seen:
            seen.append(p.title)
    return seen[:n]


def refusal_text(passages: list[Passage]) -> str:
    topics = nearest_topics(passages, min_cosine=SUGGEST_MIN_COSINE)
    text = "That is outside the material I cover, so I won't guess at it."
    if topics:
        text += " The nearest questions I can help with:\n" + "\n".join(f"- {t}" for t in topics)
    return text


def is_relevant(passages: list[Passage], min_relevance: float) -> bool:
    return bool(passages) and passages[0].relevance >= min_relevance


def extractive_answer(question: str, standalone: str, passages: list[Passage], min_relevance: float,
                      lead: str | None = None) -> Answer:
    """The best passage, cited [1], then up to two related cards; `lead`: what to show for passage [1]
    instead of its whole text, already cited (tutor/recap.py, when the learner was just shown it)."""
    if not is_relevant(passages, min_relevance):
        return Answer(question, standalone, refusal_text(passages), [], True, passages, "extractive")
    best = passages[0]
    text = lead or f"{best.text} [1]"
    citations = [cite(1, best)]
    related = [p for p in passages[1:3] if p.card_id and p.relevance >= min_relevance]
    if related:
        text += "\n\nRelated: " + "; ".join(f"{p.title} [{i + 2}]" for i, p in enumerate(related))
        citations += [cite(i + 2, p) for i, p in enumerate(related)]
    return Answer(question, standalone, text, citations, False, passages, "extractive")
