"""The card-level re-ranker: committed weights, the listwise fit, and the features a search records."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor import rerank
from tutor.retrieve import Retriever


def test_committed_weights_name_known_features_and_are_finite():
    data = json.loads(resources.files("tutor").joinpath(rerank.WEIGHTS_FILE).read_text(encoding="utf-8"))
    assert set(data["weights"]) <= set(rerank.FEATURES)
    assert "test split was not used" in data["why"]
    w = rerank.weight_vector(rerank.learned_weights())
    assert w.shape == (len(rerank.FEATURES),) and np.isfinite(w).all() and w.any()


def test_fit_learns_which_feature_picks_the_right_candidate():
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(60):
        x = rng.random((8, len(rerank.FEATURES)))
        right = int(np.argmax(x[:, 5]))  # only feature 5 says which candidate is right
        groups.append((x, right))
    w = rerank.fit(groups, l2=1e-4)
    assert int(np.argmax(np.abs(w))) == 5
    held_out = [(x, int(np.argmax(x[:, 5]))) for x in rng.random((30, 8, len(rerank.FEATURES)))]
    assert np.mean([int(np.argmax(x @ w)) == r for x, r in held_out]) > 0.9
    # the hand weights know nothing of feature 5: they do no better than chance
    hand = rerank.weight_vector(rerank.HAND)
    assert np.mean([int(np.argmax(x @ hand)) == r for x, r in held_out]) < 0.5


def test_sample_weights_decide_between_conflicting_groups():
    x = np.eye(2, len(rerank.FEATURES))  # candidate 0 has feature 0, candidate 1 has feature 1
    w = rerank.fit([(x, 0), (x, 1)], [5.0, 1.0], l2=1e-3)
    assert int(np.argmax(x @ w)) == 0


def test_a_search_records_one_feature_row_per_pooled_candidate(tutor_fake):
    retriever = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config)
    retriever.feature_sink = []
    passages = retriever.search("dropout regularization zeroes units", k=3)
    (query, keys, x), = retriever.feature_sink
    assert query == "dropout regularization zeroes units"
    assert x.shape == (len(keys), len(rerank.FEATURES)) and set(keys) <= set(CARDS)
    col = {name: x[:, i] for i, name in enumerate(rerank.FEATURES)}
    assert col["fused"].max() == pytest.approx(1.0)  # normalized by the best candidate
    assert col["coverage_gap"].max() == pytest.approx(0.0) and (col["coverage_gap"] <= 0).all()
    assert ((col["dense_rr"] >= 0) & (col["dense_rr"] <= 1)).all()
    # the order follows the score of the configured weights
    w = rerank.weight_vector(rerank.hand_weights(*tutor_fake.config.rerank_weights))
    assert passages[0].card_id == keys[int(np.argmax(x @ w))]


def test_without_hand_weights_the_learned_ones_order_the_candidates(tutor_fake):
    from dataclasses import replace

    retriever = Retriever(tutor_fake.index, FakeEmbedder(), replace(tutor_fake.config, rerank_weights=None))
    retriever.feature_sink = []
    passages = retriever.search("what does batch normalization do to activations", k=4)
    (_, keys, x), = retriever.feature_sink
    w = rerank.weight_vector(rerank.learned_weights())
    assert [p.card_id for p in passages] == [keys[j] for j in np.argsort(-(x @ w), kind="stable")[:4]]


def test_explicit_hand_weights_override_the_learned_ones(tutor_fake):
    by_coverage = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(rerank_weights=(0.0, 100.0, 0.0)))
    by_coverage.feature_sink = []
    passages = by_coverage.search("gates cell state forget overflow", k=len(CARDS))
    (_, keys, x), = by_coverage.feature_sink
    assert passages[0].coverage == max(p.coverage for p in passages)
    assert passages[0].card_id == keys[int(np.argmax(x[:, rerank.FEATURES.index("coverage")]))]


def test_recording_features_does_not_change_the_hand_weighted_ranking(tutor_fake):
    """Without a sink the hand weights skip the columns they do not read; the order must not move."""
    plain = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config)
    recording = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config)
    recording.feature_sink = []
    for query in ("what is dropout", "gates cell state forget", "softmax of logits", "normalize activations"):
        a, b = plain.search(query, k=len(CARDS)), recording.search(query, k=len(CARDS))
        assert [(p.card_id, p.coverage) for p in a] == [(p.card_id, p.coverage) for p in b]
