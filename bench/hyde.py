"""HyDE (tutor/hyde.py) on the golden questions: the local model's hypothetical answers, then retrieval per weight.

Step 1 asks the local model (the shipped prompt and token budget, through `hypothetical_answer`) for a hint
to every fresh golden question and unrelated question of the split, cached in --hints (JSON lines), with
the seconds each took. Step 2 runs retrieval_levers' golden loop once per Config.hyde_weight, the hint
given to each question without history (follow-ups have their own readings and get none, as in
`Tutor.stream`). Figures: rank 1, hit@5, hit within 300 words, refusal, per kind.

    python bench/hyde.py --index DIR --split dev [--model qwen2.5-0.5b] [--hints F] [--weight 0 --weight .6 …]

Session 20 (cards-only index, 181 cards, 432 questions; 2 cores). Hints from Qwen2.5-Coder-0.5B, the default
model; weight .6 unless said. Rank 1 / hit@5 / hit in the first 300 words / false refusals, dev | test:

    no HyDE (weight 0)                        .774 .970 .848 .004 | .812 .970 .847 .005
    shipped prompt (prompts/hyde.txt), .3     .778 .970 .848 .004 | .812 .965 .856 .010
    shipped prompt, .6                        .774 .978 .839 .009 | .822 .965 .861 .010
    shipped prompt, 1                         .783 .983 .839 .009 | .812 .965 .861 .010
    a system-prompt wording, 90 tokens, .3    .783 .970 .848 .004 | .817 .975 .851 .005
      (throwaway script), .6                  .800 .974 .852 .004 | .812 .970 .856 .010
                          1                   .796 .970 .843 .004 | .827 .970 .866 .010
      the same, only when the question's      .800 .974 .848 .004 | .807 .965 .847 .010
        own match is not exact, .6
    Qwen2.5-Coder-1.5B hints, system prompt   .787 .970 .852 .004 | —  (dev only; 3.6 s a hint)
    both 0.5B wordings' hints together, .6    .796 .974 .843 .004 | —
    the hint as text, not a vector: appended  .752 (dev)
      to the question; or a separate reading  .778 / .774 (dev)
      fused by RRF at .5 / 1

Hint latency (shipped prompt, 80 tokens, both cores to itself): p50 1.91 s, p95 2.24 s. Follow-ups (61 dev,
43 test) get no hint and do not move. The gain depends on the prompt's wording: the same weight gains six
dev questions and none under two wordings of one instruction, and test moves between −1 and +3 rows. The
losses are the 0.5B answering wrongly (a customer's age as binary classification) and that wrong answer's
vocabulary leading. Not adopted as a default (Config.hyde_weight 0; TUTOR_HYDE sets it): a gain this
unstable does not pay ~2 s before the learner sees the card. A model that answers interview questions
correctly should do better; none installs offline here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from retrieval_levers import cached_index, group_lines, run, summary, summary_line

from tutor.answerability import match_of
from tutor.evaluate import golden_paths, load_golden
from tutor.retrieve import Retriever


class HintedRetriever(Retriever):
    """The retriever as `Tutor.stream` drives it: a fresh question comes with its cached hint."""

    hints: dict[str, str] = {}
    only: tuple[str, ...] = ()  # hint only when the question's own match is one of these (empty: always)

    def search_in_context(self, question, history, k=None, rewrite=None, hint=None):
        hint = None if history else self.hints.get(question)
        if hint and self.only:
            standalone, plain = super().search_in_context(question, history, k, rewrite)
            if match_of(plain, self.config) not in self.only:
                return standalone, plain
        return super().search_in_context(question, history, k, rewrite, hint=hint)


def make_hints(files, split: str | None, model: str | None, path: Path) -> dict[str, str]:
    from tutor.config import Config
    from tutor.hyde import hypothetical_answer
    from tutor.llms import make_chat_model

    known = {}
    if path.exists():
        known = {r["question"]: r for r in map(json.loads, path.read_text().splitlines())}
    wanted = [r["question"] for f in files for r in f.rows
              if r["set"] in ("question", "out_of_scope") and not r.get("previous")
              and (not split or r.get("split", split) == split) and r["question"] not in known]
    if wanted:
        llm = make_chat_model("local", Config(), model)  # as Tutor.stream: the hint binds its own 80 tokens
        with path.open("a") as out:
            for i, q in enumerate(wanted, 1):
                t = time.perf_counter()
                hint = hypothetical_answer(llm, q)
                row = {"question": q, "hint": hint, "s": round(time.perf_counter() - t, 3)}
                known[q] = row
                out.write(json.dumps(row) + "\n")
                print(f"\rhints {i}/{len(wanted)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    secs = [r["s"] for r in known.values()]
    print(f"{len(known)} hints; seconds p50 {np.percentile(secs, 50):.2f}, p95 {np.percentile(secs, 95):.2f}")
    return {q: r["hint"] for q, r in known.items() if r["hint"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--split", help="only rows whose `split` is this")
    parser.add_argument("--model", help="local model (default: the default model)")
    parser.add_argument("--hints", default="reports/hyde-hints.jsonl", help="hint cache (JSON lines)")
    parser.add_argument("--weight", type=float, action="append", help="Config.hyde_weight values (0, .3, .6, 1)")
    parser.add_argument("--only", action="append", default=[], choices=("exact", "closest", "none"),
                        help="hint only questions whose own match is this (repeat; default: every question)")
    parser.add_argument("--vectors", help="cache query vectors here between runs (PATH.json + PATH.npy)")
    args = parser.parse_args(argv)
    base, embedder, index = cached_index(args.index, args.vectors)
    files = load_golden(golden_paths(None))
    path = Path(args.hints)
    path.parent.mkdir(parents=True, exist_ok=True)
    HintedRetriever.hints = make_hints(files, args.split, args.model, path)
    HintedRetriever.only = tuple(args.only)
    for weight in args.weight or [0.0, 0.3, 0.6, 1.0]:
        config = replace(base, hyde_weight=weight)
        rows = run(HintedRetriever(index, embedder, config), files, args.split, config.k)
        print("\n" + summary_line(f"weight {weight}", summary(rows, config.min_relevance, config)))
        print("\n".join(group_lines(rows, "kind", config.min_relevance)))
    if args.vectors:
        embedder.save(Path(args.vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
