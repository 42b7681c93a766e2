"""The misconception spotter: does this one learner statement assert this one wrong belief of the card?

Why: a complete answer with one wrong claim in the middle reads as complete to every other grading signal.
MiniLM puts the wrong statement near the key point it is about, so the cosine to the misconception cannot
separate it from the right statements around it (labelled dev answers, session 45: the wrong statement's
cosine to its misconception has median .675, a right answer's highest cosine to any of its card's
misconceptions .639, p90 .783); the judge finds conflict in true template lines as often; the reader rates
the whole answer by its many right claims. The narrow question needs its own model, trained on labelled
statements: corpus/labels/misconception_spans.jsonl marks, in every dev misconception answer of the golden
grading set, the span that states the wrong belief and which card misconception it is.

A MiniLM cross-encoder (tutor/pair_model.py, the reader's recipe on short pairs: misconception, statement)
reads, for each of the card's misconceptions, the `TOP_UNITS` statements nearest it by MiniLM cosine (the
labelled statement is among the nearest three in about nine answers of ten), and the highest 0-1 output
is one feature (`spot`) of the learned grader. Like the reader it never sets a score, and on the dev rows
the grader is fitted on its out-of-fold outputs (kept in the sidecar by tutor/spotter_train.py).

    python -m tutor.spotter --export     # merge and export (make install); a second run verifies
    python -m tutor.spotter --check      # exit 2 when the export is missing, stale or corrupt
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from tutor import pair_model
from tutor.pair_model import PairModel

SPEC = pair_model.Spec(what="the misconception spotter", delta_file="grade_spotter.safetensors",
                       sidecar_file="grade_spotter.json", prefix="grade-spotter", env_dir="TUTOR_SPOTTER_DIR",
                       module="tutor.spotter", max_length=128, truncation="longest_first", squash=True,
                       side_by_side=True, fp32_ffn_out=(0, 1, 2))
TOP_UNITS = 3  # statements read per misconception, nearest first by MiniLM cosine
SPOTTED = 0.95  # a verdict at which the feedback calls the statement wrong (the score reads the verdict itself)
# A verdict below which the spotter clears the statement of that misconception: the cosine rule in
# tutor.grade no longer calls it wrong. MiniLM puts "regularization is used so the model does well on unseen
# data and not only on the training set" at .72 from "regularization is meant to lower the training loss";
# the spotter, which reads the pair, says .05 (`bench/misconception_rule.py` has the counts by category).
CLEARED = 0.1


def nearest(mis_cos: np.ndarray, k: int = TOP_UNITS) -> list[tuple[int, int]]:
    """(misconception, statement) pairs to read: per misconception, its `k` nearest statements."""
    pairs = []
    for m in range(mis_cos.shape[1] if mis_cos.ndim == 2 else 0):
        order = np.argsort(-mis_cos[:, m], kind="stable")[:k]
        pairs.extend((m, int(u)) for u in order)
    return pairs


def spot_pairs(misconceptions: list[str], units: list[str], mis_cos: np.ndarray) -> list[tuple[str, str]]:
    """The (misconception, statement) texts the spotter reads for one answer, as it was trained."""
    return _texts(misconceptions, units, _picks(misconceptions, units, mis_cos))


def _picks(misconceptions: list[str], units: list[str], mis_cos: np.ndarray) -> list[tuple[int, int]]:
    return nearest(mis_cos) if misconceptions and units else []


def _texts(misconceptions: list[str], units: list[str], picks: list[tuple[int, int]]) -> list[tuple[str, str]]:
    return [(misconceptions[m], units[u]) for m, u in picks]


def read(spotter: PairModel, misconceptions: list[str], units: list[str], mis_cos: np.ndarray
         ) -> list[tuple[int, int, float]]:
    """(misconception, statement, 0-1 verdict) for each pair `spot_pairs` picks (each pair read alone)."""
    picks = _picks(misconceptions, units, mis_cos)
    if not picks:
        return []
    values = spotter.pair_scores(_texts(misconceptions, units, picks))
    return [(m, u, float(v)) for (m, u), v in zip(picks, values, strict=True)]


def spot(spotter: PairModel, misconceptions: list[str], units: list[str], mis_cos: np.ndarray) -> float:
    """The spotter's highest 0-1 verdict over the pairs `spot_pairs` picks; 0 with no misconception or statement."""
    return highest(read(spotter, misconceptions, units, mis_cos))


def highest(verdicts: list[tuple[int, int, float]]) -> float:
    return max((v for _, _, v in verdicts), default=0.0)


def spotted(verdicts: list[tuple[int, int, float]], at: float = SPOTTED) -> dict[int, int]:
    """Statement → the misconception the spotter says it asserts (its most likely one), at verdict `at` or above:
    the per-point verdicts and the feedback name it as wrong."""
    out: dict[int, tuple[float, int]] = {}
    for m, u, v in verdicts:
        if v >= at and v > out.get(u, (-1.0, 0))[0]:
            out[u] = (v, m)
    return {u: m for u, (_, m) in out.items()}


def cleared(verdicts: list[tuple[int, int, float]], at: float = CLEARED) -> set[tuple[int, int]]:
    """(statement, misconception) pairs the spotter read and found not asserted (verdict below `at`)."""
    return {(u, m) for m, u, v in verdicts if v < at}


def delta_meta(folder: Path | None = None) -> dict:
    """The sidecar of the packaged delta (its out-of-fold outputs among it), after checking its sha256."""
    return pair_model.delta_meta(SPEC, folder)


def export(force: bool = False) -> Path:
    return pair_model.export(SPEC, force)


def problem() -> str:
    return pair_model.problem(SPEC)


@functools.lru_cache(maxsize=1)
def _load() -> PairModel:
    meta = delta_meta()
    folder = pair_model.export_dir(SPEC, meta)
    pair_model.verify(SPEC, folder, meta)
    return PairModel(folder, SPEC)


def load_spotter(required: bool = False) -> PairModel | None:
    """The installed spotter; None (or ModelNotInstalled when `required`) when it is not exported, and None
    with TUTOR_SPOTTER=off."""
    return pair_model.load_optional("TUTOR_SPOTTER", _load, required)


def main(argv: list[str] | None = None) -> int:
    return pair_model.main(SPEC, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
