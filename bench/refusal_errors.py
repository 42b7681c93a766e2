"""Refusal error analysis: the unrelated questions we answer, and the in-scope ones near the refusal line.

For each such row it prints the top passage's relevance and its parts (best cosine, IDF-weighted
coverage, the density term, the phrase penalty; CAPPED when the unknown-share or persona rule
zeroed it), which kind of chunk gave the best cosine (question / answer / scenario), and
the query's words the corpus never uses (document frequency 0 in the index's lexicon) with their share
of the query's IDF weight. It reads the split you name only: tune on dev, read test for figures.

    python bench/refusal_errors.py --index DIR [--split dev] [--band 0.06] [--vectors /tmp/vec]

Session 12 (cards-only index, 181 cards; dev) showed what the levers had to separate: the unrelated
rows that cleared the line ("my tests pass on my laptop but fail in GitHub Actions", "my car battery
goes flat overnight") won through one scenario chunk while few other chunks were near the question;
in-scope rows near the line carried as many unknown words ("readmission", "comedy", "romance") as the
unrelated ones did, so the unknown-word share alone could not tell them apart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from retrieval_levers import cached_index

from tutor.evaluate import golden_paths, in_conversations, load_golden
from tutor.lexicon import terms
from tutor.report import UNCOVERED
from tutor.retrieve import Passage, Retriever, relevance


def describe(retriever: Retriever, question: str, p: Passage) -> str:
    """One line: relevance and its parts, the winning chunk kind, the words the corpus does not know."""
    ids = retriever._chunks_of()[p.card_id or p.chunk_id]
    raw = retriever.embedder.encode([question])[0]
    cosines = retriever.index.vectors.reconstruct_batch(np.array(ids, dtype=np.int64)) @ raw
    kind = retriever.index.chunks[ids[int(np.argmax(cosines))]].kind
    idf = retriever.idf()
    qterms = terms(question)
    weight = {t: idf.get(t, 2 * idf.max_idf) for t in qterms}
    unknown = sorted(t for t in qterms if t not in idf.df)
    share = sum(weight[t] for t in unknown) / (sum(weight.values()) or 1.0)
    density = retriever.density_term(raw)
    phrase = retriever.phrase_penalty(question, [p])  # 0, or Config.no_phrase_penalty: no word pair shared
    capped = " CAPPED" if p.relevance <= 0.0 < relevance(p.cosine, p.coverage) + density - phrase else ""
    return (f"rel {p.relevance:.3f} cos {p.cosine:.3f} cov {p.coverage:.3f} density {density:+.3f} "
            f"phrase {0.0 - phrase:+.2f}{capped} win {kind:<8} unknown {len(unknown)}/{len(qterms)} ({share:.2f}) "
            f"{unknown} → {p.card_id or p.chunk_id}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--split", default="dev", help="rows of this split only (default dev)")
    parser.add_argument("--band", type=float, default=0.06, help="in-scope rows within this of the threshold")
    parser.add_argument("--vectors", help="cache query vectors here between runs (PATH.json + PATH.npy)")
    args = parser.parse_args(argv)
    config, embedder, index = cached_index(args.index, args.vectors)
    retriever = Retriever(index, embedder, config)
    line = config.min_relevance
    found: list[tuple[float, str]] = []
    for golden in load_golden(golden_paths(None)):
        rows = [r for r in golden.rows if r["set"] in ("question", "out_of_scope")]

        def step(row: dict, history: list[str]) -> str:
            standalone, passages = retriever.search_in_context(row["question"], history, config.k)
            if row.get("split", args.split) != args.split or not passages:
                return standalone
            top = passages[0]
            unrelated = row["set"] == "out_of_scope" and row.get("kind") != UNCOVERED
            if (unrelated and top.relevance >= line) or (row["set"] == "question" and top.relevance < line + args.band):
                tag = "ANSWERED " if unrelated else ("REFUSED  " if top.relevance < line else "near     ")
                found.append((top.relevance, f"{tag}{row['id']:<8} {describe(retriever, row['question'], top)}"
                                             f"  :: {row['question'][:70]}"))
            return standalone

        in_conversations(rows, step)
    print(f"split {args.split}, min_relevance {line}: {len(found)} rows")
    for _, text in sorted(found, reverse=True):
        print(text)
    if args.vectors:
        embedder.save(Path(args.vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
