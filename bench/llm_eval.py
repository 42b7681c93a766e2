"""One row of the model table: `tutor eval --backend local` for one model configuration, plus what the
eval report does not hold (server cold start, peak RSS, its CPU seconds, the machine's load).

    python bench/llm_eval.py qwen2.5-0.5b --limit 20
    python bench/llm_eval.py qwen2.5-1.5b --draft qwen2.5-0.5b --limit 20 --name 1.5b+draft
    python bench/llm_eval.py extractive --limit 20          # the baseline on the same rows
    python bench/llm_eval.py --table                        # print every summary measured so far

Figures are split so a fallback cannot flatter the model: `coverage` is the report's (curated fallbacks
included, what the learner gets), `model_coverage` only over answers the model itself wrote. Each run uses
a private TUTOR_HOME (so it never stops a server someone else uses) with the shared embedder and models.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tutor import llm_server, models  # noqa: E402
from tutor.config import data_home  # noqa: E402

OUT = ROOT / "reports" / "llm"


def _private_home() -> Path:
    """A throwaway TUTOR_HOME that still sees the exported embedder and tokenizer cache."""
    shared = data_home()
    home = Path(tempfile.mkdtemp(prefix="tutor-llm-eval-"))
    for name in ("embedders", "tiktoken"):
        if (shared / name).exists():
            (home / name).symlink_to(shared / name)
    return home


def _proc(pid: int) -> dict:
    """Peak and current RSS (bytes) and CPU seconds of a process, from /proc."""
    out: dict = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0]) * 1024
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out["cpu_s"] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        pass
    return out


def _children_cpu() -> float:
    """CPU seconds (user + system) of finished child processes: wall time under load needs this beside it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _p50(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _claims_only(rows: list[dict]) -> float | None:
    """Unsupported-sentence rate without unsupported "Follow-up:" lines (numerator and denominator)."""
    follow = sum(u.startswith("Follow-up") for r in rows for u in r.get("unsupported", []))
    judged = sum(r.get("sentences_judged", 0) for r in rows) - follow
    bad = sum(len(r.get("unsupported", [])) for r in rows) - follow
    return round(bad / judged, 4) if judged > 0 else None


def summarize(rows: list[dict], report: dict, backend: str) -> dict:
    questions = [r for r in rows if r["set"] == "question"]
    own = [r for r in questions if r.get("answered_by") == backend and not r["refused"]]
    answered = [r for r in questions if not r["refused"]]
    answers = report["answers"]
    return {
        "rows": len(questions),
        "coverage": answers.get("coverage"),
        # The model's own words only: the key points shown before them (tutor/lead.py) are not its work.
        "model_coverage": round(statistics.mean(r.get("model_coverage", r["coverage"]) for r in own), 4)
        if own else None,
        "model_answers": len(own),
        "citation_validity": answers.get("citation_validity"),
        "unsupported_rate": answers.get("unsupported_sentence_rate"),
        "fallbacks": answers.get("fallbacks"),
        "fallback_reasons": sorted({r.get("notice") or "?" for r in questions
                                    if r.get("answered_by", backend) != backend}),
        # Runs before the evaluator skipped the suggested "Follow-up:" question judged it as a claim.
        "unsupported_claims_rate": _claims_only(answered),
        "false_refusals": sum(r["refused"] for r in questions),
        "first_token_p50": _p50([r["first_token_s"] for r in answered if r.get("first_token_s") is not None]),
        "answer_p50": _p50([r["answer_s"] for r in answered]),
        "answer_p95": round(sorted(r["answer_s"] for r in answered)[int(0.95 * (len(answered) - 1))], 3)
        if answered else None,
        # When the first words reached the learner: the card's line on exact matches ("answer first").
        "first_shown_p50": _p50([r["first_shown_s"] for r in answered if r.get("first_shown_s") is not None]),
        "prompt_tokens_p50": _p50([r["prompt_tokens"] for r in own if r.get("prompt_tokens") is not None]),
        "cached_tokens_p50": _p50([r["cached_tokens"] for r in own if r.get("cached_tokens") is not None]),
        "generated_tokens_p50": _p50([r["generated_tokens"] for r in own
                                      if r.get("generated_tokens") is not None]),
    }


def run(config: str, draft: str | None, limit: int, name: str, golden: list[str]) -> dict:
    out = OUT / name
    env = dict(os.environ, TUTOR_HOME=str(_private_home()), TUTOR_MODELS_DIR=str(models.models_dir()),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.pop("TUTOR_LLM_DRAFT", None)
    if draft:
        env["TUTOR_LLM_DRAFT"] = draft
    backend = "extractive" if config == "extractive" else "local"
    summary: dict = {"name": name, "model": config, "draft": draft, "limit": limit,
                     "load_before": [round(x, 2) for x in os.getloadavg()]}
    server = None
    if backend == "local":
        os.environ.update(TUTOR_HOME=env["TUTOR_HOME"], TUTOR_MODELS_DIR=env["TUTOR_MODELS_DIR"])
        if draft:
            os.environ["TUTOR_LLM_DRAFT"] = draft
        else:
            os.environ.pop("TUTOR_LLM_DRAFT", None)
        t0 = time.perf_counter()
        server = llm_server.start(config, timeout_s=300)
        summary["cold_start_s"] = round(time.perf_counter() - t0, 2)
    cmd = [sys.executable, "-m", "tutor.cli", "eval", "--backend", backend, "--limit", str(limit),
           "--out", str(out)] + (["--model", config] if backend == "local" else [])
    for g in golden:
        cmd += ["--golden", g]
    t0, cpu0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    summary["eval_s"] = round(time.perf_counter() - t0, 1)
    summary["eval_cpu_s"] = round(_children_cpu() - cpu0, 1)  # the eval process's own CPU, not the server's
    if proc.returncode not in (0, 1):
        print(proc.stdout[-2000:], proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"eval failed with exit {proc.returncode}")
    if server is not None:
        stats = _proc(server.pid)
        summary.update(server_rss_peak_gb=round(stats.get("VmHWM", 0) / 2**30, 3),
                       server_cpu_s=round(stats.get("cpu_s", 0.0), 1))
        llm_server.stop()
    summary["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report = json.loads((out / "report.json").read_text())
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines() if line.strip()]
    summary.update(summarize(rows, report, backend))
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


COLUMNS = ("name", "rows", "coverage", "model_coverage", "citation_validity", "unsupported_rate",
           "unsupported_claims_rate", "fallbacks",
           "false_refusals", "first_token_p50", "answer_p50", "answer_p95", "prompt_tokens_p50",
           "cached_tokens_p50", "generated_tokens_p50", "first_shown_p50", "server_rss_peak_gb",
           "cold_start_s", "server_cpu_s", "eval_cpu_s",
           "load_before")


def table() -> str:
    rows = [json.loads(p.read_text()) for p in sorted(OUT.glob("*/summary.json"))]
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", help="a registry model, a .gguf path, or `extractive`")
    parser.add_argument("--draft", default=None, help="speculative draft model (registry name or .gguf)")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--name", default=None, help="report folder under reports/llm/ (default: config)")
    parser.add_argument("--golden", action="append", default=[], help="default: corpus/golden/*.jsonl")
    parser.add_argument("--table", action="store_true", help="print the table of every summary so far")
    args = parser.parse_args()
    if args.table or not args.config:
        for path in sorted(OUT.glob("*/summary.json")):  # re-derive the row figures with today's summarize()
            old = json.loads(path.read_text())
            rows = [json.loads(x) for x in (path.parent / "rows.jsonl").read_text().splitlines() if x.strip()]
            report = json.loads((path.parent / "report.json").read_text())
            backend = "extractive" if old["model"] == "extractive" else "local"
            path.write_text(json.dumps({**old, **summarize(rows, report, backend)}, indent=2) + "\n")
        print(table())
        return 0
    summary = run(args.config, args.draft, args.limit, args.name or args.config, args.golden)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
