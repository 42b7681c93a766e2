"""Fixed activation ranges for the contradiction judge: `python -m tutor.judge_calibrate`.

Why: the judge's int8 graph quantizes the input of each of its 50 integer matrix products on the fly, one
scale per tensor, so a pair's margin depended on the pairs it was batched with (mean |change| 0.52 between
batches of 16 and single pairs on 569 golden-answer pairs; correlation .90), and alone, with a range set by
its own few tokens, a pair was judged worse: on bench/claim_pairs.jsonl a single pair told wrong claims
from right ones with AUC .787, a batch of 16 with .819. Fixed ranges give both: every pair is judged
alone, as a function of the pair only, with at least the batch's quality (AUC .833, 46% of wrong claims
flagged at 2.6% of right ones; tutor/judge.py applies them in memory when it loads the graph).

The ranges are the widest each product's input reached over batches of 16 pairs made from the cards
alone (a misconception, a key point or a card sentence beside another point, some with two card
sentences after it, as the grader asks), never from golden answers or bench claims. They are committed
as tutor/judge_ranges.json with the model's sha256; rerun this after a judge upgrade (about a minute).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from tutor.cards import Card, load_cards
from tutor.grade_text import statements, words
from tutor.judge import MODEL_SHA256, RANGES_FILE, Judge, load_graph, model_problem, package_dir

CARDS = Path(__file__).resolve().parent.parent / "corpus" / "cards"
BATCH = 16


def calibration_pairs(cards: list[Card], seed: int = 0) -> list[tuple[str, str]]:
    """Per card: each misconception and each point beside another point, and one card sentence beside
    a point plus two card sentences (the grader's longest premise)."""
    rng = random.Random(seed)
    pairs = []
    for card in cards:
        points = [kp.point for kp in card.key_points]
        sentences = [s for s in statements(card.answer) if len(words(s)) >= 4] or points
        pairs += [(m, rng.choice(points)) for m in card.misconceptions]
        pairs += [(p, rng.choice(points)) for p in points]
        near = " ".join(rng.sample(sentences, min(2, len(sentences))))
        pairs.append((rng.choice(sentences), f"{rng.choice(points)}. {near}"))
    rng.shuffle(pairs)
    return pairs


def measure_ranges(folder: Path, pairs: list[tuple[str, str]]) -> dict[str, list[float]]:
    """{quantized tensor: [lowest, highest]} over padded batches, 0 always inside the range (as the
    on-the-fly quantizer keeps it)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = load_graph(folder)
    names = list(dict.fromkeys(n.input[0] for n in graph.graph.node if n.op_type == "DynamicQuantizeLinear"))
    for name in names:
        graph.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3  # the graph's declared 160-token shapes warn on every output
    session = ort.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])
    tokenizer = Judge(folder)._tokenizer
    low, high = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    for start in range(0, len(pairs), BATCH):
        enc = tokenizer.encode_batch(pairs[start:start + BATCH])
        width = max(len(e.ids) for e in enc)
        ids, mask = np.zeros((len(enc), width), np.int64), np.zeros((len(enc), width), np.int64)
        for row, e in enumerate(enc):
            ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, 1
        for name, value in zip(names, session.run(names, {"input_ids": ids, "attention_mask": mask}), strict=True):
            low[name], high[name] = min(low[name], float(value.min())), max(high[name], float(value.max()))
    return {name: [round(low[name], 6), round(high[name], 6)] for name in names}


def main() -> int:
    problem = model_problem()  # not check(): stale ranges are what this command replaces
    if problem:
        print(problem)
        return 2
    pairs = calibration_pairs(load_cards(CARDS))
    ranges = measure_ranges(package_dir(), pairs)
    RANGES_FILE.write_text(json.dumps({"model_sha256": MODEL_SHA256, "pairs": len(pairs), "batch": BATCH,
                                       "ranges": ranges}, indent=1) + "\n", encoding="utf-8")
    print(f"{RANGES_FILE.name}: {len(ranges)} ranges from {len(pairs)} card pairs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
