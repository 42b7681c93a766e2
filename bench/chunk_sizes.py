"""Which chunk size? Builds the index at several token windows and prints what each costs and buys.

For each (tokens, overlap): chunks, share of chunks MiniLM truncates (it reads 256 word pieces, title
included), word pieces per cl100k token, and retrieval hit@5 / hit within 300 words on the golden
questions. Prints figures only; the chosen size lives in tutor/config.py.
Usage: python bench/chunk_sizes.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.batch import run_conversations  # noqa: E402
from tutor.config import REPO_ROOT, Config  # noqa: E402
from tutor.embed import MiniLMEmbedder  # noqa: E402
from tutor.ingest import ingest  # noqa: E402
from tutor.metrics import budgeted_hit, hit_at_k  # noqa: E402
from tutor.tokens import count_tokens  # noqa: E402
from tutor.tutor import Tutor  # noqa: E402

SETTINGS = [(120, 20), (180, 30), (256, 40), (400, 60)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    rows = [json.loads(x) for x in (REPO_ROOT / "corpus/golden/questions.jsonl").read_text().splitlines() if x.strip()]
    rows = rows[: args.limit] if args.limit else rows
    embedder = MiniLMEmbedder()
    header = ("tokens", "overlap", "chunks", "trunc%", "wp/tok", "hit@5", "hit@300w", "s")
    print(" ".join(f"{h:>8}" for h in header))
    for tokens, overlap in SETTINGS:
        with tempfile.TemporaryDirectory() as tmp:
            config = Config(index_dir=Path(tmp), chunk_tokens=tokens, chunk_overlap=overlap)
            t0 = time.perf_counter()
            ingest(config, lambda: embedder, embedder.name, progress=False)
            tutor = Tutor(config, embedder_factory=lambda: embedder)
            chunks = tutor.index.chunks
            pieces = [embedder.word_pieces(c.embed_text()) for c in chunks]
            ratio = statistics.mean(embedder.word_pieces(c.text) / max(count_tokens(c.text), 1) for c in chunks)
            trunc = sum(p > 256 for p in pieces) / len(pieces)

            def one(row, history, tutor=tutor):
                standalone, passages = tutor.retrieve(row["question"], 5, history)
                return passages, standalone

            hits, budget = [], []
            for row, passages in run_conversations(rows, one):
                texts = [p.text for p in passages]
                hits.append(hit_at_k(row["key_points"], texts, 5))
                budget.append(budgeted_hit(row["key_points"], texts, 300))
            figures = (tokens, overlap, len(chunks), f"{100 * trunc:.1f}", f"{ratio:.2f}",
                       f"{statistics.mean(hits):.3f}", f"{statistics.mean(budget):.3f}",
                       f"{time.perf_counter() - t0:.0f}")
            print(" ".join(f"{f:>8}" for f in figures))


if __name__ == "__main__":
    main()
