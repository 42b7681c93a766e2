"""Per-row eval records → the report: report.json sections, report.md, PNG plots, and `--compare` diffs.

The report dict is the contract (CI gates on it, `--compare` diffs two of them); report.md and the plots
are views of it for a person, listing the worst rows with why they failed, so a regression can be traced
to questions without re-running anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tutor import metrics as m
from tutor.evaluate_grading import markdown as grading_markdown
from tutor.evaluate_grading import plot_confusion

GRADE_LABELS = ("incorrect", "partial", "correct")  # ordered: quadratic kappa weighs the distance
NOT_EVALUATED = "not evaluated yet"
Grader = Callable[[dict], tuple[str, float]]  # row -> (label, score in 0..1); arrives with the grader
WORST = 10


# ---- sections ----------------------------------------------------------------------------------------

def _mean(rows: list[dict], key: str) -> float | None:
    return m.mean([float(r[key]) for r in rows if r.get(key) is not None])


def _by(rows: list[dict], key: str, agg: Callable[[list[dict]], dict]) -> dict:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(str(r.get(key)), []).append(r)
    return {name: agg(members) for name, members in sorted(groups.items())}


def _worst(r: dict, why: str) -> dict:
    return {"id": r["id"], "file": r["file"], "question": r["question"], "why": why}


def retrieval_section(rows: list[dict], k: int, budget: int) -> dict:
    def agg(rs: list[dict]) -> dict:
        return {
            "n": len(rs),
            f"hit_at_{k}": _mean(rs, "hit"),
            f"hit_at_{budget}_words": _mean(rs, "budget_hit"),
            f"recall_at_{k}": _mean(rs, "recall"),
            "mrr": _mean(rs, "rr"),
            f"ndcg_at_{k}": _mean(rs, "ndcg"),
            # the expected card is the one answered from: what the extractive answer and a citation show
            "expected_first": m.mean([float(r.get("rank") == 1) for r in rs if r.get("card_id")]),
            "n_with_card": sum(r.get("rr") is not None for r in rs),
        }

    ranks = [r.get("rank") for r in rows if r.get("card_id")]
    hist = {**{str(i): ranks.count(i) for i in range(1, k + 1)}, f"not in top {k}": ranks.count(None)}

    def why(r: dict) -> str:
        parts = [f"not in top {k}: " + "; ".join(r["missed"])] if r["missed"] else []
        if r["hit"] and not r["budget_hit"]:
            parts.append(f"key points only after the first {budget} words")
        if r.get("card_id") and r.get("rank") != 1:
            where = f"at rank {r['rank']}" if r.get("rank") else f"not in top {k}"
            parts.append(f"expected card {r['card_id']} {where}")
        return "; ".join(parts) + f" (got {', '.join(map(str, r['passages'][:3]))})"

    def failed(r: dict) -> bool:
        return not (r["hit"] and r["budget_hit"]) or bool(r.get("card_id") and r.get("rank") != 1)

    worst = sorted(filter(failed, rows), key=lambda r: (r["hit"], r["recall"], r.get("rr") or 0.0))
    return {**agg(rows), "by_topic": _by(rows, "topic", agg), "by_kind": _by(rows, "kind", agg),
            "first_relevant_rank": hist, "worst": [_worst(r, why(r)) for r in worst[:WORST]]}


def answers_section(rows: list[dict], backend: str) -> dict:
    def agg(rs: list[dict]) -> dict:
        return {"n": len(rs), "coverage": _mean(rs, "coverage"), "refused": sum(r["refused"] for r in rs)}

    answered = [r for r in rows if not r["refused"]]
    cites = sum(r["citations_total"] for r in answered)
    invalid = sum(len(r["invalid_citations"]) for r in answered)
    judged = sum(r["sentences_judged"] for r in answered)
    unsupported = sum(len(r["unsupported"]) for r in answered)

    def why(r: dict) -> str:
        parts = [f"refused (top relevance {r['top_relevance']:.2f})"] if r["refused"] else []
        if r["answer_missed"]:
            parts.append("missing: " + "; ".join(r["answer_missed"]))
        parts += r["invalid_citations"][:2]
        if r["unsupported"]:
            parts.append(f"{len(r['unsupported'])} unsupported, e.g. “{r['unsupported'][0]}”")
        if not r["refused"] and not r["n_citations"]:
            parts.append("no citations")
        return "; ".join(parts)

    worst = sorted((r for r in rows if why(r)),
                   key=lambda r: (r["coverage"], -len(r["invalid_citations"]), -len(r["unsupported"])))
    return {
        **agg(rows),
        "backend": backend,
        # answers a different backend gave (an LLM backend that was down falls back to extractive)
        "fallbacks": sum(r.get("answered_by", backend) != backend for r in rows),
        "citation_validity": 1 - invalid / cites if cites else None,
        "n_citations": cites,
        "uncited_rate": m.mean([float(not r["n_citations"]) for r in answered]),
        "unsupported_sentence_rate": unsupported / judged if judged else None,
        "answer_words": m.summary([r["answer_words"] for r in answered]),
        "by_topic": _by(rows, "topic", agg),
        "by_kind": _by(rows, "kind", agg),
        "worst": [_worst(r, why(r)) for r in worst[:WORST]],
    }


# Out-of-scope rows on deep-learning topics no card answers. Declining is right for them, but so will be
# a "closest material" answer, so they get their own figure instead of diluting the refusal recall, whose
# bar (eval_gate.json) was set on questions unrelated to deep learning.
UNCOVERED = "uncovered-dl"


def refusal_section(questions: list[dict], oos: list[dict]) -> dict:
    uncovered = [r for r in oos if r.get("kind") == UNCOVERED]
    oos = [r for r in oos if r.get("kind") != UNCOVERED]
    answered = sorted((r for r in oos if not r["refused"]), key=lambda r: -r["top_relevance"])
    refused = sorted((r for r in questions if r["refused"]), key=lambda r: r["top_relevance"])
    cited = [r for r in questions + oos if r["refused"] and r["n_citations"]]
    worst = [_worst(r, f"answered out of scope (top relevance {r['top_relevance']:.2f}, top passage "
                       f"{r['passages'][0] if r['passages'] else '-'})") for r in answered]
    worst += [_worst(r, f"refused in scope (top relevance {r['top_relevance']:.2f})") for r in refused]
    worst += [_worst(r, f"refusal carries {r['n_citations']} citation(s)") for r in cited]
    # An uncovered question is handled honestly when it is declined or answered with the "closest
    # material" notice (`match` closest); a row from a backend that records no match counts as not flagged.
    flagged = [float(r["refused"] or r.get("match") == "closest") for r in uncovered]
    return {"n_out_of_scope": len(oos), "n_in_scope": len(questions), "recall": _mean(oos, "refused"),
            "false_refusal_rate": _mean(questions, "refused"), "refusals_with_citations": len(cited),
            "n_uncovered": len(uncovered), "uncovered_declined": _mean(uncovered, "refused"),
            "uncovered_declined_or_flagged": m.mean(flagged) if flagged else None,
            "worst": worst[:WORST]}


def grading_section(rows: list[dict], grader: Grader | None) -> dict:
    """Filled in once the grader exists; until then grading rows are checked and counted, not scored."""
    if not rows:
        return {"status": "no grading rows", "n": 0}
    if grader is None:
        return {"status": NOT_EVALUATED, "n": len(rows),
                "reason": "the grader lands in a later issue; the rows were read and checked"}
    graded = [(r, *grader(r)) for r in rows]
    gold, labels = [r["label"] for r, _, _ in graded], [label for _, label, _ in graded]
    worst = [_worst(r, f"graded {label} {score:.2f}, expected {r['label']} in {r['score_band']}")
             for r, label, score in graded if label != r["label"] or not m.in_band(score, r["score_band"])]
    return {
        "status": "evaluated",
        "n": len(rows),
        "share_in_score_band": m.mean([float(m.in_band(s, r["score_band"])) for r, _, s in graded]),
        "label_agreement": m.label_agreement(gold, labels),
        "quadratic_weighted_kappa": m.quadratic_weighted_kappa(gold, labels, GRADE_LABELS),
        "confusion_matrix": {"labels": list(GRADE_LABELS),
                             "gold_by_predicted": m.confusion_matrix(gold, labels, GRADE_LABELS)},
        "worst": worst[:WORST],
    }


# Per-split sections keep the figures and drop the lists (worst rows, groups): report.md lists those once.
_SPLIT_DROPS = ("worst", "by_topic", "by_kind", "first_relevant_rank", "confusion_matrix", "answer_words")


def split_sections(rows: list[dict], grading_rows: list[dict], config: dict, grader: Grader | None) -> dict:
    """The headline sections again for each golden split (`dev`, `test`) the rows carry.

    `test` is what the gate and published figures use; `dev` is where tuning happens. Rows without a
    `split` (a user's own golden file) count in the overall sections only.
    """
    out: dict[str, dict] = {}
    k, budget = config["k"], config["budget_words"]
    for split in sorted({r.get("split") for r in [*rows, *grading_rows]} - {None}):
        q = [r for r in rows if r.get("split") == split and r["set"] == "question"]
        oos = [r for r in rows if r.get("split") == split and r["set"] == "out_of_scope"]
        graded = [r for r in grading_rows if r.get("split") == split]
        part = {"n_questions": len(q), "n_out_of_scope": len(oos), "n_grading": len(graded),
                "refusal": refusal_section(q, oos)}
        if q:
            part["retrieval"] = retrieval_section(q, k, budget)
            part["answers"] = answers_section(q, config["backend"])
        if graded:
            part["grading"] = grading_section(graded, grader)
        out[split] = {name: {key: v for key, v in sec.items() if key not in _SPLIT_DROPS}
                      if isinstance(sec, dict) else sec for name, sec in part.items()}
    return out


def _memo(grader: Grader | None) -> Grader | None:
    """The grader called once per row although a row is reported overall and in its split."""
    if grader is None:
        return None
    seen: dict[int, tuple[str, float]] = {}

    def grade(row: dict) -> tuple[str, float]:
        if id(row) not in seen:
            seen[id(row)] = grader(row)
        return seen[id(row)]

    return grade



def llm_cost(rows: list[dict]) -> dict:
    """Prompt / cached / generated tokens per LLM answer and how often the follow-up was rewritten."""
    out = {key: m.summary([float(r[key]) for r in rows if r.get(key) is not None])
           for key in ("prompt_tokens", "cached_tokens", "generated_tokens", "first_shown_s")}
    flags = [bool(r["condensed"]) for r in rows if r.get("condensed") is not None]
    out = {key: value for key, value in out.items() if value.get("n")}
    if flags:
        out["condensed_share"] = round(sum(flags) / len(flags), 4)
    return out


def build_report(
    rows: list[dict], grading_rows: list[dict], config: dict, grader: Grader | None = None
) -> dict:
    questions = [r for r in rows if r["set"] == "question"]
    oos = [r for r in rows if r["set"] == "out_of_scope"]
    empty = {"n": 0, "status": "no question rows"}
    first_token = [r["first_token_s"] for r in rows if r.get("first_token_s") is not None]
    k, budget = config["k"], config["budget_words"]
    grader = _memo(grader)
    return {
        "retrieval": retrieval_section(questions, k, budget) if questions else empty,
        "answers": answers_section(questions, config["backend"]) if questions else empty,
        "refusal": refusal_section(questions, oos),
        "latency": {"retrieve_s": m.summary([r["retrieve_s"] for r in rows]),
                    "answer_s": m.summary([r["answer_s"] for r in rows]),
                    "first_token_s": m.summary(first_token), "warmup_s": config["warmup_s"],
                    **llm_cost(rows)},
        "grading": grading_section(grading_rows, grader),
        "splits": split_sections(rows, grading_rows, config, grader),
        "config": config,
    }


# ---- views: headline, Markdown, plots ----------------------------------------------------------------

def _fmt(value: object, digits: int = 3) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def lookup(report: dict, dotted: str) -> object:
    value: object = report
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def headline_rows(report: dict) -> list[tuple[str, str]]:
    """(metric, value): the figures one looks at first, named by their keys in report.json."""
    k, budget = report["config"]["k"], report["config"]["budget_words"]
    keys = [f"retrieval.hit_at_{k}", f"retrieval.hit_at_{budget}_words", "retrieval.expected_first",
            f"retrieval.recall_at_{k}",
            "retrieval.mrr", f"retrieval.ndcg_at_{k}", "answers.coverage", "answers.fallbacks",
            "answers.citation_validity",
            "answers.unsupported_sentence_rate", "answers.answer_words.p50", "refusal.recall",
            "refusal.false_refusal_rate", "refusal.refusals_with_citations", "refusal.uncovered_declined",
            "refusal.uncovered_declined_or_flagged",
            "latency.retrieve_s.p50",
            "latency.retrieve_s.p95", "latency.answer_s.p50", "latency.answer_s.p95",
            "latency.first_token_s.p50"]
    rows = [(key, _fmt(lookup(report, key), 4 if key.startswith("latency") else 3)) for key in keys]
    grading = [(f"grading.{key}", _fmt(lookup(report, f"grading.{key}"))) for key in
               ("share_in_score_band", "label_agreement", "quadratic_weighted_kappa", "latency_s.p50")]
    return [*rows, ("grading", report["grading"]["status"]), *grading[: 4 if "latency_s" in report["grading"] else 0]]


def headline_table(report: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the headline: one column for all rows, then one per split (dev, test)."""
    splits = list(report.get("splits") or {})
    rows = []
    for key, value in headline_rows(report):
        digits = 4 if key.startswith("latency") else 3
        # latency and status lines are not split: a split column would only repeat "—"
        per = [_fmt(lookup(report["splits"][s], key), digits) if not key.startswith(("latency", "grading"))
               else "" for s in splits]
        rows.append([key, value, *per])
    header = ["metric", "all", *(f"{s} ({report['splits'][s]['n_questions']} q, "
                                  f"{report['splits'][s]['n_out_of_scope']} oos)" for s in splits)]
    return header, rows


def headline(report: dict) -> str:
    c = report["config"]
    n = {name: sum(g[name] for g in c["golden"]) for name in ("question", "out_of_scope", "grading")}
    title = (f"tutor eval — backend {c['backend']}, k={c['k']}: {n['question']} questions, "
             f"{n['out_of_scope']} out of scope, {n['grading']} grading rows, {c['seconds']}s")
    header, rows = headline_table(report)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    if "test" in (report.get("splits") or {}):
        lines.append("  (tune on dev; the gate and published figures use test: corpus/golden/README.md)")
    return "\n".join([title, *lines])


def _table(header: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        return _fmt(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in rows])


def _groups(groups: dict, columns: list[str]) -> str:
    return _table(["group", *columns], [[name, *(g.get(c) for c in columns)] for name, g in groups.items()])


def _worst_table(worst: list[dict]) -> str:
    if not worst:
        return "_none: every row passed_"
    return _table(["id", "question", "why"], [[w["id"], w["question"][:90], w["why"]] for w in worst])


def markdown(report: dict) -> str:
    c, r, a, f, g = (report[s] for s in ("config", "retrieval", "answers", "refusal", "grading"))
    k, budget = c["k"], c["budget_words"]
    golden = ", ".join(f"`{Path(x['path']).name}` ({x['question']} questions, {x['out_of_scope']} out of "
                       f"scope, {x['grading']} grading)" for x in c["golden"])
    out = [f"# tutor eval — backend `{c['backend']}`", "",
           f"k={k}, context budget {budget} words, min_relevance {c['min_relevance']}; "
           f"{c['machine']['cores']} cores ({c['machine']['cpu']}); {c['seconds']} s. Golden: {golden}.", "",
           "## Headline", "", _table(*headline_table(report))]
    if r.get("n"):
        cols = [f"hit_at_{k}", f"hit_at_{budget}_words", f"recall_at_{k}", "mrr", f"ndcg_at_{k}", "n"]
        out += ["", "## Retrieval", "", "### By kind", "", _groups(r["by_kind"], cols), "",
                "### By topic", "", _groups(r["by_topic"], cols), "",
                "### Rank of the first passage from the expected card", "",
                _table(["rank", "questions"], [list(kv) for kv in r["first_relevant_rank"].items()]), "",
                "![hit rate per topic](hit_by_topic.png) ![first relevant rank](first_relevant_rank.png)", "",
                f"### Worst {WORST}", "", _worst_table(r["worst"])]
    if a.get("n"):
        out += ["", f"## Answers (`{a['backend']}`)", "", _groups(a["by_kind"], ["coverage", "refused", "n"]),
                "", f"### Worst {WORST}", "", _worst_table(a["worst"])]
    keys = ("n_out_of_scope", "n_in_scope", "recall", "false_refusal_rate", "refusals_with_citations",
            "n_uncovered", "uncovered_declined", "uncovered_declined_or_flagged")
    out += ["", "## Refusal", "", _table(["metric", "value"], [[key, f.get(key)] for key in keys]), "",
            f"### Worst {WORST}", "", _worst_table(f["worst"])]
    lat = report["latency"]
    stages = [[name, s["n"], s["p50"], s["p95"], s["mean"]] for name, s in lat.items() if isinstance(s, dict)]
    out += ["", "## Latency (seconds)", "", _table(["stage", "n", "p50", "p95", "mean"], stages), "",
            f"Warm-up (model and index load, not counted above): {_fmt(lat['warmup_s'], 2)} s", "",
            "![latency](latency.png)", "", "## Grading", "", f"Status: {g['status']}."]
    if g["status"] == "evaluated":
        keys = ("share_in_score_band", "label_agreement", "quadratic_weighted_kappa")
        out += ["", _table(["metric", "value"], [[key, g[key]] for key in keys]), "",
                _worst_table(g["worst"]), *grading_markdown(g)]
    return "\n".join(out) + "\n"


def plots(report: dict, rows: list[dict], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")  # no display on a server or in CI
    import matplotlib.pyplot as plt

    written = []
    r, k, budget = report["retrieval"], report["config"]["k"], report["config"]["budget_words"]
    if r.get("n"):
        topics = list(r["by_topic"])
        xs = range(len(topics))
        fig, ax = plt.subplots(figsize=(max(6, len(topics) * 0.9), 4))
        for shift, key, label in ((-0.2, f"hit_at_{k}", f"hit@{k}"),
                                  (0.2, f"hit_at_{budget}_words", f"hit in the first {budget} words")):
            ax.bar([x + shift for x in xs], [r["by_topic"][t][key] for t in topics], 0.4, label=label)
        ax.set_xticks(list(xs), topics, rotation=30, ha="right")
        ax.set(ylim=(0, 1.2), ylabel="share of questions", title="Hit rate per topic")
        ax.legend(loc="upper center", ncol=2)
        written.append(_save(fig, out / "hit_by_topic.png"))
        hist = r["first_relevant_rank"]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.bar(list(hist), list(hist.values()))
        ax.set(xlabel="rank of the first passage from the expected card", ylabel="questions",
               title="Rank of the first relevant passage")
        written.append(_save(fig, out / "first_relevant_rank.png"))
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("retrieve_s", "retrieve"), ("answer_s", "answer")):
        values = [row[key] * 1000 for row in rows if row.get(key) is not None]
        if values:
            ax.hist(values, bins=30, alpha=0.6, label=label)
    ax.set(xlabel="milliseconds", ylabel="questions", title="Latency per question")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    return [*written, _save(fig, out / "latency.png")]


def _save(fig: object, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(report: dict, rows: list[dict], out: Path) -> list[Path]:
    """report.json (the contract), rows.jsonl (per-row diffs for --compare), report.md and the plots."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    (out / "rows.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    (out / "report.md").write_text(markdown(report), encoding="utf-8")
    return [out / "report.json", out / "rows.jsonl", out / "report.md", *plots(report, rows, out),
            *plot_confusion(report["grading"], out)]
