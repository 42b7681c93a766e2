"""An OpenAI-compatible endpoint that misbehaves: every fault ends in the curated answer with a notice,
within the configured timeout, and the API key never shows up in what the learner sees.

The endpoint is a real HTTP server on loopback (stdlib), so the real LangChain client is exercised.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "sk-test-DO-NOT-PRINT-1234567890"
TIMEOUT_S = 2.0


def _sse(obj: dict | str) -> bytes:
    body = obj if isinstance(obj, str) else json.dumps(obj)
    return f"data: {body}\n\n".encode()


def _chunk(text: str) -> dict:
    return {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


class Faulty(BaseHTTPRequestHandler):
    mode = "ok"

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass

    def _status(self, code: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = type(self).mode
        if mode in ("401", "429", "500"):
            self._status(int(mode), {"error": {"message": f"fault {mode}", "type": "test"}})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if mode == "slow":
            time.sleep(TIMEOUT_S * 3)
        elif mode == "malformed":
            self.wfile.write(b"data: {not json at all\n\n")
        elif mode == "empty":
            self.wfile.write(_sse("[DONE]"))
        elif mode == "cut":
            self.wfile.write(_sse(_chunk("Dropout randomly ")))
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        elif mode == "ok":
            for word in ["Dropout", "randomly", "sets", "hidden", "units", "to", "zero", "during", "training", "[1]."]:
                self.wfile.write(_sse(_chunk(word + " ")))
            self.wfile.write(_sse("[DONE]"))
        self.wfile.flush()


@pytest.fixture
def endpoint(monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    yield Faulty
    server.shutdown()
    Faulty.mode = "ok"


@pytest.fixture
def tutor_openai(tutor_fake):
    tutor_fake.config = replace(tutor_fake.config, llm_timeout_s=TIMEOUT_S)
    return tutor_fake


def test_a_healthy_endpoint_answers_with_the_openai_backend(endpoint, tutor_openai):
    answer = tutor_openai.ask("what is dropout and why does it help", backend="openai")
    assert answer.backend == "openai" and answer.notice is None and answer.citations


@pytest.mark.parametrize("mode", ["401", "429", "500", "malformed", "empty", "cut", "slow"])
def test_every_endpoint_fault_falls_back_to_the_curated_answer_in_time(endpoint, tutor_openai, mode):
    endpoint.mode = mode
    t0 = time.perf_counter()
    answer = tutor_openai.ask("what is dropout and why does it help", backend="openai")
    elapsed = time.perf_counter() - t0

    assert answer.backend == "openai→extractive", (mode, answer.backend)
    assert answer.notice and "curated answer" in answer.notice
    assert answer.citations and answer.citations[0].card_id == "training/dropout"
    assert elapsed < TIMEOUT_S * 2 + 3, f"{mode} took {elapsed:.1f}s with a {TIMEOUT_S}s timeout"
    shown = json.dumps(answer.to_dict())
    assert SECRET not in shown and SECRET[-10:] not in shown
