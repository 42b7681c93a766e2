"""A low-rank delta that adapts all-MiniLM-L6-v2 to our cards, and how it is checked and merged.

MiniLM ranks a sibling card above the right one for many paraphrases (issue 13); no stronger embedder
installs offline. `python -m tutor.adapt_train` fine-tunes low-rank factors (LoRA) on the cards' own
phrasings and answers only, never on golden rows. The format is meant to ship instead of a model: per
adapted Linear layer, `NAME.A` (rank × in) and `NAME.B` (out × rank, scale folded in), fp16, in a
safetensors file (≈ 0.2-0.5 MB) beside a JSON sidecar holding its sha256; merging adds B @ A to each
weight once, at install time, before the ONNX export.

Not wired in: measured in session 13 (bench/adapt_eval.py) the best delta moved dev rank 1 .774 → .791
and test .812 → .807, short of the +.02 that would pay for a second exported model, so nothing ships and
no index or query uses this module. It stays as the tested groundwork for a later attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from tutor.errors import ModelNotInstalled
from tutor.index import sha256_file

BASE_MODEL = "all-MiniLM-L6-v2"
DELTA_FILE = "minilm_adapt.safetensors"
SIDECAR_FILE = "minilm_adapt.json"
FIX = "reinstall the package (make install), or retrain: python -m tutor.adapt_train"


@dataclass(frozen=True)
class Delta:
    """Low-rank factors per Linear weight name of BertModel, with the sha256 of the file they came from."""

    factors: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (A: r×in, B: out×r), float32
    sha256: str
    meta: dict

    @property
    def model_name(self) -> str:
        """What an index built with the merged model records as its embed_model: a new delta is a new model."""
        return adapted_name(self.sha256)


def adapted_name(sha256: str) -> str:
    return f"{BASE_MODEL}+adapt-{sha256[:12]}"


def packaged_delta_dir() -> Path:
    return Path(str(resources.files("tutor") / "data"))


def save_delta(factors: dict[str, tuple[np.ndarray, np.ndarray]], folder: Path, meta: dict) -> str:
    """Write the fp16 factors and the sidecar (sha256 last, so a half-written pair never verifies)."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, (a, b) in sorted(factors.items()):
        tensors[f"{name}.A"] = np.ascontiguousarray(a, dtype=np.float16)
        tensors[f"{name}.B"] = np.ascontiguousarray(b, dtype=np.float16)
    save_file(tensors, str(folder / DELTA_FILE))
    (folder / DELTA_FILE).chmod(0o644)  # safetensors writes it owner-only; a package file is world-readable
    digest = sha256_file(folder / DELTA_FILE)
    sidecar = {**meta, "base_model": BASE_MODEL, "file": DELTA_FILE, "sha256": digest,
               "bytes": (folder / DELTA_FILE).stat().st_size}
    (folder / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return digest


def load_delta(folder: Path | None = None) -> Delta:
    """The delta in `folder` (default: the packaged one), after checking its sha256 against the sidecar."""
    folder = folder or packaged_delta_dir()
    path, sidecar = folder / DELTA_FILE, folder / SIDECAR_FILE
    if not path.is_file() or not sidecar.is_file():
        raise ModelNotInstalled(f"the adapted-embedder delta is missing ({path})", fix=FIX)
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        expected = meta["sha256"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelNotInstalled(f"{sidecar} is unreadable ({exc})", fix=FIX) from None
    digest = sha256_file(path)
    if digest != expected:
        raise ModelNotInstalled(f"{path} does not match its sha256 ({digest[:12]} ≠ {expected[:12]})", fix=FIX)
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    factors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for key in tensors:
        if key.endswith(".A"):
            name = key[:-2]
            if f"{name}.B" not in tensors:
                raise ModelNotInstalled(f"{path}: `{name}` has an A factor but no B", fix=FIX)
            factors[name] = (tensors[key].astype(np.float32), tensors[f"{name}.B"].astype(np.float32))
    return Delta(factors, digest, meta)


def merged_weights(weights: dict[str, np.ndarray], delta: Delta, what: str = "the adapted-embedder delta",
                   fix: str = FIX) -> dict[str, np.ndarray]:
    """W + B @ A for each weight the delta names (`NAME.weight` in `weights`); shapes are checked (`what`,
    `fix`: how an error names the delta and what to run: the grading reader's delta merges here too)."""
    out: dict[str, np.ndarray] = {}
    for name, (a, b) in delta.factors.items():
        weight = weights.get(f"{name}.weight")
        if weight is None:
            raise ModelNotInstalled(f"{what} names `{name}`, which the model lacks", fix=fix)
        if (b.shape[0], a.shape[1]) != tuple(weight.shape) or a.shape[0] != b.shape[1]:
            raise ModelNotInstalled(f"{what}: `{name}` is {b.shape[0]}×{a.shape[1]}, the weight "
                                    f"{tuple(weight.shape)}", fix=fix)
        out[f"{name}.weight"] = (weight.astype(np.float32) + b @ a).astype(weight.dtype)
    return out


def merge(model, delta: Delta, what: str = "the adapted-embedder delta", fix: str = FIX) -> None:
    """Merge the delta into a torch BertModel in place (install time and the training bench only)."""
    import torch

    params = dict(model.named_parameters())
    names = [f"{name}.weight" for name in delta.factors]
    current = {n: params[n].detach().numpy() for n in names if n in params}
    with torch.no_grad():
        for name, value in merged_weights(current, delta, what, fix).items():
            params[name].copy_(torch.from_numpy(value))
