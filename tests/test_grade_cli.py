"""`tutor grade` through `tutor.cli.main`: single answers, batches from a file and stdin, bad rows."""

from __future__ import annotations

import io
import json

import pytest

from tutor.cli import main

ROW_KEYS = {"id", "score", "label", "points", "misconceptions", "feedback", "card_id", "latency_s"}
ANSWER = ("Dropout randomly zeroes units during training. It acts as a regularizer against co-adaptation. "
          "Inverted dropout scales activations so inference needs no change.")


@pytest.fixture(autouse=True)
def _extractive_by_default(monkeypatch):
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")


def run(capsys, built_index, *argv: str) -> tuple[int, str, str]:
    code = main(["--index", str(built_index.index_dir), "grade", *argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_a_single_answer_by_question_prints_json_with_the_agreed_fields(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, built_index, "--question", "What is dropout and why does it help?",
                       "--answer", ANSWER, "--json")

    assert code == 0
    (row,) = json_lines(out)
    assert set(row) >= ROW_KEYS
    assert row["card_id"] == "training/dropout" and row["label"] == "correct"
    assert set(row["points"][0]) == {"point", "status", "evidence"}


def test_a_single_answer_by_card_id_prints_points_and_feedback(capsys, built_index, fake_minilm, tmp_path):
    answer = tmp_path / "answer.txt"
    answer.write_text("Dropout randomly zeroes units during training.", encoding="utf-8")
    code, out, _ = run(capsys, built_index, "--card", "training/dropout", "--answer-file", str(answer))

    assert code == 0
    assert "Card: training/dropout" in out and "covered" in out and "What was missing" in out


def test_a_card_named_without_its_topic_is_found(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, built_index, "--card", "dropout", "--answer", "Dropout randomly zeroes units.")

    assert code == 0 and "Card: training/dropout" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--card", "training/nope", "--answer", "x y z"], "no card `training/nope`"),
    (["--card", "dropuot", "--answer", "x y z"], "did you mean training/dropout"),
    (["--question", "What is dropout?"], "no answer to grade"),
    (["--answer", "some answer"], "--question"),
    (["--card", "training/dropout", "--answer-file", "/nonexistent/answer.txt"], "no such file"),
])
def test_user_errors_exit_1_with_a_one_line_message(capsys, built_index, fake_minilm, argv, message):
    code, _, err = run(capsys, built_index, *argv)

    assert code == 1
    assert err.startswith("error:") and message in err


def test_a_missing_index_exits_2(capsys, tmp_path, fake_minilm):
    code = main(["--index", str(tmp_path / "none"), "grade", "--question", "What is dropout?", "--answer", ANSWER])
    _, err = capsys.readouterr()

    assert code == 2 and "Traceback" not in err


ROWS = [
    {"id": "a", "question": "What is dropout and why does it help?", "answer": ANSWER},
    {"id": "b", "card_id": "training/dropout", "answer": "I don't know"},
    {"id": "c", "question": "Explain gradient clipping", "answer": "It rescales big gradients.",
     "reference": "Gradient clipping rescales the gradient when its norm exceeds a threshold."},
]


def test_a_batch_writes_one_line_per_row_in_input_order(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    code, out, _ = run(capsys, built_index, "--from", str(path), "--json")

    lines = json_lines(out)
    assert code == 0
    assert [row["id"] for row in lines] == ["a", "b", "c"]
    assert lines[0]["label"] == "correct" and lines[1]["score"] == 0.0
    assert lines[2]["card_id"] is None and all(set(row) >= ROW_KEYS for row in lines)


def test_a_batch_reads_stdin_with_a_dash(capsys, built_index, fake_minilm, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(ROWS[0]) + "\n"))
    code, out, _ = run(capsys, built_index, "--from", "-", "--json")

    assert code == 0 and json_lines(out)[0]["id"] == "a"


def test_bad_rows_get_an_error_line_and_the_batch_goes_on_then_exits_1(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([
        json.dumps(ROWS[0]),
        "{not json",
        json.dumps({"id": "no-answer", "question": "What is dropout?"}),
        json.dumps({"id": "no-card", "card_id": "training/nope", "answer": "x"}),
        json.dumps({"id": "nothing", "question": "Who won the football league?", "answer": "my club"}),
        json.dumps(ROWS[1]),
    ]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, built_index, "--from", str(path), "--json")

    lines = json_lines(out)
    assert code == 1 and "4 row(s)" in err
    assert [row["id"] for row in lines] == ["a", "line-2", "no-answer", "no-card", "nothing", "b"]
    assert [("error" in row) for row in lines] == [False, True, True, True, True, False]
    assert "answer" in lines[2]["error"] and "training/nope" in lines[3]["error"]


def test_a_batch_row_may_name_its_card_as_card_like_the_flag(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "flag-name", "card": "training/dropout", "answer": ANSWER}),
        json.dumps({"id": "both", "card": "training/dropout", "card_id": "architectures/lstm", "answer": ANSWER}),
    ]) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, built_index, "--from", str(path), "--json")

    first, second = json_lines(out)
    assert first["card_id"] == "training/dropout" and first["label"] == "correct"
    assert code == 1 and "different cards" in second["error"]


def test_an_empty_batch_says_so_and_exits_1(capsys, built_index, fake_minilm, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("\n\n"))
    code, out, err = run(capsys, built_index, "--from", "-", "--json")

    assert code == 1 and out == "" and "nothing to grade: stdin has no rows" in err


# --- text that is not UTF-8: a clear error, never a tokenizer's TypeError ------------------------------------

def test_an_answer_of_undecodable_bytes_exits_1_naming_the_byte(capsys, built_index, fake_minilm):
    answer = b"drop\xffout zeroes units".decode("utf-8", "surrogateescape")  # what argv holds for such bytes
    code, out, err = run(capsys, built_index, "--card", "training/dropout", "--answer", answer)

    assert code == 1 and out == ""
    assert "the answer is not UTF-8 text (byte 0xff at character 5)" in err


def test_an_answer_file_that_is_not_utf8_exits_1_naming_the_file(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("Dropout z\xe9roes units".encode("latin-1"))
    code, out, err = run(capsys, built_index, "--card", "training/dropout", "--answer-file", str(path))

    assert code == 1 and out == ""
    assert f"{path}: not UTF-8 text (byte 0xe9 at offset 9)" in err and "iconv" in err


def test_a_batch_row_that_is_not_utf8_fails_alone(capsys, built_index, fake_minilm, monkeypatch):
    data = (json.dumps(ROWS[0]).encode() + b"\n"
            + b'{"id": "bad", "card": "training/dropout", "answer": "drop\xffout"}\n'
            + json.dumps({"id": "escaped", "card": "training/dropout", "answer": "drop\ud800out"}).encode() + b"\n"
            + json.dumps(ROWS[1]).encode() + b"\n")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape"))
    code, out, err = run(capsys, built_index, "--from", "-", "--json")

    lines = json_lines(out)
    assert code == 1 and [row["id"] for row in lines] == ["a", "line-2", "escaped", "b"]
    assert lines[1]["error"] == "<stdin>:2: not UTF-8 text (byte 0xff at offset 57)"
    assert lines[2]["error"] == "the answer is not UTF-8 text (a lone surrogate U+D800 at character 5)"
    assert lines[0]["label"] == "correct" and "score" in lines[3]


def test_an_unknown_backend_fails_a_batch_once_before_any_row(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n", encoding="utf-8")
    code, out, err = run(capsys, built_index, "--from", str(path), "--backend", "nonsense", "--json")

    assert code == 1 and out == "" and "unknown backend `nonsense`" in err
