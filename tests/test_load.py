"""Load, bounded and loopback only: 50 `tutor retrieve` processes against one real MiniLM index, at most
10 at a time (CI has 2 cores; each process loads MiniLM itself). Every one must exit 0 with passages;
p50/p95 wall latency per process is printed (`-s`), not asserted: it depends on the machine's load.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import cli_env

from tutor.config import Config

pytestmark = pytest.mark.slow
# Each process cost ~11 CPU-seconds with the torch query path (585 MB peak); the query path is ONNX now
# (tests/test_query_imports.py), so a process costs a fraction of that. TUTOR_LOAD_PROCESSES /
# TUTOR_LOAD_AT_ONCE shrink the run on a busy machine; the defaults are the issue's.
PROCESSES = int(os.environ.get("TUTOR_LOAD_PROCESSES", "50"))
AT_ONCE = int(os.environ.get("TUTOR_LOAD_AT_ONCE", "10"))
TIMEOUT_S = 900
QUESTIONS = ["what does dropout do", "why use batch normalization", "how does an LSTM keep gradients alive",
             "GRU versus LSTM", "what is softmax for", "how to pick a learning rate", "bptt"]


def _one(index: Path, question: str) -> tuple[float, subprocess.CompletedProcess]:
    """Wall seconds and the finished process; a hang counts as an error (rc -9), not a crash of the test."""
    env = cli_env(OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    argv = [sys.executable, "-m", "tutor.cli", "--index", str(index), "retrieve", question, "-k", "3", "--json"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        out = subprocess.CompletedProcess(argv, -9, "", f"no answer within {TIMEOUT_S}s")
    return time.perf_counter() - t0, out


def test_fifty_retrieve_processes_all_answer(minilm_cards_index: Config):
    index = minilm_cards_index.index_dir
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        results = list(pool.map(lambda i: _one(index, QUESTIONS[i % len(QUESTIONS)]), range(PROCESSES)))
    wall = time.perf_counter() - t0

    errors = [(out.returncode, out.stderr[-300:]) for _, out in results
              if out.returncode != 0 or not json.loads(out.stdout or "{}").get("passages")]
    latencies = sorted(s for s, _ in results)
    p50 = statistics.median(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    print(f"\nload: {PROCESSES} `tutor retrieve` processes, {AT_ONCE} at a time: {len(errors)} errors, "
          f"p50 {p50:.1f}s p95 {p95:.1f}s max {latencies[-1]:.1f}s, {wall:.0f}s in all "
          f"({os.cpu_count()} CPUs)")
    assert not errors, errors[:3]
