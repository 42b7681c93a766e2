"""False premises corrected, true claims left alone: the premise set (tests/data/premises.jsonl, written
from the cards before any tuning) through `Tutor.ask`, its parts reported apart: `tune` (the levers of
tutor/contradiction.py were shaped on it), `held` (first run only after they were; its failures were read
afterwards) and `held2` (other cards, written before `held` was read).

A false claim counts as corrected when the answer opens with the code's correction ("No: <key point> [1]",
`lead == "correction"`), and as corrected from its own card when the correcting card is the row's card.
A true claim is wrongly contradicted when it gets that correction. Refusals are counted on both sides:
the material covers every row.

    python bench/llm_premise_set.py                    # extractive: no model, about 1 s a row
    python bench/llm_premise_set.py --backend local    # the real local model (slow: run it niced, once)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(split: str | None = None) -> list[dict]:
    path = ROOT / "tests" / "data" / "premises.jsonl"
    out = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in out if split in (None, r["split"])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="extractive", choices=["extractive", "local"])
    parser.add_argument("--model", default=None)
    parser.add_argument("--split", default=None, choices=["tune", "held", "held2"])
    parser.add_argument("--quiet", action="store_true", help="only the failures and the table")
    args = parser.parse_args()
    from tutor.tutor import Tutor

    if args.backend == "local":
        from tutor import models

        sys.path.insert(0, str(ROOT / "bench"))
        from llm_eval import _private_home

        os.environ.update(TUTOR_MODELS_DIR=str(models.models_dir()), TUTOR_HOME=str(_private_home()))
    tutor = Tutor()
    tally: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows(args.split):
        answer = tutor.ask(row["claim"], [], backend=args.backend, model=args.model)
        fixed = answer.extra.get("lead") == "correction"
        first = answer.citations[0].card_id if answer.citations else None
        t = tally[(row["split"], row["truth"])]
        t["n"] += 1
        t["refused"] += answer.refused
        if row["truth"] == "false":
            t["corrected"] += fixed
            t["own_card"] += fixed and first == row["card_id"]
            bad = not fixed
        else:
            t["contradicted"] += fixed
            bad = fixed
        bad = bad or answer.refused
        if bad or not args.quiet:
            print(json.dumps({"id": row["id"], "truth": row["truth"], "ok": not bad, "corrected": fixed,
                              "refused": answer.refused, "card": first, "want": row["card_id"],
                              "why": answer.extra.get("correction"),
                              "answer": " ".join(answer.answer.split())[:160]}), flush=True)
    if args.backend == "local":
        from tutor import llm_server

        llm_server.stop()
    print(f"\n{'split':6} {'truth':6} {'n':>3} {'corrected':>10} {'own card':>9} {'contradicted':>13} {'refused':>8}")
    for (split, truth), t in sorted(tally.items()):
        print(f"{split:6} {truth:6} {t['n']:>3} {t['corrected']:>10} {t['own_card']:>9} {t['contradicted']:>13} "
              f"{t['refused']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
