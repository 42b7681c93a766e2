"""The answer reader: MiniLM as a cross-encoder that reads the rubric and the learner's whole answer together.

Why: every other grading signal looks at one learner statement beside one key point (MiniLM cosines, the
keyword and polarity rules, the contradiction judge), so an answer that is right sentence by sentence but
wrong as a whole, or terse but complete, is read piece by piece. A cross-encoder reads the card's key
points and misconceptions and the answer in one pass and says how good the whole answer is. No such model
installs offline, so we train one: a low-rank delta (LoRA, rank 16, on every Linear of the six layers) plus
a linear head over mean-pooled tokens, on top of the packaged all-MiniLM-L6-v2, fitted to the band centres
of the golden grading set's dev rows (`python -m tutor.reader_train`). The delta ships in the package
(tutor/data/grade_reader.safetensors, ~2.7 MB, sha256 in the sidecar); `make install` merges it into the
MiniLM weights and exports one ONNX graph (pooling, head and sigmoid inside) under $TUTOR_HOME/embedders.

Like the judge, it never sets a score: its output is one feature (`reader`) of the learned grader, whose
weights are fitted on out-of-fold reader outputs for the dev rows (the reader saw those rows in training;
`tutor eval` reads the same out-of-fold outputs for them, from the sidecar). It moves the label only
(`LABEL_ONLY` in tutor/grade_model.py): read in the score too, it placed answers badly inside their band
on a fresh round by a new author on 17 cards it had never seen (68 answers: in band .750 against .853
without it; label-only .824, agreement .882 against .897). Session 30, `tutor eval` at 1843 rows (in band /
label agreement / QWK): test split .776 / .808 / .800 (the judged model without the reader, refitted on
the same rows, .737 / .776 / .757 by its prediction alone), dev 5-fold CV .772 / .811 / .815, 8 fold seeds
.773 / .808 / .808; p50 110 ms a grade (69 without it, bench/grade_speed.py). Alone (label from its 0-1
output × 10) it agrees with the golden label on about .61 of rows: a strong signal beside the others,
not a grader. Measured first on a GPU with peft (bench notes in tutor/reader_train.py): full fine-tuning,
LoRA and a reference-answer rubric all landed within .01 of each other; the rubric of key points and
misconceptions with LoRA ships, since its delta is 2.7 MB where a fine-tuned copy would be 90.

    python -m tutor.reader --export     # merge and export (make install); a second run verifies
    python -m tutor.reader --check      # exit 2 when the export is missing, stale or corrupt
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import numpy as np

from tutor.config import data_home
from tutor.errors import ModelNotInstalled
from tutor.index import sha256_file

DELTA_FILE = "grade_reader.safetensors"
SIDECAR_FILE = "grade_reader.json"
MAX_LENGTH = 384  # word pieces of (rubric, answer); the rubric ~230, so answers keep ~150 at worst
GRAPH = "model.onnx"
TOKENIZER = "tokenizer.json"
FORMAT_VERSION = 1
FIX = "make install  (or: python -m tutor.reader --export)"
OPSET = 17


def rubric_text(question: str, points: list[str], misconceptions: list[str]) -> str:
    """The first text of the pair, exactly as the reader was trained on it."""
    text = f"{question} Key points: {'; '.join(points)}."
    return text + (f" Wrong beliefs: {'; '.join(misconceptions)}." if misconceptions else "")


def delta_dir() -> Path:
    return Path(str(resources.files("tutor") / "data"))


def delta_meta(folder: Path | None = None) -> dict:
    """The sidecar of the packaged delta, after checking the delta against its sha256."""
    folder = folder or delta_dir()
    path, sidecar = folder / DELTA_FILE, folder / SIDECAR_FILE
    if not path.is_file() or not sidecar.is_file():
        raise ModelNotInstalled(f"the grading reader's weights are missing ({path})", fix="reinstall the package")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        expected = str(meta["sha256"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ModelNotInstalled(f"{sidecar} is unreadable ({exc})", fix="reinstall the package") from None
    if sha256_file(path) != expected:
        raise ModelNotInstalled(f"{path} does not match its sha256", fix="reinstall the package")
    return meta


def reader_dir(meta: dict | None = None) -> Path:
    """$TUTOR_READER_DIR, else one folder per delta under $TUTOR_HOME (a retrained reader never loads an old
    export; tests pin the first so that a test with a private TUTOR_HOME still finds the export)."""
    explicit = os.environ.get("TUTOR_READER_DIR")
    if explicit:
        return Path(explicit)
    meta = meta or delta_meta()
    return data_home() / "embedders" / f"grade-reader-{meta['sha256'][:12]}"


def save_delta(tensors: dict[str, np.ndarray], folder: Path, meta: dict) -> str:
    """Write the factors (`NAME.A`, `NAME.B` with the LoRA scale folded into B) and the head, then the sidecar."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sorted(tensors.items())},
              str(folder / DELTA_FILE))
    (folder / DELTA_FILE).chmod(0o644)
    digest = sha256_file(folder / DELTA_FILE)
    sidecar = {**meta, "file": DELTA_FILE, "sha256": digest, "bytes": (folder / DELTA_FILE).stat().st_size,
               "max_length": MAX_LENGTH}
    (folder / SIDECAR_FILE).write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
    return digest


