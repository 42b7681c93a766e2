"""Grading as the batch form sees it: a question and a reference, no card id. Which card is found, and how
the grade fares, when the question is worded unlike the card's; and grades against a bare reference.

`tutor eval` grades every golden row against its card by id. Rows sent to `tutor grade --from FILE` carry
`{question, answer, reference}`: a public interview list words its questions its own way, and a question no
card answers is graded against the reference's claims. Here every golden test answer (or every
`--stride`-th) is graded three ways (and the card that question + the learner's answer finds is counted):
- **card**: against its card by id, as `tutor eval` does;
- **re-asked**: with a golden retrieval question of the same card (direct or paraphrase, not a follow-up)
  and the row's reference, through `Tutor.grade`; the card found is right, none (graded against the
  reference) or another card. "question alone" is the rule before session 39: the question's own top card
  when its relevance clears `Config.grade_card_relevance`;
- **reference**: against the reference's claims with no card, by the committed reference model
  (`tutor/grade_model_reference.json`) and by the card model it replaced.

    python bench/grade_routes.py --index /tmp/g1 [--stride 2]

Session 39 (cards-only index, 992 test rows at stride 2; in band, guards on):

    card found for the re-asked question     right / none / wrong     in band
    question alone (before)                  .602 / .296 / .102       .642
    question + reference (shipped)           .999 / .000 / .001       .777
    the card by id                                                     .776

With no reference, "question alone, refusal bar" is the rule (before session 39: right / none /
wrong .869 / .002 / .129 on every 4th test row) and "question + answer" the shipped one (.960 / .022 / .018;
a card the question only loosely matches is declined and the learner asked for a reference).

The reference path over all 1983 test rows: card models .515 / .584 / .503 (in band / agreement / QWK),
reference models .671 / .684 / .596. 30 uncovered deep-learning questions (the out-of-scope set) with a
written reference: no card found for 24 with the question alone, 28 with question + reference.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from _common import ROOT

from tutor.config import Config
from tutor.grade import Grader
from tutor.grade_train import golden_rows
from tutor.metrics import in_band
from tutor.tutor import Tutor

GOLDEN = ROOT / "corpus" / "golden"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: the project's)")
    parser.add_argument("--stride", type=int, default=2, help="grade every n-th golden test row")
    args = parser.parse_args(argv)
    config = Config(index_dir=args.index) if args.index else Config()
    tutor = Tutor(config)
    grader = tutor.grader
    bare, card_model = (Grader(grader.embedder, grader.cards, grader.config, find_card=lambda *_: None,
                               judge=grader.judge, reader=grader.reader,
                               spotter=grader.spotter, model=grader.model) for _ in range(2))
    card_model.model_for = lambda rubric: card_model.model  # the card model on a reference: the old way
    cards = {c.id: c for c in grader.cards}
    asked = defaultdict(list)
    for line in (GOLDEN / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        if q["kind"] != "followup":
            asked[q["card_id"]].append(q["question"])
    rows = golden_rows()
    rows = [r for r in rows if r.get("split") == "test"][:: args.stride]
    found: dict[str, Counter] = {"question alone": Counter(), "question + reference": Counter(),
                                 "question alone, refusal bar": Counter(), "question + answer": Counter()}
    hits: dict[str, list[bool]] = defaultdict(list)
    bar = config.grade_card_relevance
    for n, row in enumerate(rows):
        band, card = row["score_band"], cards[row["card_id"]]
        question = asked[card.id][n % len(asked[card.id])] if asked[card.id] else row["question"]
        top = tutor.retriever.search(question, 1)
        alone = top[0].card_id if top and top[0].relevance >= bar else None
        grade = tutor.grade(row["answer"], question=question, reference=row["reference"])
        by_answer = getattr(tutor.card_for_question(question, None, row["answer"]), "id", None)
        loose = top[0].card_id if top and top[0].relevance >= config.min_relevance else None
        for name, got in (("question alone", alone), ("question + reference", grade.card_id),
                          ("question alone, refusal bar", loose), ("question + answer", by_answer)):
            found[name]["right" if got == card.id else "none" if got is None else "wrong"] += 1
        hits["card by id"].append(in_band(grader.grade(row["answer"], card=card, question=row["question"]).score,
                                          band))
        hits["re-asked (shipped)"].append(in_band(grade.score, band))
        hits["reference, reference model"].append(
            in_band(bare.grade(row["answer"], question=question, reference=row["reference"]).score, band))
        hits["reference, card model"].append(
            in_band(card_model.grade(row["answer"], question=question, reference=row["reference"]).score, band))
    print(f"{len(rows)} golden test answers (every {args.stride}th), index {config.index_dir}")
    for name, counts in found.items():
        total = sum(counts.values())
        print(f"  card found, {name:28s} right {counts['right'] / total:.3f}  none {counts['none'] / total:.3f}  "
              f"wrong {counts['wrong'] / total:.3f}")
    for name, values in hits.items():
        print(f"  in band, {name:28s} {sum(values) / len(values):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
