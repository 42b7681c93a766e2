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


# ---- batches from the command line: read_batch / run_batch --------------------------------------------

def test_a_batch_keeps_good_rows_and_turns_each_bad_line_into_an_error_row(tmp_path):
    from tutor.batch import read_batch

    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"id": 1, "question": "a"}\n{oops\n\xff\xfe\n[1]\n{"id": 5}\n{"id": 6, "question": 7}\n'
                     b'{"id": 1, "question": "again"}\n{"id": 8, "question": "b", "previous": "zz"}\n'
                     b'{"id": 9, "question": "c", "previous": 8}\n')
    rows = read_batch(str(path))
    assert rows[0] == {"id": "1", "question": "a"}
    errors = [r["error"] for r in rows[1:]]
    for n, says in zip(range(2, 10), ["not valid JSON", "not UTF-8", "JSON object", "missing field(s) question",
                                      "must be a string", "duplicate id `1`", "previous `zz`", "previous row `8` failed"],
                       strict=True):
        assert says in errors[n - 2], (n, errors[n - 2])
    assert [r["id"] for r in rows] == ["1", None, None, None, "5", "6", "1", "8", "9"]
    assert all(set(r) == {"id", "error"} for r in rows[1:])


def test_a_cycle_of_previous_links_fails_its_rows_only(tmp_path):
    from tutor.batch import read_batch

    path = write_jsonl(tmp_path / "q.jsonl", [{"id": "a", "question": "x", "previous": "b"},
                                              {"id": "b", "question": "y", "previous": "a"},
                                              {"id": "c", "question": "z"}])
    rows = read_batch(str(path))
    assert "cycle" in rows[0]["error"] and "error" in rows[1] and rows[2] == {"id": "c", "question": "z"}


def test_a_row_that_fails_when_answered_fails_its_follow_ups_and_the_rest_go_on():
    from tutor.batch import run_batch
    from tutor.errors import IndexMissing

    rows = [{"id": "a", "question": ""}, {"id": "b", "question": "more", "previous": "a"},
            {"id": "c", "question": "fine"}]

    def answer(row, history):
        if not row["question"]:
            raise UserError("the question is empty")
        return {"id": row["id"], "ok": True}, row["question"]

    results, failed = run_batch(rows, answer)
    assert failed == 2 and results[2] == {"id": "c", "ok": True}
    assert results[0] == {"id": "a", "error": "the question is empty"}
    assert results[1] == {"id": "b", "error": "its previous row `a` failed"}

    def no_index(row, history):
        raise IndexMissing("no index", fix="tutor ingest")

    with pytest.raises(IndexMissing):  # the environment is not a row's fault: the batch stops with exit 2
        run_batch(rows[2:], no_index)


def test_a_directory_or_a_missing_file_given_to_from_is_a_user_error(tmp_path):
    from tutor.batch import read_batch

    with pytest.raises(UserError, match="folder"):
        read_batch(str(tmp_path))
    with pytest.raises(UserError, match="no such file"):
        read_batch(str(tmp_path / "nope.jsonl"))
