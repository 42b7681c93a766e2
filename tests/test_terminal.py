"""The terminal loops driven through text streams, and the CLI commands quiz / interview / progress / chat."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import pytest
from conftest import T0
from fake_grader import FakeGrader, full_answer

from tutor.cli import main
from tutor.interview import MockInterview
from tutor.mastery import TopicMastery, WeakPoint
from tutor.practice import PracticeSession
from tutor.progress import open_store
from tutor.terminal import HINT, QUIT, SKIP, Console, progress_text, run_chat, run_interview, run_quiz


def console(text: str) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(io.StringIO(text), out), out


def test_an_answer_spans_lines_until_an_empty_one():
    con, _ = console("\nfirst line\nsecond line\n\nnext\n")
    assert con.read_answer("?") == "first line\nsecond line"
    assert con.read_answer("?") == "next"
    assert con.read_answer("?") == QUIT  # end of input


@pytest.mark.parametrize(("typed", "command"), [("hint\n", HINT), ("  SKIP \n", SKIP), ("quit\n", QUIT)])
def test_a_command_word_on_the_first_line_is_a_command(typed, command):
    assert console(typed)[0].read_answer("?") == command


def test_a_command_word_inside_an_answer_is_just_text():
    assert console("it depends\nskip\n\n")[0].read_answer("?") == "it depends\nskip"


def test_an_answer_that_is_not_utf8_is_refused_and_read_again():
    con, out = console("drop\udcffout\nmore\n\nzeroes units\n\n")  # \udcff: the byte 0xff, surrogate-escaped
    assert con.read_answer("?") == "zeroes units"
    assert "error: your answer is not UTF-8 text (byte 0xff at character 5); type it again" in out.getvalue()


def test_a_strict_stdin_hands_undecodable_bytes_on_instead_of_raising():
    strict = io.TextIOWrapper(io.BytesIO(b"caf\xe9\n\ncafe\n\ncaf\xe9?\ncafe?\n"), encoding="utf-8")
    con = Console(strict, io.StringIO())
    assert con.read_answer("?") == "cafe" and con.read_line("> ") == "cafe?"
    assert "your answer is not UTF-8 text (byte 0xe9 at character 4)" in con.out.getvalue()
    assert "that line is not UTF-8 text (byte 0xe9 at character 4)" in con.out.getvalue()


def test_quiz_round_with_hint_grade_and_probe(store, cards):
    ticks = iter(range(1000))  # a clock that moves a second per call keeps the stored order deterministic
    session = PracticeSession(store, FakeGrader(), cards, "alice", topic="training", difficulty=2,
                              now=lambda: T0 + timedelta(seconds=next(ticks)))
    con, out = console("hint\nzero mean and unit variance\nover the mini-batch\n\ngamma and beta\n\nquit\n")
    summary = run_quiz(session, con)
    text = out.getvalue()
    assert "What is batch normalization" in text and "Hint 1: Area: training" in text
    assert "Score 3.3/10 — partial" in text and "rated hard" in text
    assert "✓ normalizes each feature over the mini-batch" in text and "✗ learnable scale and shift" in text
    assert "Follow-up: You mentioned" in text and "Score 10.0/10" in text
    assert summary == {"answered": 1, "mean_score": 3.3}
    assert [r.kind for r in store.reviews("alice")] == ["quiz", "probe"]


def test_quiz_skip_moves_on_and_end_of_input_quits(store, cards):
    session = PracticeSession(store, FakeGrader(), cards, "alice", now=lambda: T0)
    con, out = console("skip\n")
    assert run_quiz(session, con) == {"answered": 0, "mean_score": None}
    assert out.getvalue().count("level") == 2 and store.reviews("alice") == []


def test_interview_transcript_ends_with_the_scorecard(store, cards):
    iv = MockInterview(store, FakeGrader(), cards, "alice", questions=3, seed=3, now=lambda: T0)
    con, out = console("".join(f"{a}\n\nskip\n" for a in ["cell state", "no idea", "gamma"]) + "\n")
    card = run_interview(iv, con)
    text = out.getvalue()
    assert text.count("Score ") == 3 and "# Mock interview scorecard — alice" in text and "Verdict:" in text
    assert len(card.results) == 3 and store.scorecards("alice")


def test_chat_keeps_follow_ups_in_context_and_reports_each_turn(tutor_fake):
    seen = []
    con, out = console("How does an LSTM work?\n\nand what is a GRU?\nquit\n")
    turns = run_chat(tutor_fake, con, lambda q, a: seen.append((q, a)), backend="extractive")
    assert turns == 2 and [q for q, _ in seen] == ["How does an LSTM work?", "and what is a GRU?"]
    assert seen[0][1].citations and "Sources:" in out.getvalue()


def test_chat_reads_a_follow_up_against_the_last_answered_question_not_a_refused_aside(tutor_fake):
    histories = []

    class Recording:
        def ask(self, question, history, **options):
            histories.append(list(history))
            return tutor_fake.ask(question, history, **options)

    con, _ = console("How does an LSTM work?\nwhat is the capital of France?\nand what is a GRU?\nquit\n")
    seen = []
    run_chat(Recording(), con, lambda q, a: seen.append(a), backend="extractive")
    assert [a.refused for a in seen] == [False, True, False]
    assert histories[1] == histories[2] == [seen[0].standalone]


def test_progress_table_plain_and_rich():
    rows = [TopicMastery("training", 1, 2, 0.55, 1, 2, 3), TopicMastery("nlp", 0, 4, None, 0, 0, 0)]
    weak = [WeakPoint("uses running averages at inference", "training/batch-normalization", 2, 3)]
    plain = progress_text(rows, weak, "alice")
    lines = plain.splitlines()
    assert lines[1].split() == ["topic", "seen", "mastery", "due", "now", "due", "7d"]
    assert lines[2].split() == ["training", "1/2", "55%", "1", "2"] and lines[3].split() == ["nlp", "0/4", "—", "0", "0"]
    assert "✗ uses running averages at inference (2/3) — training/batch-normalization" in plain
    assert "55%" in progress_text(rows, weak, "alice", tty=True)


# --- the CLI ------------------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(monkeypatch, tmp_path, built_index, fake_minilm):
    """The CLI over the fixture index with FakeEmbedder and FakeGrader, progress under tmp TUTOR_HOME."""
    import tutor.practice_commands as pc

    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_PROFILE", "alice")
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    monkeypatch.delenv("TUTOR_DB", raising=False)
    monkeypatch.setattr(pc, "grade_fn", lambda tutor, cards: FakeGrader())
    return ["--index", str(built_index.index_dir)]


def run(capsys, monkeypatch, argv, stdin: str | bytes = ""):
    """bytes are read as a terminal under a UTF-8 locale reads them: strictly (a bad byte would raise)."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
                        if isinstance(stdin, bytes) else io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_cli_quiz_then_progress_then_export_import(capsys, monkeypatch, cli_env, cards, tmp_path):
    card = next(c for c in cards if c.id == "training/dropout")
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "quiz", "--topic", "training", "--difficulty", "1"],
                       f"{full_answer(card)}\n\n\n")
    assert code == 0 and "Score 10.0/10 — correct" in out and "Follow-up:" in out
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "progress", "--json"])
    data = json.loads(out)
    training = next(t for t in data["topics"] if t["topic"] == "training")
    assert code == 0 and data["profile"] == "alice" and (training["seen"], training["total"]) == (1, 2)
    assert training["mastery"] == 1.0
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "progress"])
    assert code == 0 and "Progress — alice" in out and "1/2" in out
    export = tmp_path / "mine.json"
    assert run(capsys, monkeypatch, [*cli_env, "progress", "export", str(export)])[0] == 0
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "progress", "import", str(export)])
    assert code == 0 and "imported 0 reviews" in out and "already present" in out


