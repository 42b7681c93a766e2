"""Train the learned grading score offline: `python -m tutor.grade_train [--from-features]`.

Embeds every labelled answer of corpus/golden/grading.jsonl with the real MiniLM (a few minutes on
2 cores), the contradiction judge (tutor.judge), the answer reader (tutor.reader) and the misconception
spotter (tutor.spotter; on the dev rows they were trained on, their out-of-fold outputs), writes the
feature rows to corpus/golden/grading_features.json and fits `tutor/grade_model.json` (every feature),
`tutor/grade_model_judged.json` (no reader or spotter) and
`tutor/grade_model_lexical.json` (no judge features, for graders without a judge) and
`tutor/grade_model_quick.json` (every column but the judge's: the full grader's first pass, which settles
the answers it is sure of before the judge reads them; tutor.grade_model.SETTLED) on the dev rows
(corpus/golden/README.md: the test split is never used for tuning, so the shipped weights' test figure
is an honest one and the CI gate can read it).
The same rows graded against their free reference (no card: the reference's claims are the key points,
as `tutor grade` does for a question no card answers) give corpus/golden/grading_features_reference.json
and the four reference models beside the card ones (`tutor/grade_model_reference.json`,
`…_reference_judged.json`, `…_reference_lexical.json`, `…_reference_quick.json`), fitted on the dev rows the
same way (the reader's out-of-fold outputs again on the dev rows); `--reference` recomputes only those (about
20 minutes).
`--added` computes features for golden rows appended since (minutes, not the better part of an hour).
`--reader` recomputes only the reader column of both feature files (after `python -m tutor.reader_train`
and `make install`: a few minutes) and refits; `--spotter` does the same for the misconception spotter's
column (after `python -m tutor.spotter_train`; it also adds the column to feature files made before it).
`--rows IDS` recomputes every column of the named golden rows alone (comma-separated ids, or a file with one id
per line), in both feature files, and refits: for a change that moves only some answers' features (minutes).
`--from-features` refits from the committed feature rows alone (seconds, no model):
tests/test_grade_model.py checks that this reproduces the committed weights and that the feature
file was made from the current golden file (its sha256), so a golden edit without a retrain fails
the tests instead of silently grading with stale weights.

Held-out figures come from `tutor eval`: 5-fold cross-validation over all rows (weights refitted per
fold) and the test split scored by a model fitted on dev, which is exactly the shipped one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tutor.grade_features import ALL_FEATURES, FEATURES, JUDGED_FEATURES, QUICK_FEATURES, features, spot_feature
from tutor.grade_model import (
    JUDGED_MODEL_FILE,
    LEXICAL_MODEL_FILE,
    MODEL_FILE,
    QUICK_MODEL_FILE,
    REFERENCE_JUDGED_MODEL_FILE,
    REFERENCE_LEXICAL_MODEL_FILE,
    REFERENCE_MODEL_FILE,
    REFERENCE_QUICK_MODEL_FILE,
    ScoreModel,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "corpus" / "golden" / "grading.jsonl"
FEATURE_FILE = ROOT / "corpus" / "golden" / "grading_features.json"
MODEL_PATH = Path(__file__).resolve().parent / MODEL_FILE
LEXICAL_MODEL_PATH = Path(__file__).resolve().parent / LEXICAL_MODEL_FILE
JUDGED_MODEL_PATH = Path(__file__).resolve().parent / JUDGED_MODEL_FILE
REFERENCE_FEATURE_FILE = ROOT / "corpus" / "golden" / "grading_features_reference.json"
REFERENCE_MODEL_PATH = Path(__file__).resolve().parent / REFERENCE_MODEL_FILE
REFERENCE_JUDGED_MODEL_PATH = Path(__file__).resolve().parent / REFERENCE_JUDGED_MODEL_FILE
REFERENCE_LEXICAL_MODEL_PATH = Path(__file__).resolve().parent / REFERENCE_LEXICAL_MODEL_FILE
QUICK_MODEL_PATH = Path(__file__).resolve().parent / QUICK_MODEL_FILE
REFERENCE_QUICK_MODEL_PATH = Path(__file__).resolve().parent / REFERENCE_QUICK_MODEL_FILE


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def feature_rows(prepared: list) -> list[dict]:
    """One {id, label, score_band, x} per prepared (row, rubric, evidence, flags), x rounded for JSON."""
    return [{"id": row["id"], "split": row.get("split"), "label": row["label"], "score_band": row["score_band"],
             "x": [round(float(v), 6) for v in features(rubric, ev, flags, ALL_FEATURES)]}
            for row, rubric, ev, flags in prepared]


def fit_rows(rows: list[dict], source_sha256: str, names: tuple[str, ...] = ALL_FEATURES) -> ScoreModel:
    """The model over `names` (FEATURES: the lexical one) fitted on the dev rows (on every row when none
    carries a split); `rows` carry every column of ALL_FEATURES."""
    if any(r.get("split") for r in rows):
        rows = [r for r in rows if r.get("split") == "dev"]
    columns = [ALL_FEATURES.index(n) for n in names]
    x = np.array([r["x"] for r in rows], float)[:, columns]
    return train(x, [r["label"] for r in rows], [r["score_band"] for r in rows], names,
                 {"file": "corpus/golden/grading.jsonl", "split": "dev", "sha256": source_sha256})


def load_feature_file(path: Path = FEATURE_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_feature_file(rows: list[dict], source_sha256: str, path: Path = FEATURE_FILE) -> None:
    body = {"features": list(ALL_FEATURES), "source": "corpus/golden/grading.jsonl", "sha256": source_sha256,
            "rows": rows}
    path.write_text(json.dumps(body, separators=(",", ":")) + "\n", encoding="utf-8")


def golden_rows() -> list[dict]:
    """Every row of corpus/golden/grading.jsonl, in file order."""
    return [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]


def embed_golden(reference: bool = False, rows: list[dict] | None = None) -> list[dict]:
    """Feature rows of every golden answer (or of `rows`), graded against its card; `reference`: against its
    own reference with no card, as a question no card answers is. Either way the dev rows carry the reader's
    out-of-fold outputs (it was trained on those answers)."""
    from tutor.cards import load_cards
    from tutor.embed import MiniLMEmbedder
    from tutor.evaluate_grading import prepare_rows
    from tutor.grade import Grader
    from tutor.judge import load_judge
    from tutor.reader import load_reader
    from tutor.spotter import load_spotter

    if rows is None:
        rows = golden_rows()
    cards = [] if reference else load_cards(ROOT / "corpus" / "cards")  # no card: each row's reference is its rubric
    grader = Grader(MiniLMEmbedder(), cards, model=None, judge=load_judge(required=True),
                    reader=load_reader(required=True), spotter=load_spotter(required=True))
    return feature_rows(prepare_rows(grader, rows))


def added_rows(source_sha256: str) -> list[dict] | None:
    """The golden rows after the lines a feature file was made from, when the golden file has only grown since
    (some first lines of it hash to `source_sha256`, as after appending rows and `tutor eval --assign-splits`,
    which edits only rows without a split); None when an earlier line changed."""
    lines = GOLDEN.read_bytes().splitlines(keepends=True)
    digest = hashlib.sha256()
    for n, line in enumerate(lines):
        if digest.hexdigest() == source_sha256:
            return [json.loads(x) for x in lines[n:] if x.strip()]
        digest.update(line)
    return [] if digest.hexdigest() == source_sha256 else None


def row_ids(spec: str) -> set[str]:
    """`--rows`: a file of ids, one per line, or the ids themselves, comma-separated."""
    path = Path(spec)
    text = path.read_text(encoding="utf-8") if path.is_file() else spec.replace(",", "\n")
    return {line.strip() for line in text.splitlines() if line.strip()}


def recompute_rows(rows: list[dict], ids: set[str], reference: bool = False) -> list[dict]:
    """Feature rows with those of `ids` computed again from scratch, in place, every other row as it was."""
    golden = golden_rows()
    if unknown := ids - {r["id"] for r in golden}:
        raise SystemExit(f"no golden row with id {', '.join(sorted(unknown)[:5])}")
    fresh = {r["id"]: r for r in embed_golden(reference, [r for r in golden if r["id"] in ids])}
    print(f"recomputed {len(fresh)} of {len(rows)} rows", file=sys.stderr)
    return [fresh.get(r["id"], r) for r in rows]


def refresh_reader(rows: list[dict], reference: bool = False) -> list[dict]:
    """Feature rows with the reader column alone recomputed by the installed reader (on the dev rows, its
    out-of-fold outputs), every other column as it was: a reader retrain moves nothing else, and this takes
    minutes where `embed_golden` takes the better part of an hour. Same values as a full recompute."""
    from tutor.grade import prepare, read_answer
    from tutor.grade_text import statements
    from tutor.reader import delta_meta, load_reader

    reader = load_reader(required=True)

    def value(grader, rubric, row: dict) -> float:
        text, flags = prepare(row["answer"])
        return read_answer(reader, rubric, row.get("question"), text, "empty" not in flags and bool(statements(text)))

    return _refresh(rows, reference, "reader", delta_meta().get("out_of_fold", {}), value)


def refresh_spotter(rows: list[dict], reference: bool = False) -> list[dict]:
    """Feature rows with the spot column alone recomputed by the installed spotter (on the dev rows, its
    out-of-fold outputs), every other column as it was, as `refresh_reader` does for the reader; it adds the
    column to a feature file made before the spotter."""
    from tutor.spotter import delta_meta, load_spotter, spot

    spotter = load_spotter(required=True)

    def value(grader, rubric, row: dict) -> float:
        if not rubric.misconceptions:  # a free reference has none: nothing to read
            return 0.0
        ev, _ = grader.evidence(row["answer"], rubric, row.get("question"))
        return spot(spotter, rubric.misconceptions, ev.units, ev.mis_cos)

    if reference:  # a free reference has no misconceptions: the spotter reads nothing (a verdict of 0)
        return [{**r, "x": _with(r["x"], "spot", spot_feature(0.0))} for r in rows]
    return _refresh(rows, reference, "spot", delta_meta().get("out_of_fold", {}), value, spot_feature)


def _refresh(rows: list[dict], reference: bool, name: str, oof: dict[str, float], value,
             column: Callable[[float], float] = float) -> list[dict]:
    """`rows` with column `name` set to column(the model's output): out of fold on the dev rows it lists,
    value(grader, rubric, row) on the others."""
    from tutor.cards import load_cards
    from tutor.embed import MiniLMEmbedder
    from tutor.evaluate_grading import out_of_fold
    from tutor.grade import Grader

    golden = {r["id"]: r for r in golden_rows()}
    cards = {} if reference else {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    grader = Grader(MiniLMEmbedder(), list(cards.values()), model=None)
    out = []
    for saved in rows:
        row = golden[saved["id"]]
        held = out_of_fold(row, oof)
        if held is None:
            rubric = grader.resolve(cards.get(str(row.get("card_id") or "")), row.get("question"),
                                    row.get("reference"))
            held = value(grader, rubric, row)
        out.append({**saved, "x": _with(saved["x"], name, column(held))})
    return out


def _with(x: list[float], name: str, value: float) -> list[float]:
    """Feature row `x` with column `name` set (padded first when the column was added after it was made)."""
    x = list(x) + [0.0] * (len(ALL_FEATURES) - len(x))
    x[ALL_FEATURES.index(name)] = round(float(value), 6)
    return x


CARD_MODELS = ((MODEL_PATH, ALL_FEATURES), (JUDGED_MODEL_PATH, JUDGED_FEATURES), (LEXICAL_MODEL_PATH, FEATURES),
               (QUICK_MODEL_PATH, QUICK_FEATURES))
REFERENCE_MODELS = ((REFERENCE_MODEL_PATH, ALL_FEATURES), (REFERENCE_JUDGED_MODEL_PATH, JUDGED_FEATURES),
                    (REFERENCE_LEXICAL_MODEL_PATH, FEATURES), (REFERENCE_QUICK_MODEL_PATH, QUICK_FEATURES))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.grade_train", description=__doc__.splitlines()[0])
    parser.add_argument("--from-features", action="store_true",
                        help="refit from corpus/golden/grading_features.json without embedding anything")
    parser.add_argument("--reference", action="store_true",
                        help="recompute only the free-reference features and refit the reference models")
    parser.add_argument("--added", action="store_true",
                        help="after appending golden rows: compute features for the new rows alone and refit")
    parser.add_argument("--reader", action="store_true",
                        help="after a reader retrain: recompute only the reader column of both feature files")
    parser.add_argument("--spotter", action="store_true",
                        help="after a spotter retrain: recompute only the spot column of both feature files")
    parser.add_argument("--rows", metavar="IDS",
                        help="recompute every feature of these golden rows alone (ids, comma-separated, or a file "
                             "with one per line) and refit")
    args = parser.parse_args(argv)
    ids = row_ids(args.rows) if args.rows else set()
    for reference in (True,) if args.reference else (False, True):
        feature_file = REFERENCE_FEATURE_FILE if reference else FEATURE_FILE
        if args.from_features or args.reader or args.spotter or ids:
            saved = load_feature_file(feature_file)
            rows, digest = saved["rows"], saved["sha256"]
            if args.reader or args.spotter or ids:
                if digest != sha256(GOLDEN):
                    print(f"{feature_file.name} was made from another golden file: run python -m tutor.grade_train "
                          "(without --reader, --spotter or --rows)", file=sys.stderr)
                    return 2
                rows = refresh_reader(rows, reference) if args.reader else rows
                rows = refresh_spotter(rows, reference) if args.spotter else rows
                rows = recompute_rows(rows, ids, reference) if ids else rows
                write_feature_file(rows, digest, feature_file)
        elif args.added:
            saved = load_feature_file(feature_file)
            if (new := added_rows(saved["sha256"])) is None:
                print(f"corpus/golden/grading.jsonl changed above the rows {feature_file.name} was made from: run "
                      "python -m tutor.grade_train (without --added)", file=sys.stderr)
                return 2
            rows, digest = saved["rows"] + (embed_golden(reference, new) if new else []), sha256(GOLDEN)
            write_feature_file(rows, digest, feature_file)
        else:
            rows, digest = embed_golden(reference), sha256(GOLDEN)
            write_feature_file(rows, digest, feature_file)
        for path, names in REFERENCE_MODELS if reference else CARD_MODELS:
            model = fit_rows(rows, digest, names)
            path.write_text(model.to_json(), encoding="utf-8")
            print(f"{path.name}: trained on {model.trained_on['rows']} of {len(rows)} rows ({digest[:12]}…)",
                  file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
