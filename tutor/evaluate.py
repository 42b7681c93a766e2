"""`tutor eval`: golden sets → retrieval, answer and refusal metrics through a Tutor → report + diffs.

Rows are classified by shape (DESIGN.md), so any mix of files works: `key_points` → question,
`label`/`score_band` → grading, only id + question → out of scope. Each file runs in conversation order
(a row with `previous` follows the row it names, with that conversation's history), as `tutor ask
--from` does. Retrieval and answering are separate passes, so retrieval figures do not depend on the
backend and an LLM's latency is not mixed into retrieval latency. The retriever remembers query vectors
(`Retriever.query_vectors`), so the answer pass does not embed a question again: `retrieve_s` includes the
query's embedding (≈ 2-5 ms), `answer_s` does not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
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
from tutor.config import REPO_ROOT, Config
from tutor.errors import CorpusError, UserError
from tutor.gate import check_gate
from tutor.report import GRADE_LABELS, Grader, build_report
from tutor.retrieve import Passage
from tutor.split import SPLITS

GOLDEN_DIR = REPO_ROOT / "corpus" / "golden"
GATE_FILE = REPO_ROOT / "eval_gate.json"
BUDGET_WORDS = 300
SETS = ("question", "out_of_scope", "grading")


class TutorLike(Protocol):
    def retrieve(self, question: str, k: int | None = None,
                 history: list[str] | None = None) -> tuple[str, list[Passage]]: ...

    def ask(self, question: str, history: list[str] | None = None, backend: str | None = None,
            k: int | None = None, model: str | None = None) -> Answer: ...


@dataclass
class GoldenFile:
    path: Path
    rows: list[dict]  # each tagged with "set" (one of SETS) and "file"


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
    """Which golden set a row belongs to, from its shape; a malformed row fails naming file and id."""
    if not isinstance(row.get("question"), str) or not row["question"].strip():
        raise CorpusError(f"{where}: `question` must be a non-empty string")
    if "label" in row or "score_band" in row:
        band = row.get("score_band")
        if row.get("label") not in GRADE_LABELS:
            raise CorpusError(f"{where}: `label` must be one of {', '.join(GRADE_LABELS)}")
        if not (isinstance(band, list) and len(band) == 2 and all(isinstance(x, int | float) for x in band)):
            raise CorpusError(f"{where}: `score_band` must be [lo, hi], e.g. [0.7, 1.0]")
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
            if "split" in row and row["split"] not in SPLITS:
                raise CorpusError(f"{path}: row `{row['id']}`: `split` must be one of {', '.join(SPLITS)}")
            row["file"] = path.name
            if row["set"] == "question":
                row.setdefault("kind", "followup" if row.get("previous") else "direct")
                row.setdefault("topic", (row.get("card_id") or "").split("/")[0] or "(none)")
        files.append(GoldenFile(path, rows))
    return files


def select(files: list[GoldenFile], limit: int | None) -> list[tuple[GoldenFile, list[dict]]]:
    """About `limit` rows in all, evenly spaced over the files (which are often sorted by topic, and
    keep their proportions), plus the rows their `previous` links need so conversations stay whole."""
    if not limit:
        return [(f, f.rows) for f in files]
    everything = [(n, row) for n, f in enumerate(files) for row in f.rows]
    step = max(len(everything) / limit, 1.0)
    keep: set[tuple[int, str]] = set()
    by_id = [{r["id"]: r for r in f.rows} for f in files]
    for i in range(min(limit, len(everything))):
        n, row = everything[int(i * step)]
        while row is not None and (n, row["id"]) not in keep:
            keep.add((n, row["id"]))
            row = by_id[n].get(str(row["previous"])) if row.get("previous") is not None else None
    return [(f, [r for r in f.rows if (n, r["id"]) in keep]) for n, f in enumerate(files)]


# ---- scoring one row ---------------------------------------------------------------------------------

def score_retrieval(row: dict, passages: list[Passage], k: int, budget: int) -> dict:
    texts = [p.text for p in passages]
    out: dict = {"passages": [p.card_id or p.chunk_id for p in passages],
                 "top_relevance": passages[0].relevance if passages else 0.0}
    if row["set"] != "question":
        return out
    kps, expected = row["key_points"], row.get("card_id")
    rank = m.first_relevant_rank([p.card_id for p in passages], expected) if expected else None
    # Graded gain: the expected card is fully relevant; any other passage by the key points it covers.
    gains = [1.0 if expected and p.card_id == expected else m.coverage(kps, p.text) for p in passages[:k]]
    ideal = gains if not expected or rank is not None else [*gains, 1.0]
    out.update(hit=m.hit_at_k(kps, texts, k), budget_hit=m.budgeted_hit(kps, texts, budget),
               recall=m.recall_at_k(kps, texts, k), missed=m.missed_points(kps, "\n".join(texts[:k])),
               rank=rank, rr=m.reciprocal_rank(rank, k) if expected else None,
               ndcg=m.ndcg_at_k(gains, k, ideal))
    return out


def _cited_passage(answer: Answer, n: int) -> Passage | None:
    by_chunk = {p.chunk_id: p for p in answer.passages}
    for c in answer.citations:
        if c.n == n:
            return by_chunk.get(c.chunk_id)
    return next((p for p in answer.passages if p.rank == n), None)


# What an LLM answer records about its own cost (tutor/chain.py), summarized in the report's latency block.
# `lead`: what was shown before the model's words (key_points | closest | correction); `dropped_sentences`:
# unsupported sentences removed from a kept model answer.
LLM_FIGURES = ("prompt_tokens", "cached_tokens", "generated_tokens", "condensed", "first_shown_s", "lead",
               "dropped_sentences", "correction")


def score_answer(row: dict, answer: Answer, judge: m.SupportJudge) -> dict:
    text = answer.answer
    out: dict = {"refused": answer.refused, "match": answer.to_dict()["match"],
                 "n_citations": len(answer.citations), "answered_by": answer.backend,
                 "answer_s": answer.latency_s, "first_token_s": answer.first_token_s,
                 "answer_words": len(m.strip_markers(text).split()),
                 "answer_excerpt": " ".join(text.split())[:160], "notice": answer.notice,
                 **{key: answer.extra[key] for key in LLM_FIGURES if answer.extra.get(key) is not None}}
    if answer.model_text is not None:  # why a fallback happened, and what the model alone would have covered
        out["model_text"] = answer.model_text
        if row["set"] == "question":  # without the card's key points shown before it (tutor/lead.py)
            out["model_coverage"] = m.coverage(row["key_points"], answer.model_text)
    if row["set"] != "question":
        return out
    # The suggested next question (chain.py appends it) asks, it does not claim: never judged for support.
    follow_up = answer.extra.get("follow_up")
    suffix = f"\n\nFollow-up: {follow_up}"
    if follow_up and text.endswith(suffix):
        text = text[: -len(suffix)]
    claims, invalid = m.cited_claims(text), []
    for c in claims:
        p = _cited_passage(answer, c.n)
        if p is None:
            invalid.append(f"[{c.n}] cites no retrieved passage")
        elif judge.supports(c.claim, f"{p.title}\n{p.text}") is False:
            invalid.append(f"[{c.n}] does not support “{c.claim[:80]}”")
    sources = [f"{p.title}\n{p.text}" for p in answer.passages]
    judged: dict[str, bool] = {}
    for sentence in map(m.strip_markers, m.split_sentences(text)):
        verdicts = [judge.supports(sentence, src) for src in sources]
        if any(v is not None for v in verdicts):
            judged[sentence] = any(verdicts)
    out.update(coverage=m.coverage(row["key_points"], text),
               answer_missed=m.missed_points(row["key_points"], text), citations_total=len(claims),
               invalid_citations=invalid, sentences_judged=0 if answer.refused else len(judged),
               unsupported=[] if answer.refused else [s[:120] for s, ok in judged.items() if not ok])
    return out


# ---- the run -----------------------------------------------------------------------------------------

def in_conversations(rows: list[dict], step: Callable[[dict, list[str]], str], bar: object = None) -> None:
    """step(row, history) in conversation order; step returns the row's standalone question."""
    histories: dict[str, list[str]] = {}
    for row in conversation_order(rows):
        prev = row.get("previous")
        history = histories.get(str(prev), []) if prev is not None else []
        histories[row["id"]] = [*history, step(row, history)]
        if bar is not None:
            bar.update(1)