def test_cli_interview_saves_the_scorecard(capsys, monkeypatch, cli_env, tmp_path):
    out_md = tmp_path / "card.md"
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "interview", "--questions", "3", "--seed", "1",
                                              "--topics", "training,basics", "--out", str(out_md)],
                       "dropout zeroes units\n\nskip\nsoftmax\n\nskip\nno idea\n\nskip\n")
    assert code == 0 and f"scorecard saved to {out_md}" in out
    assert out_md.read_text().startswith("# Mock interview scorecard — alice")


def test_cli_interview_out_is_checked_before_the_first_question(capsys, monkeypatch, cli_env, tmp_path):
    for out_arg, said in [(tmp_path, f"{tmp_path} is a folder; tutor interview --out takes a file name"),
                          (tmp_path / "nowhere" / "card.md", f"the folder {tmp_path / 'nowhere'} does not exist")]:
        code, out, err = run(capsys, monkeypatch, [*cli_env, "interview", "--out", str(out_arg)], "dropout\n\n")
        assert code == 1 and said in err and "Mock interview" not in out
    with open_store(None, tmp_path / "home") as s:
        assert s.reviews("alice") == [] and s.scorecards("alice") == []


class _InterruptedAfter(io.StringIO):
    """Typed input that ends in Ctrl-C once its lines are read."""

    def readline(self, *args):
        line = super().readline(*args)
        if line == "":
            raise KeyboardInterrupt
        return line


