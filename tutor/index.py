"""The on-disk index: manifest.json, faiss.index, chunks.jsonl, cards.jsonl, the BM25 arrays (tutor/sparse.py)
and lexicon.json (tutor/lexicon.py). No pickle anywhere.

Files are written to a scratch folder and moved into place with the manifest last; the manifest records
each file's sha256, so a half-replaced or edited index is caught at load as corrupt, not silently used.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.cards import Card
from tutor.chunk import SCHEME, Chunk
from tutor.config import Config, ingest_command
from tutor.errors import IndexCorrupt, IndexMissing, IndexStale, IndexWriteFailed
from tutor.lexicon import FILE as LEXICON_FILE
from tutor.lexicon import VERSION as LEXICON_VERSION
from tutor.sparse import FILES as SPARSE_FILES
from tutor.sparse import SparseIndex

FORMAT_VERSION = 1
# The BM25 arrays and the lexicon came later: an index without them is still read (the retriever then
# builds them in memory) and the next `tutor ingest` adds them without re-embedding.
_FILES = ("faiss.index", "chunks.jsonl", "cards.jsonl", *SPARSE_FILES.values(), LEXICON_FILE)

# FAISS index type by size, measured by bench/retrieval_scale.py (synthetic chunks spread around the real
# MiniLM vectors, real card questions as queries). Exact search is right while it is fast: flat inner
# product costs ~0.7 ms per query at 10k vectors and ~13 ms at 100k on 2 idle cores (DESIGN.md).
# Above FLAT_MAX, IVF-Flat: k-means cells (2·√n, trained on 40 vectors per cell, 10 iterations) of which
# NPROBE are scanned. We measured HNSW (M=32, efConstruction 80) too: ~3 ms and recall@10 0.99 at 100k
# like IVF, but 3.2x its build CPU (35.6 s vs 11.2 s at 100k, load ≈ 15), paid again on every re-ingest.
# IVF-Flat keeps the full vectors (exact cosines for BM25-only hits; incremental ingest reads them back
# through its direct map); IVF-PQ would cut memory 32x at a recall cost that 1M x 384 floats (1.5 GB) do
# not yet call for.
FLAT_MAX = 50_000
NPROBE = 16


def query_threads() -> None:
    """One FAISS thread for searching (TUTOR_FAISS_THREADS overrides).

    A single query split over OpenMP threads waits at a barrier for the slowest; on a busy machine one
    descheduled thread stalls it: flat 10k went from ~10 ms to ~84 ms p50 with 2 threads at load 15.
    """
    import faiss

    faiss.omp_set_num_threads(int(os.environ.get("TUTOR_FAISS_THREADS") or 1))


def build_vectors(vectors: np.ndarray, flat_max: int | None = None) -> tuple[object, dict]:
    """A FAISS inner-product index for `vectors` and its description for the manifest."""
    import faiss

    flat_max = FLAT_MAX if flat_max is None else flat_max
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if n <= flat_max:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index, {"type": "flat", "flat_max": flat_max}
    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building is one long batch job: every core helps
    try:
        return _build_ivf(vectors, flat_max)
    finally:
        query_threads()


def _build_ivf(vectors: np.ndarray, flat_max: int) -> tuple[object, dict]:
    import faiss

    n, dim = vectors.shape
    nlist = int(2 * math.sqrt(n))
    index = faiss.index_factory(dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.niter = 10  # seconds, not minutes, at 1M; recall is in the bench
    # A fixed-seed sample (FAISS warns below 39 per cell): the same corpus gives the same cells.
    sample = np.random.default_rng(0).choice(n, min(n, 40 * nlist), replace=False)
    index.train(vectors[np.sort(sample)])
    index.add(vectors)
    tune_vectors(index, {"type": "ivf", "nprobe": NPROBE})
    return index, {"type": "ivf", "nlist": nlist, "nprobe": NPROBE, "flat_max": flat_max}


def tune_vectors(index: object, spec: dict) -> object:
    """Apply the manifest's search-time settings to a loaded index; IVF gets its direct map for reconstruct."""
    if spec.get("type") == "ivf":
        import faiss

        ivf = faiss.extract_index_ivf(index)
        ivf.nprobe = int(spec.get("nprobe", NPROBE))
        ivf.make_direct_map()
    return index


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
    sparse: SparseIndex | None = None  # BM25 written by ingest; None for an index from before it
    lexicon: dict | None = None  # glossary and word statistics (tutor/lexicon.py); None when absent or old

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
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    try:
        path.mkdir(parents=True, exist_ok=True)
        scratch = path / f".build-{os.getpid()}"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
    except OSError as exc:
        raise IndexWriteFailed(f"cannot write the index at {path}: {exc.strerror or exc}",
                               fix="make the folder writable, or pass another with: tutor --index DIR ingest") from None
    try:
        manifest = _write_files(scratch, config, chunks, vectors, cards, source_hashes, embed_model)
    except (OSError, RuntimeError) as exc:  # faiss reports a failed fwrite as RuntimeError
        shutil.rmtree(scratch, ignore_errors=True)
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[-1]
        raise IndexWriteFailed(
            f"could not write the new index ({reason}); the previous index at {path} is unchanged",
            fix=f"free some disk space, then run `{ingest_command(path)}` again",
        ) from None
    try:
        # Same-folder renames, manifest last: a reader sees either the old manifest (and, if it catches
        # the swap half done, hashes that no longer match: reported as corrupt, never used) or the new one.
        for name in (*_FILES, "manifest.json"):
            os.replace(scratch / name, path / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def _write_files(
    scratch: Path,
    config: Config,
    chunks: list[Chunk],
    vectors: np.ndarray,
    cards: list[Card],
    source_hashes: dict[str, str],
    embed_model: str,
) -> dict:
    """Every index file into `scratch`; nothing outside it is touched, so a failure here harms nothing."""
    import faiss

    from tutor import lexicon
    from tutor.sparse import build as build_sparse

    build_sparse([c.embed_text() for c in chunks]).save(scratch)
    lexicon.save(lexicon.build(chunks, cards), scratch)
    built, vector_index = build_vectors(vectors)
    faiss.write_index(built, str(scratch / "faiss.index"))
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
        "vector_index": vector_index,
        "lexicon_version": LEXICON_VERSION,
        "chunker": chunker_settings(config),
        "corpus_sha256": dict(sorted(source_hashes.items())),
        "n_chunks": len(chunks),
        "n_cards": len(cards),
        "files_sha256": {name: sha256_file(scratch / name) for name in _FILES},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with open(scratch / "manifest.json", "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")
    return manifest


def manifest_stamp(path: Path) -> tuple[int, int, int] | None:
    """Identity of the manifest file now (inode, mtime, size): a finished ingest replaces it, so a
    serving process compares stamps before each question to notice a new index without reading it."""
    try:
        st = (path / "manifest.json").stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def read_manifest(path: Path) -> dict | None:
    file = path / "manifest.json"
    if not file.is_file():
        return None
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{file} is not valid JSON ({exc})", fix=ingest_command(path, "--rebuild")) from None
    if not isinstance(manifest, dict):
        raise IndexCorrupt(f"{file} is not a JSON object", fix=ingest_command(path, "--rebuild"))
    return manifest


def check_compatible(manifest: dict, config: Config, embed_model: str, dim: int | None = None,
                     path: Path | None = None) -> None:
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
        raise IndexStale("index is stale: built with " + "; ".join(problems),
                         fix=f"{ingest_command(path or config.index_dir)}  (rebuilds it for this version; "
                             "your own files stay indexed)")


def load_index(path: Path, config: Config, embed_model: str, dim: int | None = None) -> Index:
    manifest = read_manifest(path)
    if manifest is None:
        raise IndexMissing(f"no index at {path}", fix=ingest_command(path))
    check_compatible(manifest, config, embed_model, dim, path)
    files = manifest.get("files_sha256")
    if not isinstance(files, dict) or not isinstance(manifest.get("dim"), int):
        raise IndexCorrupt(f"{path / 'manifest.json'} lacks its file hashes or dimension",
                           fix=ingest_command(path, "--rebuild"))
    for name, sha in files.items():
        file = path / name
        if not file.is_file() or sha256_file(file) != sha:
            raise IndexCorrupt(f"{file} is missing or does not match the manifest",
                               fix=ingest_command(path, "--rebuild"))
    import faiss

    try:
        query_threads()
        vectors = tune_vectors(faiss.read_index(str(path / "faiss.index")), manifest.get("vector_index") or {})
        # split("\n"), not splitlines(): a text holding U+2028 or NEL is one JSON line, not two
        chunks = [Chunk(**json.loads(ln)) for ln in (path / "chunks.jsonl").read_text("utf-8").split("\n") if ln]
        cards = [Card.from_dict(json.loads(ln)) for ln in (path / "cards.jsonl").read_text("utf-8").split("\n") if ln]
        sparse = SparseIndex.load(path) if all(f in files for f in SPARSE_FILES.values()) else None
        lexicon = _load_lexicon(path) if has_lexicon(manifest) else None
    except Exception as exc:  # any parse failure means the same thing to the user
        raise IndexCorrupt(f"cannot read the index at {path}: {exc}", fix=ingest_command(path, "--rebuild")) from None
    if vectors.ntotal != len(chunks) or (sparse is not None and sparse.n_docs != len(chunks)):
        raise IndexCorrupt(f"{vectors.ntotal} vectors but {len(chunks)} chunks", fix=ingest_command(path, "--rebuild"))
    return Index(manifest, vectors, chunks, {c.id: c for c in cards}, path, sparse, lexicon)


def has_lexicon(manifest: dict) -> bool:
    """Whether the index holds a lexicon this version reads (else ingest rewrites it once)."""
    return LEXICON_FILE in (manifest.get("files_sha256") or {}) and manifest.get("lexicon_version") == LEXICON_VERSION


def _load_lexicon(path: Path) -> dict | None:
    from tutor import lexicon

    return lexicon.load(path)
