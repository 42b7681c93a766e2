"""`tutor eval`: golden sets → retrieval, answer and refusal metrics through a Tutor → a report dict.

Rows are classified by shape (DESIGN.md), so any mix of files works: `key_points` → question,
`label`/`score_band` → grading, only id + question → out of scope. Each file runs in conversation order
(a row with `previous` follows the row it names, with that conversation's history), exactly as
`tutor ask --from` does. Retrieval and answering are separate passes so the retrieval figures do not
depend on the backend, and an LLM backend's latency is not mixed into retrieval latency.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tutor import metrics as m
from tutor.answer import Answer
from tutor.batch import conversation_order, read_jsonl
from tutor.config import REPO_ROOT
from tutor.errors import CorpusError, UserError
from tutor.retrieve import Passage

GOLDEN_DIR = REPO_ROOT / "corpus" / "golden"
GRADE_LABELS = ("incorrect", "partial", "correct")  # ordered: quadratic kappa weighs distance
BUDGET_WORDS = 300
DEPTH = 20  # retrieved for diagnosis ("expected card at rank 12"); metrics use the top k
NOT_EVALUATED = "not evaluated yet"


class TutorLike(Protocol):
    def retrieve(self, question: str, k: int | None = None,
                 history: list[str] | None = None) -> tuple[str, list[Passage]]: ...

    def ask(self, question: str, history: list[str] | None = None, backend: str = "extractive",
            k: int | None = None) -> Answer: ...


Grader = Callable[[dict], tuple[str, float]]  # row -> (label, score 0..1); arrives with the grader issue


@dataclass
class GoldenFile:
    path: Path
    rows: list[dict]  # each tagged with "set": question | out_of_scope | grading


# ---- golden sets -------------------------------------------------------------------------------------

def golden_paths(given: list[str] | None) -> list[Path]:
    if given:
        return [Path(p) for p in given]
    paths = sorted(GOLDEN_DIR.glob("*.jsonl"))
    if not paths:
        raise UserError(f"no golden files in {GOLDEN_DIR}", fix="tutor eval --golden FILE.jsonl")
    return paths


def _key_points(raw: object, where: str) -> list[list[str]]:
    if not isinstance(raw, list) or not raw:
        raise CorpusError(f"{where}: `key_points` must be a non-empty list of lists of alternatives, "
                          'e.g. [["zero mean", "standardize"], ["gamma"]]')
    points = []
    for kp in raw:
        alts = [kp] if isinstance(kp, str) else kp
        if not isinstance(alts, list) or not alts or not all(isinstance(a, str) and a.strip() for a in alts):
            raise CorpusError(f"{where}: key point {kp!r} must be a list of non-empty strings")
        points.append(alts)
    return points


def classify(row: dict, where: str) -> str:
    """Which golden set a row belongs to, from its shape; malformed rows fail with file and id."""
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        raise CorpusError(f"{where}: `question` must be a non-empty string")
    if "label" in row or "score_band" in row:
        band = row.get("score_band")
        if row.get("label") not in GRADE_LABELS:
            raise CorpusError(f"{where}: `label` must be one of {', '.join(GRADE_LABELS)}")
        if not (isinstance(band, list) and len(band) == 2 and all(isinstance(x, int | float) for x in band)):
            raise CorpusError(f"{where}: `score_band` must be [lo, hi]")
        return "grading"
    if "key_points" in row:
        row["key_points"] = _key_points(row["key_points"], where)
        return "question"
    return "out_of_scope"


def load_golden(paths: Iterable[Path]) -> list[GoldenFile]:
    files = []
    for path in paths:
        rows = read_jsonl(path)
        for row in rows:
            row["set"] = classify(row, f"{path}: row `{row['id']}`")
            row["file"] = path.name
            if row["set"] == "question":
                row.setdefault("kind", "followup" if row.get("previous") else "direct")
                row.setdefault("topic", (row.get("card_id") or "").split("/")[0] or "(none)")
        files.append(GoldenFile(path, rows))
    return files


def select(rows: list[dict], limit: int | None) -> list[dict]:
    """At most `limit` rows per set, evenly spaced (files are often sorted by topic), plus the rows
    their `previous` links need so every conversation stays whole; input order is kept."""
    if not limit:
        return rows
    by_id = {r["id"]: r for r in rows}
    keep: set[str] = set()
    for name in ("question", "out_of_scope", "grading"):
        members = [r for r in rows if r["set"] == name]
        step = max(len(members) / limit, 1.0)
        for i in range(min(limit, len(members))):
            row = members[int(i * step)]
            while row is not None and row["id"] not in keep:
                keep.add(row["id"])
                row = by_id.get(str(row.get("previous"))) if row.get("previous") is not None else None
    return [r for r in rows if r["id"] in keep]


# ---- per-row measurement -----------------------------------------------------------------------------

def _conversations(rows: list[dict], step: Callable[[dict, list[str]], str], bar: object) -> None:
    """Call step(row, history) in conversation order; step returns the row's standalone question."""
    histories: dict[str, list[str]] = {}
    for row in conversation_order(rows):
        prev = row.get("previous")
        history = histories.get(str(prev), []) if prev is not None else []
        histories[row["id"]] = [*history, step(row, history)]
        bar.update(1)


