"""The CI gate of `tutor eval`: thresholds measured on the golden *test* split, with a stated margin.

`tutor eval --write-gate` writes eval_gate.json from a run, so the recorded values are never stale, and
every threshold sits the same number of rows (MARGIN_ROWS) below what was measured: a regression of a
few questions fails CI whichever metric it hits, while one question flipping under load or a different
BLAS does not. Thresholds come from the test split alone because the dev split is what was tuned on.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from tutor.errors import UserError
from tutor.report import lookup

MARGIN_ROWS = 2
GATE_SPLIT = "test"
# (metric in a split section, "min" or "max", the count its mean is taken over)
GATED = (
    ("retrieval.hit_at_{k}", "min", "retrieval.n"),
    ("retrieval.mrr", "min", "retrieval.n_with_card"),
    ("answers.coverage", "min", "answers.n"),
    ("refusal.recall", "min", "refusal.n_out_of_scope"),
    ("refusal.false_refusal_rate", "max", "refusal.n_in_scope"),
    # grading: over the test split's gate sample (tutor.split.gate_sample), the rows the CI gate grades
    ("grading.gate_sample.label_agreement", "min", "grading.gate_sample.n"),
    ("grading.gate_sample.share_in_score_band", "min", "grading.gate_sample.n"),
    ("grading.gate_sample.manipulation_above_band", "max", "grading.gate_sample.n"),
)


def check_gate(report: dict, gate: dict) -> list[str]:
    """Each threshold the report crosses, as a sentence; an empty list means the gate passes."""
    failures = []
    for key, bound in gate["thresholds"].items():
        value = lookup(report, key)
        if not isinstance(value, int | float):
            failures.append(f"{key} is missing from the report (no rows of that kind or split? "
                            "run `tutor eval --assign-splits`)")
        elif "min" in bound and value < bound["min"]:
            failures.append(f"{key} = {value:.3f} is below the gate's minimum {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failures.append(f"{key} = {value:.3f} is above the gate's maximum {bound['max']}")
    return failures


def gate_from_report(report: dict, margin_rows: int = MARGIN_ROWS, split: str = GATE_SPLIT) -> dict:
    """The gate file's content: each GATED metric of `split`, measured, and its threshold."""
    c = report["config"]
    part = (report.get("splits") or {}).get(split)
    if not part:
        raise UserError(f"the golden rows carry no `{split}` split, so there is nothing to set a gate from",
                        fix="tutor eval --assign-splits  (then commit corpus/golden)")
    index = c.get("index") or {}
    if index and index.get("n_sources") != index.get("n_cards"):
        raise UserError(
            f"this index holds {index.get('n_sources')} sources for {index.get('n_cards')} cards; CI gates an "
            "index of corpus/cards alone", fix="tutor --index /tmp/gate-index ingest --only corpus/cards && "
            "tutor --index /tmp/gate-index eval --write-gate")
    thresholds, measured = {}, {}
    for template, bound, count in GATED:
        key = template.format(k=c["k"])
        value, n = lookup(part, key), lookup(part, count)
        if not isinstance(value, int | float) or not n:
            continue
        slack = margin_rows / n
        limit = math.floor((value - slack) * 1000) / 1000 if bound == "min" else \
            math.ceil((value + slack) * 1000) / 1000
        full = f"splits.{split}.{key}"
        thresholds[full] = {bound: max(0.0, min(1.0, limit))}
        dev = lookup(report, f"splits.dev.{key}")
        measured[full] = {"value": round(value, 4), "n": n, "slack_per_row": round(1 / n, 4),
                          "dev": None if dev is None else round(dev, 4), "all": _round(lookup(report, key))}
    machine = c.get("machine") or {}
    return {
        "why": (f"CI gate of `tutor eval` (tests/test_eval_gate.py; also `tutor eval --gate eval_gate.json`): "
                f"backend {c['backend']}, k={c['k']}, the `{split}` split of corpus/golden (never tuned on; see "
                f"corpus/golden/README.md), an index of corpus/cards alone. Each threshold is the measured value "
                f"less {margin_rows} rows' worth ({margin_rows}/n), so a regression of {margin_rows + 1} or more "
                "rows on any gated metric fails. Regenerate with the command below; lower a bar only on purpose, "
                "in review."),
        "command": "tutor --index DIR ingest --only corpus/cards && tutor --index DIR eval --write-gate",
        "backend": c["backend"],
        "k": c["k"],
        "split": split,
        "margin_rows": margin_rows,
        "thresholds": thresholds,
        "measured": measured,
        "measured_on": {"date": time.strftime("%Y-%m-%d", time.gmtime()), "cores": machine.get("cores"),
                        "cpu": machine.get("cpu"), "min_relevance": c.get("min_relevance"),
                        "index_chunks": index.get("n_chunks"), "index_cards": index.get("n_cards")},
    }


def _round(value: object) -> object:
    return round(value, 4) if isinstance(value, float) else value


def write_gate(report: dict, path: Path, margin_rows: int = MARGIN_ROWS) -> dict:
    gate = gate_from_report(report, margin_rows)
    path.write_text(json.dumps(gate, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return gate
