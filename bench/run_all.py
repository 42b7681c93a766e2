"""`make bench`: every bench script in turn, each printing its own figures; none passes or fails.

Ours run first in a fixed order (cheap to expensive), then any other bench/*.py present (llm_speed.py,
chunk_sizes.py, …). A script that crashes is reported and the rest still run; the exit status is 1 only
then, because a crash is a bug rather than a figure.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor.evaluate import machine_info  # noqa: E402

HERE = Path(__file__).resolve().parent
FIRST = ["retrieval_latency.py", "cold_ask.py", "ingest_speed.py", "calibrate_refusal.py", "llm_speed.py"]


def scripts() -> list[Path]:
    others = sorted(p.name for p in HERE.glob("*.py") if p.name not in (*FIRST, "run_all.py")
                    and not p.name.startswith("_"))
    return [HERE / name for name in [*FIRST, *others] if (HERE / name).is_file()]


def main() -> int:
    m = machine_info()
    print(f"bench — {m['cores']} cores, {m['cpu']}, Python {m['python']}\n", flush=True)
    crashed = []
    for script in scripts():
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent).returncode
        print(f"   ({time.perf_counter() - t0:.0f} s, exit {rc})\n", flush=True)
        if rc not in (0, 2):  # 2: an environment problem the script already explained (no index, no model)
            crashed.append(script.name)
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
