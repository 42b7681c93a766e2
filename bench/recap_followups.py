"""What the follow-up recap (tutor/recap.py) keeps: the golden follow-ups, asked in their conversations as
`tutor chat` and the app ask them, extractive backend.

A follow-up that lands on the passage its conversation's previous answer led with is answered with the blocks
of that passage nearest the follow-up instead of the whole passage again. For those rows this prints how
often that happens, how many words the learner reads instead of the whole answer, and the share of the
follow-up's golden key points (tutor.metrics.coverage, the eval's answer coverage) the recap holds beside
the whole passage, which is all the key points a recap can hold; per `--words` (the word budget of tutor.recap.excerpt).

    python bench/recap_followups.py --index DIR [--split dev] [--words 60 90 120]

Session 55, cards-only index (271 cards), 194 golden follow-ups: the recap applies to 121 (dev 56, test 65),
so most follow-ups used to get the previous answer again word for word. Key points held (golden follow-up key
points, share of what the whole passage holds in brackets) and median words shown:

    words budget   dev (56 rows)          test (65 rows)
    whole passage  .848, 228 words        .954, 230 words
    45             .613 (.728), 62        .664 (.693), 62
    60             .685 (.814), 81        .751 (.791), 77
    75 (kept)      .717 (.849), 88        .751 (.791), 94
    90             .726 (.859), 116       .792 (.833), 111

A block count instead of a budget (all 121 rows): 1 / 2 / 3 blocks held .559 / .716 / .845 of it in 34 / 69 /
111 words. The whole answer is still on screen just above, so what a recap leaves out is not lost, only not
pointed at.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from _common import ROOT

from tutor import metrics, recap
from tutor.config import Config
from tutor.evaluate import in_conversations
from tutor.grounding import claim
from tutor.tutor import Tutor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--index", required=True)
    parser.add_argument("--split", default=None)
    parser.add_argument("--words", type=int, nargs="+", default=[60, 90, 120])
    args = parser.parse_args()
    tutor = Tutor(Config(index_dir=Path(args.index), llm_backend="extractive"))
    rows = [json.loads(line) for line in (ROOT / "corpus/golden/questions.jsonl").read_text().splitlines() if line]
    led: dict[str, str | None] = {}  # row id -> the passage its answer led with
    hits = []  # (row, passage text) where the recap applies

    def step(row: dict, history: list[str]) -> str:
        answer = tutor.ask(row["question"], history, backend="extractive", shown=led.get(row.get("previous")))
        led[row["id"]] = recap.led_with(answer.citations)
        if answer.answer.startswith("Still on") and (args.split is None or row.get("split") == args.split):
            hits.append((row, answer.passages[0].text))
        return answer.standalone

    in_conversations(rows, step)
    followups = [r for r in rows if r.get("previous") and (args.split is None or r.get("split") == args.split)]
    print(f"follow-ups {len(followups)}; recap applies to {len(hits)} (previous answer's passage led again)")
    full = [metrics.coverage(r["key_points"], text) for r, text in hits]
    lengths = [len(text.split()) for _, text in hits]
    print(f"  whole passage: key points held {statistics.mean(full):.3f}, words median {statistics.median(lengths)}")
    for words in args.words:
        parts = [recap.excerpt(claim(r["question"]), text, tutor.retriever.query_vectors, words) for r, text in hits]
        cov = [metrics.coverage(r["key_points"], p) for (r, _), p in zip(hits, parts, strict=True)]
        kept = [c / f for c, f in zip(cov, full, strict=True) if f > 0]
        print(f"  {words} words: key points held {statistics.mean(cov):.3f} (of what the passage holds "
              f"{statistics.mean(kept):.3f}), words median {statistics.median(len(p.split()) for p in parts)}")


if __name__ == "__main__":
    main()
