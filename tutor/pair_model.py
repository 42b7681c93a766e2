"""A MiniLM cross-encoder shipped as a low-rank delta: checked, merged, exported to ONNX and run.

The grading reader (tutor/reader.py: rubric, learner's answer) reads a pair of texts this way, and so did a
card ranker (question, card) measured in session 31 and not kept (bench/retrieval_levers.py). No such model
installs offline, so each is trained here (a LoRA delta on every Linear of the packaged all-MiniLM-L6-v2 plus
a linear head over mean-pooled tokens) and ships as a few MB of safetensors in tutor/data with a JSON sidecar
holding its sha256. `make install` merges the delta into the packaged weights and exports one ONNX graph per
model (pooling and head inside) under $TUTOR_HOME/embedders/<prefix>-<sha12>, so a retrained delta never
loads an old export. A `Spec` names one model's files and settings; everything else is shared.

The graph that runs has int8 weights (onnxruntime dynamic quantization, per output channel, MatMuls only, as
the embedder's int8 copy): session 46's reader and spotter cost 65 and 73 ms a grade in fp32 on 2 cores, 27
and 31 in int8 (AMD EPYC). Each pair runs alone, unpadded, so that its activation ranges (quantized on the
fly) and so its score are a function of the pair alone, never of its batch mates.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np

from tutor.config import data_home
from tutor.errors import ModelNotInstalled
from tutor.index import sha256_file

GRAPH = "model.onnx"  # the int8 graph that runs
FP32_GRAPH = "model.fp32.onnx"  # export scratch only: quantized, then removed
Model = TypeVar("Model", bound="PairModel")
TOKENIZER = "tokenizer.json"
OPSET = 17


@dataclass(frozen=True)
class Spec:
    what: str  # "the grading reader": how errors name it
    delta_file: str  # in tutor/data
    sidecar_file: str
    prefix: str  # the export folder's name before the delta's sha256
    env_dir: str  # an explicit export folder (tests pin it)
    module: str  # the module whose --export rebuilds it
    max_length: int  # word pieces of the pair
    truncation: str  # "longest_first" or "only_second"
    squash: bool  # a sigmoid on the head (a 0-1 verdict) or raw logits (scores compared within a query)
    side_by_side: bool = False  # many short pairs a call: one core a pair, threads() pairs at once
    fp32_ffn_out: tuple[int, ...] = ()  # layers whose FFN output projection keeps fp32 weights
    format_version: int = 2  # 2: the int8 graph

    @property
    def fix(self) -> str:
        return f"make install  (or: python -m {self.module} --export)"


def delta_dir() -> Path:
    return Path(str(resources.files("tutor") / "data"))


def delta_meta(spec: Spec, folder: Path | None = None) -> dict:
    """The sidecar of the packaged delta, after checking the delta against its sha256."""
    folder = folder or delta_dir()
    path, sidecar = folder / spec.delta_file, folder / spec.sidecar_file
    if not path.is_file() or not sidecar.is_file():
        raise ModelNotInstalled(f"{spec.what}'s weights are missing ({path})", fix="reinstall the package")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        expected = str(meta["sha256"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelNotInstalled(f"{sidecar} is unreadable ({exc})", fix="reinstall the package") from None
    if sha256_file(path) != expected:
        raise ModelNotInstalled(f"{path} does not match its sha256", fix="reinstall the package")
    return meta


def export_dir(spec: Spec, meta: dict | None = None) -> Path:
    explicit = os.environ.get(spec.env_dir)
    if explicit:
        return Path(explicit)
    meta = meta or delta_meta(spec)
    return data_home() / "embedders" / f"{spec.prefix}-{meta['sha256'][:12]}"


def save_delta(spec: Spec, tensors: dict[str, np.ndarray], folder: Path, meta: dict) -> str:
    """Write the factors (`NAME.A`, `NAME.B` with the LoRA scale folded into B) and the head, then the sidecar."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / spec.delta_file
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(tensors.items())}, str(path))
    path.chmod(0o644)
    digest = sha256_file(path)
    sidecar = {**meta, "file": spec.delta_file, "sha256": digest, "bytes": path.stat().st_size,
               "max_length": spec.max_length}
    (folder / spec.sidecar_file).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return digest


