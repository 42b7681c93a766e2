"""Answer-level features for the learned score: what the evidence says, before any threshold.

The rule-based scorer in `tutor.grade` turns the evidence into verdicts with hand-set thresholds; the
learned scorer (`tutor.grade_model`) instead reads these numbers and lets a small model, fitted on the
labelled golden answers, decide how much each one matters. Every feature is threshold-free or uses a
fixed, round cut-off, so nothing here is tuned on the golden rows: only the model's weights are.

Order matters: `FEATURES` is the column order of the committed model's weights.

Not a feature: the share of function words (keyword lists have few, but `keyword_list` already says
so). As a feature it read wordy prose, often a second-language speaker's, as a partial answer: dropping it
moved the dev 8-seed CV .709 / .732 / .722 → .724 / .747 / .745 (in band / agreement / QWK, 676 rows),
with keyword soup still all in band.

Session 34, measured and not kept (stored features, 2443 rows; dev 4-seed CV / test / "rounds": fitted on
the dev rows written before each of the six newest authoring rounds and scored on that round, 456 answers
by fresh authors; in band): base .750 / .766 / .691. Fresh authors' terse right answers pack several
points into one or two long sentences (2.1 sentences against the golden terse answers' 3.3 at the same
length and coverage), and `n_sentences` weighs against them; yet dropping it (.739 / .763 / .682), reading
clauses instead (.744 / .770 / .686) or dropping `first_brief` too (.738 / .752 / .673) gains nothing, the
reader and the judge read them as partial as well. Reading a leading "It" / "This" of a learner's statement
as the question's subject ("What is dropout?" → "It zeroes random units") before matching: .748 / .769 /
.684 (it also lands "it's off at test time" on "dropout stays on at inference"). The judge reading only the
comma-separated piece of a long statement that is about its point (2275 rows): dev 8-seed CV .759 → .758,
test .773 → .766.
"""

from __future__ import annotations

import numpy as np

from tutor.grade_evidence import JUDGED_MATCH, Evidence, Rubric, is_swap, n_sentences
from tutor.grade_text import shape, words

FEATURES = (
    "cov", "cov_cos", "cov_lex", "empty", "share_50", "share_60", "share_70", "first", "first_cos",
    "unsupported_share", "n_points", "keyword_list", "log_words", "manipulation",
    "mis_cos_max", "mis_margin_max", "n_mis", "n_mis_loose", "n_reversed", "first_reversed", "n_sentences",
    "n_unsupported", "question_max", "question_mean", "relevance", "support_mean", "support_min", "top2",
    "n_swapped", "first_brief", "brief_mis",
)
# The contradiction judge's margins (tutor.judge), present when a judge read the answer: the largest and
# the number above 4 over the sentences, and the points whose best statement the judge says conflicts
# with them (margin above 3, among points some statement matches at 0.5). Round cut-offs from the
# margins' scale (paraphrase ≈ 0, contradiction ≈ 5), not tuned on the golden rows.
JUDGE_FEATURES = ("contra_max", "contra_n4", "contra_points")
# The reader's verdict on the whole answer (tutor.reader) and the misconception spotter's on single statements
# (tutor.spotter): both cross-encoders that `make install` exports, read only together and beside the judge's
# columns, so the models are three (lexical, judged, judged and read), not five.
READER_FEATURES = ("reader", "spot")
JUDGED_FEATURES = FEATURES + JUDGE_FEATURES
ALL_FEATURES = JUDGED_FEATURES + READER_FEATURES
# What the full grader knows before the judge reads anything (MiniLM, the rules, the reader and the spotter):
# the quick model (tutor.grade_model.QUICK_MODEL_FILE) decides from these the answers it is sure of, and
# the judge, the most expensive part of a grade, reads only the others (tutor.grade.Grader.evidence).
QUICK_FEATURES = FEATURES + READER_FEATURES
_SPOT_CLIP = 1e-4  # verdicts of exactly 0 or 1 (float32) read as ±9.2 log-odds
_FIRST_WEIGHT = 1.5  # the first key point is the card's core claim (a fixed prior, not fitted)
_REVERSAL_MATCH = 0.55  # a reversed statement counts when it is at least this close to its point
_ON_TOPIC = 0.25  # question cosine above which a sentence is meant as part of the answer
_SUPPORTED = 0.45  # best cosine to the card below which a sentence says nothing the card says
# An answer of at most this many sentences is judged on its core claim: interviewers take a short answer
# that gets the first key point right as right, where the coverage shares read it as "few points, partial".
# A round cut-off (2 and 4 were both weaker on the dev CV; session 21, bench/grade_transfer.py).
_BRIEF = 3
# `brief_mis`: how far a brief answer's closest statement to a misconception beats its best key point (0 when
# none does). `first_brief` rewards a short answer that makes the core claim; in a one-to-three sentence
# answer the same few words often carry a wrong belief too ("dropout regularizes … at inference it stays
# on"), and the answer-wide `mis_margin_max` is outweighed there by the brevity columns: after the rounds
# 35-42 refit the lexical model called that dropout answer correct (8.2). Measured on the stored features
# (session 38; dev 2-seed 4-fold CV / test, in band / agreement / QWK): full model .767 / .781 / .775 →
# .773 / .787 / .784 and test .772 / .789 / .789 → .778 / .792 / .795; lexical CV .705 → .706. Counting
# only statements whose polarity matches the misconception's (a negated "does not stay on" is no belief)
# measured lower (full CV .770 / test .775), and so did two sentences (.768) or four (.772) as the cut.


