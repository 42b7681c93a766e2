"""Sources → chunks → vectors → index, re-embedding only sources whose content changed.

The embedder is created lazily: an ingest with nothing new (the index step of every `make run`) costs a
hash of each source file and no model load.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.cards import Card, check_cards, is_card_file, parse_card
from tutor.chunk import Chunk, make_chunks
from tutor.config import REPO_ROOT, Config, ingest_command
from tutor.documents import load_document
from tutor.embed import Embedder
from tutor.errors import IndexCorrupt, IndexMissing, IndexStale, UserError
from tutor.index import has_lexicon, load_index, write_index
from tutor.lock import ingest_lock
from tutor.sparse import FILES as SPARSE_FILES
from tutor.tokens import count_tokens

DOC_SUFFIXES = (".md", ".markdown", ".txt", ".pdf")


@dataclass
class IngestReport:
    n_sources: int
    n_changed: int
    n_chunks: int
    n_embedded: int
    n_cards: int
    seconds: float
    changed: bool


def source_key(path: Path) -> str:
    path = path.resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


def expand(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in DOC_SUFFIXES)
            if not found:
                raise UserError(f"nothing to index in {p}: the folder holds no {', '.join(DOC_SUFFIXES)} files",
                                fix="pass the documents themselves, or a folder that holds some")
            files += found
        elif p.is_file():
            if p.suffix.lower() not in DOC_SUFFIXES:
                raise UserError(f"{p}: unsupported file type; tutor reads {', '.join(DOC_SUFFIXES)}")
            files.append(p)
        elif p.exists():  # a FIFO, socket or device: reading it could block or never end
            raise UserError(f"{p}: not a regular file or folder", fix="copy its content into a .md or .txt file")
        else:
            raise UserError(f"{p}: no such file or folder")
    return sorted({f.resolve() for f in files})


def chunk_source(path: Path, config: Config) -> tuple[list[Chunk], Card | None]:
    key = source_key(path)
    opts = {"encoding": config.encoding, "tokens": config.chunk_tokens, "overlap": config.chunk_overlap}
    if is_card_file(path):
        card = parse_card(path)
        # Key-point synonyms are how learners phrase a card's ideas; they widen the card's vocabulary.
        synonyms = "; ".join(s for kp in card.key_points for s in kp.synonyms)
        # Aliases put acronyms the answer may never spell ("BPTT", "KV cache") where BM25 can find them.
        phrasings = "\n".join([card.question, *card.also_asked, ", ".join(card.aliases), synonyms])
        n_tokens = count_tokens(phrasings, config.encoding)
        question = Chunk(f"{card.id}#q", key, card.id, card.question, card.topic, phrasings, n_tokens, "question")
        # Each scenario is its own short chunk: one symptom matched whole, not diluted by the card's other phrasings.
        scenarios = [Chunk(f"{card.id}#s{n}", key, card.id, card.question, card.topic, text,
                           count_tokens(text, config.encoding), "scenario")
                     for n, text in enumerate(card.scenarios, 1)]
        answers = make_chunks(key, card.question, card.topic, card.answer, card.id, "answer", **opts)
        return [question, *scenarios, *answers], card
    chunks: list[Chunk] = []
    for section in load_document(path):
        # Headed sections title their windows; a capture without headings gets each window's first sentence.
        title = section.title if section.headed else ""
        chunks += make_chunks(key, title, section.title, section.text, start=len(chunks), **opts)
    return chunks, None


def _previous(
    config: Config, embed_model: str
) -> tuple[dict, dict[str, list[tuple[Chunk, np.ndarray]]], dict[str, Card]]:
    """Old manifest; per source, its chunks with their vectors; and the old cards that can stand in for
    parsing their unchanged files again, when the old index is reusable."""
    try:  # load_index reads the manifest and checks compatibility itself
        old = load_index(config.index_dir, config, embed_model)
    except (IndexMissing, IndexStale, IndexCorrupt):
        return {}, {}, {}
    manifest = old.manifest
    vecs = old.all_vectors()
    by_source: dict[str, list[tuple[Chunk, np.ndarray]]] = {}
    for chunk, vec in zip(old.chunks, vecs, strict=True):
        by_source.setdefault(chunk.source, []).append((chunk, vec))
    return manifest, by_source, _reusable_cards(old.path, old.cards)


def _reusable_cards(path: Path, cards: dict[str, Card]) -> dict[str, Card]:
    """Stored cards that say all the current Card says: a card stored by an older version lacks a field
    added since (its JSON round trip differs) and is parsed again instead.

    Parsing YAML front matter was half of a re-ingest after one edited card (pure-Python YAML, 181 files).
    """
    import json

    out = {}
    for line in (path / "cards.jsonl").read_text("utf-8").split("\n"):
        if line:
            stored = json.loads(line)
            card = cards.get(stored.get("id"))
            if card is not None and card.to_dict() == stored:
                out[card.id] = card
    return out


def ingest(
    config: Config,
    embedder_factory: Callable[[], Embedder],
    embed_model: str,
    paths: list[Path] | None = None,
    only: bool = False,
    rebuild: bool = False,
    progress: bool = True,
) -> IngestReport:
    """Refresh the index under the folder's ingest lock (a second concurrent ingest exits 2 at once)."""
    with ingest_lock(config.index_dir):
        return _ingest(config, embedder_factory, embed_model, paths, only, rebuild, progress)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})",
                        fix="check its permissions (chmod +r) or leave it out of `tutor ingest`") from None


