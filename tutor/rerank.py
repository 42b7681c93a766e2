"""Card-level re-ranking: a linear score over features retrieval already computes.

The fused RRF score picks ~20 candidate cards; which of them comes first decides the extractive answer,
the first citation and the "exact / closest" notice. The score is a dot product of FEATURES with a weight
vector: by default the hand weights of round 1 (Config.rerank_weights; fused + cosine + coverage +
question cosine), or, with Config.rerank_weights None, weights learned offline by bench/learn_rank.py
(listwise softmax loss on the golden `dev` split plus synthetic queries from the cards' key points) and
committed as tutor/rerank_weights.json. Nothing is learned at run time and nothing needs installing.

Measured (cards-only index, 181 cards; bench/learn_rank.py and bench/retrieval_levers.py): the learned
weights put the right card first in 72.2% of held-out dev candidate pools against 69.7% for the hand
weights (5-fold), but end to end on dev rank 1 fell from .735 to .730 (follow-ups .623 → .607: a
conversation fuses the rankings of several searches, which the pool-level loss does not see). So the hand
weights stay the default; the features and the trainer are here for the next lever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tutor.index import Index
    from tutor.retrieve import Retriever

# Each feature is in [0, 1] or close to it (cosines may go slightly negative).
FEATURES = (
    "fused",         # the card's best fused RRF score / the best candidate's
    "cosine",        # best dense cosine of the card's chunks that the search saw
    "coverage",      # IDF-weighted share of the query's content words found anywhere in the card
    "q_cosine",      # cosine with the card's question chunk (question, other phrasings, aliases)
    "a_cosine",      # best cosine of the card's answer windows the search saw (0 when none)
    "q_coverage",    # share of the query's words in the question chunk alone: does it *ask* this?
    "bm25",          # best BM25 score of the card's chunks / the best BM25 score of the query
    "dense_rr",      # 1 / rank of the card in the dense order (first chunk of it)
    "bm25_rr",       # 1 / rank of the card in the BM25 order
    "named",         # the question uses one of the card's aliases
    "prior",         # the card is the one the conversation is about
    "coverage_gap",  # coverage minus the best coverage among the candidates (0 for the best covering card)
)
WEIGHTS_FILE = "rerank_weights.json"
# The hand weights of issue 13, round 1 (bench/retrieval_levers.py): fused + .5 cosine + coverage + .6 q cosine.
HAND = {"fused": 1.0, "cosine": 0.5, "coverage": 1.0, "q_cosine": 0.6}


@lru_cache(maxsize=1)
def learned_weights() -> dict[str, float]:
    """The committed weights, by feature name; a feature the file does not name weighs 0."""
    data = json.loads(resources.files("tutor").joinpath(WEIGHTS_FILE).read_text(encoding="utf-8"))
    return {name: float(w) for name, w in data["weights"].items() if name in FEATURES}


def weight_vector(weights: dict[str, float]) -> np.ndarray:
    return np.array([weights.get(name, 0.0) for name in FEATURES])


def hand_weights(cos: float, cov: float, qcos: float) -> dict[str, float]:
    """Config.rerank_weights (cosine, coverage, question cosine) as a feature-weight dict."""
    return {"fused": 1.0, "cosine": cos, "coverage": cov, "q_cosine": qcos}


def scores(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """One score per candidate row of `features` (columns in FEATURES order)."""
    return features @ weights


def fit(groups: list[tuple[np.ndarray, int]], sample_weight: list[float] | None = None,
        l2: float = 1e-2) -> np.ndarray:
    """Weights maximizing the softmax likelihood of the right candidate in each group (listwise).

    `groups`: (candidate features, index of the right candidate); groups without the right candidate
    in the pool teach nothing and are left out by the caller. L2 keeps the weights small and readable.
    """
    from scipy.optimize import minimize

    sw = np.ones(len(groups)) if sample_weight is None else np.asarray(sample_weight, dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for (x, right), s in zip(groups, sw, strict=True):
            z = x @ w
            z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            total -= s * float(np.log(p[right] + 1e-12))
            grad -= s * (x[right] - p @ x)
        return total / sw.sum() + l2 * float(w @ w), grad / sw.sum() + 2 * l2 * w

    start = weight_vector(HAND)
    return minimize(loss, start, jac=True, method="L-BFGS-B").x


@dataclass
class Signals:
    """What one search saw per chunk, for the re-ranker's features."""

    cosine: dict[int, float]  # chunk → cosine with the (expanded) query
    bm25: dict[int, float]  # chunk → BM25 score, for the chunks BM25 returned
    dense_order: list[int]  # chunks in dense rank order
    named: set[str]  # cards whose alias the question uses
    prior: str | None  # the conversation's card


