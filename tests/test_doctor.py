"""`tutor doctor`'s answers check: which backend answers, and what to run when the one asked for cannot."""

from __future__ import annotations

import os

import pytest

from tutor import models
from tutor.config import Config
from tutor.doctor import _answers as doctor_answers
from tutor.doctor import _check, diagnose, render


def _answers(monkeypatch, tmp_path, **env: str) -> dict:
    for key in ("TUTOR_BACKEND", "TUTOR_LLM_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_MODELS_DIR", str(tmp_path / "models"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return _check("answers", lambda: doctor_answers(Config(index_dir=tmp_path / "index")))


def test_no_local_model_still_answers_and_says_how_to_add_written_answers(monkeypatch, tmp_path):
    check = _answers(monkeypatch, tmp_path)
    assert check["ok"] and check["detail"].startswith("extractive (no local model installed)")
    assert f"tutor llm install {models.DEFAULT_MODEL}" in check["detail"]


def test_a_local_backend_asked_for_without_its_model_is_bad_with_the_install_command(monkeypatch, tmp_path):
    check = _answers(monkeypatch, tmp_path, TUTOR_BACKEND="local")
    assert not check["ok"] and check["fix"] == f"tutor llm install {models.DEFAULT_MODEL}"
    assert "fix: tutor llm install" in render([check])


def test_openai_without_a_key_is_bad(monkeypatch, tmp_path):
    check = _answers(monkeypatch, tmp_path, TUTOR_BACKEND="openai")
    assert not check["ok"] and "OPENAI_API_KEY" in check["detail"]
    check = _answers(monkeypatch, tmp_path, TUTOR_BACKEND="openai", OPENAI_API_KEY="sk-test",
                     OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    assert check["ok"] and "http://127.0.0.1:9/v1" in check["detail"] and "sk-test" not in check["detail"]


def test_an_installed_model_names_its_file_and_the_server_state(monkeypatch, tmp_path):
    pytest.importorskip("xllamacpp")
    path = tmp_path / "models" / f"{models.DEFAULT_MODEL}.gguf"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as fh:  # a sparse file of the pinned size: is_installed reads the size only
        fh.truncate(models.spec(models.DEFAULT_MODEL).size)
    check = _answers(monkeypatch, tmp_path)
    assert check["ok"] and check["detail"].startswith(f"local (chosen automatically): {models.DEFAULT_MODEL}")
    assert "server not running" in check["detail"] and os.fspath(path) in check["detail"]


def test_an_unknown_model_name_is_named(monkeypatch, tmp_path):
    check = _answers(monkeypatch, tmp_path, TUTOR_LLM_MODEL="nope.gguf")
    assert check["ok"] and "TUTOR_LLM_MODEL names 'nope.gguf'" in check["detail"]


def test_doctor_lists_the_answers_check(monkeypatch):
    monkeypatch.setattr("tutor.doctor._check", lambda name, fn: {"check": name, "ok": True, "detail": ""})
    assert [c["check"] for c in diagnose(Config())][-1] == "answers"