def _ingest(
    config: Config,
    embedder_factory: Callable[[], Embedder],
    embed_model: str,
    paths: list[Path] | None,
    only: bool,
    rebuild: bool,
    progress: bool,
) -> IngestReport:
    import time

    t0 = time.perf_counter()
    manifest, previous, old_cards = ({}, {}, {}) if rebuild else _previous(config, embed_model)
    wanted = [] if only else list(config.sources)
    if not only and manifest:
        # Files a user added earlier by path stay indexed while they exist.
        wanted += [Path(k) for k in manifest.get("corpus_sha256", {}) if Path(k).is_absolute() and Path(k).exists()]
    files = expand(wanted + list(paths or []))
    if not files:
        raise UserError("nothing to index: no cards or documents found", fix=ingest_command(config.index_dir, "PATH…"))
    hashes = {source_key(f): hashlib.sha256(_read_bytes(f)).hexdigest() for f in files}
    old_hashes = manifest.get("corpus_sha256", {})
    # An index from before BM25 or the lexicon was saved is rewritten once (no re-embedding), so queries
    # stop rebuilding them.
    has_sparse = all(f in manifest.get("files_sha256", {}) for f in SPARSE_FILES.values())
    if not rebuild and hashes == old_hashes and has_sparse and has_lexicon(manifest):
        return IngestReport(len(files), 0, manifest["n_chunks"], 0, manifest.get("n_cards", 0),
                            time.perf_counter() - t0, False)

    chunks: list[Chunk] = []
    vectors: list[np.ndarray | None] = []
    cards: list[Card] = []
    changed = 0
    for f in files:  # parse everything first: a malformed card stops us before any embedding
        key = source_key(f)
        reuse = previous.get(key) if old_hashes.get(key) == hashes[key] else None
        card_id = reuse[0][0].card_id if reuse else None
        if reuse and (card_id is None or card_id in old_cards):
            # Same bytes, same chunker settings (load_index checked them): same chunks, same card.
            if card_id is not None:
                cards.append(old_cards[card_id])
            chunks += [c for c, _ in reuse]
            vectors += [v for _, v in reuse]
            continue
        new_chunks, card = chunk_source(f, config)
        if card:
            cards.append(card)
        if reuse and [c.id for c, _ in reuse] == [c.id for c in new_chunks]:
            chunks += [c for c, _ in reuse]
            vectors += [v for _, v in reuse]
        else:
            changed += 1
            chunks += new_chunks
            vectors += [None] * len(new_chunks)
    check_cards(cards)

    todo = [i for i, v in enumerate(vectors) if v is None]
    if todo:
        embedder = embedder_factory()
        new = _embed([chunks[i].embed_text() for i in todo], embedder, progress)
        for i, vec in zip(todo, new, strict=True):
            vectors[i] = vec
    matrix = np.vstack(vectors).astype(np.float32)
    write_index(config.index_dir, config, chunks, matrix, cards, hashes, embed_model)
    return IngestReport(len(files), changed, len(chunks), len(todo), len(cards), time.perf_counter() - t0, True)


def _embed(texts: list[str], embedder: Embedder, progress: bool, batch: int = 64) -> np.ndarray:
    """Vectors in the order of `texts`, embedded longest first over the whole set.

    A transformer batch is padded to its longest text; taking the texts in file order put a 40-token
    question chunk beside a 256-token window in most batches. Sorted, each block holds texts of about
    one length (the embedder sorts again inside a block). Blocks exist for the progress bar.
    """
    from tqdm import tqdm

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    if len(texts) >= 32 and hasattr(embedder, "for_corpus"):
        embedder.for_corpus()  # sorted batches on every core (onnx_embed)
    out: np.ndarray | None = None
    with tqdm(total=len(texts), desc="embedding", unit="chunk", disable=not progress, file=None) as bar:
        for start in range(0, len(texts), batch):
            rows = order[start : start + batch]
            vecs = embedder.encode([texts[i] for i in rows])
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            out[rows] = vecs
            bar.update(len(rows))
    return out if out is not None else np.zeros((0, getattr(embedder, "dim", 0)), dtype=np.float32)