def group_ranks(index: Index, order: list[int]) -> dict[str, int]:
    """1-based rank of each card (or document chunk) by its first chunk in `order`."""
    ranks: dict[str, int] = {}
    for i in order:
        key = index.chunks[i].card_id or index.chunks[i].id
        ranks.setdefault(key, len(ranks) + 1)
    return ranks


def features(retriever: Retriever, query: str, pool: list[tuple[str, tuple[float, float, int]]],
             fused: dict[int, float], sig: Signals, qvec: np.ndarray,
             full: bool = True) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The FEATURES row of each pooled candidate, and its (coverage, question cosine).

    With `full` False only the hand weights' four columns are filled (the others stay 0): the rest cost
    about 1 ms of CPU per search (2.5 → 3.6 ms, 561 chunks), for a ranking that does not use them.
    """
    from tutor.retrieve import terms

    top = pool[0][1][0]
    answer_cos: dict[str, float] = {}
    bm25: dict[str, float] = {}
    dense_rank: dict[str, int] = {}
    bm25_rank: dict[str, int] = {}
    qterms: set[str] = set()
    if full:
        for i in fused:
            chunk = retriever.index.chunks[i]
            key = chunk.card_id or chunk.id
            if chunk.kind == "answer" or not chunk.card_id:
                answer_cos[key] = max(answer_cos.get(key, -1.0), sig.cosine[i])
            if i in sig.bm25:
                bm25[key] = max(bm25.get(key, 0.0), sig.bm25[i])
        dense_rank = group_ranks(retriever.index, sig.dense_order)
        bm25_rank = group_ranks(retriever.index, sorted(sig.bm25, key=lambda i: -sig.bm25[i]))
        qterms = terms(query)
    best_bm25 = max(sig.bm25.values(), default=0.0) or 1.0
    rows, extra = [], []
    for key, (score, cos, _i) in pool:
        coverage = retriever.coverage(query, key)
        q = retriever.question_chunk(key)
        qcos = cos if q is None else sig.cosine[q] if q in sig.cosine else \
            float(retriever.index.vectors.reconstruct(q) @ qvec)
        if retriever.config.scenario_question_cosine:
            for s in retriever.scenario_chunks(key):  # a card asked as a situation: its best phrasing counts
                qcos = max(qcos, sig.cosine[s] if s in sig.cosine else
                           float(retriever.index.vectors.reconstruct(s) @ qvec))
        qcov = retriever.weighted_share(qterms, retriever.question_terms(q)) if full and q is not None else 0.0
        rows.append([score / top, cos, coverage, qcos, max(answer_cos.get(key, 0.0), 0.0), qcov,
                     bm25.get(key, 0.0) / best_bm25, 1 / dense_rank[key] if key in dense_rank else 0.0,
                     1 / bm25_rank[key] if key in bm25_rank else 0.0, float(key in sig.named),
                     float(key == sig.prior), 0.0])
        extra.append((coverage, qcos))
    x = np.array(rows, dtype=float)
    x[:, FEATURES.index("coverage_gap")] = x[:, 2] - x[:, 2].max()
    return x, extra
