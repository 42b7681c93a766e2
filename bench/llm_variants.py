"""What the learner would get under other answer rules, re-scored from one saved `bench/llm_eval.py` run.

The model's raw replies are kept in the eval rows (`model_text`), and key-point coverage is lexical, so
rules that only change what is put around the model's words, or when its answer is replaced, can be
compared on the same replies without running the model again:

- lead: nothing, the card's one-line definition, its key points, or its whole answer (tutor/lead.py, what
  ships since session 11) before the reply;
- unsupported: fall back to the curated card when more than `share` of the reply's judged sentences
  have less than half their content words in the passages (metrics.lexical_support, no embedder),
  or drop those sentences.

    python bench/llm_variants.py reports/llm/NAME [--extractive reports/llm/extractive-20]

Fallback rows keep the coverage of the curated answer they showed; rows a rule newly replaces get the
extractive run's coverage on the same row. Prints a table, never passes or fails.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor import metrics as m  # noqa: E402
from tutor.cards import load_cards  # noqa: E402
from tutor.chain import split_follow_up  # noqa: E402
from tutor.lead import key_points_lead  # noqa: E402

_FIRST = re.compile(r"^(.+?[.!?])(\s|$)", re.S)


def definition_lead(card) -> str:
    """The card answer's first sentence, markup removed and cited."""
    text = " ".join(re.sub(r"[*_`]+", "", card.answer).split())
    first = _FIRST.match(text)
    sentence = (first.group(1) if first else text)[:-1]
    return f"{sentence} [1]."


def rows_of(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "rows.jsonl").read_text().splitlines() if x.strip()]


def unsupported(text: str, sources: list[str]) -> tuple[int, int, list[str]]:
    """(judged, unsupported, the supported sentences) by the lexical judge only."""
    judged, bad, kept = 0, 0, []
    for sentence in m.split_sentences(text):
        scores = [m.lexical_support(m.strip_markers(sentence), s) for s in sources]
        if all(v is None for v in scores):
            kept.append(sentence)
            continue
        judged += 1
        if max(v for v in scores if v is not None) < m.LEXICAL_SUPPORT:
            bad += 1
        else:
            kept.append(sentence)
    return judged, bad, kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--extractive", type=Path, default=ROOT / "reports/llm/extractive-20")
    parser.add_argument("--share", type=float, default=0.5)
    args = parser.parse_args()
    cards = {c.id: c for c in load_cards(ROOT / "corpus" / "cards")}
    golden = {r["id"]: r for r in map(json.loads, (ROOT / "corpus/golden/questions.jsonl").read_text().splitlines())}
    ext = {r["id"]: r for r in rows_of(args.extractive) if r["set"] == "question"}
    rows = [r for r in rows_of(args.run) if r["set"] == "question" and not r["refused"]]
    variants: dict[str, list[float]] = {k: [] for k in (
        "as run", "no lead", "definition lead", "key-points lead", "card-answer lead (any match)",
        "no lead + unsupported fallback", "key points + unsupported fallback", "no lead + drop unsupported")}
    falls = {"as run": 0, "unsupported fallback": 0}
    lexical = [0, 0]
    for r in rows:
        kps = golden[r["id"]]["key_points"]
        top = cards.get(r["passages"][0]) if r.get("passages") else None
        curated = ext.get(r["id"], r)["coverage"]
        # An answer replaced by the unsupported rule is re-scored as the model's (the variants decide).
        own = "→" not in (r.get("answered_by") or "") or "not in the passages" in (r.get("notice") or "")
        variants["as run"].append(r["coverage"])
        if not own or r.get("model_text") is None:
            falls["as run"] += 1
            for key in variants:
                if key != "as run":
                    variants[key].append(r["coverage"])
            continue
        body = split_follow_up(r["model_text"])[0]
        exact = r.get("match") == "exact" and top is not None
        sources = [f"{c.question}\n{c.answer}\n" + "\n".join(k.point for k in c.key_points)
                   for c in (cards.get(p) for p in r["passages"][:2]) if c is not None]
        judged, bad, kept = unsupported(body, sources)
        lexical[0] += judged
        lexical[1] += bad
        too_many = judged > 0 and bad / judged > args.share
        falls["unsupported fallback"] += too_many
        kp = key_points_lead(top) + "\n\n" if exact else ""
        variants["no lead"].append(m.coverage(kps, body))
        variants["definition lead"].append(m.coverage(kps, (definition_lead(top) + " " if exact else "") + body))
        variants["key-points lead"].append(m.coverage(kps, kp + body))
        # What ships since session 11: the card's answer first on exact and closest matches (tutor/lead.py).
        variants["card-answer lead (any match)"].append(m.coverage(kps, (top.answer + "\n\n" if top else "") + body))
        variants["no lead + unsupported fallback"].append(curated if too_many else m.coverage(kps, body))
        variants["key points + unsupported fallback"].append(curated if too_many else m.coverage(kps, kp + body))
        variants["no lead + drop unsupported"].append(m.coverage(kps, " ".join(kept)))
    print(f"{args.run.name}: {len(rows)} answered rows, {falls['as run']} fell back as run; "
          f"lexical judge: {lexical[1]}/{lexical[0]} model sentences unsupported; "
          f"unsupported rule (> {args.share:.0%}) would replace {falls['unsupported fallback']} more")
    print("| variant | coverage |\n|---|---|")
    for key, values in variants.items():
        print(f"| {key} | {statistics.mean(values):.3f} |" if values else f"| {key} | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
