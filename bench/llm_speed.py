"""How fast are the packaged local models on this machine? Prints figures, never passes or fails.

For each installed packaged model: server start time (spawn + load + /health), then for a ~200- and a
~900-token prompt: time to first token and generation tokens/s, over the streaming
/v1/chat/completions endpoint, which is what `tutor ask --backend local` waits on.

    python bench/llm_speed.py [--models qwen2.5-0.5b smollm2-135m] [--repeats 2] [--max-tokens 128]

The bench runs its own server under a throwaway TUTOR_HOME, so it never stops a server someone else is
using; the model files are shared (TUTOR_MODELS_DIR). Numbers on a shared 2-core machine swing a lot
with other load: the load average is printed with the machine so a table can be read in context.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tutor import llm_server, models  # noqa: E402

_MATERIAL = (
    "Batch normalization standardizes each feature over the mini-batch to zero mean and unit variance, "
    "then applies a learnable scale gamma and shift beta. It smooths the loss surface, allows higher "
    "learning rates and uses running averages of the statistics at inference time. Dropout randomly "
    "zeroes hidden units during training so that units cannot co-adapt, which regularizes the network. "
)
_QUESTION = "Using the material above, explain batch normalization to an interviewer in detail."


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def prompt(n_tokens: int, nonce: int) -> str:
    """~n_tokens of material; the nonce comes first so llama.cpp cannot reuse a cached prefix."""
    repeats = max(1, round((n_tokens - 40) / 72))  # one _MATERIAL block is ~72 tokens for these models
    return f"Session {nonce}.\nMaterial:\n{_MATERIAL * repeats}\n{_QUESTION}"


def stream_once(url: str, text: str, max_tokens: int) -> dict:
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0,
            "stream": True, "stream_options": {"include_usage": True}, "ignore_eos": True}
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    first = last = None
    pieces = 0
    usage: dict = {}
    timings: dict = {}
    with urllib.request.urlopen(req, timeout=600) as resp:
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            event = json.loads(line[5:])
            usage = event.get("usage") or usage
            timings = event.get("timings") or timings
            for choice in event.get("choices", []):
                if (choice.get("delta") or {}).get("content"):
                    now = time.perf_counter()
                    first = first or now
                    last = now
                    pieces += 1
    n_gen = usage.get("completion_tokens") or pieces
    gen_s = (last - first) if first and last and last > first else float("nan")
    return {"prompt_tokens": usage.get("prompt_tokens", 0), "ttft_s": (first or time.perf_counter()) - t0,
            "gen_tok_s": (n_gen - 1) / gen_s if n_gen > 1 else float("nan"),
            "server_prompt_tok_s": timings.get("prompt_per_second", float("nan")),
            "server_gen_tok_s": timings.get("predicted_per_second", float("nan"))}


def bench_model(name: str, sizes: list[int], repeats: int, max_tokens: int) -> list[dict]:
    t0 = time.perf_counter()
    info = llm_server.start(name, timeout_s=300)
    start_s = time.perf_counter() - t0
    rows = []
    try:
        stream_once(info.url, "Say hi.", 4)  # warm-up: first-request allocations are not the steady state
        nonce = 0
        for size in sizes:
            runs = []
            for _ in range(repeats):
                nonce += 1
                runs.append(stream_once(info.url, prompt(size, nonce), max_tokens))
            med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            rows.append({"model": name, "start_s": start_s, "target": size, **med})
    finally:
        llm_server.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", help="default: every installed packaged model")
    parser.add_argument("--sizes", nargs="*", type=int, default=[200, 900])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    names = args.models or [n for n in models.names() if models.is_installed(n)]
    os.environ["TUTOR_MODELS_DIR"] = str(models.models_dir())  # share the weights...
    os.environ["TUTOR_HOME"] = tempfile.mkdtemp(prefix="tutor-bench-")  # ...but not the server state
    threads = os.environ.get("TUTOR_LLM_THREADS") or os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, {cpu_model()}, Python {platform.python_version()}; "
          f"llama.cpp threads {threads}; load average before: {load}")
    if not names:
        print("no packaged model is installed: tutor llm install smollm2-135m")
        return 0
    rows = []
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        rows += bench_model(name, args.sizes, args.repeats, args.max_tokens)
    head = (f"{'model':<14} {'start s':>7} {'prompt tok':>10} {'first token s':>13} {'gen tok/s':>9} "
            f"{'srv prompt tok/s':>16} {'srv gen tok/s':>13}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['model']:<14} {r['start_s']:>7.2f} {r['prompt_tokens']:>10.0f} {r['ttft_s']:>13.2f} "
              f"{r['gen_tok_s']:>9.1f} {r['server_prompt_tok_s']:>16.1f} {r['server_gen_tok_s']:>13.1f}")
    print(f"({args.max_tokens} generated tokens per run, ignore_eos; median of {args.repeats} runs; "
          f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