def test_cli_interview_interrupted_by_ctrl_c_still_saves_the_scorecard(capsys, monkeypatch, cli_env, tmp_path):
    out_md = tmp_path / "card.md"
    monkeypatch.setattr("sys.stdin", _InterruptedAfter("dropout zeroes units\n\nskip\n"))
    code = main([*cli_env, "interview", "--questions", "3", "--seed", "1", "--out", str(out_md)])
    out, err = capsys.readouterr()
    assert code == 0 and "interrupted: the interview ends here" in out and f"scorecard saved to {out_md}" in out
    with open_store(None, tmp_path / "home") as s:
        [saved] = s.scorecards("alice")
    assert len(saved.data["results"]) == 1 and out_md.read_text() == saved.markdown


def test_an_interview_that_fails_midway_stores_the_scorecard_of_what_was_answered(store, cards):
    grader = FakeGrader()

    def failing(answer, *, card):
        if grader.calls:
            raise RuntimeError("the grader broke")
        return grader(answer, card=card)

    iv = MockInterview(store, failing, cards, "alice", questions=3, seed=3, now=lambda: T0)
    con, _ = console("cell state\n\nskip\nno idea\n\n")
    with pytest.raises(RuntimeError, match="grader broke"):
        run_interview(iv, con)
    [saved] = store.scorecards("alice")
    assert [r["answer"] for r in saved.data["results"]] == ["cell state"]


def test_cli_sessions_refuse_bytes_that_are_not_utf8_and_go_on(capsys, monkeypatch, cli_env, cards, tmp_path):
    card = next(c for c in cards if c.id == "training/dropout")
    typed = b"drop\xffout\n\n" + full_answer(card).encode() + b"\n\n\n"
    code, out, err = run(capsys, monkeypatch, [*cli_env, "quiz", "--topic", "training", "--difficulty", "1"], typed)
    assert code == 0 and "your answer is not UTF-8 text (byte 0xff at character 5); type it again" in out
    assert "Score 10.0/10 — correct" in out

    code, out, _ = run(capsys, monkeypatch, [*cli_env, "interview", "--questions", "1", "--seed", "1", "--topics",
                                             "training", "--out", str(tmp_path / "iv.md")], typed)
    assert code == 0 and "your answer is not UTF-8 text (byte 0xff" in out and "scorecard saved" in out

    code, out, _ = run(capsys, monkeypatch, [*cli_env, "chat"], b"what is drop\xffout?\nWhat is dropout?\nquit\n")
    assert code == 0 and "that line is not UTF-8 text (byte 0xff at character 13)" in out and "Sources:" in out
    with open_store(None, tmp_path / "home") as s:
        assert [c.question for c in s.conversations("alice")] == ["What is dropout?"]


def test_cli_quiz_json_prints_only_the_summary_on_stdout(capsys, monkeypatch, cli_env, cards):
    card = next(c for c in cards if c.id == "training/dropout")
    code, out, err = run(capsys, monkeypatch, [*cli_env, "quiz", "--topic", "training", "--difficulty", "1",
                                               "--limit", "1", "--json"], f"{full_answer(card)}\n\nskip\n")
    assert code == 0 and json.loads(out) == {"answered": 1, "mean_score": 10.0}
    assert "Score 10.0/10" in err  # the dialogue