def score_retrieval(row: dict, passages: list[Passage], k: int, budget: int) -> dict:
    texts = [p.text for p in passages]
    out = {"passages": [p.card_id or p.chunk_id for p in passages],
           "top_relevance": passages[0].relevance if passages else 0.0}
    if row["set"] != "question":
        return out
    kps, expected = row["key_points"], row.get("card_id")
    rank = m.first_relevant_rank([p.card_id for p in passages], expected) if expected else None
    gains = [1.0 if expected and p.card_id == expected else m.coverage(kps, p.text) for p in passages[:k]]
    ideal = gains if not expected or 1.0 in gains else [*gains, 1.0]
    out.update(hit=m.hit_at_k(kps, texts, k), budget_hit=m.budgeted_hit(kps, texts, budget),
               recall=m.recall_at_k(kps, texts, k), missed=m.missed_points(kps, "\n".join(texts[:k])),
               rank=rank, rr=m.reciprocal_rank(rank, k) if expected else None,
               ndcg=m.ndcg_at_k(gains, k, ideal))
    return out


def _resolve(answer: Answer, n: int) -> Passage | None:
    by_chunk = {p.chunk_id: p for p in answer.passages}
    for c in answer.citations:
        if c.n == n:
            return by_chunk.get(c.chunk_id)
    return next((p for p in answer.passages if p.rank == n), None)


def score_answer(row: dict, answer: Answer, judge: m.SupportJudge) -> dict:
    text = answer.answer
    out = {"refused": answer.refused, "n_citations": len(answer.citations), "answer_s": answer.latency_s,
           "first_token_s": answer.first_token_s, "answer_words": len(m.strip_markers(text).split()),
           "answer_excerpt": " ".join(text.split())[:160]}
    if row["set"] != "question":
        return out
    invalid, claims = [], m.cited_claims(text)
    for c in claims:
        p = _resolve(answer, c.n)
        if p is None:
            invalid.append(f"[{c.n}] cites no retrieved passage")
        elif judge.supports(c.claim, f"{p.title}\n{p.text}") is False:
            invalid.append(f"[{c.n}] does not support “{c.claim[:80]}”")
    sources = [f"{p.title}\n{p.text}" for p in answer.passages]
    verdicts = {s: [judge.supports(s, src) for src in sources] for s in map(m.strip_markers, m.split_sentences(text))}
    judged = {s: any(v) for s, v in verdicts.items() if not all(x is None for x in v)} if sources else {}
    out.update(coverage=m.coverage(row["key_points"], text), answer_missed=m.missed_points(row["key_points"], text),
               citations_total=len(claims), invalid_citations=invalid, sentences_judged=len(judged),
               unsupported=[s[:120] for s, ok in judged.items() if not ok] if not answer.refused else [])
    return out


