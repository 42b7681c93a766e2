"""all-MiniLM-L6-v2 on onnxruntime + tokenizers: the same vectors as sentence-transformers, without torch.

Importing torch and sentence-transformers costs seconds and ~600 MB per process; a CLI query needs one
vector. The ONNX graph is exported once by `make install` (tutor/onnx_export.py); here we tokenize with
the model's own tokenizer.json (truncated at 256 word pieces, as sentence-transformers does), run the
encoder, mean-pool over real tokens and L2-normalize. tests/test_onnx_embed.py checks cosine ≥ 0.999
against sentence-transformers on fixed sentences.

The fp32 graph is the fused one `make install` writes (onnx_export.FUSED, weights memory-mapped), else
the optimised or plain export of an older install. Two sessions, both with prepacked weights: the one made
at start runs each text alone on one core, texts side by side (a query, a learner's statements); ingest
swaps in one that runs sorted batches on every core (`for_corpus`).

`variant="int8"` runs the dynamically quantized copy. Its vectors differ slightly from fp32, so it has
its own `name`: an index built with one cannot be silently searched with the other.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from tutor.onnx_export import FILES, FUSED, MAX_SEQ_LENGTH, MODEL_NAME, OPTIMIZED, TOKENIZER, model_dir, read_manifest


def threads() -> int:
    # onnxruntime's default pool size is every core; TUTOR_EMBED_THREADS caps it beside a busy LLM server.
    return int(os.environ.get("TUTOR_EMBED_THREADS") or min(os.cpu_count() or 1, 4))


class OnnxMiniLM:
    """Embedder protocol: `name`, `dim`, `encode(texts) -> (n, 384) float32`, rows L2-normalized."""

    name = MODEL_NAME
    dim = 384

    # Small batches: per CPU-second, 4 texts at a time embedded 12.3 chunks, 16 → 8.3, 64 → 7.4 (75 corpus
    # chunks sorted by length, one thread, load 6-12; bench/ingest_speed.py). Activations of a big batch
    # of 256-token texts outgrow the CPU caches; padding within a sorted batch is small either way.
    def __init__(self, variant: str = "fp32", batch_size: int = 4, show_progress: bool = False) -> None:
        if variant not in FILES:
            raise ValueError(f"unknown ONNX variant {variant!r}; known: {sorted(FILES)}")
        folder = model_dir()
        manifest = read_manifest(folder)  # raises ModelNotInstalled with "make install" when absent
        from tokenizers import Tokenizer

        if variant != "fp32":
            self.name = f"{MODEL_NAME}-{variant}"
        self._model = folder / FILES[variant]
        self._pre_optimised = variant == "fp32" and (FUSED in manifest["files"] or OPTIMIZED in manifest["files"])
        if self._pre_optimised:
            # Fused (or optimised) at install (onnx_export): redoing it on every cold start is wasted work.
            self._model = folder / (FUSED if FUSED in manifest["files"] else OPTIMIZED)
        self._session = None
        self._pool: ThreadPoolExecutor | None = None
        self.bulk = False
        self._opening = threading.Lock()
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        # The shipped tokenizer.json pads and truncates at 128; sentence-transformers uses 256, no fixed pad.
        self._tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self._tokenizer.no_padding()
        self.batch_size = batch_size
        self.show_progress = show_progress
        # Made here, where callers expect the model to load (the app's "loading" spinner). A session made
        # lazily, during the local-model app's first answer, coincided with that browser test timing out
        # once under load (cause not found; a session made on a background thread hung it in session 10).
        self._open(bulk=False)

    def _open(self, bulk: bool) -> None:
        """The onnxruntime session: one core a text for queries and statements, batches on all for a corpus.

        Both prepack (copy every MatMul weight into MLAS's blocked layout when the session is made, ~0.04
        CPU-s): without it one core ran a grade's ~5 statements of ~19 word pieces, side by side, in 26.8 ms
        (48 CPU-ms), with it in 17.9 ms (32 CPU-ms); the former default, one padded batch on two cores
        without prepacking, took 26.0 ms (48 CPU-ms); a lone query costs the same either way (~4 ms).
        """
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads() if bulk else 1
        options.inter_op_num_threads = 1
        # Spinning workers burn a core waiting for work; on a shared 2-core machine that core is someone's.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about unused initializers are noise in a CLI
        if self._pre_optimised:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(self._model), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in session.get_inputs()}
        self._session = session
        self.bulk = bulk
        if not bulk and self._pool is None and threads() > 1:
            self._pool = ThreadPoolExecutor(threads(), thread_name_prefix="minilm")

    def for_corpus(self) -> None:
        """Swap in the batched session on every core before embedding a corpus (ingest calls this once).

        Only ingest asks: a session made while the app answers (its first question, a grading batch)
        is what the note in __init__ warns about.
        """
        with self._opening:
            if not self.bulk:
                self._open(bulk=True)

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, enc in enumerate(encodings):
            ids[row, : len(enc.ids)] = enc.ids
            mask[row, : len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self.bulk:
            # One text a run at its own length, one core each: no pads, no cross-core handoffs per layer.
            if len(texts) == 1 or self._pool is None:
                return np.vstack([self._batch([t]) for t in texts])
            return np.vstack(list(self._pool.map(lambda t: self._batch([t]), texts)))
        # Longest first in batches of similar length: padding is wasted work (sentence-transformers does
        # the same sort); rows go back to the caller's order at the end.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._batch([texts[i] for i in rows])
        return out

    def word_pieces(self, text: str) -> int:
        # Untruncated count: callers ask how much of a chunk the model would cut off.
        tokenizer = self._tokenizer
        tokenizer.no_truncation()
        try:
            return len(tokenizer.encode(text).ids)
        finally:
            tokenizer.enable_truncation(MAX_SEQ_LENGTH)


class OnnxMiniLMInt8(OnnxMiniLM):
    """The int8 copy as a class, so it can be named by TUTOR_EMBEDDER=onnx-int8 and used as a factory."""

    name = f"{MODEL_NAME}-int8"

    def __init__(self, batch_size: int = 4, show_progress: bool = False) -> None:
        super().__init__("int8", batch_size, show_progress)
