"""BM25 without bm25s at query time: the same tokens, ids and scores as bm25s, written by ingest and read
back memory-mapped; an index written before the BM25 files existed still answers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.index import load_index
from tutor.retrieve import Retriever
from tutor.sparse import FILES, SparseIndex, build, from_bm25s, stopwords, tokenize

QUERIES = ["what does softmax do", "learning rate warmup and cosine decay schedule", "the the of a",
           "dropout dropout regularization", "zxqv nothing matches", "Logits → probabilities: SUM to one!"]


def _texts() -> list[str]:
    return [f"{c['question']}\n{c['answer']}" for c in CARDS.values()] + [" ".join(c["also_asked"]) for c in
                                                                          CARDS.values()]


def test_stopwords_and_tokens_are_bm25s_own():
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN

    assert stopwords() == frozenset(STOPWORDS_EN)
    for text in [*_texts(), *QUERIES]:
        tok = bm25s.tokenize([text], stopwords="en", show_progress=False, return_ids=False)
        assert tokenize(text) == list(tok[0])


@pytest.mark.parametrize("query", QUERIES)
def test_scores_and_ranking_match_bm25s(query):
    import bm25s

    texts = _texts()
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    ours = build(texts)
    np.testing.assert_allclose(ours.scores(query), from_bm25s(reference).scores(query), rtol=1e-5, atol=1e-6)

    want = np.zeros(len(texts), dtype=np.float32)
    terms = [t for t in tokenize(query) if t in reference.vocab_dict]
    if terms:
        want = reference.get_scores(terms)
    np.testing.assert_allclose(ours.scores(query), want, rtol=1e-5, atol=1e-6)
    ids, scores = ours.search(query, 5)
    assert list(scores) == sorted(scores, reverse=True)
    np.testing.assert_allclose(scores, np.sort(want)[::-1][:5], rtol=1e-5, atol=1e-6)
    assert all(want[i] == pytest.approx(s, rel=1e-5) for i, s in zip(ids, scores, strict=True))


def test_search_never_asks_for_more_than_the_corpus():
    ours = build(["alpha beta", "beta gamma"])
    ids, scores = ours.search("beta", 50)
    assert sorted(ids.tolist()) == [0, 1] and len(scores) == 2
    assert ours.search("beta", 0)[0].size == 0


def test_save_and_load_round_trip(tmp_path):
    ours = build(_texts())
    names = ours.save(tmp_path)
    assert sorted(names) == sorted(FILES.values())
    back = SparseIndex.load(tmp_path)
    assert back.vocab == ours.vocab and back.n_docs == ours.n_docs
    for query in QUERIES:
        np.testing.assert_array_equal(back.scores(query), ours.scores(query))


def test_ingest_writes_bm25_and_the_manifest_vouches_for_it(built_index):
    config = built_index
    manifest = json.loads((config.index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(FILES.values()) <= set(manifest["files_sha256"])
    index = load_index(config.index_dir, config, FakeEmbedder.name, FakeEmbedder.dim)
    assert index.sparse is not None and index.sparse.n_docs == len(index.chunks)
    expected = build([c.embed_text() for c in index.chunks])
    np.testing.assert_allclose(index.sparse.scores("softmax logits"), expected.scores("softmax logits"))


def test_an_index_from_before_the_bm25_files_still_answers(built_index):
    config = built_index
    path = config.index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for name in FILES.values():
        manifest["files_sha256"].pop(name)
        (config.index_dir / name).unlink()
    path.write_text(json.dumps(manifest), encoding="utf-8")
    index = load_index(config.index_dir, config, FakeEmbedder.name, FakeEmbedder.dim)
    assert index.sparse is None
    passages = Retriever(index, FakeEmbedder(), config).search("what does softmax do", 3)
    assert passages[0].card_id == "basics/softmax"
    # The next `tutor ingest` adds the BM25 files without embedding anything again.
    def no_embedder():
        raise AssertionError("nothing changed: nothing to embed")

    from tutor.ingest import ingest

    report = ingest(config, no_embedder, FakeEmbedder.name, progress=False)
    assert report.changed and report.n_embedded == 0
    assert load_index(config.index_dir, config, FakeEmbedder.name, FakeEmbedder.dim).sparse is not None


def test_a_bm25_file_edited_after_ingest_is_reported_corrupt(built_index):
    from tutor.errors import IndexCorrupt

    config = built_index
    target = config.index_dir / FILES["vocab"]
    target.write_text(target.read_text(encoding="utf-8").replace("softmax", "softmix"), encoding="utf-8")
    with pytest.raises(IndexCorrupt):
        load_index(config.index_dir, config, FakeEmbedder.name, FakeEmbedder.dim)


def test_building_bm25_at_ingest_needs_neither_bm25s_nor_scipy():
    import subprocess
    import sys

    code = ("import sys; from tutor.sparse import build; build(['alpha beta', 'beta gamma delta']); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'bm25s', 'scipy'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "[]", done.stderr[-1000:]


def test_a_corpus_of_stopwords_only_builds_an_empty_bm25(tmp_path):
    ours = build(["the of a", "and the"])
    assert ours.n_docs == 2 and ours.vocab == {}
    assert not ours.scores("the softmax").any()
    ours.save(tmp_path)  # empty arrays: written and read back (mmap refuses an empty file)
    assert not SparseIndex.load(tmp_path).scores("the softmax").any()
