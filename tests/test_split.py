"""The golden dev/test split: deterministic, idempotent, stratified, conversations kept whole."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from tutor.cli import main
from tutor.errors import CorpusError
from tutor.split import SAMPLE_EVERY, SMALL_CATEGORY, assign, assign_file, gate_sample, row_stratum

TOPICS = ("basics", "training", "nlp", "vision")


def questions(n: int, start: int = 0) -> list[dict]:
    """n question rows over four topics and two kinds; every fifth row is a follow-up of the one before."""
    rows = []
    for i in range(start, start + n):
        row = {"id": f"q{i}", "question": f"question {i}", "topic": TOPICS[i % 4],
               "kind": "paraphrase" if i % 3 else "direct", "key_points": [["x"]]}
        if i % 5 == 4 and i > start:
            row.update(previous=f"q{i - 1}", kind="followup")
        rows.append(row)
    return rows


def write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_every_row_gets_a_split_and_each_stratum_is_balanced():
    rows = questions(200)
    splits = assign(rows)
    assert set(splits) == {r["id"] for r in rows} and set(splits.values()) == {"dev", "test"}
    per = Counter((row_stratum(r), splits[r["id"]]) for r in rows if r.get("kind") != "followup")
    for stratum in {s for s, _ in per}:
        assert abs(per[(stratum, "dev")] - per[(stratum, "test")]) <= 2, stratum


def test_a_followup_lands_in_the_split_of_its_conversation():
    rows = questions(100)
    splits = assign(rows)
    assert all(splits[r["id"]] == splits[r["previous"]] for r in rows if r.get("previous"))


def test_the_split_does_not_depend_on_row_order():
    rows = questions(60)
    assert assign(rows) == assign(list(reversed(rows)))


def test_rerunning_changes_nothing_and_appended_rows_keep_the_old_ones_in_place(tmp_path):
    path = write(tmp_path / "q.jsonl", questions(80))
    first = assign_file(path)
    assert sum(first.assigned.values()) == 80
    before = path.read_text(encoding="utf-8")
    again = assign_file(path)
    assert again.assigned == {"dev": 0, "test": 0} and path.read_text(encoding="utf-8") == before

    # Another engineer appends rows: only the new lines change, and the parts stay near half each.
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in questions(40, start=80)))
    third = assign_file(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert "".join(lines[:80]) == before
    assert sum(third.assigned.values()) == 40 and abs(third.totals["dev"] - third.totals["test"]) <= 8


def test_only_the_split_field_is_added_to_a_line(tmp_path):
    raw = '{"id": "o1",  "question": "Wie spät ist es? — ünïcode"}\n{"id":"o2","question":"x"}\n'
    path = tmp_path / "oos.jsonl"
    path.write_text(raw, encoding="utf-8")
    assign_file(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith('{"id": "o1",  "question": "Wie spät ist es? — ünïcode", "split": "')
    assert lines[1].startswith('{"id":"o2","question":"x", "split": "')
    assert [r["split"] in ("dev", "test") for r in read(path)] == [True, True]


def test_a_bad_split_value_or_line_is_named(tmp_path):
    with pytest.raises(CorpusError, match="train"):
        assign([{"id": "a", "question": "q", "split": "train"}])
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a", "question": "q"}\nnot json\n', encoding="utf-8")
    with pytest.raises(CorpusError, match=r"bad.jsonl:2"):
        assign_file(path)


def test_grading_rows_are_stratified_by_label(tmp_path):
    rows = [{"id": f"g{i}", "question": "q", "answer": "a", "card_id": f"{TOPICS[i % 2]}/c",
             "label": ("correct", "partial", "incorrect")[i % 3], "score_band": [0, 10]} for i in range(60)]
    splits = assign(rows)
    per = Counter((row_stratum(r), splits[r["id"]]) for r in rows)
    assert all(abs(per[(s, "dev")] - per[(s, "test")]) <= 1 for s, _ in per)


def test_the_gate_sample_keeps_small_categories_whole_samples_the_rest_and_is_its_own_sample():
    big = [{"id": f"b{i}", "category": "terse-right"} for i in range(800)]
    small = [{"id": f"s{i}", "category": "manipulation"} for i in range(SMALL_CATEGORY - 1)]
    rows = big + small
    picked = [rows[i] for i in gate_sample(rows)]
    by = Counter(r["category"] for r in picked)

    assert by["manipulation"] == len(small)
    assert abs(by["terse-right"] - len(big) / SAMPLE_EVERY) < 3 * (len(big) / SAMPLE_EVERY) ** 0.5
    assert [picked[i] for i in gate_sample(picked)] == picked  # what the gate test grades is the sample again
    more = rows + [{"id": f"n{i}", "category": "terse-right"} for i in range(100)]
    again = {r["id"] for r in (more[i] for i in gate_sample(more))}
    assert {r["id"] for r in picked} <= again  # new rows leave the old ones where they were


def test_the_gate_sample_is_not_the_split_hash_again():
    """The split reads the bare hash of a row's id; an unsalted sample of the test half would take a
    skewed eighth of it."""
    rows = [{"id": f"g-{i:04d}", "question": "q", "answer": "a", "card_id": "basics/c", "category": "c",
             "label": ("correct", "partial", "incorrect")[i % 3], "score_band": [0, 10]} for i in range(2000)]
    splits = assign(rows)
    test = [r for r in rows if splits[r["id"]] == "test"]
    share = len(gate_sample(test)) / len(test)
    assert abs(share - 1 / SAMPLE_EVERY) < 0.04


def test_the_cli_assigns_splits_and_the_eval_reads_them(tmp_path, capsys):
    path = write(tmp_path / "q.jsonl", questions(10))
    assert main(["eval", "--assign-splits", "--golden", str(path)]) == 0
    assert "now" in capsys.readouterr().out
    assert all(r["split"] in ("dev", "test") for r in read(path))
    write(path, [{**r, "split": "holdout"} for r in read(path)])
    assert main(["eval", "--golden", str(path)]) == 1
    assert "split" in capsys.readouterr().err


def test_every_committed_golden_row_has_a_split():
    """New rows without one would count in neither column: run `tutor eval --assign-splits` and commit."""
    from tutor.evaluate import GOLDEN_DIR

    for path in sorted(GOLDEN_DIR.glob("*.jsonl")):
        missing = [r["id"] for r in read(path) if r.get("split") not in ("dev", "test")]
        assert not missing, f"{path.name}: rows without a split: {missing[:5]} (run tutor eval --assign-splits)"
