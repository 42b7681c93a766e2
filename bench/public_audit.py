"""Retrieval on interview questions of the public lists' kind, written blind to the system (held out).

Issue 13 is measured on public deep-learning interview lists kept outside the repo. bench/public_style.jsonl
is our stand-in: 210 questions written in session 23 by three helpers who saw only the card list (ids,
questions, aliases) and the card files, never the golden sets, the benches or the tutor's output; each
wrote 70 in its own words in the manner of the public lists (a: classic theory and acronyms, b: "why /
what happens if / how would you", c: LLM, vision practice, scale, metrics). Each row names the card a
senior interviewer would accept (`card_id`; `also_ok` for an equally good one), or null when no card
answers it (about 1 in 5), and `coverage` full / partial / none.

**Held out: never tune on its rows** (no alias, synonym or weight because a row here missed); read it after
a change has been chosen on the golden dev split, as a second test split that does not share our authors.

Each question is asked alone through `Tutor.ask` (extractive answer, so the figures are retrieval's and
answerability's): the accepted card first, in the top 5, refused; uncovered ones declined or answered
with the "closest material" notice.

    python bench/public_audit.py [--index DIR] [--rows OUT.jsonl] [--misses] [--data FILE] [--set KEY=VALUE]

Session 23, cards-only index (`tutor --index DIR ingest --only corpus/cards`):

    corpus                      accepted card first   top 5           uncovered declined or flagged
    181 cards (as written)      .911 (153/168)         .994 (167/168)  .810 (34/42)
    193 cards, old labels       .917 (154/168)         .988 (166/168)  (17 now have a card)
    193 cards, relabelled       .924 (171/185)         1.000 (185/185) .840 (21/25)

The twelve cards added in session 23 cover topics this audit and the golden uncovered rows found missing;
afterwards a helper, blind to the system's output, relabelled the 42 uncovered rows against the new cards
(17 now name one, `"relabelled": true`), and pb-069 (uncertainty) names the new uncertainty card.

Session 24: six cards on topics no card covered (multimodal fusion, recommender systems, federated learning,
deep RL, online evaluation / A/B tests, model interpretability), chosen from the uncovered rows here and in
the golden set, so those rows are no longer blind; the same kind of helper relabelled the 25 uncovered rows
(7 now name a new card). pb-014 (offline win, online loss) keeps its data-drift label although the new
online-evaluation card, now first, answers it at least as well: labels are not edited after the fact.

    199 cards, old labels       .924 (171/185)         1.000 (185/185) .760 (19/25) (6 answered by a new card)
    199 cards, relabelled       .927 (178/192)         1.000 (192/192) 1.000 (18/18)

Session 25: the real thing. 377 deep-learning questions as the public lists word them (196 from nine GitHub
lists: Chip Huyen's ML interviews book, alexeygrigorev/data-science-interviews, andrewekhalel/MLQuestions,
KalyanKS-NLP's LLM hub, youssefHosni, SerahSoltani, three Devinterview-io lists; 181 from 46 web pages),
gathered by two helpers and labelled by two others who saw only the card list and card files (same row
shape; 46 rows `partial`). Their words are not ours, so the rows stay outside the repo, as issue 13's do;
run them with `--data FILE`. Default index (cards + the article), each question alone:

    corpus                      accepted card first   top 5           uncovered declined or flagged
    199 cards                   .776 (273/352)         .940 (331/352)  .760 (19/25)
      fully covered only        .810 (248/306)         .954 (292/306)
    205 cards, relabelled       .783 (282/360)         .939 (338/360)  .765 (13/17)
      fully covered only        .815 (256/314)         .955 (300/314)
    + Config.title_weight .1    .794 (286/360)         .939 (338/360)  .765 (13/17)
      fully covered only        .828 (260/314)         .955 (300/314)

Real questions are shorter and more direct than this file's, and a broad card often outranks the specific
one the question names ("Compare batch norm and layer norm" → the batch-norm card; "Explain how KV cache
accelerates LLM inference" → the serving-throughput card): the stand-in above overstated rank 1 by about
.14. Config.title_weight (a re-ranking bonus for the card whose id's words the question uses) was chosen
on the golden dev split and this set's GitHub half; the web half, read once after, moved .769 → .775.
The six cards added in session 25 (Boltzmann machines, supervised vs unsupervised learning, inductive
bias, dropout in RNNs, large-vocabulary softmax, input resolution) came from this set's uncovered rows
(8 of 25 now name one, relabelled by a helper blind to the system's output).

Session 27: session 25's real questions lived in /tmp and were lost with that machine. A helper gathered
250 again from eight GitHub lists (chiphuyen's book 62, KalyanKS-NLP 56, youssefHosni 38, andrewekhalel
33, alexeygrigorev 31, three Devinterview-io lists 30) and labelled them from the card files of the
222-card corpus alone (65 `partial`, 13 uncovered). Some cards were first written from the chiphuyen and
youssefHosni lists, so those sources are not blind. Default index, labels fixed before any change:

    corpus                      accepted card first   top 5           uncovered declined or flagged
    205 cards                   .759 (180/237)         .903 (214/237)  .769 (10/13)
    222 cards                   .759 (180/237)         .907 (215/237)  .769 (10/13)
    + two cards' aliases        .768 (182/237)         .911 (216/237)  .769 (10/13)
      fully covered only        .866 (149/172)         .959 (165/172)

The seventeen new cards (ensembles, end-to-end learning, tensors, frameworks, deployment, second-order
methods, meta-learning, capsules, NAS, GPUs, dimensionality reduction, style transfer, forecasting, anomaly
detection, active learning, speech recognition, captioning) hardly show on these lists, whose questions
mostly ask what the corpus already had; on this file (labels updated where a new card answers a row:
pa-010, pa-023, pa-025, pa-041, pb-034, pc-062, pc-068) first .894 (178/199) → .920 (183/199), top 5
.965 → .990, uncovered 11/11 at both. The aliases came from two misses of the real set ("What is data
normalization" met batch norm, "What is model checkpointing?" gradient checkpointing), so that set is
not blind to them.

Session 28: 25 cards (222 → 247), most on topics the session-27 real set left uncovered or partial (token
streaming, ReAct, system prompts, OCR, tracking, summarization, sentiment, training-data recovery,
regularization, pooling, parameter sharing, fine-tuning types), so that set is not blind to them. A helper
blind to the system's output relabelled it against the 247 cards (34 of 250 rows changed; 196 full, 52
partial, 2 uncovered). A second helper gathered 262 fresh questions from 16 GitHub lists after the cards
were written (aishwaryanr 44, chiphuyen 44, sreekanth-madisetty 32, KalyanKS-NLP 31, alirezadir 23,
Devinterview-io 35, Praveen76 14, Sroy20 14, others 25), labelled against the 247 cards. Default index:

    set and corpus                          accepted card first   top 5           uncovered declined or flagged
    session-27 set, 222 cards, old labels   .768 (182/237)         .911 (216/237)  .769 (10/13)
    session-27 set, 247 cards, relabelled   .782 (194/248)         .919 (228/248)  1 of 2
    fresh 262, 247 cards                    .760 (177/233)         .910 (212/233)  .586 (17/29)
    this file, 247 cards                    .910 (181/199)         .990 (197/199)  11/11 (was .920 / .990)

The fresh set's uncovered questions are mostly classical vision and NLP (edge detection, SIFT, selective
search, RoI pooling, dependency parsing, LSI) and newer LLM training (GRPO); 12 of 29 met a card the
answerability check called `exact` (edge detection → the CNN card, RoI pooling → the pooling card).

Session 29: the session-28 sets were lost with that machine. Six cards were written for the topics its
uncovered rows named (reasoning models / GRPO, the R-CNN family / RoI pooling, classical image features,
n-gram language models, depth estimation, dependency parsing). A helper then gathered 276 questions from 13
GitHub lists (chiphuyen 45, KalyanKS-NLP 45, alexeygrigorev 36, Sroy20 31, youssefHosni 27, andrewekhalel
23, five Devinterview-io lists 61, khangich 6, iamtodor 2) and labelled them blind against the first 247
cards (202 full, 62 partial, 12 uncovered). An image-preprocessing card followed, from this set's uncovered
rows (colour spaces, denoising). Rows the seven new cards answer were relabelled by hand (10: edge
detection, SIFT, feature descriptors, n-grams twice, depth perception, dependency parsing, preprocessing
steps, denoising, colour spaces), so those are not blind. Default index:

    set and corpus                          accepted card first   top 5           uncovered declined or flagged
    fresh 276, 250 cards, blind labels      .761 (201/264)         .932 (246/264)  .583 (7/12)
    fresh 276, 253 cards, blind labels      .761 (201/264)         .932 (246/264)  .500 (6/12)
    fresh 276, 253 cards, relabelled        .767 (207/270)         .933 (252/270)  .833 (5/6)
    fresh 276, 254 cards, relabelled        .772 (210/272)         .938 (255/272)  2 of 4
      fully covered only                    .837 (175/209)         .967 (202/209)
    this file, 254 cards                    .910 (181/199)         .990 (197/199)  11/11

Split by a hash of the id into a tuning half (125) and a check half (151), the set served to try hand
weights beside the golden dev split (bench/rank_cv.py says why the learned re-ranker was not kept): the
two disagreed on every change (coverage weight 1.5: golden dev rank 1 .741 → .756, real tuning half
.808 → .792), so the defaults stay.

Session 40: the session-29 set was lost with that machine. Two helpers gathered 276 questions again from 13
GitHub lists (andrewekhalel 59, KalyanKS-NLP 40, chiphuyen 40, Sroy20 29, aishwaryanr 29, youssefHosni 27,
alexeygrigorev 24, four Devinterview-io lists 21, khangich 5, iamtodor 2) and labelled them from the 271 card
files alone (194 full, 65 partial, 17 uncovered). Nothing was tuned on it. Cards-only index:

    set and corpus                          accepted card first   top 5           uncovered declined or flagged
    fresh 276, 271 cards                    .795 (206/259)         .938 (243/259)  .765 (13/17)
      fully covered only                    .861 (167/194)         .959 (186/194)

Per source, first: alexeygrigorev .917, andrewekhalel .870, Sroy20 .778, chiphuyen .771, youssefHosni .741,
aishwaryanr .731, KalyanKS-NLP .718 (LLM questions, often several in one). Four uncovered questions met a card
called `exact` (Levenshtein distance → OCR, FC-to-convolution → CNN vs FC, gradual unfreezing → transfer
learning, a ReLU-only linear classifier → linear collapse).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retrieval_levers import parse_variant  # noqa: E402

from tutor.config import Config  # noqa: E402
from tutor.tutor import Tutor  # noqa: E402

DATA = Path(__file__).resolve().parent / "public_style.jsonl"


def ask_all(tutor: Tutor, rows: list[dict]) -> list[dict]:
    out = []
    for r in rows:
        a = tutor.ask(r["question"], [], backend="extractive").to_dict()
        cards = list(dict.fromkeys(p["card_id"] for p in a["passages"] if p.get("card_id")))
        ok = [r["card_id"], *r.get("also_ok", [])] if r["card_id"] else []
        rank = None if a["refused"] else next((i for i, c in enumerate(cards, 1) if c in ok), None)
        out.append({**r, "got": cards[:5], "rank": rank, "refused": a["refused"], "match": a["match"]})
    return out


def share(rows: list[dict], test) -> str:
    hits = sum(1 for r in rows if test(r))
    return f"{hits / len(rows):.3f} ({hits}/{len(rows)})" if rows else "-"


def report(res: list[dict]) -> None:
    covered = [r for r in res if r["card_id"]]
    uncovered = [r for r in res if not r["card_id"]]
    for name, rows in (("covered", covered), ("  full", [r for r in covered if r["coverage"] == "full"]),
                       ("  partial", [r for r in covered if r["coverage"] == "partial"])):
        print(f"{name:<10} n {len(rows):>3}  first {share(rows, lambda r: r['rank'] == 1)}  "
              f"top 5 {share(rows, lambda r: r['rank'] is not None)}  refused {share(rows, lambda r: r['refused'])}")
    print(f"uncovered  n {len(uncovered):>3}  declined or closest "
          f"{share(uncovered, lambda r: r['refused'] or r['match'] == 'closest')}  "
          f"declined {share(uncovered, lambda r: r['refused'])}")
    print("match on covered:", dict(Counter(r["match"] for r in covered)))
    by_set = Counter(r["id"].split("-")[0] for r in covered)
    for s in sorted(by_set):
        rows = [r for r in covered if r["id"].startswith(s + "-")]
        print(f"  set {s}: first {share(rows, lambda r: r['rank'] == 1)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", default=None, help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--rows", default=None, help="write each question's result here (JSON lines)")
    parser.add_argument("--misses", action="store_true", help="list covered questions whose card is not first")
    parser.add_argument("--data", default=str(DATA), help="question rows (default: bench/public_style.jsonl)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a Config field for this run, e.g. --set min_relevance=0.246 (booleans 0 / 1)")
    args = parser.parse_args(argv)
    config = Config().with_(index_dir=Path(args.index)) if args.index else Config()
    if args.set:  # the same KEY=VALUE reading as retrieval_levers' variants (booleans as 0 / 1)
        config = parse_variant("set:" + ",".join(args.set), config)[1]
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines() if line.strip()]
    res = ask_all(Tutor(config), rows)
    report(res)
    if args.misses:
        for r in res:
            if (r["card_id"] and r["rank"] != 1) or (not r["card_id"] and not r["refused"] and r["match"] == "exact"):
                print(f"  {r['id']} rank {r['rank']} want {r['card_id']} got {r['got'][:2]} {r['match']}: "
                      f"{r['question'][:90]}")
    if args.rows:
        Path(args.rows).write_text("".join(json.dumps(r) + "\n" for r in res), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
