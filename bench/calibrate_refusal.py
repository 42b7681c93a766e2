"""Calibrate Config.min_relevance: the top passage's relevance for in-scope vs out-of-scope questions.

Prints both distributions and the threshold that maximizes refusal recall + (1 - false-refusal rate) on
the golden sets (questions asked in conversation order, as `tutor eval` asks them). Where a range of
thresholds ties, it prints the middle of the range: the margin on both sides is what carries over to
questions we have not seen.

    python bench/calibrate_refusal.py [--index DIR] [--golden FILE]…
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tutor.config import Config
from tutor.errors import TutorError
from tutor.evaluate import golden_paths, in_conversations, load_golden, machine_info
from tutor.report import UNCOVERED
from tutor.tutor import Tutor


def top_relevance(tutor: Tutor, paths: list[Path], k: int = 5) -> tuple[list[float], list[float]]:
    inside, outside = [], []
    for golden in load_golden(paths):
        rows = [r for r in golden.rows if r["set"] in ("question", "out_of_scope")]

        def step(row: dict, history: list[str]) -> str:
            standalone, passages = tutor.retrieve(row["question"], k, history)
            top = passages[0].relevance if passages else 0.0
            # Deep-learning questions no card covers are answerability's job (match: closest), not refusal's.
            if row["set"] == "question":
                inside.append(top)
            elif row.get("kind") != UNCOVERED:
                outside.append(top)
            return standalone

        in_conversations(rows, step)
    return inside, outside


def best_threshold(inside: list[float], outside: list[float]) -> tuple[float, float, float, tuple[float, float]]:
    """(threshold, refusal recall, false-refusal rate, optimal range); refuse when relevance < threshold."""
    ins, outs = np.asarray(inside), np.asarray(outside)
    values = np.unique(np.concatenate([ins, outs]))
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    scores = np.array([(outs < t).mean() + 1 - (ins < t).mean() for t in candidates])
    best = np.flatnonzero(np.isclose(scores, scores.max()))
    # the first block of consecutive optimal candidates, widened to the values that bound it
    end = best[0]
    while end + 1 in best:
        end += 1
    lo, hi = candidates[best[0]], candidates[end]
    lo_edge = values[values < lo].max() if (values < lo).any() else lo
    hi_edge = values[values > hi].min() if (values > hi).any() else hi
    t = float((lo_edge + hi_edge) / 2)
    return t, float((outs < t).mean()), float((ins < t).mean()), (float(lo_edge), float(hi_edge))


def histogram(values: list[float], lo: float = 0.0, hi: float = 1.0, width: float = 0.05) -> list[str]:
    bins = np.arange(lo, hi + width, width)
    counts, _ = np.histogram(values, bins)
    scale = max(1, counts.max() // 40)
    return [f"  {a:4.2f}-{a + width:4.2f} {n:4d} {'#' * int(n // scale)}" for a, n in zip(bins, counts, strict=False)
            if n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--golden", action="append", help="golden file(s); default corpus/golden/*.jsonl")
    args = parser.parse_args(argv)
    config = Config().with_(index_dir=Path(args.index) if args.index else None)
    tutor = Tutor(config)
    try:
        inside, outside = top_relevance(tutor, golden_paths(args.golden))
    except TutorError as exc:  # no index, no model, a malformed golden file: say so, no traceback
        print(f"calibrate_refusal: {exc}", file=sys.stderr)
        return 2
    if not inside or not outside:
        print("need both in-scope questions and out-of-scope rows in the golden files", file=sys.stderr)
        return 2
    m = machine_info()
    print(f"machine: {m['cores']} cores, {m['cpu']}; index {config.index_dir} "
          f"({tutor.index.manifest['n_chunks']} chunks, {len(tutor.index.manifest['corpus_sha256'])} sources)")
    for name, values in (("in scope", inside), ("out of scope", outside)):
        q = np.percentile(values, [0, 5, 10, 25, 50, 75, 90, 95, 100])
        print(f"\n{name} (n={len(values)}): top-passage relevance min {q[0]:.3f} p5 {q[1]:.3f} p10 {q[2]:.3f} "
              f"p25 {q[3]:.3f} p50 {q[4]:.3f} p75 {q[5]:.3f} p90 {q[6]:.3f} p95 {q[7]:.3f} max {q[8]:.3f}")
        print("\n".join(histogram(values)))
    t, recall, false_rate, (lo, hi) = best_threshold(inside, outside)
    print(f"\nbest threshold {t:.3f} (optimal range {lo:.3f}-{hi:.3f}): refusal recall {recall:.3f}, "
          f"false-refusal rate {false_rate:.3f}, sum {recall + 1 - false_rate:.3f}")
    current = config.min_relevance
    print(f"current Config.min_relevance {current:.3f}: refusal recall {np.mean(np.asarray(outside) < current):.3f}, "
          f"false-refusal rate {np.mean(np.asarray(inside) < current):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
