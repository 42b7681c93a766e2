"""The on-disk index: manifest.json, faiss.index, chunks.jsonl, cards.jsonl. No pickle anywhere.

Files are written to a scratch folder and moved into place with the manifest last; the manifest records
each file's sha256, so a half-replaced or edited index is caught at load as corrupt, not silently used.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.cards import Card
from tutor.chunk import SCHEME, Chunk
from tutor.config import Config
from tutor.errors import IndexCorrupt, IndexMissing, IndexStale

FORMAT_VERSION = 1
_FILES = ("faiss.index", "chunks.jsonl", "cards.jsonl")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def chunker_settings(config: Config) -> dict:
    return {"encoding": config.encoding, "tokens": config.chunk_tokens, "overlap": config.chunk_overlap,
            "scheme": SCHEME}


@dataclass
class Index:
    manifest: dict
    vectors: object  # faiss.Index
    chunks: list[Chunk]
    cards: dict[str, Card]
    path: Path

    @property
    def dim(self) -> int:
        return int(self.manifest["dim"])

    def all_vectors(self) -> np.ndarray:
        return self.vectors.reconstruct_n(0, self.vectors.ntotal)


def write_index(
    path: Path,
    config: Config,
    chunks: list[Chunk],
    vectors: np.ndarray,
    cards: list[Card],
    source_hashes: dict[str, str],
    embed_model: str,
) -> dict:
    import faiss

    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    path.mkdir(parents=True, exist_ok=True)
    scratch = path / f".build-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        flat = faiss.IndexFlatIP(vectors.shape[1])
        flat.add(np.ascontiguousarray(vectors, dtype=np.float32))
        faiss.write_index(flat, str(scratch / "faiss.index"))
        with open(scratch / "chunks.jsonl", "w", encoding="utf-8") as fh:
            for c in chunks:
                fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
        with open(scratch / "cards.jsonl", "w", encoding="utf-8") as fh:
            for card in cards:
                fh.write(json.dumps(card.to_dict(), ensure_ascii=False) + "\n")
        manifest = {
            "format_version": FORMAT_VERSION,
            "embed_model": embed_model,
            "dim": int(vectors.shape[1]),
            "normalized": True,
            "chunker": chunker_settings(config),
            "corpus_sha256": dict(sorted(source_hashes.items())),
            "n_chunks": len(chunks),
            "n_cards": len(cards),
            "files_sha256": {name: sha256_file(scratch / name) for name in _FILES},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in (*_FILES, "manifest.json"):
            os.replace(scratch / name, path / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def read_manifest(path: Path) -> dict | None:
    file = path / "manifest.json"
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{file} is not valid JSON ({exc})", fix="tutor ingest --rebuild") from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{file} is not a JSON object", fix="tutor ingest --rebuild")
    return manifest


def check_compatible(manifest: dict, config: Config, embed_model: str, dim: int | None = None) -> None:
    """Raise IndexStale when the index was built with other settings than the running ones."""
    problems = []
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"format version {manifest.get('format_version')} (this tutor reads {FORMAT_VERSION})")
    if manifest.get("embed_model") != embed_model:
        problems.append(f"embedder `{manifest.get('embed_model')}` (running `{embed_model}`)")
    if dim is not None and manifest.get("dim") != dim:
        problems.append(f"dimension {manifest.get('dim')} (running {dim})")
    if manifest.get("chunker") != chunker_settings(config):
        problems.append(f"chunker {manifest.get('chunker')} (running {chunker_settings(config)})")
    if problems:
        raise IndexStale("index is stale: built with " + "; ".join(problems), fix="tutor ingest")


def load_index(path: Path, config: Config, embed_model: str, dim: int | None = None) -> Index:
    manifest = read_manifest(path)
    if manifest is None:
        raise IndexMissing(f"no index at {path}", fix="tutor ingest")
    check_compatible(manifest, config, embed_model, dim)
    for name, sha in (manifest.get("files_sha256") or {}).items():
        file = path / name
        if not file.is_file() or sha256_file(file) != sha:
            raise IndexCorrupt(f"{file} is missing or does not match the manifest", fix="tutor ingest --rebuild")
    import faiss

    try:
        vectors = faiss.read_index(str(path / "faiss.index"))
        # split("\n"), not splitlines(): a text holding U+2028 or NEL is one JSON line, not two
        chunks = [Chunk(**json.loads(ln)) for ln in (path / "chunks.jsonl").read_text("utf-8").split("\n") if ln]
        cards = [Card.from_dict(json.loads(ln)) for ln in (path / "cards.jsonl").read_text("utf-8").split("\n") if ln]
    except Exception as exc:  # any parse failure means the same thing to the user
        raise IndexCorrupt(f"cannot read the index at {path}: {exc}", fix="tutor ingest --rebuild") from None
    if vectors.ntotal != len(chunks):
        raise IndexCorrupt(f"{vectors.ntotal} vectors but {len(chunks)} chunks", fix="tutor ingest --rebuild")
    return Index(manifest, vectors, chunks, {c.id: c for c in cards}, path)
