"""`make bench`: the performance figures of issue 14, each beside its target, in reports/bench.json + .md.

Runs bench/cold_ask.py, bench/retrieval_scale.py, bench/ingest_speed.py and bench/app_speed.py in turn (each in its own
process, so one's memory does not inflate another's), then writes the table. Wall-clock targets are
judged on medians; CPU seconds and the load average stand beside them because the development machine
is shared and wall time there says as much about the neighbours as about us. A target is never relaxed
here: a figure that misses says "missed".

The other scripts in bench/ (calibrate_refusal.py, chunk_sizes.py, llm_speed.py, grade_speed.py) measure single
decisions and run on their own; `--all` runs them too, after the table.

    python bench/run_all.py [--quick] [--all] [--out reports]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_average  # noqa: E402

from tutor.evaluate import machine_info  # noqa: E402

HERE = Path(__file__).resolve().parent
# name: (script, arguments for `make bench`, arguments for --quick)
SUITE = {
    "cold": ("cold_ask.py", ["--runs", "5"], ["--runs", "2"]),
    "retrieval": ("retrieval_scale.py", ["--sizes", "10000", "100000", "1000000"], ["--sizes", "10000"]),
    "ingest": ("ingest_speed.py", ["--sample", "96", "--runs", "3"], ["--sample", "16", "--runs", "1"]),
    "app": ("app_speed.py", ["--questions", "4"], ["--questions", "2"]),
}
DECISION_SCRIPTS = ("calibrate_refusal.py", "chunk_sizes.py", "llm_speed.py", "grade_speed.py")


def _get(figures: dict, *path: object) -> float | None:
    node: object = figures
    for key in path:
        if isinstance(key, int) and isinstance(node, list):
            node = node[key] if key < len(node) else None
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
        if node is None:
            return None
    return node if isinstance(node, int | float) else None


def _size(figures: dict, n: int) -> dict:
    return next((row for row in figures.get("retrieval", {}).get("sizes", []) if row["chunks"] == n), {})


def rows(figures: dict) -> list[dict]:
    """(figure, measured, unit, target, direction, cpu, load) rows for the table."""
    cold = figures.get("cold", {})
    ingest = figures.get("ingest", {})
    out = []

    def add(name: str, value: float | None, unit: str, target: float | None, lower: bool = True,
            cpu: float | None = None, load: float | None = None, note: str = "") -> None:
        met = None if value is None or target is None else (value <= target if lower else value >= target)
        out.append({"figure": name, "value": value, "unit": unit, "target": target,
                    "target_text": "" if target is None else f"{'≤' if lower else '≥'} {target:g} {unit}",
                    "met": met, "cpu_s": cpu, "load_avg": load, "note": note})

    for key, label in (("ask_onnx", "cold `tutor ask --backend extractive` (ONNX)"),
                       ("ask_torch", "cold `tutor ask --backend extractive` (torch, before)")):
        row = cold.get(key, {})
        add(f"{label}: wall", row.get("wall_s_median"), "s", 1.0 if key == "ask_onnx" else None,
            cpu=row.get("cpu_s_median"), load=row.get("load_avg"))
        add(f"{label}: peak RSS", row.get("rss_mb_peak"), "MiB", 300 if key == "ask_onnx" else None,
            load=row.get("load_avg"))
    add("ONNX vs torch cold ask, wall ratio", cold.get("speedup_wall"), "x", 5, lower=False,
        note=f"CPU ratio {cold['speedup_cpu']:.1f}x" if cold.get("speedup_cpu") else "")
    row = cold.get("retrieve_onnx", {})
    add("cold `tutor retrieve`: wall", row.get("wall_s_median"), "s", 1.0, cpu=row.get("cpu_s_median"),
        load=row.get("load_avg"))
    row = cold.get("help", {})
    add("`tutor --help`: wall", row.get("wall_s_median"), "s", 0.1, cpu=row.get("cpu_s_median"),
        load=row.get("load_avg"))
    for n, target in ((10_000, 10.0), (100_000, 30.0), (1_000_000, None)):
        size = _size(figures, n)
        if not size:
            continue
        value = size.get("search_p50_ms")
        note = f"{size.get('index_type')}; recall@10 vs flat {size.get('recall_at_10', 0):.3f}; " \
               f"BM25 {size.get('bm25_p50_ms', 0):.1f} ms, {size.get('bm25_mb', 0):.0f} MB, " \
               f"built in {size.get('bm25_build_s', 0):.1f} s; FAISS build {size.get('build_s', 0):.1f} s"
        if value is not None:
            note = f"full Retriever; first time a card is met {size.get('search_first_meet_p50_ms', 0):.1f} ms; " \
                   f"first search of the process {size.get('first_search_s', 0):.2f} s; " + note
        if value is None:
            value = size.get("components_p50_ms")
            note = "FAISS + BM25 only (full Retriever not run at this size); " + note
        add(f"warm retrieval p50 at {n:,} chunks", value, "ms", target, load=size.get("load_avg_end"), note=note)
    qe = figures.get("retrieval", {}).get("query_embed_p50_ms")
    add("query embedding p50 (ONNX, any size)", qe, "ms", None)
    row = ingest.get("first_build", {})
    add("first ingest (cold `tutor ingest`, ONNX)", row.get("chunks_per_s"), "chunks/s", 60, lower=False,
        cpu=row.get("cpu_s"), load=row.get("load_avg"),
        note=f"{row['chunks_per_cpu_s']:.1f} chunks per CPU-second" if row.get("chunks_per_cpu_s") else "")
    ceil = ingest.get("ceiling", {})
    add("ingest ceiling: fp32 GEMM rate x cores / FLOP per chunk", ceil.get("ceiling_chunks_per_s_gemm"), "chunks/s",
        None, lower=False, note=f"{ceil['gflop_per_chunk']} GFLOP per chunk at {ceil['mean_tokens']} word pieces; "
        f"GEMM {ceil['gemm_gflop_per_cpu_s']} GFLOP per CPU-s; at the FMA peak {ceil['ceiling_chunks_per_s_peak']}/s"
        if ceil else "")
    for key, label in (("reingest_onnx", "ONNX"), ("reingest_torch", "torch, before")):
        row = ingest.get(key, {})
        add(f"re-ingest after editing one card ({label})", row.get("wall_s_median"), "s",
            3.0 if key == "reingest_onnx" else None, cpu=row.get("cpu_s_median"), load=row.get("load_avg"))
    for name, row in ingest.get("throughput", {}).items():
        cos = f"; cos to torch min {row['cos_to_torch_min']:.4f}" if "cos_to_torch_min" in row else ""
        add(f"embedding throughput, {name}", row.get("chunks_per_s"), "chunks/s", None, lower=False,
            load=row.get("load_avg"), note=f"{row.get('chunks_per_cpu_s', 0):.1f} per CPU-second{cos}")
    app = figures.get("app", {})
    app_load = app.get("load_avg_end")
    add("app first paint after `streamlit run` is up", app.get("first_paint_s"), "s", 2.0, load=app_load,
        note=f"browser first-contentful-paint {app['first_contentful_paint_s']:.2f} s; server up in "
             f"{app.get('server_up_s', 0):.1f} s; a one-heading Streamlit app "
             f"{app.get('bare_streamlit_first_paint_s') or 0:.2f} s" if app.get("first_contentful_paint_s") else "")
    add("app: extractive answer after the first one (median)", app.get("answer_after_first_median_s"), "s", 1.0,
        load=app_load, note=f"the first answer (loads embedder and index) {app['first_answer_cold_s']:.2f} s"
        if "first_answer_cold_s" in app else "")
    add("app RSS without an LLM", app.get("rss_mb"), "MiB", 600, load=app_load,
        note=f"peak {app['rss_peak_mb']:.0f} MiB" if "rss_peak_mb" in app else "")
    return out


def markdown(figures: dict, table: list[dict]) -> str:
    m = figures["machine"]
    lines = [f"# Bench ({figures['finished_at']})", "",
             f"{m['cores']} cores, {m['cpu']}, Python {m['python']}; load average {figures['load_start']:.1f} at "
             f"the start, {figures['load_end']:.1f} at the end; {figures['seconds']:.0f} s in all.", "",
             "| figure | measured | target | met | CPU s | load | note |", "|---|---|---|---|---|---|---|"]
    for r in table:
        value = "—" if r["value"] is None else f"{r['value']:.3g} {r['unit']}" if r["value"] < 100 \
            else f"{r['value']:.0f} {r['unit']}"
        met = {True: "yes", False: "**missed**", None: ""}[r["met"]]
        cpu = "" if r["cpu_s"] is None else f"{r['cpu_s']:.2f}"
        load = "" if r["load_avg"] is None else f"{r['load_avg']:.1f}"
        lines.append(f"| {r['figure']} | {value} | {r['target_text']} | {met} | {cpu} | {load} | {r['note']} |")
    return "\n".join(lines) + "\n"


def report(figures: dict, out: Path, t_all: float) -> str:
    figures.update(load_end=load_average(), seconds=time.perf_counter() - t_all,
                   finished_at=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    figures["table"] = rows(figures)
    (out / "bench.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    text = markdown(figures, figures["table"])
    (out / "bench.md").write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no 1M size (a smoke run)")
    parser.add_argument("--all", action="store_true", help="also run the decision scripts afterwards")
    parser.add_argument("--out", default=str(ROOT / "reports"))
    args = parser.parse_args(argv)
    out = Path(args.out)
    (out / "bench").mkdir(parents=True, exist_ok=True)
    figures: dict = {"machine": machine_info(), "load_start": load_average()}
    t_all = time.perf_counter()
    crashed = []
    for key, (script, full, quick) in SUITE.items():
        extra = quick if args.quick else full
        part = out / "bench" / f"{key}.json"
        part.unlink(missing_ok=True)
        print(f"== {script} {' '.join(extra)}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(HERE / script), *extra, "--json", str(part)], cwd=ROOT).returncode
        print(f"   ({time.perf_counter() - t0:.0f} s, exit {rc})\n", flush=True)
        if rc not in (0, 2):
            crashed.append(script)
        if part.is_file():
            figures[key] = json.loads(part.read_text(encoding="utf-8"))
        text = report(figures, out, t_all)  # after each script: a stopped run keeps what it measured
    print(text)
    print(f"→ {out / 'bench.json'}, {out / 'bench.md'}")
    if args.all:
        for script in DECISION_SCRIPTS:
            if (HERE / script).is_file():
                print(f"== {script}", flush=True)
                subprocess.run([sys.executable, str(HERE / script)], cwd=ROOT)
    if crashed:
        print(f"crashed: {', '.join(crashed)}")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
