"""The first grade on each card as a practice session sees it: unprepared, and prepared while the learner answers.

`bench/grade_speed.py` measures grades whose rubrics are already built, as a long-running app holds them.
A practice session asks a new card each time, so its grade on that card used to pay for the card's rubric
(the question, key points, synonyms, misconceptions and up to 40 card sentences through MiniLM), and its
first grade of the process for opening the judge. Practice now calls `Grader.prepare(card)` as it shows the
question (`tutor/practice.py`); this script grades one golden answer on each of N cards (seeded draw, one card
each), the way a session would: `--mode cold` grades straight away with nothing prepared, `--mode prepare`
prepares the card and waits as a learner would (6 s before the first answer, 1.5 s before the others).
Run the two modes in separate processes, so each starts cold:

    python bench/practice_grade.py --mode cold
    python bench/practice_grade.py --mode prepare

Session 49 (AMD EPYC, 2 cores, 40 cards, three runs of each, alternated: two through a Tutor's practice
grader, the last this script; wall):

    mode       first grade of the process   first grade on each later card: p50, p95
    cold       3502 / 3088 / 2758 ms        476 / 432 / 438 ms, 627 / 620 / 644 ms
    prepare     262 /  328 /  247 ms        231 / 280 / 284 ms, 389 / 429 / 496 ms

Session 51 (same machine, quick pass at SETTLED .70, one run of each, load 0.0-0.7): cold 720 ms first grade of
the process (the judge's optimized graph cached in the data home since session 49), later cards p50 346 ms,
p95 459 ms; prepare 151 ms, later cards p50 147 ms, p95 260 ms (session 50 at .75, one run: 142 / 154 / 274).

Also tried: rehearsing a whole grade (the card's question as the answer) in the first prepare, to pay each
model's first run and the lazy imports in the background: 267-328 ms against 262 ms without, so it is not done.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_average  # noqa: E402
from grade_speed import _pct  # noqa: E402  (nearest-rank, as grade_speed's figures)

from tutor.cards import load_cards  # noqa: E402
from tutor.grade import Grader  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("cold", "prepare"), required=True)
    parser.add_argument("--cards", type=int, default=40, help="cards to grade an answer on (after the first)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from tutor.embed import MiniLMEmbedder
    from tutor.grade_train import golden_rows
    from tutor.judge import load_judge
    from tutor.reader import load_reader
    from tutor.spotter import load_spotter

    rows = golden_rows()
    random.Random(49).shuffle(rows)
    cards = load_cards(ROOT / "corpus" / "cards")
    by_id = {c.id: c for c in cards}
    picked, seen = [], set()
    for row in rows:
        if row.get("card_id") in by_id and row["card_id"] not in seen:
            seen.add(row["card_id"])
            picked.append(row)
        if len(picked) == args.cards + 1:
            break
    grader = Grader(MiniLMEmbedder(), cards, judge=load_judge(required=True), reader=load_reader(required=True),
                    spotter=load_spotter(required=True))
    load_before, wall = load_average(), []
    for n, row in enumerate(picked):
        card = by_id[row["card_id"]]
        if args.mode == "prepare":
            grader.prepare(card)
            time.sleep(6.0 if n == 0 else 1.5)  # a learner reads the question and types for longer than this
        t0 = time.perf_counter()
        grader.grade(row["answer"], card=card)
        wall.append((time.perf_counter() - t0) * 1000)
    later = sorted(wall[1:])
    figures = {"mode": args.mode, "first_ms": round(wall[0], 1), "later_p50_ms": round(statistics.median(later), 1),
               "later_p95_ms": round(_pct(later, 0.95), 1),
               "cards": len(later), "load_avg": [load_before, load_average()]}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.mode}: first grade of the process {figures['first_ms']:.0f} ms; first grade on each of "
              f"{len(later)} later cards p50 {figures['later_p50_ms']:.0f} ms, p95 {figures['later_p95_ms']:.0f} ms "
              f"(load {load_before:.1f} -> {figures['load_avg'][1]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
