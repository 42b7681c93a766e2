"""One factory that builds a chat-model backend by name.

`extractive` needs no model (None); `local` serves a packaged GGUF through our llama.cpp server;
`openai` is any OpenAI-compatible endpoint. Unknown names are rejected with the valid list, and a
missing optional package names the extra that provides it.
"""

from __future__ import annotations

import os

from tutor.config import Config
from tutor.errors import MissingExtra, UserError

BACKENDS = ("extractive", "local", "openai")


def default_backend(config: Config) -> str:
    """`local` when its model is installed, else `extractive`, unless configured otherwise."""
    if config.llm_backend:
        return config.llm_backend
    try:
        from tutor.models import default_model, resolve

        resolve(config.llm_model or default_model())
        return "local"
    except Exception:  # no model or no runtime: the instant backend still works
        return "extractive"


def _chat_openai(base_url: str | None, api_key: str, model: str, config: Config, max_tokens: int,
                 usage: bool = False):
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise MissingExtra("langchain-openai", "api") from exc
    return ChatOpenAI(
        base_url=base_url,
        api_key=api_key,
        model=model,
        temperature=0.1,
        max_tokens=max_tokens,
        timeout=config.llm_timeout_s,
        max_retries=0,  # the caller falls back to extractive; retries would only delay that
        streaming=True,
        # llama.cpp reports prompt, cached and generated tokens on the last chunk; some OpenAI-compatible
        # servers reject `stream_options`, so only our own server is asked for them.
        stream_usage=usage,
    )


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UserError(f"unknown backend `{backend}`; valid backends: {', '.join(BACKENDS)}")
    return backend


def make_chat_model(backend: str, config: Config, model: str | None = None, max_tokens: int = 400):
    check_backend(backend)
    if backend == "extractive":
        return None
    if backend == "local":
        try:
            from tutor.llm_server import ensure_running
        except ImportError as exc:
            raise MissingExtra("xllamacpp", "local") from exc
        server = ensure_running(model or config.llm_model or None)
        return _chat_openai(f"{server.url}/v1", "local", "local", config, max_tokens, usage=True)
    base_url = os.environ.get("OPENAI_BASE_URL")
    api_key = os.environ.get("OPENAI_API_KEY")
    if not api_key:
        raise UserError("the openai backend needs OPENAI_API_KEY (and OPENAI_BASE_URL for a non-OpenAI server)",
                        fix="export OPENAI_API_KEY=…  or use --backend local")
    name = model or os.environ.get("TUTOR_OPENAI_MODEL") or "gpt-4o-mini"
    return _chat_openai(base_url, api_key, name, config, max_tokens)  # None: the client default