def evaluate(tutor: TutorLike, files: list[GoldenFile], backend: str = "extractive", k: int = 5,
             limit: int | None = None, progress: bool = False, grader: Grader | None = None,
             budget: int = BUDGET_WORDS, model: str | None = None,
             compare: bool = True) -> tuple[dict, list[dict]]:
    """Every asked row through retrieval, then answering; returns (report, per-row records).

    `compare=False`: grading without the rule-score and baseline comparisons (the CI gate's choice).
    """
    from tqdm import tqdm

    started = time.perf_counter()
    runs = select(files, limit)
    asked = [[r for r in rows if r["set"] != "grading"] for _, rows in runs]
    fields = ("id", "file", "set", "split", "kind", "topic", "card_id", "question")
    records = {(r["file"], r["id"]): {key: r.get(key) for key in fields} for rows in asked for r in rows}
    t0 = time.perf_counter()
    tutor.retrieve("What is a neural network?", k)  # loads embedder and index: not a question's latency
    tutor.ask("What is a neural network?", [], backend=backend, k=k, model=model)
    warmup = time.perf_counter() - t0
    judge = m.SupportJudge(getattr(tutor, "embedder", None) if backend != "extractive" else None)

    def retrieve_step(row: dict, history: list[str]) -> str:
        t = time.perf_counter()
        standalone, passages = tutor.retrieve(row["question"], k, history)
        record = records[(row["file"], row["id"])]
        record.update(standalone=standalone, retrieve_s=time.perf_counter() - t)
        record.update(score_retrieval(row, passages, k, budget))
        return standalone

    def answer_step(row: dict, history: list[str]) -> str:
        answer = tutor.ask(row["question"], history, backend=backend, k=k, model=model)
        records[(row["file"], row["id"])].update(score_answer(row, answer, judge))
        return answer.standalone

    total = 2 * len(records)
    with tqdm(total=total, desc=f"eval {backend}", unit="q", file=sys.stderr, disable=not progress) as bar:
        for step in (retrieve_step, answer_step):
            for rows in asked:
                in_conversations(rows, step, bar)

    config = {"backend": backend, "model": model, "k": k, "budget_words": budget, "limit": limit,
              "golden": [{"path": str(f.path), **{s: sum(r["set"] == s for r in rows) for s in SETS}}
                         for f, rows in runs],
              "warmup_s": warmup, "seconds": None, "machine": machine_info(), **_tutor_info(tutor)}
    rows = list(records.values())
    grading_rows = [r for _, rs in runs for r in rs if r["set"] == "grading"]
    report = build_report(rows, grading_rows, config, grader)
    if grading_rows and grader is None and hasattr(tutor, "grader"):  # the rubric grader: evaluate_grading.py
        from tutor.evaluate_grading import attach_splits, grading_section

        report["grading"] = grading_section(tutor.grader, grading_rows, compare=compare, per_row=rows)
        attach_splits(report)
    report["config"]["seconds"] = round(time.perf_counter() - started, 2)
    return report, rows


