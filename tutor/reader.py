"""The answer reader: MiniLM as a cross-encoder that reads the rubric and the learner's whole answer together.

Why: every other grading signal looks at one learner statement beside one key point (MiniLM cosines, the
keyword and polarity rules, the contradiction judge), so an answer that is right sentence by sentence but
wrong as a whole, or terse but complete, is read piece by piece. A cross-encoder reads the card's key
points and misconceptions and the answer in one pass and says how good the whole answer is. No such model
installs offline, so we train one: a low-rank delta (LoRA, rank 16, on every Linear of the six layers) plus
a linear head over mean-pooled tokens, on top of the packaged all-MiniLM-L6-v2, fitted to the band centres
of the golden grading set's dev rows (`python -m tutor.reader_train`). The delta ships in the package
(tutor/data/grade_reader.safetensors, ~2.7 MB, sha256 in the sidecar); `make install` merges it into the
MiniLM weights and exports one ONNX graph (pooling, head and sigmoid inside) under $TUTOR_HOME/embedders
(tutor/pair_model.py, shared with the card ranker).

Like the judge, it never sets a score: its output is one feature (`reader`) of the learned grader, whose
weights are fitted on out-of-fold reader outputs for the dev rows (the reader saw those rows in training;
`tutor eval` reads the same out-of-fold outputs for them, from the sidecar). It moves the label only
(`LABEL_ONLY` in tutor/grade_model.py): read in the score too, it placed answers badly inside their band
on a fresh round by a new author on 17 cards it had never seen (68 answers: in band .750 against .853
without it; label-only .824, agreement .882 against .897). Session 30, `tutor eval` at 1843 rows (in band /
label agreement / QWK): test split .776 / .808 / .800 (the judged model without the reader, refitted on
the same rows, .737 / .776 / .757 by its prediction alone), dev 5-fold CV .772 / .811 / .815, 8 fold seeds
.773 / .808 / .808; p50 110 ms a grade (69 without it, bench/grade_speed.py). Alone (label from its 0-1
output × 10) it agrees with the golden label on about .61 of rows: a strong signal beside the others,
not a grader. Session 40 retrained it on 2 CPU cores over every dev row (1979 against 887; recipe and
figures in tutor/reader_train.py): test split .776 → .787 in band. Measured first on a GPU with peft
(bench notes in tutor/reader_train.py): full fine-tuning, LoRA and a reference-answer rubric all landed
within .01 of each other; the rubric of key points and misconceptions with LoRA ships, since its delta is
2.7 MB where a fine-tuned copy would be 90.

    python -m tutor.reader --export     # merge and export (make install); a second run verifies
    python -m tutor.reader --check      # exit 2 when the export is missing, stale or corrupt
"""

from __future__ import annotations

import functools
from pathlib import Path

from tutor import pair_model
from tutor.pair_model import PairModel, delta_dir

SPEC = pair_model.Spec(what="the grading reader", delta_file="grade_reader.safetensors",
                       sidecar_file="grade_reader.json", prefix="grade-reader", env_dir="TUTOR_READER_DIR",
                       module="tutor.reader", max_length=384, truncation="longest_first", squash=True,
                       side_by_side=True)  # its one pair a grade on one core, beside MiniLM and the judge
DELTA_FILE, SIDECAR_FILE, MAX_LENGTH = SPEC.delta_file, SPEC.sidecar_file, SPEC.max_length
FORMAT_VERSION = SPEC.format_version
FIX = SPEC.fix
__all__ = ["Reader", "delta_dir", "load_reader", "rubric_text"]


def rubric_text(question: str, points: list[str], misconceptions: list[str]) -> str:
    """The first text of the pair, exactly as the reader was trained on it."""
    text = f"{question} Key points: {'; '.join(points)}."
    return text + (f" Wrong beliefs: {'; '.join(misconceptions)}." if misconceptions else "")


def delta_meta(folder: Path | None = None) -> dict:
    """The sidecar of the packaged delta (its out-of-fold outputs among it), after checking its sha256."""
    return pair_model.delta_meta(SPEC, folder)


def reader_dir(meta: dict | None = None) -> Path:
    """$TUTOR_READER_DIR, else one folder per delta under $TUTOR_HOME (tests pin the first so that a test
    with a private TUTOR_HOME still finds the export)."""
    return pair_model.export_dir(SPEC, meta)


def build_module(tensors):
    return pair_model.build_module(SPEC, tensors)


def export(force: bool = False) -> Path:
    return pair_model.export(SPEC, force)


def problem() -> str:
    return pair_model.problem(SPEC)


class Reader(PairModel):
    """The exported reader: one (rubric, answer) pair in, a 0-1 score out."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder, SPEC)


@functools.lru_cache(maxsize=1)
def _load() -> Reader:
    meta = delta_meta()
    folder = reader_dir(meta)
    pair_model.verify(SPEC, folder, meta)
    return Reader(folder)


def load_reader(required: bool = False) -> Reader | None:
    """The installed reader; None (or ModelNotInstalled when `required`) when it is not exported, and None
    with TUTOR_READER=off (the grader then uses the judged model, as before the reader)."""
    return pair_model.load_optional("TUTOR_READER", _load, required)


def main(argv: list[str] | None = None) -> int:
    return pair_model.main(SPEC, __doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
