"""Cold CLI calls as a user pays them: `tutor ask --backend extractive` on the torch + sentence-transformers
path and on the ONNX path in the same run, `tutor retrieve`, and `tutor --help`.

Each run is a fresh process (imports, embedder load, index load, retrieval, answer); the figures are the
median wall and CPU seconds and the peak RSS of each run (os.wait4), with the load average beside them.
CPU seconds move much less than wall seconds when other work shares the cores. Needs a built index.

    python bench/cold_ask.py [--runs 5] [--question "what is BPTT"] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, repeat, tutor_cmd, write_json  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--question", default="what is BPTT")
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)

    if not (ROOT / "index" / "manifest.json").is_file():
        print("cold_ask: no index at index/: run `tutor ingest` first")
        return 2
    tutor = tutor_cmd()
    ask = [*tutor, "ask", "--backend", "extractive", "--no-stream", args.question]
    cases = {
        "help": ([*tutor, "--help"], {}),
        "ask_onnx": (ask, {"TUTOR_EMBEDDER": "onnx"}),
        "ask_torch": (ask, {"TUTOR_EMBEDDER": "sentence-transformers"}),
        "retrieve_onnx": ([*tutor, "retrieve", args.question], {"TUTOR_EMBEDDER": "onnx"}),
    }
    figures: dict = {"question": args.question}
    print(f"cold_ask — {args.runs} cold runs each: median wall / median CPU / peak RSS")
    for name, (cmd, env) in cases.items():
        row = repeat(cmd, args.runs, env)
        figures[name] = row
        if "error" in row:
            print(f"  {name:<14} {row['error']}")
            return 2
        print(f"  {name:<14} {row['wall_s_median']:6.2f} s  {row['cpu_s_median']:6.2f} s CPU  "
              f"{row['rss_mb_peak']:6.0f} MiB   (load {row['load_avg']:.1f})", flush=True)
    onnx, torch = figures["ask_onnx"], figures["ask_torch"]
    figures["speedup_wall"] = torch["wall_s_median"] / onnx["wall_s_median"]
    figures["speedup_cpu"] = torch["cpu_s_median"] / onnx["cpu_s_median"]
    print(f"  ONNX vs torch: {figures['speedup_wall']:.1f}x faster (wall), {figures['speedup_cpu']:.1f}x (CPU)")
    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