def _tutor_info(tutor: object) -> dict:
    config = getattr(tutor, "config", None)
    info: dict = {"min_relevance": getattr(config, "min_relevance", None), "index": None}
    manifest = getattr(getattr(tutor, "index", None), "manifest", None)
    if isinstance(manifest, dict):
        info["index"] = {key: manifest.get(key) for key in ("embed_model", "n_chunks", "n_cards", "built_at")}
        info["index"]["n_sources"] = len(manifest.get("corpus_sha256", {}))
    return info


def machine_info() -> dict:
    """Cores and CPU model: a timing means little without them."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError, StopIteration):  # not Linux, or a CPU that names no model
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    return {"cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version()}


# ---- --compare and the CI gate -----------------------------------------------------------------------

_LOWER_IS_BETTER = ("false_refusal_rate", "unsupported_sentence_rate", "uncited_rate", "refusals_with_citations",
                    "mae_to_band_centre", "manipulation_above_band")
# Counts depend on how many rows ran; means and the warm-up of latency are dominated by outliers and load.
_NOT_COMPARED = ("worst", "first_relevant_rank", "config", "confusion_matrix", "answer_words", "status",
                 "refused", "mean", "warmup_s")
GROUP_NOISE = 0.05  # a per-topic or per-kind move smaller than this is one or two questions flipping


def _leaves(d: dict, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in d.items():
        if key in _NOT_COMPARED or key == "n" or key.startswith("n_"):
            continue
        if isinstance(value, dict):
            out.update(_leaves(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out


def _row_flips(old_rows: Path, new_rows: list[dict]) -> list[str]:
    lines_ = old_rows.read_text(encoding="utf-8").split("\n")
    old = {(r["file"], r["id"]): r for r in map(json.loads, filter(str.strip, lines_))}
    new = {(r["file"], r["id"]): r for r in new_rows}
    checks: dict[str, Callable[[dict], bool | None]] = {
        "retrieval hit": lambda r: r.get("hit"),
        "held-out grade in band": lambda r: r.get("in_band"),
        "refusal": lambda r: None if "refused" not in r else r["refused"] == (r["set"] == "out_of_scope")}
    lines = []
    for name, ok in checks.items():
        both = [key for key in new if key in old and ok(old[key]) is not None and ok(new[key]) is not None]
        if broke := [key[1] for key in both if ok(old[key]) and not ok(new[key])]:
            lines.append(f"{name} now fails: {', '.join(broke)}")
        if fixed := [key[1] for key in both if not ok(old[key]) and ok(new[key])]:
            lines.append(f"{name} now passes: {', '.join(fixed)}")
    return lines


def compare(
    old: dict, new: dict, old_rows: Path | None = None, new_rows: list[dict] | None = None
) -> list[str]:
    """What got better or worse between two reports, headline metrics first, then per topic and kind.

    Latency moves under 10% and per-group moves under GROUP_NOISE are left out as noise.
    """
    sections = ("retrieval", "answers", "refusal", "latency", "grading", "splits")
    a, b = (_leaves({s: r.get(s) or {} for s in sections}) for r in (old, new))
    moves: dict[tuple[bool, bool], list[str]] = {(g, up): [] for g in (False, True) for up in (True, False)}
    for key in sorted(set(a) & set(b)):
        before, after = a[key], b[key]
        latency = key.startswith("latency.") or ".latency_s." in key  # grading.latency_s.p50 too
        group = ".by_topic." in key or ".by_kind." in key
        if after == before or latency and abs(after - before) < 0.1 * abs(before) or \
                group and abs(after - before) < GROUP_NOISE:
            continue
        lower = latency or key.rsplit(".", 1)[-1] in _LOWER_IS_BETTER
        moves[(group, (after < before) == lower)].append(f"  {key}: {before:.4g} → {after:.4g}")
    differ = [f"{key} {old['config'].get(key)} → {new['config'].get(key)}"
              for key in ("backend", "k", "model") if old["config"].get(key) != new["config"].get(key)]
    lines = [f"compare with the old report ({'; '.join(differ) or 'same backend, k and model'}):"]
    counts = [[sum(g[s] for g in r["config"]["golden"]) for s in SETS[:2]] for r in (old, new)]
    if counts[0] != counts[1]:
        lines.append(f"note: the runs asked different rows ({counts[0][0]} questions and {counts[0][1]} out of "
                     f"scope before, {counts[1][0]} and {counts[1][1]} now): differences mix rows and code")
    for group, title in ((False, ""), (True, f" per topic / kind (moves of {GROUP_NOISE} or more)")):
        for up, word in ((True, "better"), (False, "worse")):
            if moves[(group, up)] or not group:
                lines += [f"{word}{title} ({len(moves[(group, up)])}):", *moves[(group, up)]]
    if only := sorted(set(a) ^ set(b)):
        # An old report from before the dev/test split lacks every splits.* key: name the groups, not 26 keys.
        groups: dict[str, list[str]] = {}
        for key in only:
            groups.setdefault(".".join(key.split(".")[:2]) if key.startswith("splits.") else key, []).append(key)
        lines.append("in one report only: " + ", ".join(name if len(keys) == 1 and name == keys[0] else
                                                       f"{name}.* ({len(keys)})" for name, keys in groups.items()))
    if old_rows is not None and new_rows is not None:
        lines += _row_flips(old_rows, new_rows)
    return lines


def load_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file ({what})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a valid {what} ({exc})") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: not a valid {what} (expected a JSON object)")
    return data


def run_eval(config: Config, args: argparse.Namespace) -> int:
    """`tutor eval`: run, write report.json, rows.jsonl, report.md and plots; print, compare, gate."""
    from tutor.report import headline, write_report
    from tutor.tutor import Tutor

    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.assign_splits:
        return assign_splits(golden_paths(args.golden))
    if args.write_gate and args.limit:
        raise UserError("--write-gate measures every golden row; drop --limit")
    old = load_json(Path(args.compare), "report.json from tutor eval") if args.compare else None
    gate = load_json(Path(args.gate), "gate file") if args.gate else None
    files = load_golden(golden_paths(args.golden))  # before any model loads: a bad file fails fast
    backend = args.backend or "extractive"
    report, rows = evaluate(Tutor(config), files, backend, args.k, args.limit, progress=sys.stderr.isatty(),
                            model=args.model)
    written = write_report(report, rows, Path(args.out or f"reports/eval-{backend}"))
    print(json.dumps(report, ensure_ascii=False) if args.json else headline(report))
    print("wrote " + ", ".join(map(str, written)), file=sys.stderr if args.json else sys.stdout)
    if old is not None:
        old_rows = Path(args.compare).with_name("rows.jsonl")
        lines = compare(old, report, old_rows if old_rows.is_file() else None, rows)
        print("\n".join(lines), file=sys.stderr if args.json else sys.stdout)
    if args.write_gate:
        from tutor.gate import write_gate

        path = GATE_FILE if args.write_gate is True else Path(args.write_gate)
        written_gate = write_gate(report, path)
        print(f"wrote {path}: " + ", ".join(f"{key.split('.', 2)[2]} {next(iter(b))} {next(iter(b.values()))}"
                                           for key, b in written_gate["thresholds"].items()),
              file=sys.stderr if args.json else sys.stdout)
    failures = check_gate(report, gate) if gate else []
    for line in failures:
        print(f"gate: {line}", file=sys.stderr)
    return 1 if failures else 0


def assign_splits(paths: list[Path]) -> int:
    """`tutor eval --assign-splits`: give every golden row without a `split` one (see tutor/split.py)."""
    from tutor.split import assign_file

    for path in paths:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
        r = assign_file(path)
        new = ", ".join(f"{n} {s}" for s, n in r.assigned.items() if n) or "none"
        print(f"{path}: newly assigned {new}; now " + ", ".join(f"{n} {s}" for s, n in r.totals.items()))
    return 0
