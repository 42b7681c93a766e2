"""The API key never leaves the environment: not in logs, errors, exports, `--json` output or the page.

One test per surface. The endpoint is a real loopback OpenAI-compatible server that, to make the test
bite, echoes the bearer token it received in its 401 error body (as some proxies do): whatever reaches
the learner must still be free of it.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tutor.cli import main

SECRET = "sk-secret-surface-test-5566778899"
QUESTION = "what is dropout and why does it help"


class Echoing(BaseHTTPRequestHandler):
    """401 with the received Authorization header in the body, or a short healthy stream."""

    mode = "401"

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).mode == "401":
            data = json.dumps({"error": {"message": f"bad key: {self.headers.get('Authorization')}"}}).encode()
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in ["Dropout", "zeroes", "random", "units", "while", "training", "[1]."]:
            chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture
def endpoint(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echoing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("TUTOR_LLM_TIMEOUT", "5")
    yield Echoing
    server.shutdown()
    Echoing.mode = "401"


def _clean(text: str) -> None:
    assert SECRET not in text and SECRET[-12:] not in text


@pytest.mark.parametrize("mode", ["401", "ok"])
def test_logging_at_debug_never_records_the_key(endpoint, tutor_fake, caplog, mode):
    endpoint.mode = mode
    tutor_fake.config = replace(tutor_fake.config, llm_timeout_s=5)
    with caplog.at_level(logging.DEBUG):  # every library logger: openai, httpx, httpcore, langchain
        answer = tutor_fake.ask(QUESTION, backend="openai")
    assert answer.citations
    assert caplog.records  # the clients did log: the check below looked at something
    _clean("\n".join(r.getMessage() + repr(r.args) for r in caplog.records))


def test_errors_never_show_the_key(capsys, built_index, fake_minilm, endpoint, monkeypatch):
    # A failing endpoint (falls back with a notice) and a wrong --model both end in messages.
    code = main(["--index", str(built_index.index_dir), "ask", QUESTION, "--backend", "openai"])
    out, err = capsys.readouterr()
    assert code == 0 and "curated answer" in out + err
    _clean(out + err)
    monkeypatch.setenv("OPENAI_BASE_URL", "not a url at all")
    main(["--index", str(built_index.index_dir), "ask", QUESTION, "--backend", "openai"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    _clean(out + err)


@pytest.mark.parametrize("argv", [
    ["ask", QUESTION, "--backend", "openai", "--json"],
    ["retrieve", QUESTION, "--json"],
    ["doctor", "--json"],
    ["llm", "status", "--json"],
])
def test_json_outputs_never_carry_the_key(capsys, built_index, fake_minilm, endpoint, tmp_path, monkeypatch, argv):
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    main(["--index", str(built_index.index_dir), *argv])
    out, err = capsys.readouterr()
    assert out.strip() and "Traceback" not in err
    _clean(out + err)


def test_progress_exports_never_carry_the_key(tutor_fake, endpoint, tmp_path):
    progress = pytest.importorskip("tutor.progress", reason="the progress store arrives with branch practice")
    answer = tutor_fake.ask(QUESTION, backend="openai")  # the 401 fallback, notice and all
    store = progress.open_store(None, tmp_path)
    store.add_conversation(progress.Conversation(profile="learner", question=QUESTION, answer=answer.answer,
                                                 citations=[c.__dict__ for c in answer.citations]))
    exported = json.dumps(store.export(), default=str)
    store.close()
    assert QUESTION in exported
    _clean(exported)


def test_the_page_never_shows_the_key(built_index, fake_minilm, endpoint, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tutor.config import REPO_ROOT

    monkeypatch.setenv("TUTOR_INDEX_DIR", str(built_index.index_dir))
    monkeypatch.setenv("TUTOR_BACKEND", "openai")
    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception
    shown = [e.value for kind in (at.markdown, at.caption, at.info, at.warning, at.error, at.text) for e in kind]
    page = json.dumps(shown, default=str) + str(at.session_state["conversation"].turns)
    assert "curated answer" in page
    _clean(page)
