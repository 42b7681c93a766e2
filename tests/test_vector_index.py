"""FAISS index type by size: flat up to FLAT_MAX, IVF-Flat above, recorded in the manifest and honoured
at load (nprobe, direct map), with stored vectors readable back for incremental ingest."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from tests.conftest import FakeEmbedder


def _unit(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_small_corpora_get_an_exact_flat_index():
    from tutor.index import build_vectors

    index, spec = build_vectors(_unit(200), flat_max=1000)
    assert spec["type"] == "flat" and isinstance(index, faiss.IndexFlatIP)


def test_large_corpora_get_ivf_that_finds_each_vector_itself_and_keeps_exact_vectors():
    from tutor.index import build_vectors

    vecs = _unit(3000)
    index, spec = build_vectors(vecs, flat_max=1000)
    assert spec["type"] == "ivf" and spec["nlist"] == int(2 * np.sqrt(3000)) and spec["nprobe"] > 0
    _, ids = index.search(vecs[:50], 1)
    assert (ids[:, 0] == np.arange(50)).mean() >= 0.95  # the query's own cell is always probed first
    np.testing.assert_array_equal(index.reconstruct_n(0, index.ntotal), vecs)


def test_ivf_choice_is_recorded_in_the_manifest_and_survives_a_reload(config, monkeypatch):
    import tutor.index
    from tutor.index import load_index
    from tutor.ingest import ingest

    monkeypatch.setattr(tutor.index, "FLAT_MAX", 5)  # the fixture cards give ~20 chunks
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    loaded = load_index(config.index_dir, config, FakeEmbedder.name)
    spec = loaded.manifest["vector_index"]
    assert spec["type"] == "ivf" and spec["flat_max"] == 5
    assert faiss.extract_index_ivf(loaded.vectors).nprobe == spec["nprobe"]
    vecs = loaded.all_vectors()  # what incremental ingest reads back: needs the direct map
    expected = FakeEmbedder().encode([c.embed_text() for c in loaded.chunks])
    np.testing.assert_allclose(vecs, expected, atol=1e-6)


def test_default_index_is_flat_and_says_so(built_index):
    from tutor.index import read_manifest

    assert read_manifest(built_index.index_dir)["vector_index"]["type"] == "flat"


@pytest.mark.parametrize("threads", ["1", "2"])
def test_query_threads_follow_the_environment(monkeypatch, threads):
    from tutor.index import query_threads

    monkeypatch.setenv("TUTOR_FAISS_THREADS", threads)
    query_threads()
    assert faiss.omp_get_max_threads() == int(threads)
