"""The app as a learner meets it: `streamlit run app.py` (extractive backend, no LLM) driven by Chromium.

1. first paint: from `page.goto` until the Ask page's heading shows, once the server answers its health
   check (the browser's own first-contentful-paint is recorded beside it);
2. first answer: the first question (loads the embedder and the index) and then the next ones, each
   from Enter until the answer's first text shows; the target is on the answers after the first;
3. RSS of the streamlit process (current and peak, from /proc) after the answers.

Uses the browser-test harness, tests/browser_harness.py (Debian's Chromium through Playwright; `make browser`).

    python bench/app_speed.py [--questions 3] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import OFFLINE_ENV, ROOT, load_average, write_json  # noqa: E402

QUESTIONS = ["what is BPTT", "how does dropout regularize a network", "what does the softmax function do",
             "why do we normalize activations with batch norm"]


def proc_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of a process in MiB, from /proc/PID/status."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)


# The floor: Streamlit's own frontend with nothing of ours, the same heading, same server flags and browser.
BARE_APP = """import streamlit as st
st.title("Ask the tutor")
"""


def bare_first_paint(browser, env: dict) -> float | None:
    """First paint of a one-heading Streamlit app: what no change to app.py can go below on this machine."""
    from tests.browser_harness import _free_port, _wait_http, open_app

    folder = Path(tempfile.mkdtemp(prefix="tutor-bench-bare-"))
    (folder / "app.py").write_text(BARE_APP, encoding="utf-8")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port)],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 120)
        from tests import browser_harness

        timings: dict = {}
        browser_harness.TIMINGS = timings
        ctx, _ = open_app(browser, f"http://127.0.0.1:{port}", "first_paint_s")
        ctx.close()
        return timings.get("first_paint_s")
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def measure(questions: int) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.browser_harness import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_http, ask, open_app
    from tutor.onnx_export import model_dir

    if not CHROMIUM.exists():
        raise SystemExit("app_speed: Chromium is missing: run `make browser`")
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="tutor-bench-app-"))
    env = {**os.environ, **OFFLINE_ENV, "TUTOR_HOME": str(home), "TUTOR_BACKEND": "extractive",
           "TUTOR_PROFILE": "bench", "TUTOR_INDEX_DIR": str(ROOT / "index"), "PYTHONPATH": str(ROOT),
           "TUTOR_EMBEDDER_DIR": str(model_dir())}  # the installed export, not one under the scratch home
    env.pop("TUTOR_DB", None)
    log = (home / "streamlit.log").open("w")
    t_start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.address", "127.0.0.1", "--server.port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    row: dict = {"load_avg_start": load_average()}
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/_stcore/health", 120)
        row["server_up_s"] = time.perf_counter() - t_start
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            timings: dict = {}
            from tests import browser_harness

            browser_harness.TIMINGS = timings  # open_app records its timings there
            ctx, page = open_app(browser, url, "first_paint_s")
            row.update(timings)
            print(f"  first paint {row.get('first_paint_s')} s (server up in {row['server_up_s']:.1f} s)", flush=True)
            answers = []
            for q in (QUESTIONS * 2)[: max(2, questions)]:
                try:
                    answers.append(ask(page, q))
                except Exception:
                    page.screenshot(path=str(home / "failed.png"), full_page=True)
                    print(f"app_speed: no answer to {q!r}; screenshot {home / 'failed.png'}", flush=True)
                    raise
                print(f"  answer {len(answers)}: {answers[-1]:.2f} s", flush=True)
            row["first_answer_cold_s"] = answers[0]
            row["answers_after_first_s"] = answers[1:]
            row["answer_after_first_median_s"] = statistics.median(answers[1:])
            ctx.close()
            row["bare_streamlit_first_paint_s"] = bare_first_paint(browser, env)
            print(f"  first paint of a one-heading Streamlit app: {row['bare_streamlit_first_paint_s']} s", flush=True)
            browser.close()
        row["rss_mb"], row["rss_peak_mb"] = proc_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    row["load_avg_end"] = load_average()
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=3, help="questions asked in one session (≥ 2)")
    parser.add_argument("--json", default=None, metavar="OUT")
    args = parser.parse_args(argv)
    if not (ROOT / "index" / "manifest.json").is_file():
        print("app_speed: no index at index/: run `tutor ingest` first")
        return 2
    row = measure(args.questions)
    print(f"app_speed — server up in {row['server_up_s']:.1f} s; first paint {row.get('first_paint_s', 0):.2f} s "
          f"(FCP {row.get('first_contentful_paint_s') or 0:.2f} s); first answer {row['first_answer_cold_s']:.2f} s, "
          f"next ones median {row['answer_after_first_median_s']:.2f} s; RSS {row['rss_mb']:.0f} MiB "
          f"(peak {row['rss_peak_mb']:.0f}); load {row['load_avg_start']:.1f} → {row['load_avg_end']:.1f}")
    write_json(args.json, row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
