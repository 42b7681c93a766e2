"""Cold `tutor ask --backend extractive`: wall time and peak memory of a fresh process, as a user sees it.

Each run is a new subprocess (imports, embedder load, index load, retrieval, answer); peak RSS comes
from resource.getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest child so far. Needs a built index
(`tutor ingest`). Prints figures, never passes or fails.

    python bench/cold_ask.py [--runs 3] [--question "what is dropout"]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.config import Config  # noqa: E402
from tutor.evaluate import machine_info  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--question", default="What is dropout and why does it help?")
    args = parser.parse_args(argv)

    m = machine_info()
    print(f"cold_ask — {m['cores']} cores, {m['cpu']}")
    index = Config().index_dir
    if not (index / "manifest.json").is_file():
        print(f"  no index at {index}: run `tutor ingest` first")
        return 2
    script = Path(sys.executable).with_name("tutor")
    cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "tutor.cli"]
    cmd += ["ask", "--backend", "extractive", "--no-stream", args.question]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    walls = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0:
            print(f"  `{' '.join(cmd)}` exited {done.returncode}: {done.stderr.strip()[-300:]}")
            return 2
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
    print(f"  runs {args.runs}: wall median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, "
          f"max {max(walls):.2f} s; peak RSS {peak_mb:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
