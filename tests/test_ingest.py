"""Ingest: incremental by content hash, lazy embedder, and never a half-built index."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.errors import CorpusError, UserError
from tutor.index import load_index
from tutor.ingest import ingest


def _never() -> FakeEmbedder:
    raise AssertionError("the embedder must not be constructed")


class Recorder:
    """An embedder factory remembering every text embedded through it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.built = 0

    def __call__(self) -> FakeEmbedder:
        self.built += 1
        recorder = self

        class Recording(FakeEmbedder):
            def encode(self, texts):
                recorder.texts += texts
                return super().encode(texts)

        return Recording()


def _ingest(config, factory=FakeEmbedder, **kw):
    return ingest(config, factory, FakeEmbedder.name, progress=False, **kw)


def _snapshot(index_dir):
    return {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file()}


def _load(config):
    return load_index(config.index_dir, config, FakeEmbedder.name)


def test_first_ingest_embeds_every_chunk_of_every_card(config):
    recorder = Recorder()

    report = _ingest(config, recorder)

    index = _load(config)
    assert report.changed
    assert report.n_sources == report.n_changed == report.n_cards == len(CARDS)
    assert report.n_chunks == report.n_embedded == len(index.chunks) == len(recorder.texts)
    assert recorder.built == 1
    assert {c.card_id for c in index.chunks} == set(CARDS)


def test_each_card_gets_a_question_chunk_with_its_other_phrasings(built_index):
    index = _load(built_index)

    for card_id, spec in CARDS.items():
        (question,) = [c for c in index.chunks if c.card_id == card_id and c.kind == "question"]
        assert spec["question"] in question.text
        assert all(phrase in question.text for phrase in spec["also_asked"])
        assert any(c.kind == "answer" for c in index.chunks if c.card_id == card_id)


def test_each_scenario_is_its_own_searchable_chunk_of_its_card(config, cards_dir, write_card):
    said = ["my model memorizes the training set", "what happens if half the units are switched off"]
    write_card(cards_dir, "training/dropout", scenarios=said)
    _ingest(config)
    index = _load(config)

    scenarios = [c for c in index.chunks if c.kind == "scenario"]
    assert [(c.id, c.text) for c in scenarios] == [("training/dropout#s1", said[0]), ("training/dropout#s2", said[1])]
    assert all(c.card_id == "training/dropout" and c.embed_text() == c.text for c in scenarios)
    assert index.cards["training/dropout"].scenarios == tuple(said)


def test_second_ingest_with_nothing_changed_never_builds_the_embedder(built_index):
    before = _snapshot(built_index.index_dir)

    report = _ingest(built_index, _never)

    assert report.n_embedded == 0
    assert not report.changed
    assert report.n_chunks == len(_load(built_index).chunks)
    assert _snapshot(built_index.index_dir) == before


def test_changing_one_card_re_embeds_only_that_cards_chunks(built_index, write_card):
    old = _load(built_index)
    old_vectors = dict(zip((c.id for c in old.chunks), old.all_vectors(), strict=True))
    write_card(built_index.sources[0], "training/dropout",
               body=CARDS["training/dropout"]["answer"] + " Monte Carlo dropout keeps it on at test time.")
    recorder = Recorder()

    report = _ingest(built_index, recorder)

    new = _load(built_index)
    dropout_chunks = [c for c in new.chunks if c.card_id == "training/dropout"]
    assert report.n_changed == 1
    assert report.n_embedded == len(dropout_chunks) == len(recorder.texts)
    assert sorted(recorder.texts) == sorted(c.embed_text() for c in dropout_chunks)
    assert "Monte Carlo" in new.cards["training/dropout"].answer
    for chunk, vec in zip(new.chunks, new.all_vectors(), strict=True):
        if chunk.card_id != "training/dropout":
            assert (vec == old_vectors[chunk.id]).all(), chunk.id


def test_a_malformed_card_fails_ingest_and_leaves_the_old_index_byte_identical(built_index, write_card):
    before = _snapshot(built_index.index_dir)
    path = write_card(built_index.sources[0], "training/dropout", difficulty="hard")

    with pytest.raises(CorpusError, match=str(path)):
        _ingest(built_index, _never)

    assert _snapshot(built_index.index_dir) == before
    assert _load(built_index).cards["training/dropout"].difficulty == CARDS["training/dropout"]["difficulty"]


def test_a_dangling_follow_up_fails_before_any_embedding(built_index, write_card):
    before = _snapshot(built_index.index_dir)
    write_card(built_index.sources[0], "training/dropout", follow_ups=["training/no-such-card"])

    with pytest.raises(CorpusError, match="training/no-such-card"):
        _ingest(built_index, _never)

    assert _snapshot(built_index.index_dir) == before


def test_duplicate_card_ids_across_sources_fail_ingest(config, tmp_path, write_card):
    other = tmp_path / "more-cards"
    write_card(other, "training/dropout", follow_ups=[])

    with pytest.raises(CorpusError, match="duplicate card id `training/dropout`"):
        _ingest(config.with_(sources=(*config.sources, other)), _never)


