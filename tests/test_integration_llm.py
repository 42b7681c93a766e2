"""End to end for real: MiniLM embeddings, a FAISS index, and a llama.cpp server running SmolLM2-135M.

SmolLM2-135M writes poor text; these tests check the plumbing (streaming, citations validated in code,
the OpenAI-compatible path, fallback when the server dies), never the quality. Each test asserts the path
it is named after: a model-path test fails when the curated fallback answered instead (backend
`…→extractive`), and the fallback tests require that the failure happened where they say it did.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import cli_env

from tutor import llm_server
from tutor.answer import Answer
from tutor.tutor import Tutor

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m"
QUESTION = "what is dropout and why does it help against overfitting"


@pytest.fixture
def real(minilm_cards_index, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The shared MiniLM index of the fixture cards and a private TUTOR_HOME for the server's state."""
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("TUTOR_LLM_MODEL", MODEL)
    monkeypatch.setenv("TUTOR_LLM_THREADS", "1")  # steady speed when another process wants a core
    yield minilm_cards_index
    llm_server.stop()


def cli(config, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutor.cli", "--index", str(config.index_dir), *args],
                          capture_output=True, text=True, env=cli_env(**(extra_env or {})), timeout=300)


def model_pieces(events: list) -> list[str]:
    """The text the model streamed: every str event before the final Answer that is not a notice block."""
    return [e for e in events[:-1] if isinstance(e, str) and not e.startswith("\n\n")]


ATTEMPTS = 3


def answered_by_model(backend: str, attempt: Callable[[], dict]) -> dict:
    """The first of ATTEMPTS results (dicts with backend, notice, refused, first_token_s) the model gave.

    SmolLM2 writes nonsense: a reply that cites no passage is replaced by the curated answer by design
    (tests/test_chain.py checks that rule), so such a reply, after model text did arrive, is asked again.
    A model that was not reached is never retried: that is the fallback path, and the test fails at once.
    """
    notices = []
    for _ in range(ATTEMPTS):
        result = attempt()
        if result["backend"] == backend and not result["refused"]:
            return result
        reached = result["first_token_s"] is not None and result["backend"] in (backend, f"{backend}→extractive")
        assert reached and "failed" not in (result["notice"] or ""), \
            f"the {backend} model was not reached: backend {result['backend']}, notice {result['notice']}"
        notices.append(result["notice"])
    pytest.fail(f"in {ATTEMPTS} tries the {backend} model never gave an answer of its own: {notices}")


def streamed(tutor: Tutor, backend: str, **kwargs) -> Callable[[], dict]:
    def attempt() -> dict:
        events = list(tutor.stream(QUESTION, backend=backend, **kwargs))
        final = events[-1]
        assert isinstance(final, Answer)
        return {**final.to_dict(), "events": events, "final": final}

    return attempt


def test_local_backend_answers_with_validated_citations_from_the_cli(real):
    def attempt() -> dict:
        out = cli(real, "ask", QUESTION, "--backend", "local", "--json")
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
        return json.loads(out.stdout)

    # The model's own answer, not the curated fallback: its citations went through validate().
    answer = answered_by_model("local", attempt)
    assert answer["citations"]
    given = {p["chunk_id"] for p in answer["passages"][:3]}  # only the first three reach the prompt
    assert all(c["chunk_id"] in given for c in answer["citations"])
    assert llm_server.status() is not None  # started on demand, left running for the next question


def test_local_backend_streams_tokens_through_the_chain(real):
    result = answered_by_model("local", streamed(Tutor(real), "local"))
    final = result["final"]
    assert len(model_pieces(result["events"])) > 1
    assert final.first_token_s is not None and final.first_token_s <= final.latency_s
    assert final.extra["prompt_tokens"] <= 900


