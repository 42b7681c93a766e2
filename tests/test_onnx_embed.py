"""The ONNX MiniLM: same vectors as sentence-transformers, and a clear "make install" when not exported."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import FakeEmbedder
from tutor.errors import ModelNotInstalled, UserError

SENTENCES = [
    "What is backpropagation through time?",
    "Dropout zeroes a random subset of activations while training, which discourages co-adaptation.",
    "BPTT",
    "How does a GRU differ from an LSTM, and when would you pick one over the other?",
    "Batch normalization rescales each feature with mini-batch statistics; at inference it uses running means.",
    "tune a postgres index",
    "x " * 400,  # longer than 256 word pieces: both runtimes truncate at the same place
    "Ünïcödé, emoji 🙂 and punctuation!?",
]


def _fake_export(folder, files: dict[str, bytes]) -> None:
    import hashlib

    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = {"format_version": 1, "model": "all-MiniLM-L6-v2",
                "files": {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}}
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_missing_export_says_run_make_install(tmp_path, monkeypatch):
    from tutor.onnx_embed import OnnxMiniLM

    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(tmp_path / "onnx"))
    with pytest.raises(ModelNotInstalled) as err:
        OnnxMiniLM()
    assert "make install" in err.value.fix and err.value.exit_code == 2


def test_a_truncated_file_is_caught_cheaply_and_a_changed_one_by_sha256(tmp_path, monkeypatch):
    from tutor.onnx_export import model_dir, read_manifest

    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(tmp_path / "onnx"))
    _fake_export(model_dir(), {"model.onnx": b"graph bytes", "tokenizer.json": b"{}"})
    read_manifest(full=True)
    (model_dir() / "model.onnx").write_bytes(b"graph byteZ")  # same size, other content
    read_manifest()  # the per-query check looks at presence and size only
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        read_manifest(full=True)
    (model_dir() / "model.onnx").write_bytes(b"graph")
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        read_manifest()


def test_ensure_re_exports_when_the_export_is_corrupt(tmp_path, monkeypatch):
    from tutor import onnx_export

    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(tmp_path / "onnx"))
    _fake_export(onnx_export.model_dir(), {"model.onnx": b"abc"})
    (onnx_export.model_dir() / "model.onnx").write_bytes(b"abd")
    calls = []
    monkeypatch.setattr(onnx_export, "export", lambda: calls.append(1) or {"files": {}})
    assert onnx_export.ensure() == ({"files": {}}, True) and calls == [1]


def test_cli_ask_without_the_export_exits_2_with_the_fix(config, tmp_path, monkeypatch, capsys):
    from tutor.cli import main
    from tutor.ingest import ingest

    class NamedLikeMiniLM(FakeEmbedder):
        name = "all-MiniLM-L6-v2"

    ingest(config, NamedLikeMiniLM, NamedLikeMiniLM.name, progress=False)
    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(tmp_path / "empty-home"))
    rc = main(["--index", str(config.index_dir), "ask", "--backend", "extractive", "what does softmax do"])
    err = capsys.readouterr().err
    assert rc == 2 and "make install" in err and "Traceback" not in err


def test_embedder_is_chosen_by_environment(monkeypatch):
    from tutor.embed import SentenceTransformerEmbedder, select_embedder
    from tutor.onnx_embed import OnnxMiniLM

    monkeypatch.delenv("TUTOR_EMBEDDER", raising=False)
    assert select_embedder() is OnnxMiniLM
    monkeypatch.setenv("TUTOR_EMBEDDER", "sentence-transformers")
    assert select_embedder() is SentenceTransformerEmbedder
    monkeypatch.setenv("TUTOR_EMBEDDER", "word2vec")
    with pytest.raises(UserError, match="onnx"):
        select_embedder()


@pytest.mark.slow
def test_onnx_vectors_match_sentence_transformers():
    from tutor.embed import SentenceTransformerEmbedder
    from tutor.onnx_embed import OnnxMiniLM

    onnx, reference = OnnxMiniLM(), SentenceTransformerEmbedder()
    a, b = onnx.encode(SENTENCES), reference.encode(SENTENCES)
    assert a.shape == b.shape == (len(SENTENCES), 384) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    assert cos.min() >= 0.999, dict(zip(SENTENCES, cos.round(5), strict=True))
    assert [onnx.word_pieces(s) for s in SENTENCES] == [reference.word_pieces(s) for s in SENTENCES]
    # Length-sorted batching must hand rows back in the caller's order.
    singles = np.vstack([onnx.encode([s]) for s in SENTENCES])
    np.testing.assert_allclose(a, singles, atol=1e-4)


@pytest.mark.slow
def test_int8_variant_has_its_own_name_and_stays_close():
    from tutor.onnx_embed import OnnxMiniLM

    fp32, int8 = OnnxMiniLM(), OnnxMiniLM("int8")
    assert int8.name != fp32.name  # an index built with one is stale for the other
    assert ((fp32.encode(SENTENCES) * int8.encode(SENTENCES)).sum(axis=1)).min() >= 0.95


def test_ensure_adds_the_optimised_and_fused_graphs_to_an_older_export_without_exporting_again(tmp_path, monkeypatch):
    from tutor import onnx_export

    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(tmp_path / "onnx"))
    _fake_export(onnx_export.model_dir(), {"model.onnx": b"abc", "tokenizer.json": b"{}"})
    monkeypatch.setattr(onnx_export, "export", lambda: pytest.fail("the export verified: no re-export"))
    monkeypatch.setattr(onnx_export, "optimize", lambda source, target: target.write_bytes(b"optimised"))

    def fake_fuse(target):
        (target / onnx_export.FUSED).write_bytes(b"graph")
        (target / onnx_export.FUSED_DATA).write_bytes(b"weights")

    monkeypatch.setattr(onnx_export, "fuse", fake_fuse)
    manifest, changed = onnx_export.ensure()
    assert changed and {onnx_export.OPTIMIZED, onnx_export.FUSED, onnx_export.FUSED_DATA} <= set(manifest["files"])
    again = onnx_export.read_manifest(full=True)  # the new files are vouched for by sha256
    assert again["files"][onnx_export.OPTIMIZED]["bytes"] == len(b"optimised")
    assert again["files"][onnx_export.FUSED_DATA]["bytes"] == len(b"weights")
    assert not list(onnx_export.model_dir().glob(".fuse-*"))  # no scratch folder left behind
    assert onnx_export.ensure() == (again, False)  # and a second install does nothing


@pytest.mark.slow
def test_the_saved_optimised_graph_gives_the_vectors_of_the_plain_one(tmp_path, monkeypatch):
    import shutil

    from tutor import onnx_export
    from tutor.onnx_embed import OnnxMiniLM

    real = onnx_export.model_dir()
    folder = tmp_path / "onnx"
    folder.mkdir()
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copyfile(real / name, folder / name)
    _fake_export_manifest = {n: (folder / n).read_bytes() for n in ("model.onnx", "tokenizer.json")}
    shutil.rmtree(folder)
    _fake_export(folder, _fake_export_manifest)
    monkeypatch.setenv("TUTOR_EMBEDDER_DIR", str(folder))
    plain = OnnxMiniLM().encode(SENTENCES)
    onnx_export.add_optimized(folder)
    optimised = OnnxMiniLM()
    assert optimised._session._model_path.endswith(onnx_export.OPTIMIZED)
    assert float((optimised.encode(SENTENCES) * plain).sum(axis=1).min()) >= 0.9999


@pytest.mark.slow
def test_texts_run_one_a_core_side_by_side_and_ingest_asks_for_batches():
    from tutor.onnx_embed import OnnxMiniLM

    query, corpus = OnnxMiniLM(), OnnxMiniLM()
    assert query._session is not None and not query.bulk  # loaded where callers expect it
    corpus.for_corpus()
    one, side_by_side, batched = query.encode([SENTENCES[0]]), query.encode(SENTENCES), corpus.encode(SENTENCES)
    assert (query.bulk, corpus.bulk) == (False, True)
    np.testing.assert_allclose(one[0], batched[0], atol=1e-4)  # the same vectors either way
    np.testing.assert_allclose(side_by_side, batched, atol=1e-4)  # in the caller's order
