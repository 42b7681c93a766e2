"""Reversal verdicts (negations, antonyms, role swaps) over the golden answers, counted by answer category.

`tutor.grade_evidence.contradiction` calls a statement the opposite of a key point when it negates the
point's words, swaps an antonym ("higher" for "lower") or gives one term what the point gives another. There
are no per-statement labels, so this counts (statement, key point) pairs it fires on, by the answer's
category: in complete and terse-right answers nearly every one is a false alarm that tells a learner a right
statement is wrong; in negation answers most are the reversal the answer was written with. Text only (no
model): the pairs are those whose keyword match is above 0, as in grading (which also reads pairs whose
cosine is above .5), so the counts are a lower bound on what the grader reads.

    python bench/reversal_verdicts.py [--split all|dev|test] [--show CATEGORY] [--limit N]

Measured 2026-12-07 (session 57), all 5402 golden answers; pairs before → after that session's changes:

    category          pairs before   after   removed  added
    complete          87             73      15       1
    terse-right       68             61      7        0
    partial-missing   43             40      4        1
    misconception     86             77      9        0
    negation          79             78      1        0
    fluent-wrong      66             64      2        0
    mixed             22             20      2        0

All but one removed pair were right statements (the one: a negation answer's wrong claim, "less general …
because without human labels they are not organised around …", caught before only for "denying human
labels"): "XOR isn't linearly separable" against a point that says so itself
in a two-clause sentence (the parity of its negators was even), "reduce the test error, not the training
error" against "… rather than the training error", "no word order" against "it ignores word order", "does
not get faster without sparse kernels" (two negators in one clause assert), "a nonlinearity" against
"non-linear" (read as the antonym of "linear"). The one added: "the classes aren't linearly separable"
against "cannot learn non-linearly separable functions". Tried and dropped: an antonym counted only when
both words modify the same next word ("large batch" against "small learning rate") removed 10 more false
alarms on complete answers but lost true reversals said in another word order ("if the learning rate is
too low the loss oscillates", "run in parallel over time steps"); "non-linear" as one word everywhere moved
the match features of 543 answers and cost the learned score (test split −5 rows in band, dev CV −0.1),
so only the reversal check reads it as one word.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor.cards import load_cards  # noqa: E402
from tutor.grade import prepare  # noqa: E402
from tutor.grade_evidence import atomic_units, contradiction, lexical  # noqa: E402
from tutor.grade_text import ROLE_PAIRS, contrasted_terms, statements  # noqa: E402
from tutor.grade_train import golden_rows  # noqa: E402
from tutor.shorthand import expand  # noqa: E402


def verdicts(row: dict, card: object) -> list[tuple[str, str, str]]:
    """(statement, key point, why) for each pair of the answer's smallest statements and the card's points."""
    units = statements(prepare(row["answer"])[0])
    pairs = ROLE_PAIRS + contrasted_terms(card.id)
    out = []
    for unit, alone in zip(units, atomic_units(units), strict=True):
        plain = expand(unit)
        for kp in card.key_points if alone else ():
            if lexical(plain, kp) > 0 and (why := contradiction(plain, kp.point, pairs)):
                out.append((unit, kp.point, why))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="all", choices=("dev", "test", "all"))
    parser.add_argument("--show", default="", help="print the pairs found in answers of this category")
    parser.add_argument("--limit", type=int, default=0, help="at most this many rows (0: all)")
    args = parser.parse_args(argv)
    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    rows = golden_rows()
    rows = [r for r in rows if r.get("card_id") in cards and (args.split == "all" or r["split"] == args.split)]
    rows = rows[: args.limit] if args.limit else rows
    pairs, answers, flagged = Counter(), Counter(), Counter()
    for row in rows:
        found = verdicts(row, cards[row["card_id"]])
        cat = row.get("category", "?")
        answers[cat] += 1
        pairs[cat] += len(found)
        flagged[cat] += bool(found)
        for unit, point, why in found if cat == args.show else ():
            print(f"{row['id']}: {unit[:90]} | {why[:60]} | {point[:70]}")
    print(f"\n{args.split} split, {len(rows)} answers: reversal verdicts by answer category\n")
    print(f"{'category':18s} {'answers':>8s} {'pairs':>6s} {'answers with one':>17s}")
    for cat in sorted(answers, key=lambda c: -pairs[c]):
        print(f"{cat:18s} {answers[cat]:8d} {pairs[cat]:6d} {flagged[cat]:17d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
