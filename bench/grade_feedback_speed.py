"""LLM grading feedback: time to the first streamed token and to the whole reply, with the local model.

Grades the first --limit golden answers with the learned score (code sets the score), then asks the
local model for the feedback wording with exactly the prompt `tutor.grade_feedback.llm_feedback` sends,
streamed, and reports per answer: seconds to the first token, seconds to the whole reply, the server's
CPU seconds for it, and the load average. The server is started once (its cold start is reported apart:
the app warms it up while the learner types). Target (issue 9): first token ≤ 4 s on 2 cores.

    python bench/grade_feedback_speed.py [--limit 10] [--model qwen2.5-0.5b] [--max-tokens 400] [--json]

Set TUTOR_HOME to a private folder (with a `models` link to the installed models) so the benchmark's
server does not replace another process's server: llm_server keeps one server per TUTOR_HOME.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, load_average  # noqa: E402


def _cpu_s(pid: int) -> float:
    """utime + stime of a process and its threads, in seconds (0.0 where /proc is absent)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _p50(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--model", default="qwen2.5-0.5b")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=400,
                        help="reply length cap (the app's 400); a smaller cap times the first token for less CPU")
    args = parser.parse_args(argv)
    from langchain_core.messages import HumanMessage, SystemMessage

    from tutor.cards import load_cards
    from tutor.config import Config
    from tutor.embed import MiniLMEmbedder
    from tutor.grade import Grader
    from tutor.grade_feedback import feedback_messages
    from tutor.grade_train import golden_rows
    from tutor.llm_server import ensure_running, status, stop
    from tutor.llms import make_chat_model

    rows = golden_rows()
    rows = rows[: args.limit]
    cards = load_cards(ROOT / "corpus" / "cards")
    by_id = {c.id: c for c in cards}
    grader = Grader(MiniLMEmbedder(), cards)
    t0 = time.perf_counter()
    ours = status() is None  # a server this run starts is stopped at the end, not left running
    server = ensure_running(args.model)
    cold = time.perf_counter() - t0
    llm = make_chat_model("local", Config(), args.model, max_tokens=args.max_tokens)
    out = []
    try:
        for row in rows:
            grade = grader.grade(row["answer"], card=by_id.get(row.get("card_id")), question=row.get("question"),
                                 reference=row.get("reference"))
            system, user = feedback_messages(grade)
            messages = [SystemMessage(system), HumanMessage(user)]
            load_before, cpu_before = load_average(), _cpu_s(server.pid)
            start, first, text, usage = time.perf_counter(), None, "", {}
            for chunk in llm.stream(messages):
                if chunk.content and first is None:
                    first = time.perf_counter() - start
                    cpu_first = _cpu_s(server.pid) - cpu_before
                text += str(chunk.content)
                usage = getattr(chunk, "usage_metadata", None) or usage  # llama.cpp reports it on the last chunk
            out.append({"id": row["id"], "first_token_s": first, "total_s": time.perf_counter() - start,
                        "server_cpu_first_s": cpu_first if first is not None else None,
                        "server_cpu_s": _cpu_s(server.pid) - cpu_before, "chars": len(text),
                        "prompt_tokens": usage.get("input_tokens"),
                        "cached_tokens": (usage.get("input_token_details") or {}).get("cache_read"),
                        "generated_tokens": usage.get("output_tokens"),
                        "load_avg": [load_before, load_average()]})
            print(json.dumps(out[-1]), file=sys.stderr, flush=True)  # progress: a slow run still leaves rows
    finally:
        if ours:
            stop()
    firsts = [r["first_token_s"] for r in out if r["first_token_s"] is not None]
    figures = {"model": args.model, "cold_start_s": cold, "n": len(out),
               "first_token_p50_s": statistics.median(firsts) if firsts else None,
               "total_p50_s": statistics.median(r["total_s"] for r in out),
               "server_cpu_p50_s": statistics.median(r["server_cpu_s"] for r in out),
               "server_cpu_first_p50_s": _p50([r["server_cpu_first_s"] for r in out]),
               "prompt_tokens_p50": _p50([r["prompt_tokens"] for r in out]),
               "prompt_tokens_max": max((r["prompt_tokens"] or 0 for r in out), default=None),
               "cached_tokens_p50": _p50([r["cached_tokens"] for r in out]), "rows": out,
               "target_first_token_s": 4.0}
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"{args.model}: cold start {cold:.1f} s; {len(out)} feedbacks, first token p50 "
              f"{figures['first_token_p50_s']:.2f} s, whole reply p50 {figures['total_p50_s']:.2f} s, server CPU "
              f"p50 {figures['server_cpu_p50_s']:.2f} s (to the first token {figures['server_cpu_first_p50_s']}); "
              f"prompt tokens p50 {figures['prompt_tokens_p50']} (max {figures['prompt_tokens_max']}), cached p50 "
              f"{figures['cached_tokens_p50']} (shared machine; load per row in --json)")
        for r in out:
            print(f"  {r['id']}: first {r['first_token_s']:.2f} s, total {r['total_s']:.2f} s, "
                  f"server CPU {r['server_cpu_s']:.2f} s, prompt {r['prompt_tokens']} tokens "
                  f"({r['cached_tokens']} cached), load {r['load_avg'][0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
