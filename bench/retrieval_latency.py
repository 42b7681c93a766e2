"""Retrieval latency at 1k, 10k and 100k synthetic chunks: does hybrid search stay interactive?

Synthetic chunks are ~120-word texts drawn from the curated cards' own word frequencies (so BM25 sees a
realistic vocabulary) with random unit vectors (FAISS cost depends on the count and dimension, not on
the values). The index-size-dependent part (FAISS + BM25 + fusion + card collapse + relevance) is
timed with a stub query embedder; the real MiniLM query embedding, which does not depend on the index
size, is timed once on its own. Prints figures, never passes or fails.

    python bench/retrieval_latency.py [--sizes 1000 10000 100000] [--queries 50] [--no-model]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.cards import load_cards  # noqa: E402
from tutor.config import REPO_ROOT, Config  # noqa: E402
from tutor.evaluate import machine_info  # noqa: E402

DIM = 384  # all-MiniLM-L6-v2


class StubEmbedder:
    """A random unit vector per call: isolates the index-size-dependent cost from the model's."""

    name, dim = "stub", DIM

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def encode(self, texts: list[str]) -> np.ndarray:
        v = self.rng.standard_normal((len(texts), DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)


def synthetic_index(n: int, vocab: list[str], weights: list[float], seed: int = 0):
    import faiss

    from tutor.chunk import Chunk
    from tutor.index import Index

    rng = random.Random(seed)
    chunks = [Chunk(f"syn/{i}", "synthetic.txt", None, f"section {i // 20}", "",
                    " ".join(rng.choices(vocab, weights, k=120)), 160, "document") for i in range(n)]
    vecs = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    flat = faiss.IndexFlatIP(DIM)
    flat.add(vecs)
    return Index({"dim": DIM, "n_chunks": n}, flat, chunks, {}, Path("synthetic"))


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(values, p)) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--no-model", action="store_true", help="skip timing the real query embedder")
    args = parser.parse_args(argv)

    from tutor.retrieve import Retriever

    cards = load_cards(REPO_ROOT / "corpus" / "cards")
    counts = Counter(w for c in cards for w in re.findall(r"[a-z][a-z0-9-]+", c.answer.lower()))
    vocab, weights = list(counts), [float(v) for v in counts.values()]
    questions = [q for c in cards for q in (c.question, *c.also_asked)]
    queries = random.Random(1).sample(questions, min(args.queries, len(questions)))
    m = machine_info()
    print(f"retrieval_latency — {m['cores']} cores, {m['cpu']}; {len(queries)} queries, k=5")
    print(f"  {'chunks':>8}  {'build s':>8}  {'warm-up s':>9}  {'p50 ms':>8}  {'p95 ms':>8}   (FAISS + BM25 + fusion)")
    for n in args.sizes:
        t0 = time.perf_counter()
        index = synthetic_index(n, vocab, weights)
        build = time.perf_counter() - t0
        retriever = Retriever(index, StubEmbedder(), Config())
        t0 = time.perf_counter()
        retriever.search(queries[0], 5)  # builds BM25 and the lexical tables once per process
        warm = time.perf_counter() - t0
        times = []
        for q in queries:
            t0 = time.perf_counter()
            retriever.search(q, 5)
            times.append(time.perf_counter() - t0)
        print(f"  {n:>8}  {build:8.1f}  {warm:9.1f}  {pct(times, 50):8.1f}  {pct(times, 95):8.1f}")
        del index, retriever
    if not args.no_model:
        from tutor.embed import MiniLMEmbedder

        embedder = MiniLMEmbedder()
        embedder.encode(["warm up"])
        times = []
        for q in queries:
            t0 = time.perf_counter()
            embedder.encode([q])
            times.append(time.perf_counter() - t0)
        print(f"  query embedding (MiniLM, any size): p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
