"""The misconception spotter: which statements it reads, how its training pairs are drawn from the labelled
spans, that its packaged delta and export are checked before use, that the exported graph computes what the
merged torch model computes, and that the real spotter finds the golden test split's misconception answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tutor import spotter as sp
from tutor import spotter_train as st

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = [json.loads(line) for line in (ROOT / "corpus" / "golden" / "grading.jsonl").read_text().splitlines()
          if line.strip()]


class _Pairs:
    """A pair model that scores a pair by a table (default 0.1) and keeps what it was shown."""

    def __init__(self, table: dict[tuple[str, str], float]) -> None:
        self.table, self.seen = table, []

    def pair_scores(self, pairs):
        self.seen.append(list(pairs))
        return np.array([self.table.get(p, 0.1) for p in pairs], np.float32)


def test_each_misconception_is_read_beside_its_nearest_statements():
    cos = np.array([[0.1, 0.9], [0.8, 0.2], [0.7, 0.3], [0.2, 0.4], [0.75, 0.1]])

    assert sp.nearest(cos, 2) == [(0, 1), (0, 4), (1, 0), (1, 3)]
    assert len(sp.nearest(cos)) == 2 * sp.TOP_UNITS
    assert sp.nearest(np.zeros((3, 0))) == [] and sp.nearest(np.zeros((0, 2))) == []


def test_the_spot_is_the_highest_verdict_over_the_pairs_read():
    units = ["dropout zeroes units", "it stays on at inference", "weights are rescaled"]
    mis = ["dropout stays on at inference", "dropout adds parameters"]
    cos = np.array([[0.5, 0.2], [0.9, 0.1], [0.3, 0.6]])
    model = _Pairs({("dropout stays on at inference", "it stays on at inference"): 0.93})

    assert sp.spot(model, mis, units, cos) == pytest.approx(0.93)
    assert len(model.seen[0]) == 6 and set(model.seen[0]) == set(sp.spot_pairs(mis, units, cos))
    # nothing to read: no misconception (a free reference) or no statement (an empty answer)
    assert sp.spot(model, [], units, np.zeros((3, 0))) == 0.0
    assert sp.spot(model, mis, [], np.zeros((0, 2))) == 0.0 and len(model.seen) == 1


def test_a_statement_holds_a_span_when_it_states_it():
    span = "at inference dropout stays switched on to average"
    assert st.overlap(f"Dropout helps, and {span} predictions.", span) == "holds"
    assert st.overlap("at inference dropout stays switched on", span) == "holds"  # a clause that is most of it
    assert st.overlap("at inference", span) == "part"  # too little of it to say it: neither positive nor negative
    assert st.overlap("Weights are rescaled by the keep probability.", span) == ""


def test_training_pairs_take_the_labelled_statement_as_positive_and_its_neighbours_as_negatives():
    mis = ["dropout stays on at inference", "dropout adds parameters"]
    units = ["Dropout zeroes random units while training.", "At inference dropout stays on to average.",
             "It needs no extra weights.", "Activations are rescaled."]
    cos = np.array([[0.6, 0.2], [0.9, 0.7], [0.3, 0.8], [0.4, 0.5]])
    row = {"id": "g-1", "category": "misconception", "label": "incorrect"}
    pairs = st.answer_pairs(row, mis, units, cos, [("At inference dropout stays on to average.", 0)])

    positives = [p for p in pairs if p["y"] == 1.0]
    assert len(positives) == st.POSITIVE_COPIES and {(p["a"], p["b"]) for p in positives} == {(mis[0], units[1])}
    negatives = {(p["a"], p["b"]) for p in pairs if p["y"] == 0.0}
    assert (mis[0], units[1]) not in negatives
    assert {(mis[0], u) for u in (units[0], units[3], units[2])} <= negatives  # the labelled misconception's 3
    # another misconception: its 2 nearest, the statement of the labelled one among them (a hard negative)
    assert {(mis[1], units[2]), (mis[1], units[1])} <= negatives and (mis[1], units[3]) not in negatives
    assert all(p["of"] == "g-1" for p in pairs)
    # an answer that earns credit gives each misconception's nearest statement as a negative; a wrong answer
    # without labels gives nothing
    right = st.answer_pairs({"id": "g-2", "category": "complete", "label": "correct"}, mis, units, cos, [])
    assert {(p["a"], p["b"], p["y"]) for p in right} == {(mis[0], units[1], 0.0), (mis[1], units[2], 0.0)}
    assert st.answer_pairs({"id": "g-3", "category": "fluent-wrong", "label": "incorrect"}, mis, units, cos, []) == []


def test_every_labelled_span_is_in_its_dev_misconception_answer():
    from tutor.cards import load_cards

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    rows = {r["id"]: r for r in GOLDEN}
    spans = st.load_spans()
    wanted = {r["id"] for r in GOLDEN if r.get("split") == "dev" and r["category"] == "misconception"}

    assert set(spans) == wanted, "label the spans of new dev misconception answers (corpus/labels/README.md)"
    for rid, labelled in spans.items():
        row = rows[rid]
        for span, m in labelled:
            assert span in row["answer"], rid
            assert -1 <= m < len(cards[row["card_id"]].misconceptions), rid
    assert not any(r.get("split") == "test" for r in (rows[i] for i in spans))  # test rows are never read


def test_every_card_misconception_has_written_statements_both_ways():
    """bench/misconception_statements.jsonl (bench/spotter_statements.py's measuring stick): three sentences
    asserting each misconception of each card and two stating the correct fact, all distinct; a new card's
    misconceptions need theirs, written the same way, or the figure stops covering every card."""
    from collections import Counter

    from tutor.cards import load_cards

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    path = ROOT / "bench" / "misconception_statements.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    counts = Counter((r["card_id"], r["misconception"], r["label"]) for r in rows)
    wanted = {(cid, m) for cid, c in cards.items() for m in range(len(c.misconceptions))}

    assert {(cid, m) for cid, m, _ in counts} == wanted
    assert all(counts[(cid, m, "wrong")] == 3 and counts[(cid, m, "right")] == 2 for cid, m in wanted)
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(8 <= len(r["text"].split()) <= 35 for r in rows)


def test_the_packaged_delta_carries_out_of_fold_outputs_for_the_dev_rows():
    meta = sp.delta_meta()
    dev = {r["id"] for r in GOLDEN if r.get("split") == "dev"}

    assert set(meta["out_of_fold"]) <= dev and len(meta["out_of_fold"]) >= 2700, \
        "retrain the spotter: python -m tutor.spotter_train --out tutor/data"
    assert all(0.0 <= v <= 1.0 for v in meta["out_of_fold"].values())
    assert meta["max_length"] == sp.SPEC.max_length and meta["top_units"] == sp.TOP_UNITS


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("spotter")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUTOR_SPOTTER_DIR", str(folder))
        sp.export(force=True)
        assert sp.problem() == ""
    return folder


def test_the_exported_graph_computes_what_the_merged_torch_model_computes_in_int8(exported):
    """Within .05 of the merged fp32 model (int8 weights move a verdict by ~.01 on average, session 47), so a
    wrong merge, head or truncation, which moves it by far more, fails."""
    import torch
    from safetensors.numpy import load_file
    from transformers import AutoTokenizer

    from tutor.onnx_export import _load_bert
    from tutor.pair_model import build_module

    module = build_module(sp.SPEC, load_file(str(sp.pair_model.delta_dir() / sp.SPEC.delta_file)))
    source, _ = _load_bert()
    tokenizer = AutoTokenizer.from_pretrained(str(source))
    pairs = [("dropout stays on at inference", "At test time dropout keeps dropping units."),
             ("dropout stays on at inference", "Dropout is switched off at inference and the weights are scaled."),
             ("batch norm uses the current batch's statistics at test time",
              "During inference it normalizes with the statistics of the test batch."),
             ("a long wrong belief " * 40, "and a long statement " * 40)]  # cut to 128 word pieces
    onnx = sp.pair_model.PairModel(exported, sp.SPEC)
    got = onnx.pair_scores(pairs)
    for (a, b), value in zip(pairs, got, strict=True):
        enc = tokenizer(a, b, truncation="longest_first", max_length=sp.SPEC.max_length, return_tensors="pt")
        with torch.no_grad():
            want = float(module(enc["input_ids"], enc["attention_mask"], enc["token_type_ids"])[0])
        assert abs(float(value) - want) < 0.05


def test_the_int8_graph_keeps_the_first_ffn_outputs_in_fp32_and_scores_a_pair_alone(exported):
    import onnx as onnx_lib

    ops = {n.name: n.op_type for n in onnx_lib.load(str(exported / sp.pair_model.GRAPH)).graph.node}
    for layer in range(6):
        fp32 = f"/bert/encoder/layer.{layer}/output/dense/MatMul" in ops
        assert fp32 == (layer in sp.SPEC.fp32_ffn_out)
    assert "MatMulInteger" in ops.values()
    assert not (exported / sp.pair_model.FP32_GRAPH).exists()
    onnx = sp.pair_model.PairModel(exported, sp.SPEC)
    pair = ("dropout stays on at inference", "At test time dropout keeps dropping units.")
    mates = [("ReLU saturates for positive inputs", "Its gradient is one for every positive input, " * 8)] * 5
    assert onnx.pair_scores([pair])[0] == onnx.pair_scores([*mates, pair, *mates])[5]  # int8 ranges are per pair


def test_the_real_spotter_rates_test_misconception_answers_above_right_ones(exported):
    """Answer level, on test rows it never saw: the highest verdict over the statements it reads."""
    from tutor.cards import load_cards
    from tutor.embed import MiniLMEmbedder
    from tutor.grade import Grader

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    grader = Grader(MiniLMEmbedder(), list(cards.values()), model=None)
    onnx = sp.pair_model.PairModel(exported, sp.SPEC)

    def mean(category: str) -> float:
        rows = [r for r in GOLDEN if r.get("split") == "test" and r["category"] == category][::12]
        values = []
        for r in rows:
            rubric = grader.rubric_for(cards[r["card_id"]])
            ev, _ = grader.evidence(r["answer"], rubric)
            values.append(sp.spot(onnx, rubric.misconceptions, ev.units, ev.mis_cos))
        return float(np.mean(values))

    assert mean("misconception") > mean("complete") + 0.2


def test_the_feature_files_spot_column_is_what_the_shipped_spotter_says(exported, monkeypatch):
    """After a spotter retrain the columns must be refreshed (`python -m tutor.grade_train --spotter`)."""
    from tutor import grade_train as gt
    from tutor.grade_features import ALL_FEATURES

    monkeypatch.setenv("TUTOR_SPOTTER_DIR", str(exported))
    sp._load.cache_clear()
    column = ALL_FEATURES.index("spot")
    try:
        for reference, path in ((False, gt.FEATURE_FILE), (True, gt.REFERENCE_FEATURE_FILE)):
            rows = gt.load_feature_file(path)["rows"]
            sample = [r for r in rows if r["split"] == "test"][::300] + [r for r in rows if r["split"] == "dev"][::700]
            fresh = gt.refresh_spotter(sample, reference)

            assert [r["x"][column] for r in fresh] == pytest.approx([r["x"][column] for r in sample], abs=1e-5), \
                "the spotter changed: python -m tutor.grade_train --spotter"
            assert [r["x"][:column] for r in fresh] == [r["x"][:column] for r in sample]
    finally:
        sp._load.cache_clear()
