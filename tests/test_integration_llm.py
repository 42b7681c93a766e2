"""End to end for real: MiniLM embeddings, a FAISS index, and a llama.cpp server running SmolLM2-135M.

SmolLM2-135M writes poor text; these tests check the plumbing (streaming, citations validated in code,
the OpenAI-compatible path, fallback when the server dies), never the quality.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tutor import llm_server
from tutor.answer import Answer
from tutor.embed import MiniLMEmbedder
from tutor.ingest import ingest
from tutor.tutor import Tutor

pytestmark = pytest.mark.slow
MODEL = "smollm2-135m"
QUESTION = "what is dropout and why does it help against overfitting"


@pytest.fixture
def real(config, models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A real MiniLM index of the fixture cards and a private TUTOR_HOME for the server's state."""
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("TUTOR_LLM_MODEL", MODEL)
    monkeypatch.setenv("TUTOR_LLM_THREADS", "1")  # steady speed when another process wants a core
    ingest(config, MiniLMEmbedder, MiniLMEmbedder.name, progress=False)
    yield config
    llm_server.stop()


def cli(config, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "tutor.cli", "--index", str(config.index_dir), *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_local_backend_answers_with_validated_citations_from_the_cli(real):
    out = cli(real, "ask", QUESTION, "--backend", "local", "--json")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    answer = json.loads(out.stdout)
    assert answer["backend"] in ("local", "local→extractive")
    assert not answer["refused"] and answer["citations"]
    given = {p["chunk_id"] for p in answer["passages"]}
    assert all(c["chunk_id"] in given for c in answer["citations"])
    assert llm_server.status() is not None  # started on demand, left running for the next question


def test_local_backend_streams_tokens_through_the_chain(real):
    events = list(Tutor(real).stream(QUESTION, backend="local"))
    pieces = [e for e in events if isinstance(e, str)]
    final = events[-1]
    assert isinstance(final, Answer) and len(pieces) > 1
    assert final.first_token_s is not None and final.first_token_s <= final.latency_s
    assert final.extra["prompt_tokens"] <= 900


def test_openai_backend_against_the_same_loopback_server_never_prints_the_key(real):
    server = llm_server.start(MODEL)
    key = "sk-test-secret-0123456789"
    env = {"OPENAI_BASE_URL": f"{server.url}/v1", "OPENAI_API_KEY": key}
    out = cli(real, "ask", QUESTION, "--backend", "openai", "--model", "local", "--json", extra_env=env)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert answer["backend"] in ("openai", "openai→extractive") and answer["citations"]
    assert key not in out.stdout + out.stderr


def test_killing_the_server_mid_answer_falls_back_to_the_curated_answer(real):
    tutor = Tutor(real)
    server = llm_server.start(MODEL)
    events = tutor.stream(QUESTION + " explain in detail", backend="local", detail=True)
    for event in events:
        if isinstance(event, str):
            os.kill(server.pid, signal.SIGKILL)
            break
    final = [e for e in events if isinstance(e, Answer)][-1]
    assert final.backend == "local→extractive"
    assert "failed" in final.notice and final.citations and not final.refused


def test_server_down_before_the_question_still_answers(real, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(real.index_dir / "no-models-here"))
    answer = Tutor(real).ask(QUESTION, backend="local")
    assert answer.backend == "local→extractive" and "tutor llm install" in answer.notice
