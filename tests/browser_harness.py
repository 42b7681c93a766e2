"""The browser-test harness: `streamlit run app.py` on a loopback port, Debian's Chromium under Playwright,
and the steps a learner takes on a page. Used by test_browser.py (one learner, every page) and
test_browser_load.py (five learners at once). The session fixtures are re-exported by conftest.py, so
both modules share one index build, one Chromium and one warm app server.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tutor.config import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--headless"]
PROFILE = "browser-test"
TIMINGS: dict[str, float] = {}
_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


@dataclass(frozen=True)
class AppServer:
    url: str
    home: Path  # TUTOR_HOME of the server: its progress store lives here
    profile: str = PROFILE


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def real_index() -> Path:
    """The repo's index/, built with the real embedder when missing or out of date (~1-5 min)."""
    subprocess.run([sys.executable, "-m", "tutor.cli", "ingest"], cwd=REPO_ROOT, env={**os.environ, **_OFFLINE},
                   check=True, capture_output=True, timeout=900)
    return REPO_ROOT / "index"


@contextlib.contextmanager
def streamlit_server(index: Path, home: Path, **env_extra: str):
    """`streamlit run app.py` on a free loopback port; yields its URL, stops it and keeps its log."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    port = _free_port()
    env = {**os.environ, **_OFFLINE, "TUTOR_HOME": str(home), "TUTOR_BACKEND": "extractive",
           "TUTOR_PROFILE": PROFILE, "TUTOR_INDEX_DIR": str(index), "PYTHONPATH": str(REPO_ROOT), **env_extra}
    env.pop("TUTOR_DB", None)
    log_path = home / f"streamlit-{port}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port)],
            cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_http(f"http://127.0.0.1:{port}/_stcore/health", 90)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
            ARTIFACTS.mkdir(exist_ok=True)
            name = "streamlit-" + env["TUTOR_BACKEND"] + ".log"
            (ARTIFACTS / name).write_text(log_path.read_text(errors="replace"))
            (ARTIFACTS / "browser-timings.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


@pytest.fixture(scope="session")
def app_server(real_index, tmp_path_factory) -> AppServer:
    """One extractive app for every browser test of the session (started once, warm after the first)."""
    home = tmp_path_factory.mktemp("home")
    with streamlit_server(real_index, home) as url:
        yield AppServer(url, home)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---- steps on a page (sync Playwright) ----------------------------------------------------------------

ANSWER_SHOWN = """(n) => { const m = document.querySelectorAll('[data-testid="stChatMessage"]')[n];
    return !!m && [...m.querySelectorAll('[data-testid="stMarkdownContainer"]')].some(
      e => !e.closest('[data-testid="stSpinner"]') && e.innerText.trim().length > 0); }"""
SETTLED = ("() => !document.querySelector('[data-testid=\"stSpinner\"]')"
           " && !document.querySelector('[data-testid=\"stStatusWidgetRunningIcon\"]')")


def open_app(browser, url: str, timing: str | None = None):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(120_000)
    t0 = time.perf_counter()
    pg.goto(url)
    pg.get_by_role("heading", name="Ask the tutor").wait_for()
    if timing:
        TIMINGS.setdefault(timing, round(time.perf_counter() - t0, 2))
        fcp = pg.evaluate("() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
        if fcp is not None:
            TIMINGS.setdefault(timing.replace("first_paint", "first_contentful_paint"), round(fcp / 1000, 2))
    return ctx, pg


def go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title).first.wait_for()


def settle(page) -> None:
    """Wait until Streamlit has finished the current run (no spinner, no running indicator)."""
    page.wait_for_timeout(300)
    page.wait_for_function(SETTLED)


def type_answer(page, text: str, nth: int = 0) -> None:
    box = page.locator("textarea").nth(nth)
    box.fill(text)
    box.press("Control+Enter")  # commits the value before a button is clicked
    settle(page)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def ask(page, question: str) -> float:
    """Type a question, press Enter; seconds until the answer's first text shows."""
    before = page.locator('[data-testid="stChatMessage"]').count()
    box = page.locator('[data-testid="stChatInputTextArea"]')
    box.fill(question)
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(ANSWER_SHOWN, arg=before + 1)  # the first answer text, not the spinner's
    first = time.perf_counter() - t0
    settle(page)
    return first