def test_rebuild_re_embeds_everything(built_index):
    recorder = Recorder()

    report = _ingest(built_index, recorder, rebuild=True)

    assert report.changed
    assert report.n_embedded == report.n_chunks == len(recorder.texts) == len(_load(built_index).chunks)


def test_an_index_built_with_another_chunker_is_rebuilt_not_mixed(built_index):
    smaller = built_index.with_(chunk_tokens=60, chunk_overlap=10)

    report = _ingest(smaller)

    index = load_index(smaller.index_dir, smaller, FakeEmbedder.name)
    assert report.n_embedded == report.n_chunks == len(index.chunks)
    assert max(c.token_count for c in index.chunks if c.kind == "answer") <= 60


def test_a_removed_card_disappears_from_the_index(built_index):
    (built_index.sources[0] / "basics" / "softmax.md").unlink()
    # learning-rate named softmax as its follow-up; keep the set consistent.
    (built_index.sources[0] / "basics" / "learning-rate.md").unlink()

    report = _ingest(built_index, _never)

    index = _load(built_index)
    assert report.changed and report.n_embedded == 0
    assert set(index.cards) == set(CARDS) - {"basics/softmax", "basics/learning-rate"}
    assert not any(c.card_id and c.card_id.startswith("basics/") for c in index.chunks)


def test_an_extra_document_is_indexed_and_kept_on_later_runs(built_index, tmp_path):
    doc = tmp_path / "notes.md"
    doc.write_text("# Gradient clipping\nClipping the gradient norm keeps exploding updates in check.\n",
                   encoding="utf-8")

    report = _ingest(built_index, paths=[doc])
    again = _ingest(built_index, _never)

    index = _load(built_index)
    doc_chunks = [c for c in index.chunks if c.card_id is None]
    assert report.n_embedded == len(doc_chunks) == 1
    assert doc_chunks[0].title == "Gradient clipping"
    assert not again.changed


def test_nothing_to_index_is_a_user_error(tmp_path, config):
    empty = tmp_path / "empty"
    empty.mkdir()

    with pytest.raises(UserError, match="nothing to index"):
        _ingest(config.with_(sources=(empty,)), _never)
    assert not (config.index_dir / "manifest.json").exists()


@pytest.mark.parametrize("name", ["slides.pptx", "missing.md"])
def test_unsupported_or_missing_paths_are_user_errors(config, tmp_path, name):
    path = tmp_path / name
    if name.endswith(".pptx"):
        path.write_bytes(b"PK")

    with pytest.raises(UserError, match=name):
        _ingest(config, _never, paths=[path])


def test_embedding_goes_longest_first_and_vectors_come_back_in_chunk_order():
    from tutor.ingest import _embed

    class Recording(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[list[str]] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return super().encode(texts)

    texts = [("word " * n).strip() + f" t{n}" for n in (3, 40, 1, 25, 7, 60, 2)]
    embedder = Recording()
    vectors = _embed(texts, embedder, progress=False, batch=3)

    assert [len(c) for c in embedder.calls] == [3, 3, 1]
    flat = [t for call in embedder.calls for t in call]
    assert [len(t) for t in flat] == sorted((len(t) for t in texts), reverse=True)  # similar lengths batched
    np.testing.assert_array_equal(vectors, FakeEmbedder().encode(texts))  # but rows in the caller's order
    assert _embed([], embedder, progress=False).shape == (0, FakeEmbedder.dim)


def test_re_ingest_parses_only_the_changed_card_and_keeps_the_others_as_stored(built_index, write_card,
                                                                                 monkeypatch):
    import tutor.ingest as ingest_module

    before = _load(built_index).cards
    parsed = []
    real = ingest_module.parse_card
    monkeypatch.setattr(ingest_module, "parse_card", lambda path: parsed.append(path) or real(path))
    write_card(built_index.sources[0], "training/dropout",
               body=CARDS["training/dropout"]["answer"] + " Monte Carlo dropout keeps it on at test time.")

    _ingest(built_index)

    assert [p.stem for p in parsed] == ["dropout"]
    after = _load(built_index).cards
    assert {k: v for k, v in after.items() if k != "training/dropout"} == \
        {k: v for k, v in before.items() if k != "training/dropout"}


def test_a_card_stored_by_an_older_version_is_parsed_again(built_index, write_card, monkeypatch):
    import json

    import tutor.ingest as ingest_module

    path = built_index.index_dir / "cards.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    rows[0].pop("also_asked")  # as if written before the field existed
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    manifest_path = built_index.index_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files_sha256"]["cards.jsonl"] = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    parsed = []
    real = ingest_module.parse_card
    monkeypatch.setattr(ingest_module, "parse_card", lambda p: parsed.append(p) or real(p))
    write_card(built_index.sources[0], "training/dropout",
               body=CARDS["training/dropout"]["answer"] + " An edit.")

    _ingest(built_index)

    assert sorted(p.stem for p in parsed) == sorted({"dropout", rows[0]["id"].split("/")[-1]})
    assert _load(built_index).cards[rows[0]["id"]].also_asked  # the field is back, from the card file