def lora_tensors(model, wrapped: dict) -> dict[str, np.ndarray]:
    """A trained cross-encoder's delta as save_delta writes it."""
    tensors = {}
    for name, lora in wrapped.items():
        tensors[f"{name}.A"] = lora.A.detach().float().cpu().numpy()
        tensors[f"{name}.B"] = (lora.B.detach().float() * lora.scale).cpu().numpy()
    tensors["head.weight"] = model.head.weight.detach().float().cpu().numpy()
    tensors["head.bias"] = model.head.bias.detach().float().cpu().numpy()
    return tensors


def cross_encoder(bert, squash: bool = True):
    """The model around a BertModel: mean pooling over the pair's tokens, a linear head, and a sigmoid when
    `squash` (the trainers' model and the exported graph are this one module)."""
    import torch

    class CrossEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            logit = self.head((h * m).sum(1) / m.sum(1)).squeeze(-1)
            return torch.sigmoid(logit) if squash else logit

    return CrossEncoder()


def build_module(spec: Spec, tensors: dict[str, np.ndarray]):
    """The torch cross-encoder: packaged MiniLM + merged delta, and the trained head (install time)."""
    import torch

    from tutor.adapt import Delta, merge
    from tutor.onnx_export import _load_bert

    _, bert = _load_bert(attention="eager")
    factors = {key[:-2]: (tensors[key], tensors[f"{key[:-2]}.B"]) for key in tensors if key.endswith(".A")}
    merge(bert, Delta(factors, "", {}), what=f"{spec.what}'s delta", fix=spec.fix)
    module = cross_encoder(bert, squash=spec.squash)
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(tensors["head.weight"]))
        module.head.bias.copy_(torch.from_numpy(tensors["head.bias"]))
    return module.eval()


def export(spec: Spec, force: bool = False) -> Path:
    """Merge and export when the folder for this delta does not verify; return the folder."""
    meta = delta_meta(spec)
    folder = export_dir(spec, meta)
    if not force:
        try:
            verify(spec, folder, meta)
            return folder
        except ModelNotInstalled:
            pass
    import torch
    from safetensors.numpy import load_file

    from tutor.onnx_export import source_dir

    module = build_module(spec, load_file(str(delta_dir() / spec.delta_file)))
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".export-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        ids = torch.ones(2, 16, dtype=torch.long)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(module, (ids, ids, torch.zeros_like(ids)), str(scratch / FP32_GRAPH),
                              input_names=names, output_names=["score"],
                              dynamic_axes={**{n: axes for n in names}, "score": {0: "batch"}},
                              opset_version=OPSET, dynamo=False)
        quantize(spec, scratch / FP32_GRAPH, scratch / GRAPH)
        shutil.copyfile(source_dir() / TOKENIZER, scratch / TOKENIZER)
        manifest = {"format_version": spec.format_version, "delta_sha256": meta["sha256"],
                    "max_length": spec.max_length, "torch": torch.__version__,
                    "weights": {"int8": "dynamic, per channel, MatMuls", "fp32_ffn_out": list(spec.fp32_ffn_out)},
                    "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": {n: sha256_file(scratch / n) for n in (GRAPH, TOKENIZER)}}
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in (GRAPH, TOKENIZER, "manifest.json"):  # the manifest last: it is what verifies
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def quantize(spec: Spec, source: Path, target: Path) -> None:
    """int8 weights for every MatMul but the FFN output projections of `spec.fp32_ffn_out`. Why those: on the
    spotter (3198 pairs of 300 golden grades against fp32), all-int8 moved an answer's highest verdict by .35
    log-odds on average (p95 1.25); fp32 FFN outputs in layers 0-2 (whose inputs, after GELU, carry the widest
    ranges) .20 (p95 .60), as good as all six layers, for 31 ms a grade against 24 (all int8) and 59 (fp32).
    The reader moves .07 all-int8, so it keeps none."""
    import onnx

    from tutor.onnx_export import quantize_int8

    ffn_out = re.compile(r"layer\.(\d+)/output/dense/MatMul$")
    keep = [node.name for node in onnx.load(str(source)).graph.node
            if (m := ffn_out.search(node.name)) and int(m.group(1)) in spec.fp32_ffn_out]
    if len(keep) != len(spec.fp32_ffn_out):
        raise RuntimeError(f"{spec.what}: no FFN output MatMul for some of layers {spec.fp32_ffn_out} in the graph")
    quantize_int8(source, target, keep)