def cross_encoder(bert):
    """The reader around a BertModel: mean pooling over the pair's tokens, a linear head and a sigmoid (the
    trainer's model and the exported graph are this one module)."""
    import torch

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            return torch.sigmoid(self.head((h * m).sum(1) / m.sum(1)).squeeze(-1))

    return Reader()


def build_module(tensors: dict[str, np.ndarray]):
    """The torch cross-encoder: packaged MiniLM + merged delta, and the trained head (install time)."""
    import torch

    from tutor.adapt import Delta, merge
    from tutor.onnx_export import _load_bert

    _, bert = _load_bert(attention="eager")
    factors = {key[:-2]: (tensors[key], tensors[f"{key[:-2]}.B"]) for key in tensors if key.endswith(".A")}
    merge(bert, Delta(factors, "", {}), what="the grading reader's delta", fix=FIX)
    module = cross_encoder(bert)
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(tensors["head.weight"]))
        module.head.bias.copy_(torch.from_numpy(tensors["head.bias"]))
    return module.eval()


def export(force: bool = False) -> Path:
    """Merge and export when the folder for this delta does not verify; return the folder."""
    meta = delta_meta()
    folder = reader_dir(meta)
    if not force:
        try:
            _verify(folder, meta)
            return folder
        except ModelNotInstalled:
            pass
    import torch
    from safetensors.numpy import load_file

    tensors = load_file(str(delta_dir() / DELTA_FILE))
    module = build_module(tensors)
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".export-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        ids = torch.ones(2, 16, dtype=torch.long)
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad():
            torch.onnx.export(module, (ids, ids, torch.zeros_like(ids)), str(scratch / GRAPH), input_names=names,
                              output_names=["score"], dynamic_axes={**{n: axes for n in names}, "score": {0: "batch"}},
                              opset_version=OPSET, dynamo=False)
        from tutor.onnx_export import source_dir

        shutil.copyfile(source_dir() / TOKENIZER, scratch / TOKENIZER)
        manifest = {"format_version": FORMAT_VERSION, "delta_sha256": meta["sha256"], "max_length": MAX_LENGTH,
                    "torch": torch.__version__, "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "files": {n: sha256_file(scratch / n) for n in (GRAPH, TOKENIZER)}}
        (scratch / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for name in (GRAPH, TOKENIZER, "manifest.json"):  # the manifest last: it is what verifies
            os.replace(scratch / name, folder / name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return folder


def _verify(folder: Path, meta: dict) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ModelNotInstalled(f"the grading reader is not exported ({folder})", fix=FIX) from None
    if manifest.get("delta_sha256") != meta["sha256"] or manifest.get("format_version") != FORMAT_VERSION:
        raise ModelNotInstalled("the grading reader's export is stale", fix=FIX)
    for name, digest in manifest.get("files", {}).items():
        if not (folder / name).is_file() or sha256_file(folder / name) != digest:
            raise ModelNotInstalled(f"the grading reader's {name} is missing or corrupt", fix=FIX)
    return manifest


class Reader:
    """The exported reader on onnxruntime: one (rubric, answer) pair in, a 0-1 score out."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from tutor.onnx_embed import threads

        self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_LENGTH, strategy="longest_first")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        self.session = ort.InferenceSession(str(folder / GRAPH), options, providers=["CPUExecutionProvider"])
        self._lock = threading.Lock()

    def score(self, rubric: str, answer: str) -> float:
        enc = self.tokenizer.encode(rubric, answer)
        feed = {"input_ids": np.array([enc.ids], np.int64), "attention_mask": np.array([enc.attention_mask], np.int64),
                "token_type_ids": np.array([enc.type_ids], np.int64)}
        with self._lock:
            return float(self.session.run(None, feed)[0][0])


def problem() -> str:
    """Why the reader cannot run, or "" when its export verifies."""
    try:
        _verify(reader_dir(), delta_meta())
    except ModelNotInstalled as exc:
        return str(exc)
    return ""


@functools.lru_cache(maxsize=1)
def _load() -> Reader:
    meta = delta_meta()
    folder = reader_dir(meta)
    _verify(folder, meta)
    return Reader(folder)


def load_reader(required: bool = False) -> Reader | None:
    """The installed reader; None (or ModelNotInstalled when `required`) when it is not exported, and None
    with TUTOR_READER=off (the grader then uses the judged model, as before the reader)."""
    if os.environ.get("TUTOR_READER", "").lower() in ("off", "0", "no") and not required:
        return None
    try:
        return _load()
    except ModelNotInstalled:
        if required:
            raise
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.reader", description=__doc__.splitlines()[0])
    parser.add_argument("--export", action="store_true", help="merge and export unless the export verifies")
    parser.add_argument("--force", action="store_true", help="with --export: export again")
    parser.add_argument("--check", action="store_true", help="verify only; exit 2 when missing or stale")
    args = parser.parse_args(argv)
    from tutor.onnx_export import offline

    offline()
    try:
        if args.export:
            folder = export(force=args.force)
            print(json.dumps({"reader": str(folder), "ok": True}))
            return 0
        issue = problem()
        print(json.dumps({"reader": None if issue else str(reader_dir()), "ok": not issue,
                          "problem": issue or None}))
        return 2 if issue else 0
    except ModelNotInstalled as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
