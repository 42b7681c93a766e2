"""`tutor eval` end to end over a scripted fake Tutor: classification, conversation order, report files,
grading slot, --compare and the gate. One test runs the real Tutor over the fixture cards with the
FakeEmbedder, so the harness is also checked against real Passage/Answer objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutor import evaluate as ev
from tutor.answer import Answer, Citation
from tutor.cli import main
from tutor.errors import CorpusError
from tutor.metrics import content_words
from tutor.report import NOT_EVALUATED, headline, write_report
from tutor.retrieve import Passage

KB = {
    "training/dropout": (
        "What is dropout?",
        "Dropout randomly zeroes hidden units during training. It acts as a regularizer against "
        "co-adaptation.",
    ),
    "training/batch-norm": (
        "What is batch normalization?",
        "Batch normalization normalizes activations to zero mean and unit variance. Learnable gamma and beta "
        "scale and shift them.",
    ),
    "basics/softmax": (
        "What does softmax do?",
        "Softmax exponentiates the logits and normalizes them so the outputs sum to one.",
    ),
}
QUESTIONS = [
    {"id": "q1", "question": "What is dropout?", "card_id": "training/dropout",
     "key_points": [["zeroes"], ["regularizer"]]},
    {"id": "q2", "question": "batch normalization mean variance", "topic": "training", "kind": "paraphrase",
     "card_id": "training/batch-norm", "key_points": [["zero mean", "standardize"], ["gamma"]]},
    {"id": "q3", "question": "softmax logits", "card_id": "basics/softmax", "key_points": [["sum to one"]]},
]
OOS = [{"id": "o1", "question": "How do I boil an egg?"}, {"id": "o2", "question": "Best pizza in Naples"}]
GRADING = [{"id": "g1", "question": "What is dropout?", "reference": "zeroes units",
            "answer": "it drops units", "label": "partial", "score_band": [0.3, 0.7]}]


class FakeTutor:
    """Ranks the KB cards by word overlap with the (history-prefixed) question; refuses below 0.3."""

    def __init__(self, reverse: bool = False) -> None:
        self.reverse = reverse  # a deliberately bad ranker, for --compare
        self.calls: list[tuple[str, str, list[str]]] = []

    def _search(self, query: str, k: int) -> list[Passage]:
        q = content_words(query)
        scored = []
        for cid, (title, text) in KB.items():
            overlap = len(q & content_words(f"{title} {text}")) / max(len(q), 1)
            scored.append((overlap, cid, title, text))
        scored.sort(key=lambda s: (s[0], s[1]), reverse=not self.reverse)
        return [Passage(rank=i + 1, chunk_id=f"{cid}#0", card_id=cid, source=f"{cid}.md", title=title,
                        text=text, score=score, relevance=score)
                for i, (score, cid, title, text) in enumerate(scored[:k])]

    def retrieve(self, question: str, k: int | None = None, history: list[str] | None = None):
        self.calls.append(("retrieve", question, list(history or [])))
        standalone = f"{history[-1]} {question}" if history else question
        return standalone, self._search(standalone, k or 5)

    def ask(self, question: str, history: list[str] | None = None, backend: str | None = None,
            k: int | None = None, model: str | None = None) -> Answer:
        self.calls.append(("ask", question, list(history or [])))
        standalone = f"{history[-1]} {question}" if history else question
        passages = self._search(standalone, k or 5)
        if passages[0].relevance < 0.3:
            refusal = "That is outside what I cover."
            return Answer(question, standalone, refusal, [], True, passages, "extractive")
        best = passages[0]
        cite = Citation(1, best.chunk_id, best.card_id, best.source)
        return Answer(question, standalone, f"{best.text} [1]", [cite], False, passages, "extractive",
                      latency_s=0.01, first_token_s=0.005)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def golden(tmp_path: Path) -> list[Path]:
    return [write_jsonl(tmp_path / "questions.jsonl", QUESTIONS), write_jsonl(tmp_path / "oos.jsonl", OOS),
            write_jsonl(tmp_path / "grading.jsonl", GRADING)]


def test_uncovered_dl_rows_are_reported_apart_from_the_refusal_recall(tmp_path):
    uncovered = {"id": "o3", "question": "dropout regularizer paper history", "kind": "uncovered-dl"}
    paths = [write_jsonl(tmp_path / "questions.jsonl", QUESTIONS),
             write_jsonl(tmp_path / "oos.jsonl", [*OOS, uncovered])]
    report, _ = ev.evaluate(FakeTutor(), ev.load_golden(paths), k=5)
    f = report["refusal"]
    assert f["n_out_of_scope"] == 2 and f["recall"] == 1.0  # the answered DL question does not dilute it
    assert f["n_uncovered"] == 1 and f["uncovered_declined"] == 0.0
    assert f["uncovered_declined_or_flagged"] == 0.0  # answered as an exact match: neither declined nor flagged


class ClosestTutor(FakeTutor):
    """Answers below a relevance of 0.9 carry the "closest material" match, as tutor.answerability does."""

    def ask(self, question, history=None, backend=None, k=None, model=None) -> Answer:
        answer = super().ask(question, history, backend, k, model)
        answer.match = "none" if answer.refused else "exact" if answer.passages[0].relevance >= 0.9 else "closest"
        return answer


def test_each_row_records_its_match_and_uncovered_rows_count_when_flagged_closest(tmp_path):
    uncovered = [{"id": "o3", "question": "dropout regularizer paper history", "kind": "uncovered-dl"},
                 {"id": "o4", "question": "boil pizza", "kind": "uncovered-dl"}]
    paths = [write_jsonl(tmp_path / "questions.jsonl", QUESTIONS),
             write_jsonl(tmp_path / "oos.jsonl", [*OOS, *uncovered])]
    report, rows = ev.evaluate(ClosestTutor(), ev.load_golden(paths), k=5)
    match = {r["id"]: r["match"] for r in rows}
    assert match["q1"] == "exact" and match["o1"] == "none"
    assert match["o3"] == "closest" and match["o4"] == "none"  # half overlap: flagged; no overlap: declined
    f = report["refusal"]
    assert f["uncovered_declined"] == 0.5 and f["uncovered_declined_or_flagged"] == 1.0
    assert "refusal.uncovered_declined_or_flagged" in headline(report)


def test_expected_card_first_is_reported_overall_and_per_kind(golden):
    report, rows = ev.evaluate(FakeTutor(reverse=True), ev.load_golden(golden), k=5)
    first = [r.get("rank") == 1 for r in rows if r["set"] == "question"]
    assert report["retrieval"]["expected_first"] == pytest.approx(sum(first) / len(first))
    assert report["retrieval"]["expected_first"] < 1.0  # the reversed ranker puts some card first wrongly
    assert "expected_first" in report["retrieval"]["by_kind"]["direct"]


def test_rows_are_classified_by_shape(golden):
    files = ev.load_golden(golden)
    assert [{r["set"] for r in f.rows} for f in files] == [{"question"}, {"out_of_scope"}, {"grading"}]
    q2 = files[0].rows[1]
    assert q2["kind"] == "paraphrase" and q2["topic"] == "training"
    assert files[0].rows[0]["kind"] == "direct" and files[0].rows[0]["topic"] == "training"  # from card_id


@pytest.mark.parametrize("row, why", [
    ({"id": "x", "question": "q", "key_points": "zero mean"}, "key_points"),
    ({"id": "x", "question": "q", "key_points": [["ok"], [""]]}, "key point"),
    ({"id": "x", "question": "q", "answer": "a", "label": "great", "score_band": [0, 1]}, "label"),
    ({"id": "x", "question": "", "key_points": [["a"]]}, "question"),
])
def test_malformed_rows_name_the_file_and_the_row(tmp_path, row, why):
    path = write_jsonl(tmp_path / "bad.jsonl", [row])
    with pytest.raises(CorpusError, match=rf"bad.jsonl: row `x`: .*{why}"):
        ev.load_golden([path])


def test_report_has_the_required_keys_and_files(golden, tmp_path):
    report, rows = ev.evaluate(FakeTutor(), ev.load_golden(golden), k=5)
    assert {"retrieval", "answers", "refusal", "latency", "config", "grading"} <= set(report)
    r = report["retrieval"]
    assert r["hit_at_5"] == 1.0 and r["hit_at_300_words"] == 1.0 and r["mrr"] == 1.0
    assert {"recall_at_5", "ndcg_at_5", "by_topic", "by_kind", "worst"} <= set(r)
    assert set(r["by_kind"]) == {"direct", "paraphrase"}
    assert report["refusal"]["recall"] == 1.0 and report["refusal"]["false_refusal_rate"] == 0.0
    assert report["answers"]["citation_validity"] == 1.0 and report["answers"]["coverage"] == 1.0
    assert report["latency"]["answer_s"]["p50"] == pytest.approx(0.01)
    written = write_report(report, rows, tmp_path / "out")
    names = {p.name for p in written}
    assert {"report.json", "report.md", "rows.jsonl", "hit_by_topic.png", "first_relevant_rank.png",
            "latency.png"} <= names
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in written if p.suffix == ".png")
    assert json.loads((tmp_path / "out" / "report.json").read_text())["retrieval"]["hit_at_5"] == 1.0
    assert "## Refusal" in (tmp_path / "out" / "report.md").read_text()


def test_a_grading_file_is_reported_as_not_evaluated_yet(golden, tmp_path, monkeypatch, capsys):
    import tutor.tutor

    monkeypatch.setattr(tutor.tutor, "Tutor", lambda config: FakeTutor())
    out = tmp_path / "run"
    assert main(["eval", "--golden", str(golden[2]), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["grading"] == {"status": NOT_EVALUATED, "n": 1, "reason": report["grading"]["reason"]}
    assert report["retrieval"]["n"] == 0
    assert "not evaluated yet" in capsys.readouterr().out


def test_a_grader_fills_the_grading_section(golden):
    report, _ = ev.evaluate(FakeTutor(), ev.load_golden(golden[2:]), grader=lambda row: ("partial", 0.5))
    g = report["grading"]
    assert g["status"] == "evaluated" and g["label_agreement"] == 1.0 and g["share_in_score_band"] == 1.0


def test_followups_are_asked_after_the_row_they_name_with_its_history(tmp_path):
    rows = [
        {"id": "f2", "question": "and at inference?", "previous": "f1", "key_points": [["gamma"]]},
        {"id": "f1", "question": "What is batch normalization?", "previous": "f0", "key_points": [["gamma"]]},
        {"id": "f0", "question": "What is dropout?", "key_points": [["zeroes"]]},
    ]
    fake = FakeTutor()
    report, records = ev.evaluate(fake, ev.load_golden([write_jsonl(tmp_path / "conv.jsonl", rows)]))
    for method in ("retrieve", "ask"):
        calls = [(q, h) for m, q, h in fake.calls[2:] if m == method]  # after the warm-up call pair
        asked = [q for q, _ in calls]
        assert asked == ["What is dropout?", "What is batch normalization?", "and at inference?"]
        assert calls[2][1] == ["What is dropout?", "What is dropout? What is batch normalization?"]
    assert {r["id"]: r["kind"] for r in records} == {"f0": "direct", "f1": "followup", "f2": "followup"}
    assert report["retrieval"]["by_kind"]["followup"]["n"] == 2


def test_limit_spreads_over_the_files_and_keeps_the_rows_a_followup_needs(tmp_path):
    rows = [{"id": f"r{i}", "question": f"question {i}", "key_points": [["x"]],
             **({"previous": f"r{i - 1}"} if i % 2 else {})} for i in range(16)]
    oos = [{"id": f"o{i}", "question": f"off topic {i}"} for i in range(4)]
    files = ev.load_golden([write_jsonl(tmp_path / "q.jsonl", rows), write_jsonl(tmp_path / "o.jsonl", oos)])
    (_, kept), (_, kept_oos) = ev.select(files, limit=6)
    ids = [r["id"] for r in kept]
    assert all(r["previous"] in ids for r in kept if r.get("previous"))
    assert "r2" in ids and 5 <= len(ids) <= 10 and ids == sorted(ids, key=lambda i: int(i[1:]))
    assert len(kept_oos) == 1
    assert [len(rs) for _, rs in ev.select(files, None)] == [16, 4]


def test_compare_says_what_got_better_and_worse(golden, tmp_path):
    files = ev.load_golden(golden[:2])
    good, good_rows = ev.evaluate(FakeTutor(), files, k=1)
    bad, bad_rows = ev.evaluate(FakeTutor(reverse=True), files, k=1)
    write_report(good, good_rows, tmp_path / "good")
    lines = ev.compare(good, bad, tmp_path / "good" / "rows.jsonl", bad_rows)
    text = "\n".join(lines)
    worse = lines[lines.index(next(line for line in lines if line.startswith("worse"))):]
    assert any("retrieval.mrr: 1 → " in line for line in worse)
    assert "retrieval hit now fails: " in text and "q1" in text
    assert ev.compare(good, good)[1:] == ["better (0):", "worse (0):"]


def test_compare_counts_faster_grading_and_smaller_errors_as_better():
    old = {"config": {"golden": []}, "grading": {"latency_s": {"p50": 0.24}, "mae_to_band_centre": 1.9}}
    new = {"config": {"golden": []}, "grading": {"latency_s": {"p50": 0.04}, "mae_to_band_centre": 1.1}}
    lines = ev.compare(old, new)
    assert lines[1:] == ["better (2):", "  grading.latency_s.p50: 0.24 → 0.04",
                         "  grading.mae_to_band_centre: 1.9 → 1.1", "worse (0):"]


def test_invalid_citations_and_unsupported_sentences_are_counted():
    title, text = KB["training/dropout"]
    p = Passage(rank=1, chunk_id="d#0", card_id="training/dropout", source="d.md", title=title, text=text,
                score=1.0, relevance=0.9)
    answer = Answer("q", "q", "Dropout randomly zeroes hidden units [1]. Quantum chromodynamics explains "
                    "quark confinement [1]. It regularizes [7].", [Citation(1, "d#0", p.card_id, p.source)],
                    False, [p], "local")
    row = {"set": "question", "key_points": [["zeroes"], ["regularizer"]]}
    scored = ev.score_answer(row, answer, ev.m.SupportJudge())
    assert scored["citations_total"] == 3
    assert len(scored["invalid_citations"]) == 2
    assert any("[7] cites no retrieved passage" in why for why in scored["invalid_citations"])
    assert scored["unsupported"] == ["Quantum chromodynamics explains quark confinement ."]
    assert scored["coverage"] == 0.5 and scored["answer_missed"] == ["regularizer"]


def test_the_suggested_follow_up_question_is_not_judged_as_a_claim():
    title, text = KB["training/dropout"]
    p = Passage(rank=1, chunk_id="d#0", card_id="training/dropout", source="d.md", title=title, text=text,
                score=1.0, relevance=0.9)
    question = "How does quantum chromodynamics explain quark confinement?"
    answer = Answer("q", "q", f"Dropout randomly zeroes hidden units [1].\n\nFollow-up: {question}",
                    [Citation(1, "d#0", p.card_id, p.source)], False, [p], "local")
    row = {"set": "question", "key_points": [["zeroes"]]}
    answer.extra["follow_up"] = question
    assert ev.score_answer(row, answer, ev.m.SupportJudge())["unsupported"] == []
    answer.extra.pop("follow_up")  # the same words as a claim of the answer are judged
    assert ev.score_answer(row, answer, ev.m.SupportJudge())["unsupported"]


def test_the_models_own_coverage_is_scored_without_the_key_points_shown_before_it():
    title, text = KB["training/dropout"]
    p = Passage(rank=1, chunk_id="d#0", card_id="training/dropout", source="d.md", title=title, text=text,
                score=1.0, relevance=0.9)
    answer = Answer("q", "q", "Key points:\n- Zeroes units at random [1]\n\nIt acts as a regularizer [1].",
                    [Citation(1, "d#0", p.card_id, p.source)], False, [p], "local",
                    model_text="It acts as a regularizer [1].")
    row = {"set": "question", "key_points": [["zeroes"], ["regularizer"]]}
    scored = ev.score_answer(row, answer, ev.m.SupportJudge())
    assert scored["coverage"] == 1.0 and scored["model_coverage"] == 0.5
    assert scored["model_text"] == "It acts as a regularizer [1]." and "model_text" not in answer.to_dict()


def with_splits(paths: list[Path]) -> list[Path]:
    """The golden files with every other row in `test` (conversations do not cross in these sets)."""
    for path in paths:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        write_jsonl(path, [{**r, "split": ("dev", "test")[i % 2]} for i, r in enumerate(rows)])
    return paths


def test_the_gate_file_names_metrics_the_report_has(golden):
    gate = json.loads(ev.GATE_FILE.read_text())
    assert gate["split"] == "test" and all(key.startswith("splits.test.") for key in gate["thresholds"])
    report, _ = ev.evaluate(FakeTutor(), ev.load_golden(with_splits(golden)), k=gate.get("k", 5))
    # FakeTutor has no rubric grader (tests/test_grade_eval.py covers the grading figures): reported missing.
    assert any(".grading." in f for f in ev.check_gate(report, gate))
    gate = {**gate, "thresholds": {k: v for k, v in gate["thresholds"].items() if ".grading." not in k}}
    assert ev.check_gate(report, gate) == []
    report["splits"]["test"]["refusal"]["false_refusal_rate"] = 0.9
    report["splits"]["test"]["retrieval"].pop(f"hit_at_{gate.get('k', 5)}")
    failures = ev.check_gate(report, gate)
    assert any("false_refusal_rate" in f and "above" in f for f in failures)
    assert any("missing" in f for f in failures)


def test_the_gate_file_margins_are_even_and_its_measured_values_current():
    """Every threshold sits margin_rows rows' worth (give or take rounding) from its measured value."""
    gate = json.loads(ev.GATE_FILE.read_text())
    assert gate["thresholds"] and set(gate["thresholds"]) == set(gate["measured"])
    for key, bound in gate["thresholds"].items():
        measured = gate["measured"][key]
        slack = abs(measured["value"] - next(iter(bound.values())))
        # Bars are floored (ceiled) to 3 decimals and values kept to 4: at n ~ 700 that rounding (up to
        # .00105) is more than half a row. A stale or hand-widened bar (a row more) still fails.
        allowed = max((gate["margin_rows"] + 0.5) / measured["n"], gate["margin_rows"] / measured["n"] + 0.00105)
        assert slack <= allowed, key


