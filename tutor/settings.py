"""What a learner chooses in the app's settings (backend, model, detail) and what that means for a `Tutor`.

The app holds one `Tutor` per process, shared by every browser session, so per-session choices such as
an OpenAI-compatible endpoint and its key must not go through process-wide environment variables: each
choice gets its own chat model, registered on the Tutor under a key that names the endpoint but never
contains the key itself.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from tutor.config import Config
from tutor.errors import EnvironmentProblem, UserError
from tutor.llms import BACKENDS, _chat_openai, default_backend

BACKEND_LABELS = {
    "extractive": "Curated answers (instant, no model)",
    "local": "Local model (llama.cpp on this machine)",
    "openai": "OpenAI-compatible server",
}


@dataclass
class Settings:
    backend: str = "extractive"
    model: str = ""  # local: a registry name or .gguf path; openai: the served model's name
    detail: bool = False
    base_url: str = ""
    api_key: str = ""  # kept in the session only; never rendered back into the page

    @classmethod
    def default(cls, config: Config) -> Settings:
        # The same environment the CLI reads, so `OPENAI_BASE_URL=… OPENAI_API_KEY=… make run` works too.
        return cls(backend=default_backend(config), model=config.llm_model,
                   base_url=os.environ.get("OPENAI_BASE_URL", ""), api_key=os.environ.get("OPENAI_API_KEY", ""))

    def describe(self) -> str:
        """One line for the page: which backend answers, without the key."""
        if self.backend == "openai":
            where = self.base_url or "api.openai.com"
            return f"{self.model or 'gpt-4o-mini'} at {where}" + (" (key set)" if self.api_key else " (no key)")
        if self.backend == "local":
            return f"local model {self.model or 'default'}"
        return "curated answers, no model"


def key_fingerprint(api_key: str) -> str:
    """Distinguishes two keys in a cache key without keeping the key readable there."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:10] if api_key else "none"


def backend_args(tutor, settings: Settings) -> tuple[str, str | None]:
    """The `backend` and `model` to pass to `Tutor.stream` for these settings.

    For `openai` the chat model is built here from the session's URL and key and registered on the
    Tutor, so two sessions with different endpoints never share (or leak) a client.
    """
    if settings.backend not in BACKENDS:
        raise UserError(f"unknown backend `{settings.backend}`; valid: {', '.join(BACKENDS)}")
    if settings.backend != "openai":
        return settings.backend, (settings.model or None)
    if not settings.api_key.strip():
        raise UserError("the OpenAI-compatible backend needs an API key",
                        fix="enter it on the Library & settings page, or pick another backend")
    model = settings.model.strip() or "gpt-4o-mini"
    base_url = settings.base_url.strip() or None
    handle = f"{model}@{base_url or 'default'}#{key_fingerprint(settings.api_key)}"
    max_tokens = 700 if settings.detail else 400
    key = ("openai", handle, settings.detail)
    if key not in tutor._llms:
        tutor._llms[key] = _chat_openai(base_url, settings.api_key.strip(), model, tutor.config, max_tokens)
    return "openai", handle


@dataclass
class ServerStatus:
    running: bool
    text: str


def llm_status() -> ServerStatus:
    """The local model server, in words; never raises (the page only reports it)."""
    try:
        from tutor import llm_server

        info = llm_server.status()
    except Exception as exc:  # status is informational; a broken runtime is reported, not raised
        return ServerStatus(False, f"unknown ({type(exc).__name__}: {exc})")
    if info is None:
        return ServerStatus(False, "not running — it starts on the first local-model answer "
                                   "(or run `tutor llm start`)")
    return ServerStatus(True, f"running at {info.url} with {info.model} (pid {info.pid})")


def installed_models() -> list[str]:
    """Registry models whose weights are on disk, default first."""
    try:
        from tutor import models

        rows = models.listing()
    except (EnvironmentProblem, OSError):
        return []
    rows.sort(key=lambda r: not r["default"])
    return [r["name"] for r in rows if r["installed"]]
