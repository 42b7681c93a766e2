"""Hybrid retrieval: FAISS inner product + BM25, fused by reciprocal rank fusion, one passage per card.

The fused score ranks; it says nothing absolute. `relevance` (the best dense cosine of a passage's
chunks) is the calibrated signal the answering layer uses to refuse.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from tutor.chunk import Chunk
from tutor.config import Config
from tutor.embed import Embedder
from tutor.index import Index

_FOLLOW_UP = re.compile(
    r"^(and|but|so|or|also|then|what about|how about|why|how come|same|ok(ay)?|compared)\b"
    r"|\b(it|its|it's|that|this|they|them|those|these|their|one|ones|former|latter|there|above)\b",
    re.I,
)


@dataclass
class Passage:
    rank: int
    chunk_id: str
    card_id: str | None
    source: str
    title: str
    text: str
    score: float  # fused RRF score (ranking only)
    relevance: float  # best cosine similarity of this passage's chunks to the query

    def to_dict(self) -> dict:
        d = asdict(self)
        d["score"] = round(self.score, 6)
        d["relevance"] = round(self.relevance, 4)
        return d


def retrieval_query(question: str, history: list[str] | None = None) -> str:
    """Without an LLM, a follow-up is made standalone by prefixing the previous question.

    Only when it reads like a follow-up (a connective first, a pronoun, or very short): a fresh topic
    after a conversation must not drag the old one along.
    """
    if not history:
        return question
    if len(question.split()) <= 6 or _FOLLOW_UP.search(question):
        return f"{history[-1]} {question}"
    return question


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self._bm25 = None

    def _sparse(self):
        if self._bm25 is None:
            import bm25s

            self._bm25 = bm25s.BM25()
            tokens = bm25s.tokenize([c.embed_text() for c in self.index.chunks], stopwords="en", show_progress=False)
            self._bm25.index(tokens, show_progress=False)
        return self._bm25

    def search(self, query: str, k: int | None = None, pool: int = 50) -> list[Passage]:
        import bm25s

        k = k or self.config.k
        n = len(self.index.chunks)
        pool = min(pool, n)
        qvec = self.embedder.encode([query])
        cosines, dense_ids = self.index.vectors.search(np.ascontiguousarray(qvec, dtype=np.float32), pool)
        cos_of = {int(i): float(s) for i, s in zip(dense_ids[0], cosines[0], strict=True) if i >= 0}
        fused: dict[int, float] = {}
        for rank, i in enumerate(cos_of):
            fused[i] = fused.get(i, 0.0) + 1.0 / (self.config.rrf_k + rank + 1)
        qtok = bm25s.tokenize([query], stopwords="en", show_progress=False)
        if qtok.ids and qtok.ids[0]:
            ids, scores = self._sparse().retrieve(qtok, k=pool, show_progress=False)
            for rank, (i, s) in enumerate(zip(ids[0], scores[0], strict=True)):
                if s > 0:
                    fused[int(i)] = fused.get(int(i), 0.0) + 1.0 / (self.config.rrf_k + rank + 1)
        missing = [i for i in fused if i not in cos_of]
        if missing:  # BM25-only hits still need a cosine for the relevance signal
            vecs = self.index.vectors.reconstruct_batch(np.array(missing, dtype=np.int64))
            cos_of.update({i: float(v @ qvec[0]) for i, v in zip(missing, vecs, strict=True)})
        return self._collapse(fused, cos_of, k)

    def _collapse(self, fused: dict[int, float], cos_of: dict[int, float], k: int) -> list[Passage]:
        """One passage per card (its full answer) or per document chunk, best fused score first."""
        groups: dict[str, tuple[float, float, int]] = {}
        for i, score in fused.items():
            chunk = self.index.chunks[i]
            key = chunk.card_id or chunk.id
            best, rel, best_i = groups.get(key, (0.0, -1.0, i))
            # A card's score adds its chunks' votes: matching the question and the answer is stronger
            # evidence than either alone.
            groups[key] = (best + score, max(rel, cos_of[i]), best_i if score <= fused.get(best_i, 0) else i)
        ranked = sorted(groups.items(), key=lambda kv: -kv[1][0])[:k]
        return [self._passage(rank + 1, self.index.chunks[i], s, r) for rank, (_, (s, r, i)) in enumerate(ranked)]

    def _passage(self, rank: int, chunk: Chunk, score: float, relevance: float) -> Passage:
        card = self.index.cards.get(chunk.card_id or "")
        if card is not None:
            chunk_id = chunk.id if chunk.kind != "question" else f"{card.id}#0"
            return Passage(rank, chunk_id, card.id, chunk.source, card.question, card.answer, score, relevance)
        return Passage(rank, chunk.id, None, chunk.source, chunk.title, chunk.text, score, relevance)
