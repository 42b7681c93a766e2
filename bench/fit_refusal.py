"""Re-fit the refusal and answerability thresholds on dev in one command, and print dev and test side by side.

Whoever changes the embedder, the ranking or the corpus re-runs this and copies the chosen values into
tutor/config.py (with the table into the Config comment). It fits, on the dev split only:

- `max_unknown_share`: the highest unknown-word share (Retriever.unknown_share) of any in-scope dev
  question, plus `--margin` (0.10). It is lexical, so an embedder swap barely moves it.
- `min_relevance`: the highest line that refuses at most `--max-false` (0.005: one row in 230) of the dev
  in-scope questions, put in the middle of the gap down to the next unrelated row (session 12's rule;
  maximizing recall + 1 − false refusals instead chose .319 and 2.6% false refusals), over the rows the
  unknown-share cap and the persona rule (answerability.only_instructions) have not already refused.
- `exact_min_relevance` / `exact_min_coverage`: the grid point with the lowest cost on dev, a wrong
  `exact` counting twice as much as a right first card shown as `closest`; ties go to the middle.

Each row is retrieved once with the cap off (query vectors cached with --vectors); the thresholds are then
applied to the recorded relevances, as tutor/answerability.py applies them. In a conversation the order of
fused readings also reads min_relevance, so a re-fitted threshold can move a follow-up's ranking a little:
confirm with `tutor eval` afterwards.

    python bench/fit_refusal.py --index DIR [--vectors /tmp/vec] [--margin 0.1]

Session 13 (MiniLM; lexicon v2; 23 s niced under load from other sessions, 7 s CPU with cached vectors):

    cards-only index (181 cards, 923 chunks): fitted min_relevance .233 (Config .232), max_unknown_share
    .75, exact .42 / .30 (Config .40 / .30)
    settings  split  recall  false_ref  exact_prec  exact_wrong  right_exact  unc_flagged  rank1
    config    dev    .974    .004       .883        21           .888         11/13        .774
    config    test   1.000   .005       .883        19           .872         11/13        .812
    fitted    dev    .974    .004       .887        20           .882         11/13        .774
    fitted    test   1.000   .005       .882        19           .866         11/13        .812

The exact bars stay .40 / .30: .42 wins one dev row and loses a little of test.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from retrieval_levers import cached_index

from tutor.answerability import only_instructions
from tutor.config import Config
from tutor.evaluate import BUDGET_WORDS, golden_paths, in_conversations, load_golden, score_retrieval
from tutor.report import UNCOVERED
from tutor.retrieve import Retriever

EXACT_RELEVANCE = np.round(np.arange(0.30, 0.521, 0.02), 2)
EXACT_COVERAGE = np.round(np.arange(0.15, 0.451, 0.05), 2)


def collect(retriever: Retriever) -> list[dict]:
    """Every golden row (both splits) with what the thresholds need, retrieved with the unknown-share cap off."""
    out: list[dict] = []
    for golden in load_golden(golden_paths(None)):
        rows = [r for r in golden.rows if r["set"] in ("question", "out_of_scope")]

        def step(row: dict, history: list[str]) -> str:
            standalone, passages = retriever.search_in_context(row["question"], history, retriever.config.k)
            scored = score_retrieval(row, passages, retriever.config.k, BUDGET_WORDS)
            top = passages[0] if passages else None
            out.append({"split": row.get("split"), "set": row["set"], "kind": row.get("kind"),
                        "card": row.get("card_id"), "rank": scored.get("rank"),
                        "rel": top.relevance if top else 0.0, "cov": top.coverage if top else 0.0,
                        "doc": top is not None and top.card_id is None,
                        "runner_up": max((p.relevance for p in passages[1:]), default=0.0),
                        "unknown": retriever.unknown_share(row["question"]),
                        "persona": only_instructions(row["question"])})
            return standalone

        in_conversations(rows, step)
    return out


def refused(r: dict, t: float, cap: float) -> bool:
    return r["rel"] < t or r["persona"] or (cap > 0 and r["unknown"] >= cap)


def exact(r: dict, t: float, cap: float, er: float, ec: float) -> bool:
    return not refused(r, t, cap) and not r["doc"] and r["rel"] >= er and r["cov"] >= ec and r["rel"] >= r["runner_up"]


def figures(rows: list[dict], t: float, cap: float, er: float, ec: float) -> dict[str, float]:
    ins = [r for r in rows if r["set"] == "question"]
    unrelated = [r for r in rows if r["set"] == "out_of_scope" and r.get("kind") != UNCOVERED]
    uncovered = [r for r in rows if r.get("kind") == UNCOVERED]
    carded = [r for r in ins if r["card"]]
    claimed = [r for r in carded if exact(r, t, cap, er, ec)]
    right = [r for r in carded if r["rank"] == 1 and not refused(r, t, cap)]
    return {"recall": np.mean([refused(r, t, cap) for r in unrelated]),
            "false_ref": np.mean([refused(r, t, cap) for r in ins]),
            "exact_prec": np.mean([r["rank"] == 1 for r in claimed]) if claimed else 0.0,
            "exact_wrong": float(sum(r["rank"] != 1 for r in claimed)),
            "right_exact": np.mean([exact(r, t, cap, er, ec) for r in right]) if right else 0.0,
            "unc_flagged": float(sum(refused(r, t, cap) or not exact(r, t, cap, er, ec) for r in uncovered)),
            "n_uncovered": float(len(uncovered)), "rank1": np.mean([r["rank"] == 1 for r in carded])}


def fit(dev: list[dict], margin: float, max_false: float) -> tuple[float, float, float, float]:
    """(min_relevance, max_unknown_share, exact_min_relevance, exact_min_coverage) from dev rows."""
    cap = round(max(r["unknown"] for r in dev if r["set"] == "question") + margin, 2)
    kept = [r for r in dev if not r["persona"] and r["unknown"] < cap]
    inside = [r["rel"] for r in kept if r["set"] == "question"]
    outside = [r["rel"] for r in kept if r["set"] == "out_of_scope" and r.get("kind") != UNCOVERED]
    # Refuse every unrelated row we can while at most `max_false` of in-scope rows are refused: the line sits
    # in the middle of the gap between the lowest in-scope relevance kept and the unrelated row below it.
    upper = sorted(inside)[int(max_false * len(inside))]
    below = [v for v in outside if v < upper]
    t = round((upper + max(below)) / 2 if below else upper - 0.01, 3)
    carded = [r for r in dev if r["set"] == "question" and r["card"]]

    def cost(er: float, ec: float) -> int:  # a wrong `exact` costs 2, a right first card called closest 1
        return sum(2 * (r["rank"] != 1) if exact(r, t, cap, er, ec) else int(r["rank"] == 1 and not refused(r, t, cap))
                   for r in carded)

    costs = np.array([[cost(er, ec) for ec in EXACT_COVERAGE] for er in EXACT_RELEVANCE])
    best = np.argwhere(costs == costs.min())
    i, j = best[len(best) // 2]
    return t, cap, float(EXACT_RELEVANCE[i]), float(EXACT_COVERAGE[j])


def table(rows: list[dict], settings: dict[str, tuple[float, float, float, float]]) -> list[str]:
    lines = [f"{'settings':<10} {'split':<5} " + " ".join(f"{k:>11}" for k in figures(rows, 0, 0, 0, 0))]
    for name, values in settings.items():
        for split in ("dev", "test"):
            f = figures([r for r in rows if r["split"] == split], *values)
            lines.append(f"{name:<10} {split:<5} " + " ".join(f"{v:>11.3f}" for v in f.values()))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--vectors", help="cache query vectors here between runs (PATH.json + PATH.npy)")
    parser.add_argument("--margin", type=float, default=0.10, help="above the highest in-scope unknown share")
    parser.add_argument("--max-false", type=float, default=0.005, help="share of dev in-scope rows refusal may cost")
    args = parser.parse_args(argv)
    config, embedder, index = cached_index(args.index, args.vectors)
    retriever = Retriever(index, embedder, replace(config, max_unknown_share=0.0))
    rows = collect(retriever)
    if args.vectors:
        embedder.save(Path(args.vectors))
    t, cap, er, ec = fit([r for r in rows if r["split"] == "dev"], args.margin, args.max_false)
    now = Config()
    print(f"index {config.index_dir}: {len(index.chunks)} chunks; fitted on dev: min_relevance {t}, "
          f"max_unknown_share {cap}, exact_min_relevance {er}, exact_min_coverage {ec}")
    for line in table(rows, {"config": (now.min_relevance, now.max_unknown_share, now.exact_min_relevance,
                                        now.exact_min_coverage), "fitted": (t, cap, er, ec)}):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