def verify(spec: Spec, folder: Path, meta: dict) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ModelNotInstalled(f"{spec.what} is not exported ({folder})", fix=spec.fix) from None
    if manifest.get("delta_sha256") != meta["sha256"] or manifest.get("format_version") != spec.format_version:
        raise ModelNotInstalled(f"{spec.what}'s export is stale", fix=spec.fix)
    for name, digest in manifest.get("files", {}).items():
        if not (folder / name).is_file() or sha256_file(folder / name) != digest:
            raise ModelNotInstalled(f"{spec.what}'s {name} is missing or corrupt", fix=spec.fix)
    return manifest


def load_optional(switch: str, load: Callable[[], Model], required: bool) -> Model | None:
    """`load()`; None when the environment variable `switch` is off (unless `required`), and None (or
    ModelNotInstalled when `required`) when the model is not exported: the grader then uses a model without it."""
    if os.environ.get(switch, "").lower() in ("off", "0", "no") and not required:
        return None
    try:
        return load()
    except ModelNotInstalled:
        if required:
            raise
        return None


def problem(spec: Spec) -> str:
    """Why the model cannot run, or "" when its export verifies."""
    try:
        verify(spec, export_dir(spec), delta_meta(spec))
    except ModelNotInstalled as exc:
        return str(exc)
    return ""


class PairModel:
    """An exported cross-encoder on onnxruntime: pairs of texts in, one score per pair out."""

    def __init__(self, folder: Path, spec: Spec) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from tutor.onnx_embed import threads

        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=spec.max_length, strategy=spec.truncation)
        options = ort.SessionOptions()
        # Side by side, one core a pair (the judge's way): the spotter's ~11 pairs of ~40 word pieces took 24 ms
        # on 2 cores against 43 ms as one padded batch on both (int8; padding was a third of the batch).
        options.intra_op_num_threads = 1 if spec.side_by_side else threads()
        self.session = ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
        self._pool = ThreadPoolExecutor(threads(), thread_name_prefix=spec.prefix) if spec.side_by_side else None

    def score(self, a: str, b: str) -> float:
        return float(self.scores(a, [b])[0])

    def scores(self, a: str, bs: list[str]) -> np.ndarray:
        """One score per (a, b)."""
        return self.pair_scores([(a, b) for b in bs])

    def pair_scores(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """One score per pair, each pair run alone at its own length."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        encs = self.tokenizer.encode_batch(pairs)
        run = self._pool.map if self._pool is not None else map
        return np.fromiter(run(self._run, encs), dtype=np.float32, count=len(encs))

    def _run(self, enc) -> float:
        feed = {"input_ids": np.array([enc.ids], np.int64), "attention_mask": np.array([enc.attention_mask], np.int64),
                "token_type_ids": np.array([enc.type_ids], np.int64)}
        return float(self.session.run(None, feed)[0][0])


def main(spec: Spec, doc: str, argv: list[str] | None = None) -> int:
    """`python -m <module> --export | --check` for one model."""
    parser = argparse.ArgumentParser(prog=f"python -m {spec.module}", description=doc.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="merge and export unless the export verifies")
    parser.add_argument("--force", action="store_true", help="with --export: export again")
    parser.add_argument("--check", action="store_true", help="verify only; exit 2 when missing or stale")
    args = parser.parse_args(argv)
    from tutor.onnx_export import offline

    offline()
    key = spec.module.rsplit(".", 1)[-1]
    try:
        if args.export:
            folder = export(spec, force=args.force)
            print(json.dumps({key: str(folder), "ok": True}))
            return 0
        issue = problem(spec)
        print(json.dumps({key: None if issue else str(export_dir(spec)), "ok": not issue, "problem": issue or None}))
        return 2 if issue else 0
    except ModelNotInstalled as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
