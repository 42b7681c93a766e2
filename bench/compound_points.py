"""Verdicts on compound key points ("A; B"), read whole and claim by claim, over the golden answers.

Of the cards' 1416 key points, 102 join two claims with ";". A statement that makes one claim matches the
joined point only loosely, so the grader told learners such a point was missing when half of it was there.
`tutor.grade._by_claim` reads each claim on its own where the whole point did not read as covered. There are
no per-point labels, so this counts verdicts where the answer's label says what they should be: in answers
labelled correct a compound point is rarely truly missing, and in answers labelled incorrect it is rarely
truly made. The learned score is the same either way (it never reads the verdicts).

    python bench/compound_points.py [--split dev|test|all] [--limit N] [--show N]

Measured 2026-12-07 (session 56), dev split, 835 answers to the 79 cards with a compound point (2 cores).
Share of the compound points' verdicts (the same answers' single-claim points beside them); "named": a
"partly" verdict that names the claims still missing:

    answers             read      covered  partly  missed  wrong  named
    correct (349)       single    .784     .027    .172    .017
                        whole     .762     .017    .201    .020
                        claims    .762     .017    .201    .020   .006
    complete (186)      single    .934     .023    .028    .016
                        whole     .952     .011    .022    .016
                        claims    .952     .011    .022    .016   .005
    incorrect (231)     whole     .394     .017    .424    .165
                        claims    .394     .022    .420    .165   .013
    partial (413)       whole     .542     .029    .358    .070
                        claims    .545     .027    .358    .070   .012

Compound points are not missed more often than single ones in complete answers (.022 against .028): the
"half a point" miss is rarer than the example suggested. Read claim by claim, 11 of 993 verdicts change:
a missed or vague "partly" becomes a "partly" that names what is missing (9), two become covered; no
verdict on an incorrect answer gains a "covered". A lower bar for a claim (.56 / .52 instead of the covered
bar .62) changes 19 / 29 and starts crediting claims in fluent-wrong answers (.018 → .030 partly at .52),
so the claims use the points' own bar. The dropout example ("… nothing changes at inference, where it is
turned off") still reads as missing: its claim matches at .44, the learner's "it" standing for dropout.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor.cards import load_cards  # noqa: E402
from tutor.grade import GradeParams, _score_points  # noqa: E402
from tutor.grade_evidence import claims  # noqa: E402
from tutor.grade_train import golden_rows  # noqa: E402

STATUSES = ("covered", "partly", "missed", "wrong")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="dev", choices=("dev", "test", "all"))
    parser.add_argument("--limit", type=int, default=0, help="at most this many rows (0: all)")
    parser.add_argument("--show", type=int, default=20, help="changed verdicts to print")
    args = parser.parse_args(argv)
    from tutor.embed import MiniLMEmbedder
    from tutor.grade import Grader
    from tutor.judge import load_judge
    from tutor.reader import load_reader
    from tutor.spotter import load_spotter

    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    compound = {cid for cid, c in cards.items() if any(claims(kp.point) for kp in c.key_points)}
    rows = golden_rows()
    rows = [r for r in rows if r["card_id"] in compound and (args.split == "all" or r["split"] == args.split)]
    rows = rows[: args.limit] if args.limit else rows
    grader = Grader(MiniLMEmbedder(), list(cards.values()), judge=load_judge(required=True),
                    reader=load_reader(required=True), spotter=load_spotter(required=True))
    p = GradeParams()
    read = []
    for row in rows:
        rubric = grader.resolve(cards[row["card_id"]], row["question"], None, row["answer"])
        ev, _ = grader.evidence(row["answer"], rubric, row["question"])
        if ev.units:
            read.append((row, rubric, ev))
    print(f"{len(read)} {args.split} answers to cards with a compound point; verdicts on those points "
          f"(single-claim points of the same answers for comparison)\n")
    print(f"{'group':24s} {'read':12s} " + " ".join(f"{s:>8s}" for s in (*STATUSES, "named")))
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    changed = []
    for row, rubric, ev in read:
        whole, _ = _score_points(rubric, replace(ev, claim_match=[]), p)
        split, _ = _score_points(rubric, ev, p)
        groups = (row["label"], f"{row['label']}/{row['category']}")
        for j, (a, b) in enumerate(zip(whole[:len(rubric.points)], split, strict=False)):
            for g in groups:
                if not rubric.claims[j]:
                    counts[(g, "single")][a.status] += 1
                    continue
                counts[(g, "whole")][a.status] += 1
                counts[(g, "claims")][b.status] += 1
                counts[(g, "claims")]["named"] += bool(b.missing)
            if rubric.claims[j] and (a.status, a.missing) != (b.status, b.missing):
                changed.append((row["id"], row["label"], row["category"], a.status, b.status, b.missing,
                                b.evidence[:90]))
    for g in sorted({g for g, _ in counts}, key=lambda g: (g.count("/"), g)):
        if counts[(g, "whole")].total() < 20:
            continue
        for how in ("single", "whole", "claims"):
            c = counts[(g, how)]
            n = sum(c[s] for s in STATUSES) or 1
            print(f"{g:24s} {how:12s} " + " ".join(f"{c[s] / n:8.3f}" for s in STATUSES)
                  + f" {c['named'] / n:8.3f}   (n={n})")
    print(f"{len(changed)} verdicts changed, e.g.:")
    for ch in changed[:args.show]:
        print("  ", *ch)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
