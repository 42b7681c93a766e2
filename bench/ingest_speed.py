"""Ingest: embedding throughput per runtime, the first build, and re-ingest after editing one card.

1. First build: a cold `tutor ingest --only CARDS` into a scratch index (what a new user pays).
2. Re-ingest: one card's answer edited, then a cold `tutor ingest --only CARDS` again, on each runtime
   (only the edited card is re-embedded; the torch path still pays its imports).
3. Throughput: the same sample of real chunks (cards and the seed article, `--sample` of them) embedded
   by sentence-transformers (torch), ONNX fp32 and ONNX int8, in one process, after a warm-up; chunks/s
   by wall and by CPU time, and the int8 vectors' cosine to the torch ones.

    python bench/ingest_speed.py [--sample 96] [--runs 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_average, repeat, run_child, tutor_cmd, write_json  # noqa: E402


def sample_texts(n: int) -> list[str]:
    from tutor.config import Config
    from tutor.ingest import chunk_source, expand

    config = Config()
    chunks = [c for f in expand([s for s in config.sources if s.exists()]) for c in chunk_source(f, config)[0]]
    step = max(1, len(chunks) // n)  # spread over cards and article alike
    return [c.embed_text() for c in chunks[::step][:n]]


def throughput(texts: list[str]) -> dict:
    import numpy as np

    from tutor.embed import SentenceTransformerEmbedder
    from tutor.onnx_embed import OnnxMiniLM

    out, vectors = {}, {}
    for name, make in (("torch", SentenceTransformerEmbedder), ("onnx_fp32", OnnxMiniLM),
                       ("onnx_int8", lambda: OnnxMiniLM("int8"))):
        t0 = time.perf_counter()
        embedder = make()
        load_s = time.perf_counter() - t0
        embedder.encode(texts[:8])
        load = load_average()
        t0, c0 = time.perf_counter(), time.process_time()
        vectors[name] = embedder.encode(texts)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        out[name] = {"load_s": load_s, "chunks": len(texts), "wall_s": wall, "cpu_s": cpu,
                     "chunks_per_s": len(texts) / wall, "chunks_per_cpu_s": len(texts) / cpu,
                     "load_avg": round((load + load_average()) / 2, 2)}
        del embedder
    for name in ("onnx_fp32", "onnx_int8"):
        cos = (vectors["torch"] * vectors[name]).sum(axis=1)
        out[name].update(cos_to_torch_min=float(cos.min()), cos_to_torch_mean=float(np.mean(cos)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=96)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)

    figures: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        cards = Path(tmp) / "cards"
        shutil.copytree(ROOT / "corpus" / "cards", cards)
        index = Path(tmp) / "index"
        cmd = [*tutor_cmd(), "--index", str(index), "ingest", "--only", str(cards), "--json"]
        load = load_average()
        first = run_child(cmd, {"TUTOR_EMBEDDER": "onnx"})
        if first["rc"] != 0:
            print(f"  first build failed: {first['stderr']}")
            return 2
        n_chunks = __import__("json").loads((index / "manifest.json").read_text())["n_chunks"]
        from ingest_ceiling import ceiling, describe

        from tutor.chunk import Chunk

        built = [Chunk(**__import__("json").loads(ln)).embed_text()
                 for ln in (index / "chunks.jsonl").read_text("utf-8").split("\n") if ln]
        figures["ceiling"] = ceiling(built)
        figures["first_build"] = {**first, "chunks": n_chunks, "chunks_per_s": n_chunks / first["wall_s"],
                                  "chunks_per_cpu_s": n_chunks / first["cpu_s"],
                                  "load_avg": round((load + load_average()) / 2, 2)}
        print(f"  first build (cold `tutor ingest`, ONNX): {n_chunks} chunks in {first['wall_s']:.1f} s "
              f"({figures['first_build']['chunks_per_s']:.1f}/s, {figures['first_build']['chunks_per_cpu_s']:.1f}"
              f"/CPU-s, load {figures['first_build']['load_avg']:.1f})", flush=True)
        print(f"  {describe(figures['ceiling'])}", flush=True)
        card = sorted(cards.rglob("*.md"))[0]
        for runtime in ("onnx", "sentence-transformers"):
            rows = []
            for i in range(args.runs):  # each run edits the card again, so each re-embeds it
                card.write_text(card.read_text(encoding="utf-8").rstrip("\n") + f" Edit {runtime} {i}.\n",
                                encoding="utf-8")
                rows.append(repeat(cmd, 1, {"TUTOR_EMBEDDER": runtime}))
            if any("error" in r for r in rows):
                print(f"  re-ingest ({runtime}) failed: {rows[0].get('error')}")
                return 2
            key = "reingest_onnx" if runtime == "onnx" else "reingest_torch"
            walls = sorted(r["wall_s_median"] for r in rows)
            figures[key] = {"runs": args.runs, "wall_s_median": walls[len(walls) // 2],
                            "cpu_s_median": sorted(r["cpu_s_median"] for r in rows)[len(rows) // 2],
                            "rss_mb_peak": max(r["rss_mb_peak"] for r in rows),
                            "load_avg": round(sum(r["load_avg"] for r in rows) / len(rows), 2)}
            f = figures[key]
            print(f"  re-ingest after editing one card ({runtime}): {f['wall_s_median']:.2f} s wall, "
                  f"{f['cpu_s_median']:.2f} s CPU, {f['rss_mb_peak']:.0f} MiB (load {f['load_avg']:.1f})", flush=True)
    # After the child processes: a forked child inherits its parent's peak RSS, and this one grows big.
    figures["throughput"] = throughput(sample_texts(args.sample))
    print(f"ingest_speed — embedding {args.sample} real chunks (wall chunks/s, CPU chunks/s, load):")
    for name, row in figures["throughput"].items():
        cos = f", cos to torch min {row['cos_to_torch_min']:.4f}" if "cos_to_torch_min" in row else ""
        print(f"  {name:<10} {row['chunks_per_s']:6.1f}/s  {row['chunks_per_cpu_s']:6.1f}/CPU-s  "
              f"(load {row['load_avg']:.1f}; model load {row['load_s']:.1f} s{cos})", flush=True)

    write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
