"""Files and index under stress: two ingests at once, ingest while serving, disk full, foreign manifests,
unreadable files and folders where files were expected. Each ends in a clear message and an intact index."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import FakeEmbedder

import tutor.index
from tutor.cli import main
from tutor.errors import IndexWriteFailed, IngestRunning
from tutor.index import load_index
from tutor.ingest import ingest
from tutor.lock import ingest_lock
from tutor.tutor import Tutor

NEW_BODY = (
    "Zebracorn pooling is an invented layer used only by these tests. It averages each window of a feature "
    "map and then keeps the stripes whose variance is highest, which is why its name mentions a zebra. "
    "Nothing in the real literature is called this, so a passage about it can only come from the card "
    "written here, which makes it a clean marker that a new index is in use. The rest of this paragraph "
    "pads the answer past the minimum length that the card checker asks of every curated answer in the set."
)


def _ingest(config, **kw):
    return ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False, **kw)


def _snapshot(index_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in index_dir.iterdir() if p.is_file() and not p.name.startswith(".")}


def _add_zebra_card(cards_dir: Path, write_card) -> None:
    write_card(cards_dir, "training/zebracorn", question="What is zebracorn pooling?",
               also_asked=["how do zebracorn stripes get picked"], body=NEW_BODY)


def _cards_retrieved(tutor: Tutor, question: str) -> set[str]:
    return {p.card_id for p in tutor.retrieve(question, 5)[1]}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


# --- two ingests at once ------------------------------------------------------------------------------------

def test_a_second_ingest_while_one_holds_the_lock_exits_2_and_changes_nothing(built_index):
    before = _snapshot(built_index.index_dir)
    with ingest_lock(built_index.index_dir):  # the first ingest, mid-run
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        second = subprocess.run([sys.executable, "-m", "tutor.cli", "--index", str(built_index.index_dir),
                                 "ingest"], capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 2, second.stderr
    assert "another `tutor ingest`" in second.stderr and f"pid {os.getpid()}" in second.stderr
    assert "fix:" in second.stderr and "Traceback" not in second.stderr
    assert _snapshot(built_index.index_dir) == before


def test_the_lock_is_released_after_an_ingest_even_a_failed_one(built_index, cards_dir):
    (cards_dir / "training" / "broken.md").write_text("---\nid: [\n---\n", encoding="utf-8")
    with pytest.raises(Exception):  # noqa: B017 - any corpus error; the point is the lock afterwards
        _ingest(built_index)
    (cards_dir / "training" / "broken.md").unlink()
    with ingest_lock(built_index.index_dir), pytest.raises(IngestRunning, match="another `tutor ingest`"):
        _ingest(built_index)
    assert not _ingest(built_index).changed  # free again, index intact


# --- ingest while serving -----------------------------------------------------------------------------------

def test_a_serving_tutor_answers_from_the_old_index_then_picks_up_the_new_one(built_index, cards_dir, write_card):
    tutor = Tutor(built_index, embedder_factory=FakeEmbedder)
    assert "training/zebracorn" not in _cards_retrieved(tutor, "zebracorn pooling stripes")
    old = tutor.index

    _add_zebra_card(cards_dir, write_card)
    assert _ingest(built_index).changed
    assert tutor.index is old  # nothing reloaded behind the learner's back between questions
    assert "training/zebracorn" in _cards_retrieved(tutor, "zebracorn pooling stripes")
    assert tutor.index is not old
    assert not tutor.refresh_index()  # unchanged manifest: one stat(), no reload


def test_a_half_swapped_index_is_not_used_the_old_one_keeps_serving(built_index, cards_dir, write_card):
    tutor = Tutor(built_index, embedder_factory=FakeEmbedder)
    first = _cards_retrieved(tutor, "what does dropout do")
    manifest = built_index.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files_sha256"]["chunks.jsonl"] = "0" * 64  # as if caught between two renames
    manifest.write_text(json.dumps(data))

    assert _cards_retrieved(tutor, "what does dropout do") == first  # old index in memory, no error
    _add_zebra_card(cards_dir, write_card)
    _ingest(built_index, rebuild=True)  # the swap completes
    assert "training/zebracorn" in _cards_retrieved(tutor, "zebracorn pooling stripes")


def test_questions_during_an_ingest_in_another_thread_never_fail(built_index, cards_dir, write_card):
    tutor = Tutor(built_index, embedder_factory=FakeEmbedder)
    tutor.retrieve("what does dropout do", 3)
    errors: list[BaseException] = []
    done = threading.Event()

    def ask_until_done() -> None:
        n = 0
        while not done.is_set() or n < 5:
            try:
                tutor.retrieve("zebracorn pooling or dropout", 3)
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
            n += 1

    worker = threading.Thread(target=ask_until_done)
    worker.start()
    _add_zebra_card(cards_dir, write_card)
    for _ in range(3):
        _ingest(built_index, rebuild=True)
    done.set()
    worker.join(60)
    assert not errors
    assert "training/zebracorn" in _cards_retrieved(tutor, "zebracorn pooling stripes")


# --- disk full while writing --------------------------------------------------------------------------------

class _FullDisk:
    """Stands in for `open` inside tutor.index: writes to chunks.jsonl fail as on a full disk."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, file, mode="r", *args, **kwargs):
        fh = open(file, mode, *args, **kwargs)  # noqa: SIM115 - wrapped and closed by the caller's `with`
        if Path(file).name != self.name or "w" not in mode:
            return fh

        def write(_text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        fh.write = write
        return fh


@pytest.mark.parametrize("name", ["chunks.jsonl", "cards.jsonl", "manifest.json"])
def test_disk_full_while_writing_keeps_the_old_index_and_says_so(built_index, cards_dir, write_card,
                                                                 monkeypatch, name):
    before = _snapshot(built_index.index_dir)
    _add_zebra_card(cards_dir, write_card)
    monkeypatch.setattr(tutor.index, "open", _FullDisk(name), raising=False)

    with pytest.raises(IndexWriteFailed) as failure:
        _ingest(built_index)
    assert "No space left on device" in str(failure.value)
    assert "previous index" in str(failure.value) and "unchanged" in str(failure.value)
    assert _snapshot(built_index.index_dir) == before
    assert not list(built_index.index_dir.glob(".build-*"))  # no scratch left to fill the disk further
    assert load_index(built_index.index_dir, built_index, FakeEmbedder.name).manifest["n_cards"] == 6


def test_a_faiss_write_failure_is_reported_the_same_way(built_index, cards_dir, write_card, monkeypatch):
    import faiss

    before = _snapshot(built_index.index_dir)
    _add_zebra_card(cards_dir, write_card)

    def full(*_a):
        raise RuntimeError("Error in faiss::FileIOWriter\nfwrite failed: No space left on device")

    monkeypatch.setattr(faiss, "write_index", full)
    with pytest.raises(IndexWriteFailed, match="No space left on device"):
        _ingest(built_index)
    assert _snapshot(built_index.index_dir) == before


def test_disk_full_through_the_cli_is_exit_2_with_a_fix(capsys, config, cards_dir, fake_minilm, monkeypatch):
    monkeypatch.setattr(tutor.index, "open", _FullDisk("chunks.jsonl"), raising=False)
    code, _, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(cards_dir))
    assert code == 2
    assert "No space left on device" in err and "fix: free some disk space" in err