def test_each_split_is_reported_beside_the_whole(golden, capsys):
    report, rows = ev.evaluate(FakeTutor(), ev.load_golden(with_splits(golden)))
    assert {r["split"] for r in rows} == {"dev", "test"}
    dev, test = report["splits"]["dev"], report["splits"]["test"]
    assert (dev["n_questions"], test["n_questions"], dev["n_out_of_scope"], test["n_out_of_scope"]) == (2, 1, 1, 1)
    assert test["retrieval"]["n"] == 1 and test["refusal"]["recall"] == 1.0 and "worst" not in test["retrieval"]
    assert dev["grading"]["status"] == NOT_EVALUATED and dev["n_grading"] == 1 and test["n_grading"] == 0
    text = headline(report)
    assert "dev (2 q, 1 oos)" in text and "test (1 q, 1 oos)" in text


def test_write_gate_sets_thresholds_from_the_test_split_so_a_few_rows_fail_it(tmp_path, monkeypatch, capsys):
    import tutor.tutor
    from tutor.gate import gate_from_report

    rows = [{"id": f"q{i}", "question": "What is dropout?", "card_id": "training/dropout",
             "key_points": [["zeroes"]], "split": ("dev", "test")[i % 2]} for i in range(100)]
    oos = [{"id": f"o{i}", "question": f"How do I boil egg number {i}?", "split": ("dev", "test")[i % 2]}
           for i in range(40)]
    golden = [write_jsonl(tmp_path / "q.jsonl", rows), write_jsonl(tmp_path / "o.jsonl", oos)]
    monkeypatch.setattr(tutor.tutor, "Tutor", lambda config: FakeTutor())
    args = [a for p in golden for a in ("--golden", str(p))] + ["--out", str(tmp_path / "run")]
    assert main(["eval", *args, "--write-gate", str(tmp_path / "gate.json")]) == 0
    gate = json.loads((tmp_path / "gate.json").read_text())
    assert gate["thresholds"]["splits.test.retrieval.hit_at_5"] == {"min": 0.96}  # 1.0 - 2/50
    assert gate["thresholds"]["splits.test.refusal.recall"] == {"min": 0.9}  # 1.0 - 2/20
    assert gate["thresholds"]["splits.test.refusal.false_refusal_rate"] == {"max": 0.04}
    assert gate["measured"]["splits.test.retrieval.hit_at_5"]["n"] == 50
    assert main(["eval", *args, "--gate", str(tmp_path / "gate.json")]) == 0

    report = json.loads((tmp_path / "run" / "report.json").read_text())
    test = report["splits"]["test"]
    test["retrieval"]["hit_at_5"] = 1.0 - 2 / 50  # two questions lost: inside the margin
    test["refusal"]["recall"] = 1.0 - 2 / 20
    assert ev.check_gate(report, gate) == []
    test["retrieval"]["hit_at_5"] = 1.0 - 3 / 50  # three: a regression, and CI says which metric
    test["refusal"]["false_refusal_rate"] = 3 / 50
    failures = ev.check_gate(report, gate)
    assert len(failures) == 2 and "hit_at_5" in failures[0] and "false_refusal_rate" in failures[1]
    report.pop("splits")
    with pytest.raises(ev.UserError, match="assign-splits"):
        gate_from_report(report)


