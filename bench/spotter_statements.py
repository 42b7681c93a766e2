"""The misconception spotter against sentences written for every card misconception: does it tell a candidate
asserting the wrong belief from one stating the correct fact in the same words?

bench/misconception_statements.jsonl holds, for each of the 974 misconceptions of the 271 cards, three
sentences that assert it in other words (`"label": "wrong"`: a plain claim, the belief inside a sentence that
is otherwise right, a casual first-person phrasing) and two that state the correct fact in the same topic words
(`"right"`, the hard negatives). Eight helpers wrote them in session 51 from the card files' questions, key
points and misconceptions alone (never the golden sets, the span labels or the tutor's output), each sentence
in their own words. The shipped spotter was never trained on them, and they reach the 578 misconceptions that
no labelled dev span covers (corpus/labels/misconception_spans.jsonl covers 396, counting `also_wrong`), so
this is the measuring stick for the next spotter, as bench/claim_pairs.jsonl is for a meaning judge.

Each sentence is read beside its own misconception, alone (the grader reads a statement beside each of the
card's misconceptions it is nearest; here the pairing is given). Figures: AUC of wrong over right, and the
share of each at or above tutor.spotter.SPOTTED (where feedback names the statement wrong) and at .5; split by
whether a dev span labels that misconception.

    python bench/spotter_statements.py [--json]

Session 51 (shipped spotter 334c8fc9b9a9, 4870 sentences, 34 s of CPU):

    misconceptions      wrong  right  AUC    at .95: wrong  right   at .5: wrong  right
    all                 2922   1948   .643   .381           .219    .589          .385
    with a dev span     1188    792   .628   .472           .289    .662          .500
    without one         1734   1156   .659   .318           .170    .539          .306

The spotter barely tells the two apart: it rates a sentence by how close it sits to the misconception's
words, and a correct sentence in the same words comes close too (the spans it learned from taught the wording
of a few dev answers, not the polarity). In real answers that matters less than these hard negatives suggest:
on the golden test split (reported, not tuned on) a spotter-made "wrong" verdict (any pair at .95) falls on
8% of complete answers, 2% of terse right ones, 7% of partial-missing ones, and on 70% of misconception answers.

Tried in session 51 and not kept: training the spotter on these sentences beside the dev spans (every fit; two
folds, fold 0's model shipped, 3 epochs, 43 min on 2 cores). Out of fold on the dev rows, answer level
(does the answer's highest verdict find the answers with a labelled span): AUC .826 → .806, answers with a
span at .5 or above .815 → .865, answers without one .303 → .422 (correct answers .160 → .244); dev CV of
the learned score with that spot column (3 seeds × 5 folds, quick pass at .70) in band .7585 → .7580,
agreement .7677 → .7664. The written sentences taught it to fire on the topic words of a misconception,
which right answers use too.

Measured in session 51 and not kept: the contradiction judge (tutor/judge.py) as the spotter. On 600 of these
sentences its margin for (sentence, misconception) separates the two kinds almost perfectly: a sentence
asserting the belief does not conflict with it, one stating the correct fact does (AUC .975 with the lower
margin read as wrong; the spotter .630 on the same 600; (sentence, the key point the misconception
contradicts) .665). But every sentence here is on the misconception's topic. In real answers most statements
the grader pairs with a misconception (its three nearest by MiniLM cosine) say something else, and the judge
does not conflict with those either: on 540 dev answers, the lowest margin over those pairs finds the answers
with a labelled span at AUC .455 (.648 counting only pairs at cosine .5 or above), against the spotter's
out-of-fold .730 on the same answers. The judge tells asserting from denying, not asserting from talking
about something else; a detector needs both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT  # noqa: E402

STATEMENTS = ROOT / "bench" / "misconception_statements.jsonl"


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a wrong sentence scores above a right one), ties counting half."""
    if not len(pos) or not len(neg):
        return float("nan")
    above = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(above + 0.5 * ties)


def spanned() -> set[tuple[str, int]]:
    """(card, misconception) pairs that a labelled dev span states (tutor.spotter_train.load_spans)."""
    from tutor.spotter_train import GOLDEN, load_spans

    lines = GOLDEN.read_text(encoding="utf-8").splitlines()
    card_of = {r["id"]: r.get("card_id") for r in (json.loads(x) for x in lines if x.strip())}
    return {(card_of[rid], m) for rid, spans in load_spans().items() for _, m in spans if m >= 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from tutor.cards import load_cards
    from tutor.spotter import SPOTTED, delta_meta, load_spotter

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    rows = [json.loads(x) for x in STATEMENTS.read_text(encoding="utf-8").splitlines() if x.strip()]
    spotter = load_spotter(required=True)
    verdicts = spotter.pair_scores([(cards[r["card_id"]].misconceptions[r["misconception"]], r["text"]) for r in rows])
    seen = spanned()
    figures = {"spotter": delta_meta()["sha256"][:12], "n": len(rows)}
    parts = (("all", lambda r: True), ("with a dev span", lambda r: (r["card_id"], r["misconception"]) in seen),
             ("without one", lambda r: (r["card_id"], r["misconception"]) not in seen))
    for part, keep in parts:
        idx = [i for i, r in enumerate(rows) if keep(r)]
        wrong = np.array([verdicts[i] for i in idx if rows[i]["label"] == "wrong"])
        right = np.array([verdicts[i] for i in idx if rows[i]["label"] == "right"])
        figures[part] = {"wrong": len(wrong), "right": len(right), "auc": round(auc(wrong, right), 4),
                         "wrong_at_spotted": round(float((wrong >= SPOTTED).mean()), 4),
                         "right_at_spotted": round(float((right >= SPOTTED).mean()), 4),
                         "wrong_at_half": round(float((wrong >= 0.5).mean()), 4),
                         "right_at_half": round(float((right >= 0.5).mean()), 4)}
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"spotter {figures['spotter']}, {len(rows)} written sentences, each beside its own misconception")
    for part in ("all", "with a dev span", "without one"):
        f = figures[part]
        print(f"  {part:16s} wrong {f['wrong']:4d} right {f['right']:4d}  AUC {f['auc']:.3f}  "
              f"at {SPOTTED}: wrong {f['wrong_at_spotted']:.3f} right {f['right_at_spotted']:.3f}  "
              f"at .5: wrong {f['wrong_at_half']:.3f} right {f['right_at_half']:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
