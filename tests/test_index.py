"""The on-disk index: manifest per DESIGN.md, no pickle, and loud failures when missing, stale or edited."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.chunk import SCHEME
from tutor.errors import IndexCorrupt, IndexMissing, IndexStale
from tutor.index import FORMAT_VERSION, chunker_settings, load_index, write_index
from tutor.ingest import source_key

CHUNK_FIELDS = {"id", "source", "card_id", "title", "section", "text", "token_count"}


def _load(config):
    return load_index(config.index_dir, config, FakeEmbedder.name, FakeEmbedder.dim)


def test_manifest_records_what_design_md_promises(built_index):
    config = built_index
    manifest = json.loads((config.index_dir / "manifest.json").read_text(encoding="utf-8"))

    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["embed_model"] == FakeEmbedder.name
    assert manifest["dim"] == FakeEmbedder.dim
    assert manifest["normalized"] is True
    assert manifest["chunker"] == {
        "encoding": config.encoding, "tokens": config.chunk_tokens, "overlap": config.chunk_overlap,
        "scheme": SCHEME,
    }
    card_files = sorted(config.sources[0].rglob("*.md"))
    assert manifest["corpus_sha256"] == {
        source_key(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in card_files
    }
    lines = (config.index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    assert manifest["n_chunks"] == len(lines)
    datetime.strptime(manifest["built_at"], "%Y-%m-%dT%H:%M:%SZ")


def test_chunks_jsonl_rows_carry_the_documented_fields(built_index):
    rows = [json.loads(ln) for ln in (built_index.index_dir / "chunks.jsonl").read_text("utf-8").splitlines()]

    assert rows
    for row in rows:
        assert set(row) >= CHUNK_FIELDS
    assert {r["card_id"] for r in rows} == set(CARDS)
    assert len({r["id"] for r in rows}) == len(rows)


def test_loaded_index_has_one_normalized_vector_per_chunk_and_every_card(built_index):
    index = _load(built_index)

    vectors = index.all_vectors()
    assert vectors.shape == (len(index.chunks), FakeEmbedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert set(index.cards) == set(CARDS)
    assert index.dim == FakeEmbedder.dim


def test_no_pickle_is_written_anywhere_in_the_index(built_index):
    files = [p for p in built_index.index_dir.rglob("*") if p.is_file()]

    assert files
    for path in files:
        assert path.suffix not in (".pkl", ".pickle", ".npy", ".npz", ".joblib"), path
        head = path.read_bytes()[:2]
        # Every pickle since protocol 2 starts with the PROTO opcode 0x80 and the protocol number.
        assert not (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")), path


def test_nothing_of_the_scratch_build_is_left_behind(built_index):
    leftovers = [p.name for p in built_index.index_dir.iterdir() if p.name.startswith(".build")]

    assert leftovers == []


@pytest.mark.parametrize(
    "change",
    [{"chunk_tokens": 100}, {"chunk_overlap": 5}, {"encoding": "o200k_base"}],
    ids=["tokens", "overlap", "encoding"],
)
def test_loading_with_another_chunker_is_stale_and_says_run_ingest(built_index, change):
    with pytest.raises(IndexStale) as err:
        _load(built_index.with_(**change))

    assert err.value.exit_code == 2
    assert f"tutor --index {built_index.index_dir} ingest" in err.value.fix
    assert "stale" in err.value.message


def test_loading_with_another_embedder_or_dimension_is_stale(built_index):
    with pytest.raises(IndexStale, match="embedder"):
        load_index(built_index.index_dir, built_index, "all-MiniLM-L6-v2")
    with pytest.raises(IndexStale, match="dimension"):
        load_index(built_index.index_dir, built_index, FakeEmbedder.name, FakeEmbedder.dim * 2)


def test_an_edited_chunks_file_is_corrupt(built_index):
    path = built_index.index_dir / "chunks.jsonl"
    path.write_text(path.read_text("utf-8").replace("Dropout", "Dr0pout"), encoding="utf-8")

    with pytest.raises(IndexCorrupt) as err:
        _load(built_index)

    assert "chunks.jsonl" in err.value.message
    assert err.value.fix == f"tutor --index {built_index.index_dir} ingest --rebuild"


def test_a_deleted_index_file_is_corrupt(built_index):
    (built_index.index_dir / "faiss.index").unlink()

    with pytest.raises(IndexCorrupt, match="faiss.index"):
        _load(built_index)


def test_an_unreadable_manifest_is_corrupt(built_index):
    (built_index.index_dir / "manifest.json").write_text("{not json", encoding="utf-8")

    with pytest.raises(IndexCorrupt):
        _load(built_index)


def test_a_missing_index_says_run_ingest(config):
    with pytest.raises(IndexMissing) as err:
        _load(config)

    assert err.value.exit_code == 2
    assert err.value.fix == f"tutor --index {config.index_dir} ingest"  # the folder in use, not ./index
    assert str(config.index_dir) in err.value.message


def test_the_fix_names_the_index_folder_unless_it_is_the_default(monkeypatch, tmp_path):
    from tutor.config import ingest_command

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TUTOR_INDEX_DIR", raising=False)
    assert ingest_command(Path("index"), "--rebuild") == ingest_command(tmp_path / "index", "--rebuild") \
        == "tutor ingest --rebuild"
    assert ingest_command(Path("my index")) == "tutor --index 'my index' ingest"
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "mine"))  # what a plain `tutor ingest` then builds
    assert ingest_command(tmp_path / "mine") == "tutor ingest"
    assert ingest_command(Path("index")) == "tutor --index index ingest"


def test_write_index_refuses_chunks_and_vectors_of_different_lengths(built_index, tmp_path):
    index = _load(built_index)

    with pytest.raises(ValueError):
        write_index(tmp_path / "other", built_index, index.chunks, index.all_vectors()[:-1],
                    list(index.cards.values()), {}, FakeEmbedder.name)
    assert not (tmp_path / "other" / "manifest.json").exists()


def test_chunker_settings_reflect_the_config(config):
    changed = config.with_(chunk_tokens=config.chunk_tokens + 1)

    assert chunker_settings(changed)["tokens"] == config.chunk_tokens + 1
    assert chunker_settings(changed) != chunker_settings(config)


def test_index_built_with_an_older_chunk_scheme_is_stale(built_index):
    import json

    manifest_file = built_index.index_dir / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    manifest["chunker"]["scheme"] = SCHEME - 1
    manifest_file.write_text(json.dumps(manifest))
    with pytest.raises(IndexStale, match="stale") as exc:
        load_index(built_index.index_dir, built_index, FakeEmbedder.name)
    assert f"tutor --index {built_index.index_dir} ingest" in exc.value.fix