def test_user_errors_exit_1_with_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["eval", "--golden", str(tmp_path / "nope.jsonl")]) == 1
    assert "no such file" in capsys.readouterr().err
    write_jsonl(tmp_path / "q.jsonl", QUESTIONS)
    assert main(["eval", "--golden", str(tmp_path / "q.jsonl"), "--compare", str(tmp_path / "old.json")]) == 1
    err = capsys.readouterr().err
    assert "old.json" in err and "Traceback" not in err


def test_the_real_tutor_runs_through_the_harness(tutor_fake, tmp_path):
    rows = [{"id": "d", "question": "What is dropout and why does it help?", "card_id": "training/dropout",
             "key_points": [["randomly"], ["co-adapt"]]},
            {"id": "f", "question": "and at inference time?", "previous": "d", "key_points": [["inference"]]},
            {"id": "o", "question": "What is the capital of Mongolia?"}]
    report, records = ev.evaluate(tutor_fake, ev.load_golden([write_jsonl(tmp_path / "g.jsonl", rows)]))
    assert report["retrieval"]["mrr"] == 1.0 and report["retrieval"]["hit_at_5"] == 1.0
    assert report["config"]["index"]["n_cards"] == 6
    assert {r["id"] for r in records} == {"d", "f", "o"}
    assert all(isinstance(r["refused"], bool) for r in records)
