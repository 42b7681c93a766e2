"""CI gate: the real index of corpus/cards, the real embedder, the extractive backend, corpus/golden.

Fails when a gated metric of the golden *test* split (never tuned on; corpus/golden/README.md) crosses
its threshold in eval_gate.json: retrieval hit@5 and MRR, key-point coverage, refusal recall and the
false-refusal rate, and grading label agreement, share in band and manipulation above band over the
split's fixed gate sample (a quarter of it, small categories whole: tutor/split.py), each set by
`tutor eval --write-gate` at the measured value less two rows' worth, so a regression of three questions
or answers on any of them fails. The index holds the cards alone (the seed article
under ../shared is not part of a clone): the session's repo index when that is what it holds, else a tmp one.
"""

from __future__ import annotations

import json

import pytest

from tutor.config import REPO_ROOT, Config, default_sources
from tutor.evaluate import GATE_FILE, GOLDEN_DIR, check_gate, evaluate, golden_paths, load_golden
from tutor.report import headline, write_report
from tutor.split import gate_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cards_index(request, tmp_path_factory) -> Config:
    if not (GOLDEN_DIR / "questions.jsonl").is_file():
        pytest.skip("corpus/golden/questions.jsonl is absent: no golden questions to gate on")
    cards = (REPO_ROOT / "corpus" / "cards",)
    if tuple(default_sources()) == cards:
        # A clone without ../shared (CI): the repo's index is this very cards index, built once for the
        # session by the browser tests' fixture; building it again here cost ~40 s of `make test`.
        return Config(index_dir=request.getfixturevalue("real_index"), sources=cards)
    from tutor.embed import MiniLMEmbedder
    from tutor.ingest import ingest

    config = Config(index_dir=tmp_path_factory.mktemp("gate") / "index", sources=cards)
    ingest(config, MiniLMEmbedder, MiniLMEmbedder.name, progress=False)
    return config


def test_extractive_eval_on_the_golden_sets_meets_the_gate(cards_index, tmp_path):
    from tutor.tutor import Tutor

    gate = json.loads(GATE_FILE.read_text(encoding="utf-8"))
    files = load_golden(golden_paths(None))
    # The gate reads the test split alone (conversations never cross splits), and of its grading rows the
    # gate sample (tutor/split.py) its bars were measured on: dev rows would double the time and gate nothing.
    test = [r for f in files for r in f.rows if r.get("split") == "test"]
    graded = [r for r in test if r["set"] == "grading"]
    keep = {id(r) for r in test if r["set"] != "grading"} | {id(graded[i]) for i in gate_sample(graded)}
    for f in files:
        f.rows = [r for r in f.rows if id(r) in keep]
    report, rows = evaluate(Tutor(cards_index), files, backend=gate["backend"], k=gate["k"], compare=False)
    write_report(report, rows, tmp_path / "report")  # report.md there says which rows failed, and why
    assert report["splits"]["test"]["n_questions"] >= 100, "the test split is missing or tiny: tutor eval --assign-splits"
    failures = check_gate(report, gate)
    assert not failures, "\n".join([*failures, headline(report), f"details: {tmp_path / 'report' / 'report.md'}"])