def test_cli_chat_with_an_unknown_backend_fails_before_the_first_question(capsys, monkeypatch, cli_env):
    code, out, err = run(capsys, monkeypatch, [*cli_env, "chat", "--backend", "nonsense"], "What is dropout?\n")
    assert code == 1 and "unknown backend `nonsense`" in err and out == ""


@pytest.mark.parametrize(("argv", "message"), [
    (["quiz", "--limit", "-3"], "argument --limit: must be at least 1, not -3"),
    (["quiz", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
    (["interview", "--questions", "two"], "argument --questions: must be a whole number, not 'two'"),
])
def test_cli_counts_below_one_are_refused_by_the_argument_parser(capsys, cli_env, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main([*cli_env, *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_cli_chat_stores_the_conversation(capsys, monkeypatch, cli_env, tmp_path):
    code, out, _ = run(capsys, monkeypatch, [*cli_env, "chat"], "What is dropout?\nquit\n")
    assert code == 0 and "Sources:" in out
    with open_store(None, tmp_path / "home") as s:
        [c] = s.conversations("alice")
    assert c.question == "What is dropout?" and c.citations and c.thread


@pytest.mark.parametrize(("argv", "message"), [
    (["quiz", "--topic", "cooking"], "unknown topic"),
    (["quiz", "--profile", "a b"], "profile name"),
    (["progress", "import", "/nonexistent.json"], "does not exist"),
    (["progress", "export"], "give the file"),
    (["progress", "export", "/"], "/ is a folder; tutor progress export takes a file name"),
    (["progress", "export", "/nonexistent/dir/me.json"], "the folder /nonexistent/dir does not exist"),
    (["progress", "import", "/"], "/ is a folder"),
    (["interview", "--minutes", "0"], "--minutes must be positive"),
])
def test_cli_bad_input_is_one_line_and_exit_1(capsys, monkeypatch, cli_env, argv, message):
    code, _, err = run(capsys, monkeypatch, [*cli_env, *argv])
    assert code == 1 and message in err and err.startswith("error:")


def test_cli_export_that_cannot_be_written_leaves_the_earlier_file(capsys, monkeypatch, cli_env, tmp_path):
    import errno
    import os

    export = tmp_path / "mine.json"
    export.write_text("earlier export")

    def disk_full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    code, _, err = run(capsys, monkeypatch, [*cli_env, "progress", "export", str(export)])
    assert code == 1 and f"could not write {export} (No space left on device)" in err
    assert export.read_text() == "earlier export" and [p.name for p in tmp_path.iterdir() if "mine" in p.name] == ["mine.json"]


def test_cli_import_of_a_non_export_is_exit_1(capsys, monkeypatch, cli_env, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert run(capsys, monkeypatch, [*cli_env, "progress", "import", str(bad)])[0] == 1
    bad.write_text("{}")
    code, _, err = run(capsys, monkeypatch, [*cli_env, "progress", "import", str(bad)])
    assert code == 1 and "tutor progress export" in err


def test_cli_reports_a_corrupt_store_once_and_goes_on(capsys, monkeypatch, cli_env, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "progress.db").write_bytes(b"garbage" * 500)
    code, _, err = run(capsys, monkeypatch, [*cli_env, "progress"])
    assert code == 0 and "note: the progress file" in err and "progress.db.corrupt-" in err


def test_fixed_clock_interval_after_a_graded_answer_is_shown(store, cards):
    session = PracticeSession(store, FakeGrader(), cards, "alice", topic="basics", difficulty=1, now=lambda: T0)
    card = next(c for c in cards if c.id == "basics/softmax")
    con, out = console(f"{full_answer(card)}\n\nquit\n")
    run_quiz(session, con)
    due = store.schedule_states("alice")["basics/softmax"]["due"]
    assert datetime.fromisoformat(due) - T0 >= timedelta(days=1) and "rated easy, next review in" in out.getvalue()
