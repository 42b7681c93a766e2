"""The query-side map (tutor/query_map.py): tied to its training pairs, applied to ranking only."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from test_retrieve import FixedEmbedder, doc_index, unit_rows

from tutor import query_map
from tutor.config import REPO_ROOT, Config
from tutor.retrieve import Retriever

PAIRS = REPO_ROOT / "bench" / "query_map_pairs.jsonl"


def test_committed_map_was_fitted_on_the_committed_pairs_for_minilm():
    data = query_map.load()
    assert data, "tutor/query_map.npz is missing: run bench/learn_query_map.py --write"
    # A new pairs file without refitting (or a map fitted on other pairs) fails here: refit and commit both.
    assert data["data_sha256"] == hashlib.sha256(PAIRS.read_bytes()).hexdigest(), \
        "bench/query_map_pairs.jsonl changed since the map was fitted: run bench/learn_query_map.py --write"
    assert data["model"] == "all-MiniLM-L6-v2"
    assert data["residual"].shape == (384, 384)
    assert (REPO_ROOT / "tutor" / query_map.MAP_FILE).stat().st_size < 2_000_000


def test_a_map_is_only_used_for_the_embedder_it_was_fitted_on():
    assert query_map.for_embedder("all-MiniLM-L6-v2", 384) is not None
    assert query_map.for_embedder("all-MiniLM-L6-v2-int8", 384) is None
    assert query_map.for_embedder("fake", 384) is None
    assert query_map.for_embedder("all-MiniLM-L6-v2", 16) is None


def test_apply_keeps_rows_unit_length_and_is_the_identity_without_a_map():
    rng = np.random.default_rng(0)
    q = unit_rows(rng, 3, 8)
    assert query_map.apply(q, None) is q
    mapped = query_map.apply(q, rng.standard_normal((8, 8)).astype(np.float32))
    assert np.linalg.norm(mapped, axis=1) == pytest.approx(np.ones(3), abs=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_the_map_moves_the_ranking_but_relevance_reads_the_question_as_typed(seed, tmp_path):
    rng = np.random.default_rng(seed)
    vectors = unit_rows(rng, 6, 16)
    qvec, target = vectors[0], vectors[1]
    # q + q @ R = target: the mapped query points exactly at window 1.
    residual = np.outer(qvec, target - qvec).astype(np.float32)
    config = Config(index_dir=tmp_path, sources=(), k=3, rerank_weights=(0.0, 0.0, 0.0))
    retriever = Retriever(doc_index(["w"] * 6, vectors, tmp_path), FixedEmbedder(qvec), config)
    assert retriever.query_map is None  # "fixed" is not the embedder the committed map was fitted on
    assert retriever.search("the of and")[0].chunk_id == "doc.txt#0"

    retriever.query_map = residual
    top = retriever.search("the of and")[0]

    assert top.chunk_id == "doc.txt#1"
    assert top.cosine == pytest.approx(float(vectors[1] @ qvec), abs=1e-5)
