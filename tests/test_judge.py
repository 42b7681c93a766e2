"""The contradiction judge's fixed quantizer ranges (tutor/judge.py, tutor/judge_calibrate.py)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from tutor import judge as judge_mod
from tutor.cards import load_cards
from tutor.errors import ModelNotInstalled
from tutor.judge import fix_ranges, load_judge, load_ranges
from tutor.judge_calibrate import CARDS, calibration_pairs


def _round_trip_graph() -> onnx.ModelProto:
    """x -> DynamicQuantizeLinear -> DequantizeLinear -> y: y shows the range the quantizer used."""
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "q_scale", "q_zero"], name="x_Quantize"),
             helper.make_node("DequantizeLinear", ["q", "q_scale", "q_zero"], ["y"])]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 4])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x.astype(np.float32)})[0]


def test_fixed_ranges_make_a_row_independent_of_the_rows_beside_it():
    row = np.array([[0.3, -0.2, 0.7, 0.05]])
    loud = np.array([[40.0, -30.0, 0.0, 1.0]])
    dynamic = _round_trip_graph()
    alone, beside = _run(dynamic, row)[0], _run(dynamic, np.vstack([row, loud]))[0]
    assert np.abs(alone - beside).max() > 0.05  # the on-the-fly range widened for the loud row
    fixed = _round_trip_graph()
    fix_ranges(fixed, {"x": [-1.0, 1.0]})
    assert [n.op_type for n in fixed.graph.node] == ["QuantizeLinear", "DequantizeLinear"]
    alone, beside = _run(fixed, row)[0], _run(fixed, np.vstack([row, loud]))[0]
    np.testing.assert_array_equal(alone, beside)
    np.testing.assert_allclose(alone, row[0], atol=2 / 255)
    assert _run(fixed, loud)[0][0] == pytest.approx(1.0, abs=2 / 255)  # outside the range: saturates


def test_a_tensor_without_a_range_is_a_clear_error():
    with pytest.raises(ModelNotInstalled, match="no range") as err:
        fix_ranges(_round_trip_graph(), {"other": [-1.0, 1.0]})
    assert "judge_calibrate" in err.value.fix


def test_ranges_calibrated_for_another_model_are_refused(tmp_path, monkeypatch):
    stale = tmp_path / "judge_ranges.json"
    stale.write_text(json.dumps({"model_sha256": "0" * 64, "ranges": {}}), encoding="utf-8")
    monkeypatch.setattr(judge_mod, "RANGES_FILE", stale)
    with pytest.raises(ModelNotInstalled, match="another judge model"):
        load_ranges()


def test_calibration_pairs_come_from_every_card_and_are_seeded():
    cards = load_cards(CARDS)
    pairs = calibration_pairs(cards)
    assert pairs == calibration_pairs(cards)
    assert len(pairs) >= 3 * len(cards)
    premises = {p for _, p in pairs}
    assert all(any(kp.point in premises or any(x.startswith(kp.point) for x in premises)
                   for kp in card.key_points) for card in cards)


def test_the_committed_ranges_cover_the_installed_model():
    judge = load_judge()
    if judge is None:
        pytest.skip("the judge package is not installed (the grader then uses its lexical model)")
    graph = onnx.load(str(judge._folder / judge_mod.MODEL))
    quantized = {n.input[0] for n in graph.graph.node if n.op_type == "DynamicQuantizeLinear"}
    ranges = load_ranges()
    assert quantized == set(ranges)
    assert all(low <= 0.0 <= high and high > low for low, high in ranges.values())


def test_the_real_judge_reads_a_pair_alone_and_tells_a_reversal_from_a_paraphrase():
    judge = load_judge()
    if judge is None:
        pytest.skip("the judge package is not installed")
    point = "at inference dropout is switched off and the full network is used"
    pairs = [("dropout stays active at test time, randomly zeroing units", point),
             ("when you evaluate the model, dropout is turned off so every unit is used", point),
             ("the learning rate controls the size of each gradient step in training", point)]
    together = judge.conflict(pairs)
    alone = np.array([judge.conflict([p])[0] for p in pairs])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert together[0] > together[1] + 2  # the reversal conflicts; the paraphrase does not


def test_unusable_ranges_leave_the_grader_on_its_lexical_model(tmp_path, monkeypatch):
    if judge_mod.package_dir() is None:
        pytest.skip("the judge package is not installed")
    stale = tmp_path / "judge_ranges.json"
    stale.write_text(json.dumps({"model_sha256": "0" * 64, "ranges": {}}), encoding="utf-8")
    monkeypatch.setattr(judge_mod, "RANGES_FILE", stale)
    judge_mod._installed.cache_clear()
    try:
        assert load_judge() is None
        assert "another judge model" in judge_mod.check()
        with pytest.raises(ModelNotInstalled, match="another judge model"):
            load_judge(required=True)
    finally:
        judge_mod._installed.cache_clear()


def test_calibration_replaces_stale_ranges_instead_of_refusing_them(tmp_path, monkeypatch):
    from tutor import judge_calibrate

    if judge_mod.model_problem():
        pytest.skip("the judge package is not installed")
    stale = tmp_path / "judge_ranges.json"
    stale.write_text(json.dumps({"model_sha256": "0" * 64, "ranges": {}}), encoding="utf-8")
    monkeypatch.setattr(judge_calibrate, "RANGES_FILE", stale)
    monkeypatch.setattr(judge_calibrate, "measure_ranges", lambda folder, pairs: {"x": [-1.0, 1.0]})
    assert judge_calibrate.main() == 0
    written = json.loads(stale.read_text(encoding="utf-8"))
    assert written["model_sha256"] == judge_mod.MODEL_SHA256 and written["ranges"] == {"x": [-1.0, 1.0]}


def test_the_sliced_position_terms_give_the_unsliced_graphs_margins_bit_for_bit():
    from tutor.judge_graph import slice_relative

    judge = load_judge()
    if judge is None:
        pytest.skip("the judge package is not installed")
    whole, sliced = (judge_mod.load_graph(judge._folder) for _ in range(2))
    for graph in (whole, sliced):
        fix_ranges(graph, load_ranges())
    assert slice_relative(sliced) == 24  # two position terms in each of the 12 layers
    assert slice_relative(sliced) == 0  # done once: a rewritten graph is left alone
    point = "at inference dropout is switched off and the full network is used"
    long = " ".join(["the network is trained with dropout so that units cannot co-adapt"] * 14)
    encodings = judge._tokenizer.encode_batch([("dropout stays on at test time", point), (long, point)])
    assert len(encodings[1].ids) > 140  # past 128 tokens, where the relative positions are log-bucketed
    margins = []
    for graph in (whole, sliced):
        session = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
        feeds = [{"input_ids": np.array([e.ids]), "attention_mask": np.ones((1, len(e.ids)), np.int64)}
                 for e in encodings]
        margins.append(np.stack([session.run(None, feed)[0] for feed in feeds]))
    np.testing.assert_array_equal(margins[0], margins[1])


@pytest.mark.slow
def test_a_later_open_reads_the_kept_optimized_graph_and_a_broken_one_is_rebuilt(tmp_path, monkeypatch):
    if judge_mod.package_dir() is None:
        pytest.skip("the judge package is not installed")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path))
    point = "at inference dropout is switched off and the full network is used"
    pairs = [("dropout stays active at test time, randomly zeroing units", point),
             ("when you evaluate the model, dropout is turned off so every unit is used", point),
             ("a much longer statement about learning rates, warm-up schedules and the size of each gradient "
              "step taken by the optimizer during training of a deep network " * 3, point)]
    stale = tmp_path / "judge" / f"{judge_mod.NAME}-0000000000000000.onnx"  # kept by an older onnxruntime
    stale.parent.mkdir()
    stale.write_bytes(b"an old graph")
    fresh = judge_mod.Judge(judge_mod.package_dir()).conflict(pairs)
    kept = judge_mod.cache_path()
    assert not stale.exists()  # replaced, not left beside the new one
    assert kept.is_file() and kept.parent.parent == tmp_path and not list(kept.parent.glob("*.tmp"))

    real = judge_mod._fresh_session
    monkeypatch.setattr(judge_mod, "_fresh_session", lambda folder, path: pytest.fail("rebuilt a kept graph"))
    assert np.array_equal(judge_mod.Judge(judge_mod.package_dir()).conflict(pairs), fresh)  # bit for bit

    kept.write_bytes(b"half a graph")  # a crash mid-copy, a full disk: only a cache
    monkeypatch.setattr(judge_mod, "_fresh_session", real)
    assert np.array_equal(judge_mod.Judge(judge_mod.package_dir()).conflict(pairs), fresh)
    assert kept.stat().st_size > 1_000_000


@pytest.mark.slow
def test_a_home_where_the_graph_cannot_be_kept_still_opens_the_judge(tmp_path, monkeypatch):
    if judge_mod.package_dir() is None:
        pytest.skip("the judge package is not installed")
    home = tmp_path / "home"
    home.mkdir()
    (home / "judge").write_text("a file where the folder should be")  # mkdir fails, as on a read-only home
    monkeypatch.setenv("TUTOR_HOME", str(home))
    margins = judge_mod.Judge(judge_mod.package_dir()).conflict([("dropout stays on at test time",
                                                                  "dropout is off at inference")])
    assert margins.shape == (1,) and np.isfinite(margins[0])
    assert (home / "judge").is_file()


@pytest.mark.slow
def test_when_onnxruntime_cannot_write_the_graph_the_judge_opens_without_it(tmp_path, monkeypatch):
    import os

    if judge_mod.package_dir() is None:
        pytest.skip("the judge package is not installed")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path))
    kept = judge_mod.cache_path()
    (kept.parent / f"{kept.name}.{os.getpid()}.tmp").mkdir(parents=True)  # where ORT would write: it fails
    margins = judge_mod.Judge(judge_mod.package_dir()).conflict([("dropout stays on at test time",
                                                                  "dropout is off at inference")])
    assert margins.shape == (1,) and np.isfinite(margins[0]) and not kept.exists()
