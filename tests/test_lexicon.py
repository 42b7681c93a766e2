"""The lexicon ingest saves (glossary, word statistics) gives what building it in memory gives."""

from __future__ import annotations

import json

from conftest import FakeEmbedder

from tutor import lexicon
from tutor.index import load_index
from tutor.ingest import ingest
from tutor.retrieve import Retriever

QUESTIONS = ["what is BPTT", "How big does the KV cache get?", "explain dropout and batch norm",
             "how does MoE routing work", "how do I tune a postgres index", "BPTTs in practice"]


def _retriever(config, lexicon_on: bool) -> Retriever:
    index = load_index(config.index_dir, config, FakeEmbedder.name)
    if not lexicon_on:
        index.lexicon = None
    return Retriever(index, FakeEmbedder(), config)


def test_ingest_saves_a_lexicon_and_queries_read_it(built_index):
    index = load_index(built_index.index_dir, built_index, FakeEmbedder.name)
    assert index.lexicon is not None and index.lexicon["version"] == lexicon.VERSION
    assert index.manifest["lexicon_version"] == lexicon.VERSION


def test_saved_lexicon_retrieves_exactly_what_the_in_memory_one_does(built_index):
    saved, rebuilt = _retriever(built_index, True), _retriever(built_index, False)
    for q in QUESTIONS:
        a = [p.to_dict() for p in saved.search(q, 5)]
        b = [p.to_dict() for p in rebuilt.search(q, 5)]
        assert a == b, q
    assert saved.glossary.to_dict() == rebuilt.glossary.to_dict()


def test_per_card_word_sets_are_read_only_for_the_cards_a_query_meets(built_index):
    saved = _retriever(built_index, True)
    saved.search("what is BPTT", 2)
    assert 0 < len(saved._group_terms) <= len(saved.index.cards)
    assert saved.idf().n == len({c.card_id or c.id for c in saved.index.chunks})


def test_an_index_from_before_the_lexicon_is_upgraded_by_ingest_without_reembedding(built_index):
    folder = built_index.index_dir
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["files_sha256"][lexicon.FILE]
    del manifest["lexicon_version"]
    (folder / lexicon.FILE).unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    old = load_index(folder, built_index, FakeEmbedder.name)
    assert old.lexicon is None
    assert Retriever(old, FakeEmbedder(), built_index).search("what is BPTT", 1)  # still answers

    class NoEmbedding(FakeEmbedder):
        def encode(self, texts):
            raise AssertionError("an upgrade must not re-embed")

    report = ingest(built_index, NoEmbedding, FakeEmbedder.name, progress=False)
    assert report.changed and report.n_embedded == 0
    assert load_index(folder, built_index, FakeEmbedder.name).lexicon is not None


def test_a_lexicon_of_another_version_is_ignored_not_misread(built_index, monkeypatch):
    monkeypatch.setattr(lexicon, "VERSION", lexicon.VERSION + 1)
    assert lexicon.load(built_index.index_dir) is None


def test_a_one_letter_side_of_a_hyphenated_compound_is_kept_joined():
    # "deep Q-network" must not read as "deep network": the joined compound is a term of its own,
    # and it meets the same name written solid ("1D", "TSNE").
    assert {"qnetwork", "network"} <= lexicon.terms("Why does a deep Q-network need a target network?")
    assert {"tsne", "1d", "topk", "unet"} <= lexicon.terms("t-SNE, 1-D convolutions, top-k sampling, U-Nets")
    assert lexicon.terms("a 1D convolution") & lexicon.terms("a 1-D convolution") >= {"1d"}
    # formulas and compounds across another hyphen stay as they were
    assert lexicon.terms("t-1 and 1-p") == set()
    assert lexicon.terms("explaining-a-project") == {"explaining", "project"}
