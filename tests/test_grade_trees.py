"""The boosted trees of the label classifier, exported to numpy: they must give scikit-learn's own verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from tutor import grade_mlp, grade_trees
from tutor import grade_model as gm


def _data(n: int = 400, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 5))
    # labels from thresholds and an interaction, plus a constant column no split can use
    y = (z[:, 0] > 0).astype(int) + ((z[:, 1] > 0.5) & (z[:, 2] < 0)).astype(int)
    z[:, 4] = 1.0
    return z, y


def _reference(z: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_depth=grade_trees.DEPTH, learning_rate=grade_trees.RATE,
                                          max_iter=grade_trees.ROUNDS, l2_regularization=grade_trees.L2,
                                          early_stopping=False, random_state=grade_trees.SEED).fit(z, y)


def test_the_exported_trees_give_scikit_learns_probabilities():
    z, y = _data()
    trees = grade_trees.as_arrays(json.loads(json.dumps({k: v.tolist() for k, v in grade_trees.fit(z, y, 3).items()})))
    fresh = np.random.default_rng(9).normal(size=(200, 5))
    fresh[:, 4] = 1.0

    want = _reference(z, y).predict_proba(fresh)
    assert np.abs(grade_trees.probabilities(trees, fresh) - want).max() < 1e-9
    # one row at a time is the same as the matrix
    assert np.abs(grade_trees.probabilities(trees, fresh[7]) - want[7]).max() < 1e-9
    assert trees["feature"].shape == (3 * grade_trees.ROUNDS, 2 ** grade_trees.DEPTH - 1)


def test_a_tree_that_stops_early_is_pushed_down_to_full_depth():
    # three groups of 20 rows (scikit-learn's smallest leaf): no tree can use its third level
    z = np.array([[-2.0], [0.0], [2.0]] * 20)
    y = np.array([0, 1, 2] * 20)
    trees = grade_trees.fit(z, y, 3)

    assert (trees["threshold"][:, 3:] == grade_trees.NEVER).all()  # the last inner level only passes leaves down
    p = grade_trees.probabilities(trees, np.array([[-2.5], [0.1], [3.0]]))
    assert (p.argmax(axis=1) == [0, 1, 2]).all() and p.max(axis=1).min() > 0.9


def test_every_label_needs_training_rows():
    z, y = _data()
    with pytest.raises(ValueError, match="every label"):
        grade_trees.fit(z, np.minimum(y, 1), 3)


def test_a_model_with_trees_averages_their_probabilities_with_the_networks():
    z, y = _data()
    labels = [gm.LABELS[v] for v in y]
    bands = [[0, 2], [3, 5], [8, 10]]
    model = gm.train(z, labels, [bands[v] for v in y], [f"f{i}" for i in range(5)], alpha=10.0)
    assert model.trees is not None and model.nets is not None
    row = z[11]
    zs = (row - np.array(model.mean)) / np.array(model.scale)
    both = (grade_mlp.probabilities(grade_mlp.as_arrays(model.nets), zs)
            + grade_trees.probabilities(grade_trees.as_arrays(model.trees), zs)) / 2
    _, logits = model._standardized(row)
    assert np.allclose(np.exp(logits), both, atol=1e-9)
    # saved and loaded, it decides the same
    again = gm.load(model.to_json())
    assert again.predict(row) == model.predict(row)
    # a tiny training set without every label keeps the networks and fits no trees
    assert gm.train(z[y < 2], [labels[i] for i in np.nonzero(y < 2)[0]], [[0, 2]] * int((y < 2).sum()),
                    [f"f{i}" for i in range(5)], alpha=10.0).trees is None
