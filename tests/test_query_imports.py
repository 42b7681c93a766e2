"""The query path stays torch-free: a cold `tutor ask --backend extractive` and `tutor retrieve` must not
import torch, transformers, sentence-transformers or LangChain (they cost seconds and ~600 MB per call).

Each command runs in a fresh interpreter through `tutor.cli.main`, which then prints the top-level
modules it has loaded; the real ONNX embedder answers over a small index of the fixture cards.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import cli_env

from tutor.config import REPO_ROOT

FORBIDDEN = ("torch", "transformers", "sentence_transformers", "langchain", "langchain_core", "langchain_openai",
             "langchain_text_splitters", "openai", "xllamacpp")
DRIVER = """
import io, json, sys, contextlib
from tutor.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def _loaded(args: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", DRIVER, *args], env=cli_env(TUTOR_EMBEDDER="onnx", TUTOR_BACKEND=None),
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("command", [
    ["ask", "--backend", "extractive", "--no-stream", "What does the softmax function do?"],
    ["ask", "--backend", "extractive", "--json", "how do you choose the learning rate"],
    ["retrieve", "-k", "3", "What does the softmax function do?"],
])
def test_query_path_imports_no_torch_and_no_langchain(minilm_cards_index, command):
    result = _loaded(["--index", str(minilm_cards_index.index_dir), *command])
    assert result["rc"] == 0
    assert not [m for m in FORBIDDEN if m in result["modules"]]
    # BM25 is read from the arrays ingest wrote: bm25s and scipy (~0.3 s of imports) stay out too.
    assert not [m for m in ("bm25s", "scipy") if m in result["modules"]]
    assert "onnxruntime" in result["modules"]  # the real embedder answered, not a fake


def test_building_the_cli_parser_imports_nothing_heavy():
    """`tutor --help` pays for this only; argparse exits on --help, so build the parser directly."""
    code = ("import sys, json; from tutor.cli import build_parser; build_parser(); "
            "print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], env=cli_env(),
                          capture_output=True, text=True, timeout=120)
    loaded = json.loads(done.stdout)
    modules = {m.split(".")[0] for m in loaded}
    assert not [m for m in (*FORBIDDEN, "numpy", "faiss", "onnxruntime", "bm25s") if m in modules]
    # The ≤ 0.1 s budget: not even the config dataclass (dataclasses → inspect) or the progress store.
    assert not [m for m in ("tutor.config", "tutor.progress", "dataclasses", "inspect", "uuid") if m in loaded]
