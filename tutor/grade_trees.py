"""The learned score's second label classifier: gradient-boosted trees, read in plain numpy.

Why beside the networks (tutor.grade_mlp): trees cut each feature at thresholds and the networks bend
smooth surfaces, so they err on different answers, and their mean probability is surer where they agree.
Neither alone beats the other by much (golden dev rows, 5-fold CV, 2 seeds, stored features, session 53,
in band: networks .8154, trees .8030), the mean of the two .8187; on the free-reference models .7722 /
.7693 → .7774. More networks (10), bagged networks, or networks on quantile-binned inputs gained nothing.

Fitted with scikit-learn's HistGradientBoostingClassifier (installed with sentence-transformers; imported
only here, only to train), then exported as complete binary trees of depth `DEPTH`: per tree `DEPTH`
levels of (feature, threshold) at the 2**DEPTH - 1 inner nodes, heap order, and 2**DEPTH leaf values.
A leaf that scikit-learn stops above the last level is pushed down under a threshold no standardized
feature reaches (`NEVER`: JSON has no infinity), so every row takes exactly `DEPTH` steps, and grading needs
nothing beyond numpy (~0.1 ms a row).
"""

from __future__ import annotations

import numpy as np

DEPTH = 3
RATE = 0.05
ROUNDS = 150  # boosting rounds; each adds one tree per label (300 measured the same: dev CV .8187 vs .8198)
L2 = 1.0
SEED = 0
NEVER = 1e9  # the threshold of a node that only passes a leaf down: every row goes left


def fit(z: np.ndarray, labels: np.ndarray, k: int) -> dict:
    """Trees fitted on standardized rows `z` with integer `labels` in range(k), as numpy arrays: `base` (k,),
    `feature` and `threshold` (trees, 2**DEPTH - 1), `value` (trees, 2**DEPTH); tree t votes for label t % k."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # training only

    model = HistGradientBoostingClassifier(max_depth=DEPTH, learning_rate=RATE, max_iter=ROUNDS,
                                           l2_regularization=L2, early_stopping=False, random_state=SEED)
    model.fit(np.asarray(z, float), np.asarray(labels))
    if list(model.classes_) != list(range(k)) or model.n_trees_per_iteration_ != k:
        raise ValueError(f"every label 0..{k - 1} needs training rows (and k > 2: two labels grow one tree a "
                         f"round); got {list(model.classes_)}")
    trees = [_complete(predictor.nodes) for rounds in model._predictors for predictor in rounds]
    return {"base": np.asarray(model._baseline_prediction, float).ravel(),
            "feature": np.array([t[0] for t in trees]), "threshold": np.array([t[1] for t in trees]),
            "value": np.array([t[2] for t in trees])}


def _complete(nodes: np.ndarray) -> tuple[list[int], list[float], list[float]]:
    """One scikit-learn tree as a complete tree of depth DEPTH (heap order: node i's children 2i+1, 2i+2)."""
    inner = 2 ** DEPTH - 1
    feature, threshold, value = [0] * inner, [NEVER] * inner, [0.0] * (inner + 1)

    def place(src: int, slot: int, depth: int) -> None:
        node = nodes[src]
        if depth == DEPTH:
            if not node["is_leaf"]:
                raise ValueError("a tree is deeper than DEPTH")
            value[slot - inner] = float(node["value"])
            return
        if node["is_leaf"]:  # stays put: both children are this leaf
            place(src, 2 * slot + 1, depth + 1)
            place(src, 2 * slot + 2, depth + 1)
            return
        if node["is_categorical"]:
            raise ValueError("only numeric splits are exported")
        feature[slot], threshold[slot] = int(node["feature_idx"]), float(node["num_threshold"])
        place(int(node["left"]), 2 * slot + 1, depth + 1)
        place(int(node["right"]), 2 * slot + 2, depth + 1)

    place(0, 0, 0)
    return feature, threshold, value


def as_arrays(trees: dict) -> dict:
    """The trees with numpy arrays (a model file holds lists)."""
    out = {key: np.asarray(value, float) for key, value in trees.items()}
    out["feature"] = out["feature"].astype(int)
    return out


def probabilities(trees: dict, z: np.ndarray) -> np.ndarray:
    """The trees' label probabilities for one standardized row (or a matrix of rows)."""
    z = np.asarray(z, float)
    rows = z.reshape(1, -1) if z.ndim == 1 else z
    feature, threshold, value = trees["feature"], trees["threshold"], trees["value"]
    k = len(trees["base"])
    n_trees = len(feature)
    node = np.zeros((len(rows), n_trees), int)
    t = np.arange(n_trees)
    for _ in range(DEPTH):
        f = feature[t, node]
        go_right = rows[np.arange(len(rows))[:, None], f] > threshold[t, node]
        node = 2 * node + 1 + go_right
    leaves = value[t, node - (2 ** DEPTH - 1)]  # (rows, trees)
    raw = np.asarray(trees["base"]) + leaves.reshape(len(rows), -1, k).sum(axis=1)
    e = np.exp(raw - raw.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return p[0] if z.ndim == 1 else p
