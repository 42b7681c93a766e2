"""The arithmetic ceiling of embedding chunks with MiniLM on this CPU, printed beside the measured rate.

MiniLM-L6 is 6 BERT layers of width 384 with a 1,536-wide feed-forward. Per layer, a text of L word
pieces costs 2·L·(4·384² + 2·384·1536) FLOP in its matrix products (Q, K, V, output, two feed-forward)
and 4·L²·384 in attention (scores and weighted sum). Summed over the texts' real token lengths (cut at
256, as the embedder does) that is the work per chunk; divided into the fp32 matrix-product rate this
CPU reaches (numpy's BLAS on one thread, measured per CPU-second, so a busy machine does not distort
it) times the cores, it bounds chunks/s no runtime can beat in fp32. The theoretical peak beside it:
AVX2 with two FMA units is 32 FLOP per cycle per core.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

HIDDEN, FFN, LAYERS, MAX_TOKENS = 384, 1536, 6, 256
FMA_FLOP_PER_CYCLE = 32  # AVX2: 2 FMA pipes x 8 fp32 lanes x 2


def flop_per_text(tokens: int) -> float:
    linear = 2 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN)
    attention = 4 * tokens * tokens * HIDDEN
    return float(LAYERS * (linear + attention))


def gemm_rate(rows: int, seconds: float = 0.5) -> float:
    """fp32 GFLOP per CPU-second of a (rows x 384) @ (384 x 1536) product, the feed-forward's shape."""
    import numpy as np

    a = np.random.default_rng(0).random((rows, HIDDEN), dtype=np.float32)
    b = np.random.default_rng(1).random((HIDDEN, FFN), dtype=np.float32)
    try:  # one BLAS thread: a second one spinning at a barrier on a busy machine bills CPU for no work
        from threadpoolctl import threadpool_limits
    except ImportError:
        limit = contextlib.nullcontext()
    else:
        limit = threadpool_limits(1)
    with limit:
        a @ b
        done, c0 = 0, time.process_time()
        while time.process_time() - c0 < seconds:
            a @ b
            done += 1
        return 2.0 * rows * HIDDEN * FFN * done / (time.process_time() - c0) / 1e9


def cpu_mhz() -> float | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return None
    return next((float(ln.split(":")[1]) for ln in text.splitlines() if ln.startswith("cpu MHz")), None)


def ceiling(texts: list[str], target: float = 60.0, batch: int = 4) -> dict:
    """Work per chunk at these texts' lengths, this CPU's GEMM rate, and the chunks/s they allow."""
    from tokenizers import Tokenizer

    from tutor.onnx_export import TOKENIZER, model_dir

    tokenizer = Tokenizer.from_file(str(model_dir() / TOKENIZER))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    lengths = [len(e.ids) for e in tokenizer.encode_batch(texts)]
    gflop = sum(flop_per_text(n) for n in lengths) / len(lengths) / 1e9
    mean_tokens = sum(lengths) / len(lengths)
    rate = gemm_rate(max(1, round(batch * mean_tokens)))
    cores = os.cpu_count() or 1
    mhz = cpu_mhz()
    peak = FMA_FLOP_PER_CYCLE * mhz / 1000 if mhz else None
    return {"texts": len(lengths), "mean_tokens": round(mean_tokens, 1),
            "share_at_256_tokens": round(sum(n >= MAX_TOKENS for n in lengths) / len(lengths), 3),
            "gflop_per_chunk": round(gflop, 2), "gemm_gflop_per_cpu_s": round(rate, 1), "cores": cores,
            "ceiling_chunks_per_s_gemm": round(cores * rate / gflop, 1),
            "peak_gflop_per_core": round(peak, 1) if peak else None,
            "ceiling_chunks_per_s_peak": round(cores * peak / gflop, 1) if peak else None,
            "needed_gflop_per_core_for_target": round(target * gflop / cores, 1), "target_chunks_per_s": target}


def describe(c: dict) -> str:
    peak = (f"; at the FMA peak ({c['peak_gflop_per_core']} GFLOP/s per core) {c['ceiling_chunks_per_s_peak']}/s"
            if c.get("peak_gflop_per_core") else "")
    return (f"ceiling: {c['gflop_per_chunk']} GFLOP per chunk (mean {c['mean_tokens']} word pieces, "
            f"{c['share_at_256_tokens']:.0%} cut at 256); this CPU's fp32 GEMM {c['gemm_gflop_per_cpu_s']} "
            f"GFLOP per CPU-s x {c['cores']} cores → at most {c['ceiling_chunks_per_s_gemm']} chunks/s{peak}; "
            f"{c['target_chunks_per_s']:g}/s would need {c['needed_gflop_per_core_for_target']} GFLOP/s per core")