# --- a manifest from another model or format version -------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "said"), [
    ("embed_model", "bge-small-en", "embedder `bge-small-en`"),
    ("format_version", 99, "format version 99 (this tutor reads 1)"),
])
def test_a_foreign_manifest_is_a_clear_exit_2_and_ingest_fixes_it(capsys, built_index, cards_dir, fake_minilm,
                                                                   field, value, said):
    manifest = built_index.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data[field] = value
    manifest.write_text(json.dumps(data))
    index = str(built_index.index_dir)

    code, _, err = run(capsys, "--index", index, "retrieve", "what does dropout do")
    assert code == 2 and said in err and f"fix: tutor --index {index} ingest" in err

    code, _, err = run(capsys, "--index", index, "ingest", "--only", str(cards_dir))
    assert code == 0, err
    code, out, _ = run(capsys, "--index", index, "retrieve", "what does dropout do", "--json")
    assert code == 0 and json.loads(out)["passages"]


def test_a_manifest_without_hashes_is_corrupt_not_a_traceback(capsys, built_index, fake_minilm):
    manifest = built_index.index_dir / "manifest.json"
    data = json.loads(manifest.read_text())
    data["files_sha256"] = ["faiss.index"]
    manifest.write_text(json.dumps(data))
    code, _, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "dropout")
    assert code == 2 and "lacks its file hashes" in err and f"tutor --index {built_index.index_dir} ingest --rebuild" in err


# --- unreadable files, folders and special files ------------------------------------------------------------

def test_an_unreadable_file_is_named_with_a_fix(capsys, config, tmp_path, fake_minilm, monkeypatch):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nSomething about dropout.\n", encoding="utf-8")
    real_read_bytes = Path.read_bytes

    def read_bytes(self: Path) -> bytes:  # root reads through chmod 000, so refuse as the kernel would
        if self.name == "notes.md":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
        return real_read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, _, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(notes))
    assert code == 1
    assert f"{notes}: cannot read it (Permission denied)" in err and "chmod +r" in err
    assert not (config.index_dir / "manifest.json").exists()


def test_a_folder_without_documents_is_a_clear_error(capsys, config, tmp_path, fake_minilm):
    folder = tmp_path / "lecture.md"  # a folder named like a file
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "a.png").write_bytes(b"\x89PNG")
    code, _, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(folder))
    assert code == 1 and f"nothing to index in {folder}" in err


def test_a_folder_named_like_a_file_is_read_as_a_folder(capsys, config, tmp_path, fake_minilm):
    folder = tmp_path / "lecture.md"
    folder.mkdir()
    (folder / "part1.md").write_text("# Dropout\n\nDropout zeroes random units while training.\n", "utf-8")
    code, out, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(folder), "--json")
    assert code == 0, err and json.loads(out)["n_sources"] == 1


def test_a_fifo_is_refused_instead_of_blocking(capsys, config, tmp_path, fake_minilm):
    fifo = tmp_path / "pipe.md"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(fifo))
    assert code == 1 and "not a regular file" in err
