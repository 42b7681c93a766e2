"""The local model server for real: SmolLM2-135M (98 MB, fast, nonsense text) through xllamacpp.

The model is installed once per session into a shared models folder (`TUTOR_TEST_MODELS_DIR` reuses one
across runs); every test gets its own TUTOR_HOME, so server state files never collide with a user's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tutor import llm_server, models
from tutor.errors import BackendUnavailable

MODEL = "smollm2-135m"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TUTOR_LLM_MODEL", raising=False)
    yield tmp_path
    llm_server.stop()


@pytest.fixture
def served(home: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(models_dir))
    # One llama.cpp thread: two threads on two busy cores stall at barriers (seconds per token).
    monkeypatch.setenv("TUTOR_LLM_THREADS", "1")
    return home


def chat(url: str, text: str, max_tokens: int = 8) -> str:
    body = {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, "temperature": 0}
    req = urllib.request.Request(f"{url}/v1/chat/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["choices"][0]["message"]["content"]


def test_status_cleans_up_a_stale_state_file(home: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    llm_server.state_dir().mkdir(parents=True)
    llm_server.state_file().write_text(json.dumps({"pid": dead.pid, "url": "http://127.0.0.1:9", "model": "x",
                                                   "model_path": "/x.gguf", "port": 9}))
    assert llm_server.status() is None
    assert not llm_server.state_file().exists()
    assert llm_server.stop() is False


@pytest.mark.slow
def test_start_chat_status_reuse_stop(served: Path) -> None:
    info = llm_server.start(MODEL, timeout_s=60)
    assert info.url == f"http://127.0.0.1:{info.port}" and info.model == MODEL
    assert Path(info.model_path) == models.model_path(MODEL)
    assert chat(info.url, "Say hello.").strip()

    assert llm_server.status() == info
    state = json.loads(llm_server.state_file().read_text())
    assert {"pid", "port", "url", "model", "model_path", "started_at"} <= set(state)

    again = llm_server.start(MODEL)
    assert again.pid == info.pid  # reused, not restarted
    assert llm_server.ensure_running(MODEL).pid == info.pid

    assert llm_server.stop() is True
    assert llm_server.status() is None
    assert not llm_server.state_file().exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{info.url}/health", timeout=2)


@pytest.mark.slow
def test_ensure_running_switches_model(served: Path, tmp_path: Path) -> None:
    first = llm_server.ensure_running(MODEL)
    other = tmp_path / "other.gguf"
    try:
        os.link(models.model_path(MODEL), other)  # a different path to the same weights, without copying
    except OSError:
        shutil.copyfile(models.model_path(MODEL), other)
    second = llm_server.ensure_running(str(other))
    assert second.pid != first.pid and second.model_path == str(other.resolve())
    assert not llm_server._alive(first.pid)
    assert chat(second.url, "Hi").strip()


@pytest.mark.slow
def test_a_model_that_fails_to_load_reports_the_log(served: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(BackendUnavailable) as err:
        llm_server.start(str(bad), timeout_s=30)
    assert "server.log" in err.value.message and "bad.gguf" in err.value.message
    assert err.value.exit_code == 2
    assert llm_server.status() is None and not llm_server.state_file().exists()


@pytest.mark.slow
def test_cli_start_status_stop(served: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tutor.cli import main

    assert main(["llm", "start", "--model", MODEL, "--json"]) == 0
    started = json.loads(capsys.readouterr().out)
    assert main(["llm", "status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"running": True, **started}
    assert main(["llm", "stop"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert main(["llm", "status"]) == 2


def test_draft_model_is_off_unless_asked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUTOR_LLM_DRAFT", raising=False)
    assert llm_server.draft_model() is None
    monkeypatch.setenv("TUTOR_LLM_DRAFT", "ngram")
    assert llm_server.draft_model() == Path("ngram")
    monkeypatch.setenv("TUTOR_LLM_DRAFT", "no-such-model")
    with pytest.raises(Exception, match="unknown model 'no-such-model'"):
        llm_server.draft_model()


@pytest.mark.slow
@pytest.mark.parametrize("draft", ["ngram", MODEL])
def test_speculative_server_answers_and_is_replaced_without_it(
    served: Path, monkeypatch: pytest.MonkeyPatch, draft: str
) -> None:
    # SmolLM2 drafting for itself shares the tokenizer, which is all llama.cpp's draft check needs.
    monkeypatch.setenv("TUTOR_LLM_DRAFT", draft)
    info = llm_server.start(MODEL, timeout_s=60)
    assert info.draft and chat(info.url, "Hi").strip()
    monkeypatch.delenv("TUTOR_LLM_DRAFT")
    plain = llm_server.ensure_running(MODEL)  # the draft setting changed: a new server, not the old one
    assert plain.pid != info.pid and plain.draft == ""


@pytest.mark.slow
def test_a_port_taken_after_the_check_is_retried_on_another(served: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        monkeypatch.setattr(llm_server, "_free_port", lambda: busy)  # as if another server won the race
        info = llm_server.start(MODEL, timeout_s=60)
        assert info.port != busy and chat(info.url, "Hi").strip()
