"""The adapted-embedder delta: fp16 factors round-trip, a corrupt file is refused, merging adds B @ A."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tutor.adapt import DELTA_FILE, SIDECAR_FILE, adapted_name, load_delta, merged_weights, save_delta
from tutor.errors import ModelNotInstalled


def _factors(rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"encoder.layer.0.attention.self.query": (rng.normal(size=(2, 4)), rng.normal(size=(3, 2))),
            "encoder.layer.0.output.dense": (rng.normal(size=(2, 3)), rng.normal(size=(4, 2)))}


def test_delta_round_trips_and_names_the_model(tmp_path):
    factors = _factors(np.random.default_rng(0))
    digest = save_delta(factors, tmp_path, {"rank": 2})
    delta = load_delta(tmp_path)
    assert delta.sha256 == digest and delta.meta["rank"] == 2
    assert delta.model_name == adapted_name(digest) and digest[:12] in delta.model_name
    for name, (a, b) in factors.items():  # stored as fp16
        np.testing.assert_allclose(delta.factors[name][0], a, atol=2e-3)
        np.testing.assert_allclose(delta.factors[name][1], b, atol=2e-3)


def test_corrupt_or_missing_delta_is_refused_with_a_fix(tmp_path):
    with pytest.raises(ModelNotInstalled, match="missing"):
        load_delta(tmp_path)
    save_delta(_factors(np.random.default_rng(1)), tmp_path, {})
    data = bytearray((tmp_path / DELTA_FILE).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / DELTA_FILE).write_bytes(bytes(data))
    with pytest.raises(ModelNotInstalled, match="sha256") as info:
        load_delta(tmp_path)
    assert "make install" in str(info.value.fix)
    (tmp_path / SIDECAR_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelNotInstalled, match="unreadable"):
        load_delta(tmp_path)


def test_merge_adds_the_low_rank_product_and_checks_shapes(tmp_path):
    factors = _factors(np.random.default_rng(2))
    save_delta(factors, tmp_path, {})
    delta = load_delta(tmp_path)
    weights = {"encoder.layer.0.attention.self.query.weight": np.ones((3, 4), np.float32),
               "encoder.layer.0.output.dense.weight": np.zeros((4, 3), np.float32),
               "pooler.dense.weight": np.ones((2, 2), np.float32)}
    merged = merged_weights(weights, delta)
    assert set(merged) == {"encoder.layer.0.attention.self.query.weight", "encoder.layer.0.output.dense.weight"}
    a, b = delta.factors["encoder.layer.0.output.dense"]
    np.testing.assert_allclose(merged["encoder.layer.0.output.dense.weight"], b @ a, rtol=1e-6)
    assert merged["encoder.layer.0.attention.self.query.weight"].dtype == np.float32
    weights["encoder.layer.0.output.dense.weight"] = np.zeros((3, 4), np.float32)
    with pytest.raises(ModelNotInstalled, match="the weight"):
        merged_weights(weights, delta)
    del weights["encoder.layer.0.output.dense.weight"]
    with pytest.raises(ModelNotInstalled, match="lacks"):
        merged_weights(weights, delta)
    assert json.loads((tmp_path / SIDECAR_FILE).read_text())["bytes"] == (tmp_path / DELTA_FILE).stat().st_size


def test_training_batches_never_pair_one_card_twice_and_topic_batches_stay_in_topic():
    import random

    from tutor.adapt_train import _batches

    anchors = [(f"q{i}", "nlp" if i % 3 else "vision", i % 7) for i in range(60)]
    batches = _batches(anchors, 4, random.Random(0), topic_share=1.0)
    assert sorted(i for b in batches for i in b) == sorted(set(i for b in batches for i in b))
    for batch in batches:
        assert 1 < len(batch) <= 4
        assert len({anchors[i][2] for i in batch}) == len(batch)  # a second pair of a card is a false negative
        assert len({anchors[i][1] for i in batch}) == 1
    assert _batches(anchors, 4, random.Random(0), 1.0) == batches  # seeded: the same plan every run
