"""Train the card-level re-ranker (tutor/rerank.py) and write tutor/rerank_weights.json.

Training data, never the `test` split:
- every `dev` golden question with a `card_id`: the candidate pools its searches saw (each reading of a
  follow-up), the expected card being the right candidate;
- synthetic queries from the cards themselves: each key point's statement, which an interviewer's
  "why / what happens if" question paraphrases more often than the card's own question does.
A pool without the right card teaches nothing and is left out. Before fitting on everything, 5-fold
cross-validation over the dev questions reports rank 1 of the hand weights vs the learned ones on folds
the model did not see (the synthetic queries are always in the training part).

    python bench/learn_rank.py [--index DIR] [--synthetic-weight 0.3] [--l2 0.01] [--write]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from retrieval_levers import cached_index

from tutor import rerank
from tutor.evaluate import golden_paths, in_conversations, load_golden
from tutor.retrieve import Retriever

Group = tuple[np.ndarray, int]


def dev_groups(retriever: Retriever, paths: list[Path], k: int) -> list[tuple[str, list[Group]]]:
    """(row id, its pools) for each dev question with an expected card; conversations run whole."""
    out: list[tuple[str, list[Group]]] = []
    for golden in load_golden(paths):
        rows = [r for r in golden.rows if r["set"] == "question"]

        def step(row: dict, history: list[str]) -> str:
            retriever.feature_sink = []
            standalone, _ = retriever.search_in_context(row["question"], history, k)
            seen, retriever.feature_sink = retriever.feature_sink, None
            if row.get("split") == "dev" and row.get("card_id"):
                # conversation_card() searches the previous question: its pool is about the last turn
                pools = [(keys, x) for q, keys, x in seen if not history or q != history[-1]]
                out.append((row["id"], [(x, keys.index(row["card_id"])) for keys, x in pools
                                        if row["card_id"] in keys]))
            return standalone

        in_conversations(rows, step)
    return out


def synthetic_groups(retriever: Retriever, k: int) -> list[Group]:
    groups = []
    for card in retriever.index.cards.values():
        for kp in card.key_points:
            retriever.feature_sink = []
            retriever.search(kp.point, k)
            (_, keys, x), retriever.feature_sink = retriever.feature_sink[0], None
            if card.id in keys:
                groups.append((x, keys.index(card.id)))
    return groups


def rank1(groups: list[Group], w: np.ndarray) -> float:
    return float(np.mean([int(np.argmax(x @ w)) == right for x, right in groups])) if groups else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--synthetic-weight", type=float, nargs="+", default=[0.0, 0.1, 0.3, 1.0])
    parser.add_argument("--l2", type=float, nargs="+", default=[1e-2, 1e-3, 1e-4])
    parser.add_argument("--write", action="store_true", help="write tutor/rerank_weights.json")
    parser.add_argument("--vectors", help="cache query vectors here between runs (PATH.json + PATH.npy)")
    args = parser.parse_args(argv)
    config, embedder, index = cached_index(args.index, args.vectors)
    retriever = Retriever(index, embedder, config)
    dev = dev_groups(retriever, golden_paths(None), config.k)
    synth = synthetic_groups(retriever, config.k)
    if args.vectors:
        embedder.save(Path(args.vectors))
    print(f"dev questions {len(dev)} ({sum(len(g) for _, g in dev)} pools); synthetic pools {len(synth)}")
    hand = rerank.weight_vector(rerank.HAND)
    folds = 5

    def cross_validate(synthetic_weight: float, l2: float) -> list[float]:
        out = []
        for f in range(folds):
            train = [g for n, (_, gs) in enumerate(dev) if n % folds != f for g in gs]
            test = [g for n, (_, gs) in enumerate(dev) if n % folds == f for g in gs]
            w = rerank.fit(train + synth, [1.0] * len(train) + [synthetic_weight] * len(synth), l2)
            out.append(rank1(test, w))
        return out

    hand_folds = [rank1([g for n, (_, gs) in enumerate(dev) if n % folds == f for g in gs], hand)
                  for f in range(folds)]
    print(f"held-out dev pools, top candidate right: hand weights {np.mean(hand_folds):.3f}")
    best = (-1.0, args.synthetic_weight[0], args.l2[0])
    for sw in args.synthetic_weight:
        for l2 in args.l2:
            values = cross_validate(sw, l2)
            print(f"  learned, synthetic weight {sw:<5} L2 {l2:<7}: {np.mean(values):.3f}  "
                  f"(folds {' '.join(f'{v:.3f}' for v in values)})")
            best = max(best, (float(np.mean(values)), sw, l2))
    args.synthetic_weight, args.l2 = best[1], best[2]
    print(f"chosen: synthetic weight {args.synthetic_weight}, L2 {args.l2}")
    groups = [g for _, gs in dev for g in gs]
    w = rerank.fit(groups + synth, [1.0] * len(groups) + [args.synthetic_weight] * len(synth), args.l2)
    print(f"fit on all dev + synthetic: in-sample {rank1(groups, w):.3f} (hand {rank1(groups, hand):.3f})")
    weights = {name: round(float(v), 4) for name, v in zip(rerank.FEATURES, w, strict=True)}
    print(json.dumps(weights, indent=1))
    if args.write:
        path = Path(rerank.__file__).with_name(rerank.WEIGHTS_FILE)
        path.write_text(json.dumps({
            "why": "Card-level re-ranker of tutor/rerank.py, trained by bench/learn_rank.py on the golden dev "
                   f"split ({len(dev)} questions, {len(groups)} candidate pools) plus {len(synth)} synthetic "
                   f"key-point queries (weight {args.synthetic_weight}), softmax loss, L2 {args.l2}, "
                   f"{len(index.cards)} cards. The test split was not used.",
            "weights": weights}, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
