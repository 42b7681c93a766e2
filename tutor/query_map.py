"""A learned linear map on MiniLM query vectors: the query side of retrieval, adapted to our cards.

MiniLM places a scenario ("my loss explodes and I never reset .grad") near cards that share its surface
words, not near the card that explains the cause. bench/learn_query_map.py fits a residual map
`q ↦ normalize(q + q @ A)` offline, on synthetic (query, card) pairs written from the cards themselves
(questions, other phrasings, key points, misconceptions and template rephrasings of them), with a softmax
over all cards; it is committed as tutor/query_map.npz. Only queries are mapped: the index keeps its
vectors, so nothing is re-ingested, and a map for another embedder is never applied.

The map decides ranking only. Refusal and `exact / closest` keep reading the cosine of the question as
typed (Retriever._raw_relevance), so the thresholds measured on raw MiniLM cosines still hold.

Measured (bench/retrieval_levers.py, cards-only index, 181 cards; dev / test): the committed map (the
fitted residual times 0.5, chosen on dev) moved rank 1 .735 → .752 on dev but .743 → .738 on test, so
Config.query_map is off; the pairs teach the cards' own wording, not how interviewers rephrase it.

The file records the embedder it was fitted for and the sha256 of its training pairs
(bench/query_map_pairs.jsonl); tests/test_query_map.py ties the two together. numpy only: the query path
stays torch-free.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

MAP_FILE = "query_map.npz"


@lru_cache(maxsize=1)
def load() -> dict[str, object]:
    """The committed map: `residual` (dim × dim float32), `model`, `data_sha256`; {} when absent."""
    ref = resources.files("tutor").joinpath(MAP_FILE)
    if not ref.is_file():
        return {}
    with ref.open("rb") as f, np.load(f) as data:
        return {"residual": data["residual"].astype(np.float32), "model": str(data["model"]),
                "data_sha256": str(data["data_sha256"])}


def for_embedder(name: str, dim: int) -> np.ndarray | None:
    """The residual for vectors of embedder `name`, or None: a map fitted on other vectors means nothing."""
    data = load()
    residual = data.get("residual")
    if not isinstance(residual, np.ndarray) or data.get("model") != name or residual.shape != (dim, dim):
        return None
    return residual


def apply(vectors: np.ndarray, residual: np.ndarray | None) -> np.ndarray:
    """Rows `q + q @ residual`, L2-normalized (cosine stays an inner product); unchanged without a map."""
    if residual is None:
        return vectors
    mapped = vectors + vectors @ residual
    return (mapped / np.clip(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12, None)).astype(np.float32)
