"""Progress-store figures: write latency (one review per transaction) and read latency, SQLite and PostgreSQL,
plus FSRS intervals for a new card. PostgreSQL is a throwaway local server (tests/pg_server.py) unless
--pg URL names one; it is skipped with the reason when it cannot start.

    .venv/bin/python bench/progress_store.py [--n 300] [--pg postgresql://…]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from tutor.progress import Review, open_store  # noqa: E402
from tutor.schedule import Schedule, interval_text  # noqa: E402

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def measure(url: str, n: int) -> dict:
    store = open_store(url, Path("."))
    schedule = Schedule()
    grade = {"score": 6.7, "label": "partial", "points": [{"point": f"p{i}", "status": "covered", "evidence": "e" * 60}
                                                           for i in range(4)], "feedback": "f" * 400}
    writes, reads = [], []
    for i in range(n):
        state = schedule.review(None, 3, T0)
        r = Review("bench", f"training/c{i % 50}", "training", T0 + timedelta(seconds=i), 6.7, "partial", 3, 0,
                   "quiz", "What is it?", "An answer " * 30, grade, state)
        t = time.perf_counter()
        store.add_review(r)
        writes.append(time.perf_counter() - t)
        if i % 10 == 0:
            t = time.perf_counter()
            store.schedule_states("bench")
            reads.append(time.perf_counter() - t)
    store.close()
    q = statistics.quantiles(writes, n=100)
    return {"write_p50_ms": statistics.median(writes) * 1e3, "write_p95_ms": q[94] * 1e3,
            "schedule_read_p50_ms": statistics.median(reads) * 1e3}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--pg", default=None)
    args = ap.parse_args()
    preview = Schedule().preview(None, T0)
    print("FSRS-6 intervals for a new card: " + ", ".join(f"{k} {interval_text(v)}" for k, v in preview.items()))
    s = Schedule()
    for first in (1, 2, 3, 4):
        state = s.review(None, first, T0)
        nxt = s.review(state, 3, Schedule.due(state))
        print(f"  first {first} then good on time: next gap {interval_text(Schedule.due(nxt) - Schedule.due(state))}")
    with tempfile.TemporaryDirectory() as tmp:
        r = measure(f"sqlite:///{tmp}/progress.db", args.n)
        print(f"sqlite  ({args.n} reviews): write p50 {r['write_p50_ms']:.2f} ms, p95 {r['write_p95_ms']:.2f} ms; "
              f"schedule read p50 {r['schedule_read_p50_ms']:.2f} ms")
    server = None
    url = args.pg
    if url is None:
        import pg_server

        t = time.perf_counter()
        server, why = pg_server.start()
        if server is None:
            print(f"postgres: skipped ({why})")
            return 0
        print(f"postgres: throwaway server up in {time.perf_counter() - t:.1f} s (fsync off, like the tests)")
        url = server.url
    try:
        r = measure(url, args.n)
        print(f"postgres ({args.n} reviews): write p50 {r['write_p50_ms']:.2f} ms, p95 {r['write_p95_ms']:.2f} ms; "
              f"schedule read p50 {r['schedule_read_p50_ms']:.2f} ms")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
