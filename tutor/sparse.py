"""BM25 at query time without bm25s: the per-term scores bm25s computes at ingest, kept as three arrays.

bm25s (with scipy) takes ~0.3 s to import and rebuilt its index from every chunk's text in each new
process: fine for 600 chunks, minutes at 1M, and most of a cold `tutor ask`. bm25s precomputes the
BM25 weight of every (term, chunk) pair into a sparse column matrix ("eager" BM25), so scoring a query
is summing a few columns. `tutor ingest` builds that matrix with bm25s's formula in numpy (`build`) and
writes it next to the FAISS index (`save`); a query process memory-maps it (`load`) and scores with
numpy alone.

Tokenizing is bm25s's own: lower-case, the `\\b\\w\\w+\\b` regex, English stopwords (read from bm25s's
stopwords.py without importing the package). tests/test_sparse.py checks that ids and scores match
`bm25s.BM25.retrieve` on real cards.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
# Raw little-endian arrays (no .npy: the index holds nothing a loader could unpickle) and their dtypes.
FILES = {"data": "bm25.data.f32", "indices": "bm25.indices.i32", "indptr": "bm25.indptr.i64",
         "vocab": "bm25.vocab.json"}
_DTYPES = {"data": "<f4", "indices": "<i4", "indptr": "<i8"}


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """bm25s's STOPWORDS_EN, read from its source file: importing `bm25s.stopwords` runs the package's
    __init__, which imports scipy, the very cost this module exists to avoid."""
    spec = importlib.util.find_spec("bm25s")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("bm25s is not installed: run `make install`")
    source = Path(next(iter(spec.submodule_search_locations))) / "stopwords.py"
    text = source.read_text(encoding="utf-8")
    # Only the English tuple is parsed: the whole file (16 languages, 48 kB) cost ~50 ms of a cold query.
    start = text.find("STOPWORDS_EN = (")
    end = text.find(")", start)
    if start < 0 or end < 0:
        raise ImportError(f"STOPWORDS_EN not found in {source}")
    return frozenset(ast.literal_eval(text[start + len("STOPWORDS_EN = ") : end + 1]))


def tokenize(text: str) -> list[str]:
    """The terms bm25s.tokenize(text, stopwords="en") keeps, in order, repeats included."""
    stop = stopwords()
    return [t for t in TOKEN_PATTERN.findall(text.lower()) if t not in stop]


@dataclass
class SparseIndex:
    """BM25 weights as a column-compressed (term → chunks) matrix: column t holds, for each chunk that
    contains term t, its BM25 weight; a query's scores are the sum of its terms' columns."""

    data: np.ndarray  # float32 weights
    indices: np.ndarray  # chunk position of each weight
    indptr: np.ndarray  # column t is data[indptr[t]:indptr[t + 1]]
    vocab: dict[str, int]
    n_docs: int

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk for `query` (a term repeated in the query counts again, as in bm25s)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for term in tokenize(query):
            t = self.vocab.get(term)
            if t is not None and t + 1 < len(self.indptr):
                start, end = int(self.indptr[t]), int(self.indptr[t + 1])
                out[self.indices[start:end]] += self.data[start:end]  # a column names each chunk once
        return out

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(chunk positions, scores) of the k best chunks, best first; zero scores included, as in bm25s."""
        k = min(k, self.n_docs)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self.scores(query)
        top = np.argpartition(scores, -k)[-k:]
        top = top[np.argsort(-scores[top], kind="stable")]
        return top, scores[top]

    def save(self, folder: Path) -> list[str]:
        """Write the arrays (raw bytes) and the vocabulary; returns the file names written."""
        for key, dtype in _DTYPES.items():
            np.ascontiguousarray(getattr(self, key), dtype=dtype).tofile(folder / FILES[key])
        (folder / FILES["vocab"]).write_text(json.dumps({"n_docs": self.n_docs, "vocab": self.vocab},
                                                        ensure_ascii=False), encoding="utf-8")
        return list(FILES.values())

    @classmethod
    def load(cls, folder: Path) -> SparseIndex:
        """Memory-mapped: the weights of a large corpus are paged in as queries touch them, and several
        processes serving one index share them through the page cache."""
        meta = json.loads((folder / FILES["vocab"]).read_text(encoding="utf-8"))
        arrays = {k: _map(folder / FILES[k], dtype) for k, dtype in _DTYPES.items()}
        index = cls(arrays["data"], arrays["indices"], arrays["indptr"], meta["vocab"], int(meta["n_docs"]))
        # bm25s adds an empty token to the vocabulary that has no column; every real term has one.
        if len(index.indptr) < len(index.vocab) or len(index.data) != len(index.indices):
            raise ValueError("BM25 arrays do not match their vocabulary")
        return index


def _map(path: Path, dtype: str) -> np.ndarray:
    if path.stat().st_size == 0:  # mmap refuses an empty file; an index of stopwords alone has one
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r")


def build(texts: list[str], k1: float = 1.5, b: float = 0.75) -> SparseIndex:
    """BM25 over `texts` as bm25s computes it by default (Lucene variant, k1 1.5, b 0.75), in numpy.

    Doing it here rather than through bm25s keeps scipy out of `tutor ingest`: importing the two was
    ~15% of a re-ingest after one edited card. tests/test_sparse.py checks the scores against bm25s.
    """
    from collections import Counter

    vocab: dict[str, int] = {}
    docs: list[int] = []
    terms: list[int] = []
    freqs: list[int] = []
    lengths = np.zeros(len(texts), dtype=np.float64)
    for d, text in enumerate(texts):
        tokens = tokenize(text)
        lengths[d] = len(tokens)
        for term, tf in Counter(tokens).items():
            terms.append(vocab.setdefault(term, len(vocab)))
            docs.append(d)
            freqs.append(tf)
    n, width = len(texts), len(vocab)
    doc = np.asarray(docs, dtype=np.int32)
    term = np.asarray(terms, dtype=np.int64)
    tf = np.asarray(freqs, dtype=np.float32)
    counts = np.bincount(term, minlength=width)  # chunks per term: the document frequency and column size
    df = counts.astype(np.float32)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    avg = float(lengths.mean()) if n else 1.0
    norm = (k1 * ((1 - b) + b * lengths[doc] / (avg or 1.0))).astype(np.float32)
    weights = (idf[term] * (tf / (norm + tf))).astype(np.float32)
    order = np.lexsort((doc, term))  # column by column (term), chunks ascending within a column
    indptr = np.zeros(width + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return SparseIndex(weights[order], doc[order], indptr, vocab, n)


def from_bm25s(bm25: object) -> SparseIndex:
    """The arrays of an indexed `bm25s.BM25` (bench/retrieval_scale.py indexes token ids directly)."""
    s = bm25.scores
    return SparseIndex(np.asarray(s["data"], dtype=np.float32), np.asarray(s["indices"], dtype=np.int32),
                       np.asarray(s["indptr"], dtype=np.int64), {str(k): int(v) for k, v in bm25.vocab_dict.items()},
                       int(s["num_docs"]))
