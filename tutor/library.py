"""The learner's library: index status, their own uploaded documents, and rebuilding with progress.

Uploads are copied into a folder under the data home (outside the repo, so a re-clone keeps them) and
ingested by absolute path; `tutor ingest` keeps such files indexed while they exist, so removing a
document is deleting its copy and refreshing the index.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutor.config import Config, data_home
from tutor.errors import IndexCorrupt, UserError
from tutor.index import read_manifest
from tutor.ingest import DOC_SUFFIXES, IngestReport, expand, ingest, source_key

UPLOAD_SUFFIXES = (".md", ".txt", ".pdf")
MAX_UPLOAD_BYTES = 20 << 20
Progress = Callable[[float, str], None]


def uploads_dir(home: Path | None = None) -> Path:
    return (home or data_home()) / "library"


@dataclass
class IndexStatus:
    exists: bool
    n_sources: int = 0
    n_chunks: int = 0
    n_cards: int = 0
    built_at: str = ""
    stale: bool = False
    stale_reason: str = ""

    def summary(self) -> str:
        if not self.exists:
            return "No index yet: build it below (or run `tutor ingest`)."
        state = f"stale — {self.stale_reason}" if self.stale else "up to date"
        return (f"{self.n_sources} sources, {self.n_chunks} passages, {self.n_cards} cards; "
                f"built {self.built_at}; {state}")


def index_status(config: Config) -> IndexStatus:
    """What the settings page shows; cheap (hashes no file, loads no model)."""
    try:
        manifest = read_manifest(config.index_dir)
    except IndexCorrupt as exc:
        return IndexStatus(True, stale=True, stale_reason=exc.message)
    if manifest is None:
        return IndexStatus(False)
    indexed = set(manifest.get("corpus_sha256", {}))
    try:
        current = {source_key(f) for f in expand([s for s in config.sources if s.exists()])}
    except UserError:
        current = set()
    missing = current - indexed
    gone = {k for k in indexed if Path(k).is_absolute() and not Path(k).exists()}
    reasons = []
    if missing:
        reasons.append(f"{len(missing)} source files not indexed yet")
    if gone:
        reasons.append(f"{len(gone)} indexed files were removed")
    return IndexStatus(True, len(indexed), int(manifest.get("n_chunks", 0)), int(manifest.get("n_cards", 0)),
                       manifest.get("built_at", ""), bool(reasons), "; ".join(reasons))


@dataclass
class Document:
    name: str
    path: Path
    size: int
    indexed: bool


def safe_name(name: str) -> str:
    """A plain file name: no folders, no odd characters (it becomes a path on disk)."""
    stem = Path(name).name
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")
    return clean or "document"


def documents(config: Config, home: Path | None = None) -> list[Document]:
    folder = uploads_dir(home)
    if not folder.is_dir():
        return []
    try:
        indexed = set((read_manifest(config.index_dir) or {}).get("corpus_sha256", {}))
    except IndexCorrupt:
        indexed = set()
    return [Document(f.name, f, f.stat().st_size, source_key(f) in indexed)
            for f in sorted(folder.iterdir()) if f.is_file() and f.suffix.lower() in DOC_SUFFIXES]


def save_upload(name: str, data: bytes, home: Path | None = None) -> Path:
    """Store an uploaded file; raises UserError for a type we cannot read or an empty/huge file."""
    if Path(name).suffix.lower() not in UPLOAD_SUFFIXES:
        raise UserError(f"{name}: unsupported type; upload {', '.join(UPLOAD_SUFFIXES)} files")
    if not data:
        raise UserError(f"{name} is empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UserError(f"{name} is {len(data) >> 20} MB; the limit is {MAX_UPLOAD_BYTES >> 20} MB")
    folder = uploads_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / safe_name(name)
    path.write_bytes(data)
    return path


def remove_document(name: str, home: Path | None = None) -> None:
    path = uploads_dir(home) / safe_name(name)
    if not path.is_file():
        raise UserError(f"{name} is not in your library")
    path.unlink()


class _CountingEmbedder:
    """Wraps an embedder so the page's progress bar moves as batches are embedded."""

    def __init__(self, inner, total: int, report: Progress) -> None:
        self.inner, self.total, self.report, self.done = inner, max(total, 1), report, 0
        self.name, self.dim = getattr(inner, "name", ""), getattr(inner, "dim", None)

    def encode(self, texts):
        out = self.inner.encode(texts)
        self.done += len(texts)
        self.report(0.1 + 0.85 * min(self.done / self.total, 1.0), f"embedding {self.done} passages")
        return out


def refresh(tutor, paths: list[Path] | None = None, rebuild: bool = False,
            report: Progress | None = None, home: Path | None = None) -> IngestReport:
    """Bring the index up to date with the sources and every document in the library (plus `paths`),
    then make the Tutor reload it.

    Progress goes 0 → 0.1 (reading sources) → 0.95 (embedding) → 1.0 (written); the total for the
    embedding phase is every passage on a rebuild, an upper bound otherwise.
    """
    report = report or (lambda _f, _m: None)
    t0 = time.perf_counter()
    report(0.02, "reading sources")
    status = index_status(tutor.config)
    total = status.n_chunks if rebuild or not status.exists else max(status.n_chunks // 10, 1)

    def factory():
        report(0.1, "loading the embedder")
        return _CountingEmbedder(tutor.embedder, total, report)

    wanted = sorted({*(d.path for d in documents(tutor.config, home)), *(paths or [])})
    result = ingest(tutor.config, factory, tutor.embed_model, paths=wanted, rebuild=rebuild, progress=False)
    tutor._index = None  # the next question loads the new index
    tutor._retriever = None
    report(1.0, f"done in {time.perf_counter() - t0:.1f} s: {result.n_chunks} passages, "
                f"{result.n_embedded} newly embedded")
    return result