# ---- the run -----------------------------------------------------------------------------------------

def evaluate(tutor: TutorLike, files: list[GoldenFile], backend: str = "extractive", k: int = 5,
             limit: int | None = None, progress: bool = False, grader: Grader | None = None,
             budget: int = BUDGET_WORDS) -> tuple[dict, list[dict]]:
    """Run every asked row through retrieval and answering; returns (report, per-row records)."""
    from tqdm import tqdm

    from tutor.summarize import build_report

    t_start = time.perf_counter()
    runs = [(f, select([r for r in f.rows], limit)) for f in files]
    asked = [[r for r in rows if r["set"] != "grading"] for _, rows in runs]
    records: dict[tuple[str, str], dict] = {}
    for rows in asked:
        for r in rows:
            records[(r["file"], r["id"])] = {key: r.get(key) for key in
                                             ("id", "file", "set", "kind", "topic", "card_id", "question")}
    t0 = time.perf_counter()
    tutor.retrieve("What is a neural network?", k)  # loads embedder + index: not a per-question latency
    tutor.ask("What is a neural network?", [], backend, k)
    warmup = time.perf_counter() - t0
    judge = m.SupportJudge(getattr(tutor, "embedder", None) if backend != "extractive" else None)
    total = sum(len(rows) for rows in asked)

    with tqdm(total=2 * total, desc=f"eval ({backend})", unit="q", file=sys.stderr, disable=not progress) as bar:
        def retrieve_step(row: dict, history: list[str]) -> str:
            t = time.perf_counter()
            standalone, passages = tutor.retrieve(row["question"], max(k, DEPTH), history)
            rec = records[(row["file"], row["id"])]
            rec.update(standalone=standalone, retrieve_s=time.perf_counter() - t)
            rec.update(score_retrieval(row, passages, k, budget))
            return standalone

        def answer_step(row: dict, history: list[str]) -> str:
            answer = tutor.ask(row["question"], history, backend, k)
            records[(row["file"], row["id"])].update(score_answer(row, answer, judge))
            return answer.standalone

        for rows in asked:
            _conversations(rows, retrieve_step, bar)
        for rows in asked:
            _conversations(rows, answer_step, bar)

    grading_rows = [r for _, rows in runs for r in rows if r["set"] == "grading"]
    run_config = {"backend": backend, "k": k, "budget_words": budget, "depth": max(k, DEPTH), "limit": limit,
                  "golden": [_file_counts(f.path, rows) for f, rows in runs], "warmup_s": warmup,
                  "seconds": None, "machine": machine_info(), **_tutor_info(tutor)}
    rows = list(records.values())
    report = build_report(rows, grading_rows, run_config, grader)
    report["config"]["seconds"] = round(time.perf_counter() - t_start, 2)
    return report, rows


def _file_counts(path: Path, rows: list[dict]) -> dict:
    counts = {name: sum(r["set"] == name for r in rows) for name in ("question", "out_of_scope", "grading")}
    return {"path": str(path), **counts}


def _tutor_info(tutor: object) -> dict:
    config = getattr(tutor, "config", None)
    info = {"min_relevance": getattr(config, "min_relevance", None), "model": getattr(config, "llm_model", None)}
    try:
        manifest = tutor.index.manifest  # type: ignore[attr-defined]
        info["index"] = {key: manifest.get(key) for key in ("embed_model", "n_chunks", "n_cards", "built_at")}
        info["index"]["sources"] = sorted(manifest.get("corpus_sha256", {}))[:0] or len(manifest.get("corpus_sha256", {}))
    except AttributeError:
        info["index"] = None
    return info


def machine_info() -> dict:
    """Cores and CPU model: every figure in a report or bench is only meaningful next to these."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(), "system": platform.system()}