def spot_feature(verdict: float) -> float:
    """The spotter's 0-1 verdict as log-odds, the scale a logistic model adds up: its verdicts crowd near 0 and
    1, and read raw they gained nothing on the dev CV (session 46, stored features, 2 seeds x 5 folds, in band
    .7587 without the column, .7589 raw, .7619 as log-odds; test split .7842 / .7890 / .7894)."""
    p = min(max(float(verdict), _SPOT_CLIP), 1.0 - _SPOT_CLIP)
    return float(np.log(p / (1.0 - p)))


def feature_names(ev: Evidence) -> tuple[str, ...]:
    """The columns this evidence can fill: the judge's only when a judge read it, the reader's and the
    spotter's only beside them."""
    if ev.conflict is None:
        return FEATURES
    return ALL_FEATURES if ev.reader is not None and ev.spot is not None else JUDGED_FEATURES


def features(rubric: Rubric, ev: Evidence, flags: list[str], names: tuple[str, ...] | list[str] = FEATURES
             ) -> np.ndarray:
    """One row of `names` (columns of `ALL_FEATURES`) for an answer (flags: the guards raised before grading)."""
    f = dict.fromkeys(ALL_FEATURES, 0.0)
    k, n = len(rubric.points), len(ev.units)
    f["manipulation"] = float("manipulation" in flags)
    f["empty"] = float("empty" in flags or n == 0 or k == 0)
    if f["empty"]:
        return np.array([f[name] for name in names])
    f["reader"] = float(ev.reader or 0.0)
    f["spot"] = spot_feature(ev.spot or 0.0)
    w = np.array([_FIRST_WEIGHT] + [1.0] * (k - 1))
    match = ev.match
    best_match, best_cos, best_lex = match.max(axis=0), ev.cos.max(axis=0), ev.lex.max(axis=0)
    unit_best = ev.cos.max(axis=1)
    if ev.mis_cos.shape[1]:
        mis = ev.mis_cos.max(axis=1)
        margin = mis - unit_best
    else:
        mis, margin = np.zeros(n), np.full(n, -1.0)
    # Role swaps ("L2 gives sparse weights" against a point on L1 vs L2) are counted on their own: they are
    # wrong claims the words of the point are all in, where a negation or an antonym is one word off.
    reversed_ = [[r is not None and not is_swap(r) and match[i, j] >= _REVERSAL_MATCH
                  for j, r in enumerate(ev.reversed[i])] for i in range(n)]
    ns = n_sentences(ev)
    support = np.maximum(ev.support[:ns], unit_best[:ns]) if ev.support is not None else unit_best[:ns]
    question = ev.question_cos[:ns]
    unsupported = (support < _SUPPORTED) & (question >= _ON_TOPIC)
    text = " ".join(ev.units[:ns])
    sh = shape(text)
    f.update(
        cov=float((w * best_match).sum() / w.sum()), cov_cos=float((w * best_cos).sum() / w.sum()),
        cov_lex=float((w * best_lex).sum() / w.sum()), share_50=float((best_match >= 0.5).mean()),
        share_60=float((best_match >= 0.6).mean()), share_70=float((best_match >= 0.7).mean()),
        first=float(best_match[0]), first_cos=float(best_cos[0]), top2=float(np.sort(best_match)[-2:].mean()),
        mis_cos_max=float(mis.max()), mis_margin_max=float(margin.max()),
        n_mis=float(((mis >= 0.65) & (margin > 0)).sum()), n_mis_loose=float(((mis >= 0.55) & (margin > 0.05)).sum()),
        n_reversed=float(sum(any(r) for r in reversed_)), first_reversed=float(any(r[0] for r in reversed_)),
        support_mean=float(support.mean()), support_min=float(support.min()), n_unsupported=float(unsupported.sum()),
        unsupported_share=float(unsupported.mean()), question_max=float(question.max()),
        question_mean=float(question.mean()), relevance=float(max(question.max(), ev.cos.max())),
        log_words=float(np.log1p(len(words(text)))), n_sentences=float(ns), keyword_list=float(sh.keyword_list),
        n_points=float(k),
        n_swapped=float(sum(any(is_swap(r) for r in row) for row in ev.reversed)),
        first_brief=float(best_match[0]) if ns <= _BRIEF else 0.0,
        brief_mis=max(0.0, float(margin.max())) if ns <= _BRIEF else 0.0,
    )
    if ev.conflict is not None:
        c = ev.conflict if len(ev.conflict) else np.array([-3.0])
        f.update(contra_max=float(c.max()), contra_n4=float((c > 4).sum()),
                 contra_points=float(((ev.point_conflict > 3) & (best_match >= JUDGED_MATCH)).sum()))
    return np.array([f[name] for name in names])
