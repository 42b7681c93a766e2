"""Misconception verdicts with and without the spotter's say on the cosine rule, over the golden answers.

The per-point verdicts call a statement wrong ("matches the misconception: …") where MiniLM puts it close to
one of the card's misconceptions (cosine `GradeParams.mis_min`, beating its best key point by `mis_margin`),
or where the misconception spotter (tutor/spotter.py) is sure it asserts one. Cosine cannot tell a statement
from its denial: "regularization is used so the model does well on unseen data and not only on the
training set" sits at .72 from "regularization is meant to lower the training loss". The spotter reads that
very pair (the rule's statement is nearly always among the three it reads per misconception) and says .05;
below `tutor.spotter.CLEARED` the rule no longer calls the statement wrong. There are no per-statement
labels outside the spotter's own training rows (the dev split), so this counts answers told they hold a
misconception, by category: complete and terse-right answers hold none, misconception answers one each.
The score is the same either way (the learned model reads the spotter and the cosines itself).

    python bench/misconception_rule.py [--split test|dev|all] [--limit N] [--bars 0,0.05,0.1,0.2,0.5]

Measured 2026-12-07 (session 57), answers told they hold a misconception (bar 0: the rule alone, as before):

    test split (the spotter never saw it)   bar 0      .05        .1 (shipped)  .2      .5
    complete (436)                          115        54         49            44      40
    terse-right (522)                       43         21         16            14      14
    partial-missing (402)                   78         42         41            33      32
    negation (291)                          93         69         69            67      65
    mixed (140)                             67         61         61            59      59
    fluent-wrong (429)                      282        245        238           229     223
    misconception (418)                     339        320        316           311     303

    dev split (the spotter's training rows): complete 105 → 37 of 476, terse-right 40 → 7 of 479,
    partial-missing 93 → 41 of 447, misconception 380 → 374 of 406 at .1 (a first count).

At .1 nearly two of three false alarms on right answers go (158 → 65 of 958 test answers) for 23 of 339
misconception answers no longer flagged.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor import grade as grade_module  # noqa: E402
from tutor import spotter as spotter_module  # noqa: E402
from tutor.cards import load_cards  # noqa: E402
from tutor.grade import GradeParams, _score_points  # noqa: E402
from tutor.grade_train import golden_rows  # noqa: E402

ORDER = ("complete", "terse-right", "partial-missing", "negation", "mixed", "fluent-wrong", "misconception")


def flagged(rubric: object, ev: object, p: GradeParams, bar: float) -> bool:
    """Is the answer told it holds a misconception, with the spotter clearing pairs below `bar`?"""
    grade_module.cleared = functools.partial(spotter_module.cleared, at=bar)
    try:
        points, _ = _score_points(rubric, ev, p)
    finally:
        grade_module.cleared = spotter_module.cleared
    return any(g.status == "wrong" and g.why.startswith("matches the misconception") for g in points)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test", choices=("dev", "test", "all"))
    parser.add_argument("--limit", type=int, default=0, help="at most this many rows (0: all)")
    parser.add_argument("--bars", default="0,0.05,0.1,0.2,0.5", help="spotter verdicts below which it clears")
    args = parser.parse_args(argv)
    from tutor.embed import MiniLMEmbedder
    from tutor.grade import Grader
    from tutor.judge import load_judge
    from tutor.reader import load_reader
    from tutor.spotter import load_spotter

    bars = [float(b) for b in args.bars.split(",")]
    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    rows = golden_rows()
    rows = [r for r in rows if r.get("card_id") in cards and (args.split == "all" or r["split"] == args.split)]
    rows = rows[: args.limit] if args.limit else rows
    grader = Grader(MiniLMEmbedder(), list(cards.values()), judge=load_judge(required=True),
                    reader=load_reader(required=True), spotter=load_spotter(required=True))
    p = GradeParams()
    counts: dict[str, Counter] = defaultdict(Counter)
    for n, row in enumerate(rows, 1):
        rubric = grader.resolve(cards[row["card_id"]], row["question"], None, row["answer"])
        ev, _ = grader.evidence(row["answer"], rubric, row["question"])
        cat = row.get("category", "?")
        counts[cat]["n"] += 1
        for bar in bars:
            counts[cat][bar] += bool(ev.units) and flagged(rubric, ev, p, bar)
        if n % 500 == 0:
            print(f"  {n} of {len(rows)} graded", file=sys.stderr, flush=True)
    print(f"{args.split} split: answers told they hold a misconception, by the spotter's clearing bar "
          f"(0: the cosine rule alone; shipped: {spotter_module.CLEARED})\n")
    print(f"{'category':18s} {'n':>5s} " + " ".join(f"{b:>7g}" for b in bars))
    for cat in [*ORDER, *sorted(set(counts) - set(ORDER))]:
        if counts[cat]["n"]:
            print(f"{cat:18s} {counts[cat]['n']:5d} " + " ".join(f"{counts[cat][b]:7d}" for b in bars))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
