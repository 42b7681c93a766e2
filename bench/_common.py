"""Helpers every bench script shares: load average, timed child processes, JSON output.

The development machine is shared, so every figure is taken beside the load average at that moment and
reported as a median. Child processes are timed with os.wait4, which gives each run its own CPU time and
peak RSS (resource.RUSAGE_CHILDREN would only give the largest child so far).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


def load_average() -> float:
    """1-minute load average (0.0 where /proc is absent)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def tutor_cmd() -> list[str]:
    script = Path(sys.executable).with_name("tutor")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tutor.cli"]


def run_child(cmd: list[str], env: dict | None = None) -> dict:
    """One child process: wall s, CPU s (user + sys), peak RSS MiB, exit code, stderr tail."""
    env = {**os.environ, **OFFLINE_ENV, **(env or {})}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "rc": proc.returncode, "stderr": stderr[-400:]}


def repeat(cmd: list[str], runs: int, env: dict | None = None) -> dict:
    """Median wall and CPU and the peak RSS over `runs` cold runs, with the load average around them."""
    load_before = load_average()
    results = [run_child(cmd, env) for _ in range(runs)]
    failed = [r for r in results if r["rc"] != 0]
    if failed:
        return {"error": f"`{' '.join(cmd)}` exited {failed[0]['rc']}: {failed[0]['stderr'].strip()}"}
    return {
        "runs": runs,
        "wall_s_median": statistics.median(r["wall_s"] for r in results),
        "wall_s_min": min(r["wall_s"] for r in results),
        "cpu_s_median": statistics.median(r["cpu_s"] for r in results),
        "rss_mb_peak": max(r["rss_mb"] for r in results),
        "rss_mb_median": statistics.median(r["rss_mb"] for r in results),
        "load_avg": round((load_before + load_average()) / 2, 2),
    }


def write_json(path: str | None, figures: dict) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def pct_ms(values: list[float], p: float) -> float:
    import numpy as np

    return float(np.percentile(values, p)) * 1000