@pytest.fixture
def openai_env(real, monkeypatch: pytest.MonkeyPatch) -> dict:
    """OPENAI_* pointing at the loopback llama.cpp server, which speaks the OpenAI protocol."""
    server = llm_server.start(MODEL)
    env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": "sk-test-secret-0123456789"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_openai_backend_streams_the_models_own_answer(real, openai_env):
    # `openai→extractive` would mean the curated answer stood in: that is the fallback, not this path.
    result = answered_by_model("openai", streamed(Tutor(real), "openai", model="local"))
    final = result["final"]
    assert final.backend == "openai" and final.notice is None and final.citations
    assert len(model_pieces(result["events"])) > 1  # streamed piece by piece, not one blob
    assert final.first_token_s is not None


def test_openai_backend_from_the_cli_answers_and_never_prints_the_key(real, openai_env):
    outputs = []

    def attempt() -> dict:
        out = cli(real, "ask", QUESTION, "--backend", "openai", "--model", "local", "--json")
        assert out.returncode == 0, out.stderr
        outputs.append(out.stdout + out.stderr)
        return json.loads(out.stdout)

    answer = answered_by_model("openai", attempt)
    assert answer["citations"] and not answer["refused"]
    assert not any(openai_env["OPENAI_API_KEY"] in text for text in outputs)


def test_openai_backend_that_is_down_falls_back_and_says_so(real, monkeypatch: pytest.MonkeyPatch):
    """The complement of the test above: a dead endpoint is the fallback path, and is reported as such."""
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-0123456789")
    answer = Tutor(real).ask(QUESTION, backend="openai", model="local")
    assert answer.backend == "openai→extractive" and "failed" in answer.notice
    assert answer.first_token_s is None and answer.citations  # no model text arrived; the curated answer did
    assert "sk-test-secret" not in answer.notice


def test_killing_the_server_mid_answer_falls_back_to_the_curated_answer(real):
    tutor = Tutor(real)
    server = llm_server.start(MODEL)
    # SmolLM2 samples (temperature 0.1) and writes nonsense: a reply whose first sentences cite nothing is
    # replaced by the curated answer before any model text shows (the stream guard's rule), which leaves
    # nothing to kill mid-answer. Such a reply is asked again, as answered_by_model does; the server is
    # killed only once model text is on screen. Without the retry this test failed once in CI and once in
    # three local runs (session 29); with it, 8 of 8 runs needed no second try. Six tries are cheap insurance.
    notices = []
    for _ in range(2 * ATTEMPTS):
        events = tutor.stream(QUESTION + " explain in detail", backend="local", detail=True)
        before_kill: list[str] = []
        for event in events:
            assert isinstance(event, str), "the answer finished before the kill"
            if not before_kill and event.endswith("\n\n") and not event.startswith("\n\n"):
                continue  # the card's answer, shown whole before the model's first token (tutor/lead.py)
            if event.startswith("\n\n"):  # replaced before any model text: not the path under test
                assert "failed" not in event, f"the model was not reached: {event.strip()[:120]}"
                notices.append(event.strip()[:120])
                break
            before_kill.append(event)
            # the model is mid-answer (text shows a sentence at a time): kill its server
            os.kill(server.pid, signal.SIGKILL)
            break
        if before_kill:
            break
        list(events)  # let the replaced answer finish before asking again
    else:
        pytest.fail(f"in {2 * ATTEMPTS} tries the model never showed text of its own: {notices}")
    after_kill = list(events)
    final = after_kill[-1]
    assert "".join(before_kill).strip()  # model text arrived before the kill
    assert isinstance(final, Answer) and final.backend == "local→extractive"
    assert final.first_token_s is not None  # the chain saw model text, then the failure
    assert "failed" in final.notice and final.citations and not final.refused
    notices = [e for e in after_kill if isinstance(e, str) and final.notice in e]
    assert notices, "the fallback and its notice came after the kill"


def test_server_down_before_the_question_still_answers(real, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(real.index_dir / "no-models-here"))
    answer = Tutor(real).ask(QUESTION, backend="local")
    assert answer.backend == "local→extractive" and "tutor llm install" in answer.notice
