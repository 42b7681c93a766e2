"""The grading reader: its packaged delta is checked before use, a missing or stale export says what to run,
the exported graph computes what the merged torch model computes, and the real reader rates the golden
set's right answers above its wrong ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tutor import reader as rd

ROOT = Path(__file__).resolve().parent.parent


def test_the_rubric_text_is_the_question_the_points_and_the_misconceptions():
    assert rd.rubric_text("What is X?", ["a", "b"], ["c"]) == "What is X? Key points: a; b. Wrong beliefs: c."
    assert rd.rubric_text("What is X?", ["a"], []) == "What is X? Key points: a."


def test_the_packaged_delta_carries_out_of_fold_outputs_for_the_dev_rows_it_was_trained_on():
    meta = rd.delta_meta()
    golden = [json.loads(line) for line in (ROOT / "corpus" / "golden" / "grading.jsonl").read_text().splitlines()
              if line.strip()]
    dev = {r["id"] for r in golden if r.get("split") == "dev"}

    # rows added after the reader was trained are graded by it as by any new answer: honest as they stand
    assert set(meta["out_of_fold"]) <= dev and len(meta["out_of_fold"]) >= 887, \
        "retrain the reader: python -m tutor.reader_train --out tutor/data"
    assert all(0.0 <= v <= 1.0 for v in meta["out_of_fold"].values())
    assert meta["max_length"] == rd.MAX_LENGTH


def test_redoing_only_the_out_of_fold_fits_keeps_a_delta_of_the_same_recipe_alone(tmp_path):
    from argparse import Namespace

    from tutor import reader_train

    for name in (rd.DELTA_FILE, rd.SIDECAR_FILE):
        shutil.copy(rd.delta_dir() / name, tmp_path / name)
    meta = rd.delta_meta()
    rows = int(meta["trained_on"].rsplit("(", 1)[1].rstrip(")"))

    kept = reader_train._kept_delta(Namespace(out=tmp_path, epochs=meta["epochs"]), rows)
    assert kept["sha256"] == meta["sha256"]
    # another epoch count, or golden rows added since, would make the kept final fit a different recipe
    with pytest.raises(SystemExit, match="epochs"):
        reader_train._kept_delta(Namespace(out=tmp_path, epochs=meta["epochs"] + 1), rows)
    with pytest.raises(SystemExit, match="trained_on"):
        reader_train._kept_delta(Namespace(out=tmp_path, epochs=meta["epochs"]), rows + 1)


def test_mismatched_pairs_read_a_credited_answer_beside_a_card_on_another_subject():
    from tutor import reader_train
    from tutor.cards import load_cards

    rows = reader_train.pairs()
    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    extra = reader_train.mismatched(rows, cards, 0.25)
    by_id = {r["id"]: r for r in rows}

    credited = [r for r in rows if r["label"] != "incorrect"]
    assert len(extra) == round(0.25 * len(credited)) and len({e["of"] for e in extra}) == len(extra)
    for e in extra:
        source = by_id[e["of"]]
        assert source["label"] != "incorrect" and e["b"] == source["b"] and e["y"] == 0.05
        assert e["card"].split("/")[0] != source["card"].split("/")[0]
        assert not set(e["card"].split("/")[1].split("-")) & set(source["card"].split("/")[1].split("-"))
        assert e["a"].startswith(cards[e["card"]].question) and e["a"] != source["a"]
    assert [e["id"] for e in reader_train.mismatched(rows, cards, 0.25)] == [e["id"] for e in extra]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reader")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUTOR_READER_DIR", str(folder))
        rd.export(force=True)
        assert rd.problem() == ""
    return folder


def test_the_exported_graph_computes_what_the_merged_torch_model_computes(exported):
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from tutor.onnx_export import _load_bert

    module = rd.build_module(load_file(str(rd.delta_dir() / rd.DELTA_FILE)))
    source, _ = _load_bert()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    pairs = [(rd.rubric_text("What is dropout?", ["units are zeroed at random during training"],
                             ["dropout stays on at inference"]), "It zeroes units at random while training."),
             ("A very long rubric " * 300, "and a long answer " * 200)]  # both sides cut, longest first
    onnx = rd.Reader(exported)
    for a, b in pairs:
        enc = tokenizer(a, b, truncation="longest_first", max_length=rd.MAX_LENGTH, return_tensors="pt")
        with torch.no_grad():
            want = float(module(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])[0])
        assert abs(onnx.score(a, b) - want) < 0.05  # int8 weights: ~.014 on average (session 47)


def test_the_real_reader_rates_right_answers_above_wrong_ones(exported):
    golden = [json.loads(line) for line in (ROOT / "corpus" / "golden" / "grading.jsonl").read_text().splitlines()
              if line.strip()]
    from tutor.cards import load_cards

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    onnx = rd.Reader(exported)

    def mean(label: str) -> float:  # every 7th test row of the label: spread over every authoring round
        rows = [r for r in golden if r.get("split") == "test" and r["label"] == label][::7]
        return float(np.mean([onnx.score(rd.rubric_text(r["question"], [k.point for k in cards[r["card_id"]].key_points],
                                                        list(cards[r["card_id"]].misconceptions)), r["answer"])
                              for r in rows]))

    assert mean("correct") > mean("partial") > mean("incorrect")


def test_the_feature_files_reader_column_is_what_the_shipped_reader_says(exported, monkeypatch):
    """The learned grader is fitted on these columns: after a reader retrain they must be refreshed
    (`python -m tutor.grade_train --reader`), and that refresh recomputes exactly what a full one would."""
    from tutor import grade_train as gt
    from tutor.grade_features import ALL_FEATURES

    monkeypatch.setenv("TUTOR_READER_DIR", str(exported))
    rd._load.cache_clear()
    column = ALL_FEATURES.index("reader")
    try:
        for reference, path in ((False, gt.FEATURE_FILE), (True, gt.REFERENCE_FEATURE_FILE)):
            rows = gt.load_feature_file(path)["rows"]
            sample = [r for r in rows if r["split"] == "test"][::400] + [r for r in rows if r["split"] == "dev"][::700]
            fresh = gt.refresh_reader(sample, reference)

            assert [r["x"][column] for r in fresh] == pytest.approx([r["x"][column] for r in sample], abs=1e-5), \
                "the reader changed: python -m tutor.grade_train --reader"
            assert [r["x"][:column] for r in fresh] == [r["x"][:column] for r in sample]
    finally:
        rd._load.cache_clear()
