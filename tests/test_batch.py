"""JSONL batches: errors with line numbers, follow-ups after the row they name, results in input order."""

from __future__ import annotations

import json

import pytest

from tutor.batch import conversation_order, read_jsonl, run_conversations
from tutor.errors import UserError


def write_jsonl(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_rows_are_read_in_order_with_ids_as_strings(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": 1, "question": "a"}, "", {"id": "b", "question": "c"}])

    rows = read_jsonl(path)

    assert [r["id"] for r in rows] == ["1", "b"]


@pytest.mark.parametrize(
    ("lines", "bad_line", "says"),
    [
        ([{"id": 1, "question": "a"}, "{not json"], 2, "not valid JSON"),
        ([{"id": 1, "question": "a"}, {"id": 2, "question": "b"}, "[1, 2]"], 3, "JSON object"),
        ([{"id": 1, "question": "a"}, {"question": "b"}], 2, "id"),
        ([{"id": 1}], 1, "question"),
        ([{"id": 1, "question": "a"}, "", {"id": 1, "question": "b"}], 3, "duplicate id"),
    ],
)
def test_bad_rows_are_reported_with_file_and_line(tmp_path, lines, bad_line, says):
    path = write_jsonl(tmp_path / "q.jsonl", lines)

    with pytest.raises(UserError) as err:
        read_jsonl(path)

    assert f"{path}:{bad_line}:" in str(err.value)
    assert says in str(err.value)


def test_a_previous_that_is_not_in_the_file_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "a", "question": "x", "previous": "zzz"}])

    with pytest.raises(UserError, match="zzz"):
        read_jsonl(path)


def test_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        read_jsonl(tmp_path / "absent.jsonl")


def test_conversation_order_puts_the_previous_row_first():
    rows = [
        {"id": "c", "question": "and then?", "previous": "b"},
        {"id": "b", "question": "and?", "previous": "a"},
        {"id": "x", "question": "unrelated"},
        {"id": "a", "question": "start"},
    ]

    order = [r["id"] for r in conversation_order(rows)]

    assert sorted(order) == sorted(r["id"] for r in rows)
    assert order.index("a") < order.index("b") < order.index("c")


def test_rows_without_links_keep_their_input_order():
    rows = [{"id": str(i), "question": "q"} for i in range(10)]

    assert conversation_order(rows) == rows


def test_a_cycle_of_previous_links_is_an_error():
    rows = [{"id": "a", "question": "x", "previous": "b"}, {"id": "b", "question": "y", "previous": "a"}]

    with pytest.raises(UserError, match="cycle"):
        conversation_order(rows)


def test_a_follow_up_sees_the_chain_of_standalone_questions_before_it():
    rows = [
        {"id": "f2", "question": "q3", "previous": "f1"},
        {"id": "f1", "question": "q2", "previous": "s"},
        {"id": "s", "question": "q1"},
        {"id": "other", "question": "q4"},
    ]
    seen = {}

    def answer(row, history):
        seen[row["id"]] = list(history)
        return row["id"].upper(), f"standalone {row['question']}"

    results = list(run_conversations(rows, answer))

    assert seen == {"s": [], "f1": ["standalone q1"], "f2": ["standalone q1", "standalone q2"], "other": []}
    assert {row["id"]: res for row, res in results} == {r["id"]: r["id"].upper() for r in rows}
