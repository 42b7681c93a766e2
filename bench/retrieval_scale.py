"""Retrieval at 10k / 100k / 1M synthetic chunks: FAISS (the type tutor.index picks by size) beside flat,
recall@10 of the picked index against flat, BM25 (bm25s) build time and memory, and the warm p50 / p95 of
the whole hybrid search (FAISS + BM25 + fusion + card collapse + relevance) as `Retriever.search` runs it.

Synthetic corpus: each vector is a real MiniLM chunk vector from index/ plus half of another plus noise
(random unit vectors have no neighbourhoods, which makes any approximate index look worse than on real
text); each text is 120 words drawn from the cards' own word frequencies, so BM25 sees a real
vocabulary. Queries are the cards' real questions, embedded once with the ONNX MiniLM (the query
embedding is timed on its own: it does not depend on the corpus size).

Every size runs the full `Retriever`. Its word statistics come from the index's lexicon (tutor/lexicon.py),
written by ingest; here the document frequencies are counted from the synthetic word ids in numpy (checked
equal to `lexicon.document_frequency` at ≤ 20k chunks) and the time is reported as `lexicon_build_s`.
A query then reads the word sets of its ~20 candidate cards only, so its cost beyond FAISS + BM25 does not
grow with the corpus; the first search of a process builds two chunk-position maps (`first_search_s`).

    python bench/retrieval_scale.py [--sizes 10000 100000 1000000] [--queries 50] [--json OUT]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_average, pct_ms, write_json  # noqa: E402

DIM = 384
WORDS = 120
SECTION = 20  # synthetic chunks per titled section
CHECK_LEXICON_MAX = 20_000  # sizes at which the numpy word counts are checked against tutor.lexicon


class Precomputed:
    """Query embedder that looks vectors up: isolates the index-size-dependent cost."""

    name, dim = "precomputed", DIM

    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.vstack([self.table[t] for t in texts])


def base_vectors() -> np.ndarray:
    import faiss

    path = ROOT / "index" / "faiss.index"
    if path.is_file():
        index = faiss.read_index(str(path))
        return index.reconstruct_n(0, index.ntotal)
    vecs = np.random.default_rng(7).standard_normal((500, DIM)).astype(np.float32)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def synthetic_vectors(base: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in slices: 1M at once would need three 1.5 GB temporaries
        m = min(100_000, n - start)
        v = base[rng.integers(0, len(base), m)] + 0.5 * base[rng.integers(0, len(base), m)]
        v += rng.standard_normal((m, DIM)).astype(np.float32) * (0.7 / np.sqrt(DIM))
        out[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def vocabulary() -> tuple[list[str], np.ndarray]:
    import bm25s

    from tutor.cards import load_cards

    cards = load_cards(ROOT / "corpus" / "cards")
    tok = bm25s.tokenize([c.answer for c in cards], stopwords="en", show_progress=False, return_ids=False)
    counts = Counter(w for doc in tok for w in doc)
    words = list(counts)
    p = np.array([counts[w] for w in words], dtype=np.float64)
    return words, p / p.sum()


def synthetic_lexicon(ids: np.ndarray, words: list[str]) -> dict:
    """What `tutor.lexicon.build` would save for chunks whose texts are the words `ids` points at, counted
    in numpy: calling `terms` on 1M texts of 120 words would take minutes of a 10-minute bench."""
    from tutor.glossary import Glossary
    from tutor.lexicon import VERSION, terms

    folded: dict[str, int] = {}
    per_word = [sorted(terms(word)) for word in words]  # "gpt2_small" holds two content words, "the" none
    width = max(1, max(map(len, per_word)))
    term_of = np.full((len(words), width), -1, dtype=np.int64)
    for w, found in enumerate(per_word):
        for j, t in enumerate(found):
            term_of[w, j] = folded.setdefault(t, len(folded))
    # Each chunk's title, "section {i // SECTION}", is part of what the retriever reads too.
    section = folded.setdefault("section", len(folded))
    title_term = np.array([folded.setdefault(t, len(folded)) if (t := next(iter(terms(str(k))), None)) else -1
                           for k in range(len(ids) // SECTION + 1)], dtype=np.int64)
    counts = np.zeros(len(folded), dtype=np.int64)
    for start in range(0, len(ids), 50_000):
        block = ids[start : start + 50_000]
        titles = np.column_stack([np.full(len(block), section),
                                  title_term[np.arange(start, start + len(block)) // SECTION]])
        rows = np.sort(np.hstack([term_of[block].reshape(len(block), -1), titles]), axis=1)
        first = np.ones_like(rows, dtype=bool)
        first[:, 1:] = rows[:, 1:] != rows[:, :-1]  # each term once per chunk
        counts += np.bincount(rows[first & (rows >= 0)], minlength=len(folded))
    names = list(folded)
    df = {names[t]: int(c) for t, c in enumerate(counts) if c}
    return {"version": VERSION, "glossary": Glossary().to_dict(), "df": df, "n_groups": len(ids)}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_size(n: int, base: np.ndarray, words: list[str], p: np.ndarray, queries: list[str],
                 qvecs: np.ndarray, full: bool) -> dict:
    import bm25s
    import faiss

    from tutor.chunk import Chunk
    from tutor.config import Config
    from tutor.index import Index, build_vectors
    from tutor.retrieve import Retriever
    from tutor.sparse import from_bm25s

    row: dict = {"chunks": n, "load_avg_start": load_average()}
    vecs = synthetic_vectors(base, n)
    t0, c0 = time.perf_counter(), time.process_time()
    index, spec = build_vectors(vecs)
    row.update(index_type=spec["type"], index_spec=spec, build_s=time.perf_counter() - t0,
               build_cpu_s=time.process_time() - c0)
    flat = index if spec["type"] == "flat" else faiss.IndexFlatIP(DIM)
    if flat is not index:
        flat.add(vecs)
    del vecs
    exact_ms, approx_ms, recall = [], [], []
    for q in qvecs:
        t0 = time.perf_counter()
        _, want = flat.search(q[None, :], 10)
        exact_ms.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        _, got = index.search(q[None, :], 10)
        approx_ms.append(time.perf_counter() - t0)
        recall.append(len(set(want[0]) & set(got[0])) / 10)
    row.update(flat_p50_ms=pct_ms(exact_ms, 50), dense_p50_ms=pct_ms(approx_ms, 50),
               recall_at_10=float(np.mean(recall)))
    if flat is not index:
        del flat

    ids = np.random.default_rng(2).choice(len(words), size=(n, WORDS), p=p).astype(np.int32)
    t0 = time.perf_counter()
    bm25 = bm25s.BM25()
    rss0 = rss_mb()
    bm25.index(bm25s.tokenization.Tokenized(ids=ids.tolist(), vocab={w: i for i, w in enumerate(words)}),
               show_progress=False)
    row["bm25_build_s"] = time.perf_counter() - t0
    row["bm25_mb"] = sum(a.nbytes for a in bm25.scores.values() if hasattr(a, "nbytes")) / 2**20
    row["bm25_build_rss_growth_mb"] = max(rss_mb() - rss0, 0.0)
    sparse = from_bm25s(bm25)  # what a query process reads back from the arrays ingest wrote
    del bm25
    sparse_ms = []
    for q in queries:
        t0 = time.perf_counter()
        sparse.search(q, 50)
        sparse_ms.append(time.perf_counter() - t0)
    row["bm25_p50_ms"] = pct_ms(sparse_ms, 50)

    if full:
        vocab = np.array(words, dtype=object)
        rss0 = rss_mb()
        chunks = [Chunk(f"syn/{i}", "synthetic.txt", None, f"section {i // SECTION}", "", " ".join(vocab[ids[i]]),
                        160, "document") for i in range(n)]
        row["chunks_rss_growth_mb"] = max(rss_mb() - rss0, 0.0)
        t0 = time.perf_counter()
        lexicon = synthetic_lexicon(ids, words)
        row["lexicon_build_s"] = time.perf_counter() - t0
        if n <= CHECK_LEXICON_MAX:
            from tutor.lexicon import document_frequency

            assert (lexicon["df"], lexicon["n_groups"]) == document_frequency(chunks), "numpy df differs"
        del ids
        retriever = Retriever(Index({"dim": DIM, "n_chunks": n}, index, chunks, {}, Path("synthetic"), sparse,
                                    lexicon), Precomputed(dict(zip(queries, qvecs, strict=True))), Config())
        rss0 = rss_mb()
        t0 = time.perf_counter()
        retriever.search(queries[0], 5)  # builds the chunk-position maps once per process
        row["first_search_s"] = time.perf_counter() - t0
        passes = []
        for _ in range(2):  # 1st: each card's word set is read when first met; 2nd: a warm server's case
            times = []
            for q in queries:
                t0 = time.perf_counter()
                retriever.search(q, 5)
                times.append(time.perf_counter() - t0)
            passes.append(times)
        row["search_first_meet_p50_ms"] = pct_ms(passes[0], 50)
        row["search_rss_growth_mb"] = max(rss_mb() - rss0, 0.0)
        row["cards_word_sets_read"] = len(retriever._group_terms)
        row.update(search_p50_ms=pct_ms(times, 50), search_p95_ms=pct_ms(times, 95))
    else:
        row["search_p50_ms"] = None
        row["components_p50_ms"] = row["dense_p50_ms"] + row["bm25_p50_ms"]
    row["load_avg_end"] = load_average()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--components-only", action="store_true",
                        help="FAISS + BM25 only, without the full Retriever (saves the chunk texts' memory)")
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)

    from tutor.cards import load_cards
    from tutor.embed import MiniLMEmbedder
    from tutor.index import query_threads

    query_threads()  # what load_index does for every real query process

    cards = load_cards(ROOT / "corpus" / "cards")
    questions = sorted({q for c in cards for q in (c.question, *c.also_asked)})
    queries = random.Random(1).sample(questions, min(args.queries, len(questions)))
    embedder = MiniLMEmbedder()
    embedder.encode(["warm up"])
    embed_ms = []
    for q in queries:
        t0 = time.perf_counter()
        embedder.encode([q])
        embed_ms.append(time.perf_counter() - t0)
    qvecs = embedder.encode(queries)
    base = base_vectors()
    words, p = vocabulary()
    figures = {"query_embed_p50_ms": pct_ms(embed_ms, 50), "embedder": type(embedder).__name__,
               "queries": len(queries), "sizes": []}
    print(f"retrieval_scale — {len(queries)} real questions, k=5; query embedding ({type(embedder).__name__}) "
          f"p50 {figures['query_embed_p50_ms']:.1f} ms")
    print(f"  {'chunks':>8} {'index':>5} {'build s':>7} {'recall@10':>9} {'flat ms':>7} {'dense ms':>8} "
          f"{'bm25 ms':>7} {'bm25 MB':>7} {'search p50':>10} {'p95':>6} {'1st':>6} {'load':>5}")
    for n in args.sizes:
        row = measure_size(n, base, words, p, queries, qvecs, full=not args.components_only)
        figures["sizes"].append(row)
        search = f"{row['search_p50_ms']:10.1f} {row['search_p95_ms']:6.1f} {row['search_first_meet_p50_ms']:6.1f}" \
            if row["search_p50_ms"] is not None \
            else f"{'~' + format(row['components_p50_ms'], '.1f'):>10} {'':>6} {'':>6}"
        print(f"  {n:>8} {row['index_type']:>5} {row['build_s']:7.1f} {row['recall_at_10']:9.3f} "
              f"{row['flat_p50_ms']:7.1f} {row['dense_p50_ms']:8.2f} {row['bm25_p50_ms']:7.1f} {row['bm25_mb']:7.0f} "
              f"{search} {row['load_avg_end']:5.1f}", flush=True)
    print("  (search = Retriever.search: FAISS + BM25 + fusion + collapse + relevance, second pass over the"
          " questions; 1st = first pass, reading each candidate card's words; ~ = FAISS + BM25 only)")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
