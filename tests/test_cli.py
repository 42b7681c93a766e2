"""`tutor …` through `tutor.cli.main`: exit codes, messages without tracebacks, and the JSON shapes."""

from __future__ import annotations

import json

import pytest
from conftest import CARDS, FakeEmbedder

from tutor.cli import main

PASSAGE_KEYS = {"rank", "chunk_id", "card_id", "source", "title", "text", "score"}
ANSWER_KEYS = {"id", "answer", "citations", "refused", "passages", "latency_s"}


@pytest.fixture(autouse=True)
def _extractive_by_default(monkeypatch):
    """`tutor ask` without --backend would pick a local LLM when one is installed: keep these tests offline."""
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


CONVERSATION = [
    {"id": "follow", "question": "and how is it different from GRU?", "previous": "start"},
    {"id": "start", "question": "How does an LSTM work?"},
    {"id": "fresh", "question": "What is dropout and why does it help?"},
]


# --- user errors: exit 1 ----------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["ask", "retrieve"])
@pytest.mark.parametrize("question", ["", "   "])
def test_an_empty_question_exits_1_with_a_message(capsys, config, fake_minilm, command, question):
    code, out, err = run(capsys, "--index", str(config.index_dir), command, question)

    assert code == 1
    assert "empty" in err
    assert err.startswith("error:")


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_an_over_long_question_exits_1_naming_the_limit(capsys, config, fake_minilm, command):
    question = "x" * (config.max_question_chars + 1)

    code, _, err = run(capsys, "--index", str(config.index_dir), command, question)

    assert code == 1
    assert str(config.max_question_chars) in err
    assert str(len(question)) in err


def test_a_malformed_batch_line_fails_alone_and_the_batch_exits_1(capsys, built_index, fake_minilm, tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "What is dropout?"}\n{oops\n{"id": "c", "question": "  "}\n'
                    '{"id": "d", "question": "What is a GRU?"}\n', encoding="utf-8")

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "--from", str(path), "--json")

    rows = json_lines(out)
    assert code == 1 and "2 of 4 rows failed" in err
    assert [r["id"] for r in rows] == ["a", None, "c", "d"]
    assert rows[1] == {"id": None, "error": f"{path}:2: not valid JSON (Expecting property name enclosed in double quotes)"}
    assert set(rows[2]) == {"id", "error"} and "empty" in rows[2]["error"]
    assert rows[0]["passages"] and rows[3]["passages"]  # the rows that were fine still ran


def test_a_batch_from_stdin(capsys, built_index, fake_minilm, monkeypatch):
    import io
    import sys

    data = b'{"id": "s1", "question": "How does an LSTM work?"}\n{"id": "s2", "question": "and a GRU?", "previous": "s1"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive",
                         "--from", "-", "--json")

    assert code == 0, err
    assert [r["id"] for r in json_lines(out)] == ["s1", "s2"]


def test_a_question_of_undecodable_bytes_is_a_user_error_not_a_traceback(capsys, built_index, fake_minilm):
    question = b"\xff\xfe\x80\x00".decode("utf-8", "surrogateescape")  # what argv holds for such bytes

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", question)

    assert code == 1 and "the question is not UTF-8 text (byte 0xff at character 1)" in err and out == ""


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("TUTOR_LLM_TIMEOUT", "-1", "TUTOR_LLM_TIMEOUT='-1' must be more than 0"),
    ("TUTOR_LLM_TIMEOUT", "0", "TUTOR_LLM_TIMEOUT='0' must be more than 0"),
    ("TUTOR_LLM_TIMEOUT", "nan", "TUTOR_LLM_TIMEOUT='nan' must be more than 0"),
    ("TUTOR_HYDE", "-0.5", "TUTOR_HYDE='-0.5' must be at least 0"),
])
def test_a_setting_out_of_range_exits_1_naming_it(capsys, built_index, fake_minilm, monkeypatch, variable, value, said):
    monkeypatch.setenv(variable, value)

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "what is dropout")

    assert code == 1 and said in err and f"export {variable}=" in err and out == ""


@pytest.mark.parametrize(("argv", "message"), [
    (["retrieve", "-k", "0", "what is dropout"], "argument -k: must be at least 1, not 0"),
    (["retrieve", "-k", "-1", "what is dropout"], "argument -k: must be at least 1, not -1"),
    (["ask", "-k", "0", "what is dropout"], "argument -k: must be at least 1, not 0"),
    (["eval", "--limit", "0"], "argument --limit: must be at least 1, not 0"),
])
def test_a_count_below_one_is_refused_by_the_argument_parser(capsys, config, argv, message):
    with pytest.raises(SystemExit) as exit_:
        main(["--index", str(config.index_dir), *argv])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ask", "retrieve"])
def test_an_empty_batch_exits_1_as_grade_does(capsys, built_index, fake_minilm, tmp_path, command):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n  \n", encoding="utf-8")

    code, out, err = run(capsys, "--index", str(built_index.index_dir), command, "--from", str(path), "--json")

    assert code == 1 and out == "" and f"nothing to {command}: {path} has no rows" in err and '"question"' in err


def test_a_pdf_that_is_not_one_fails_ingest_naming_it_and_the_index_is_untouched(capsys, built_index, fake_minilm,
                                                                                tmp_path):
    pdf = tmp_path / "notes.pdf"
    pdf.write_bytes(bytes(range(256)) * 8)
    manifest = (built_index.index_dir / "manifest.json").read_bytes()

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "ingest", "--only", str(built_index.sources[0]),
                         str(pdf))

    assert code == 1 and f"{pdf}: not a readable PDF" in err and out == ""
    assert (built_index.index_dir / "manifest.json").read_bytes() == manifest


@pytest.mark.parametrize("variable", ["TUTOR_LLM_TIMEOUT", "TUTOR_HYDE"])
def test_a_setting_that_is_not_a_number_exits_1_naming_it(capsys, built_index, fake_minilm, monkeypatch, variable):
    monkeypatch.setenv(variable, "fast")

    code, out, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "what is dropout")

    assert code == 1 and f"{variable}='fast' is not a number" in err and f"export {variable}=" in err and out == ""


def test_a_malformed_card_exits_1_naming_file_and_line(capsys, config, fake_minilm, write_card):
    path = write_card(config.sources[0], "training/dropout", topic="cooking")

    code, _, err = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(config.sources[0]))

    assert code == 1
    assert str(path) in err and "valid topics" in err
    assert not (config.index_dir / "manifest.json").exists()


# --- environment problems: exit 2 with the fix ------------------------------------------------------------

@pytest.mark.parametrize("argv", [["retrieve", "What is dropout?"], ["ask", "What is dropout?", "--json"],
                                  ["ask", "--backend", "extractive", "What is dropout?"]])
def test_a_missing_index_exits_2_and_says_run_tutor_ingest(capsys, config, fake_minilm, argv):
    code, out, err = run(capsys, "--index", str(config.index_dir), *argv)

    assert code == 2
    assert f"fix: tutor --index {config.index_dir} ingest" in err  # the folder in use, not ./index


def test_an_index_built_by_another_embedder_exits_2_as_stale(capsys, built_index, monkeypatch):
    import tutor.embed

    class OtherEmbedder(FakeEmbedder):
        name = "another-embedder"

    monkeypatch.setattr(tutor.embed, "MiniLMEmbedder", OtherEmbedder)

    code, _, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "What is dropout?")

    assert code == 2
    assert "stale" in err
    assert f"tutor --index {built_index.index_dir} ingest" in err


def test_an_edited_index_exits_2_as_corrupt(capsys, built_index, fake_minilm):
    path = built_index.index_dir / "chunks.jsonl"
    path.write_text(path.read_text("utf-8") + "\n", encoding="utf-8")

    code, _, err = run(capsys, "--index", str(built_index.index_dir), "retrieve", "What is dropout?")

    assert code == 2
    assert f"fix: tutor --index {built_index.index_dir} ingest --rebuild" in err


# --- ingest -----------------------------------------------------------------------------------------------

def test_ingest_json_reports_the_build_then_nothing_to_do(capsys, config, fake_minilm):
    argv = ["--index", str(config.index_dir), "ingest", "--only", str(config.sources[0]), "--json"]

    code, out, _ = run(capsys, *argv)
    again_code, again_out, _ = run(capsys, *argv)

    first, second = json.loads(out), json.loads(again_out)
    assert code == again_code == 0
    assert first["changed"] and first["n_cards"] == len(CARDS) and first["n_embedded"] == first["n_chunks"] > 0
    assert not second["changed"] and second["n_embedded"] == 0 and second["n_chunks"] == first["n_chunks"]
    assert (config.index_dir / "manifest.json").is_file()


def test_ingest_prints_a_summary_in_plain_text(capsys, config, fake_minilm):
    code, out, _ = run(capsys, "--index", str(config.index_dir), "ingest", "--only", str(config.sources[0]))

    assert code == 0
    assert f"{len(CARDS)} cards" in out
    assert str(config.index_dir) in out


# --- retrieve ---------------------------------------------------------------------------------------------

def test_retrieve_from_jsonl_writes_one_line_per_row_in_input_order(capsys, built_index, fake_minilm, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", CONVERSATION)

    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "retrieve", "--from", path, "--json", "-k", "3")

    rows = json_lines(out)
    assert code == 0
    assert [r["id"] for r in rows] == [r["id"] for r in CONVERSATION]
    for row, asked in zip(rows, CONVERSATION, strict=True):
        assert set(row) == {"id", "query", "passages"}
        assert asked["question"] in row["query"]
        assert 0 < len(row["passages"]) <= 3
        assert [p["rank"] for p in row["passages"]] == list(range(1, len(row["passages"]) + 1))
        for p in row["passages"]:
            assert set(p) >= PASSAGE_KEYS
            assert p["card_id"] in CARDS
    by_id = {r["id"]: r for r in rows}
    assert by_id["follow"]["query"].startswith("How does an LSTM work?")
    assert by_id["fresh"]["query"] == "What is dropout and why does it help?"
    assert by_id["fresh"]["passages"][0]["card_id"] == "training/dropout"


def test_retrieve_json_for_one_question(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "retrieve", "How does an LSTM work?", "--json")

    (result,) = json_lines(out)
    assert code == 0
    assert result["query"] == "How does an LSTM work?"
    assert result["passages"][0]["card_id"] == "architectures/lstm"
    assert all(set(p) >= PASSAGE_KEYS for p in result["passages"])


def test_retrieve_prints_ranked_passages_as_text(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "retrieve", "How does an LSTM work?")

    assert code == 0
    assert out.startswith(f"[1] {CARDS['architectures/lstm']['question']}")
    assert "architectures/lstm" in out


# --- ask --------------------------------------------------------------------------------------------------

def test_ask_extractive_json_has_the_answer_shape_and_cites_the_card(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive", "--json",
                       "What is dropout and why does it help?")

    (answer,) = json_lines(out)
    assert code == 0
    assert set(answer) >= ANSWER_KEYS
    assert answer["refused"] is False
    assert "[1]" in answer["answer"]
    assert answer["citations"][0]["n"] == 1
    assert answer["citations"][0]["card_id"] == "training/dropout"
    assert answer["passages"][0]["card_id"] == "training/dropout"
    assert isinstance(answer["latency_s"], float)


def test_ask_extractive_json_refuses_out_of_scope_without_citations(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive", "--json",
                       "Suggest a recipe for vegetarian lasagna with spinach")

    (answer,) = json_lines(out)
    assert code == 0
    assert answer["refused"] is True
    assert answer["citations"] == []


def test_ask_from_jsonl_answers_every_row_in_input_order(capsys, built_index, fake_minilm, tmp_path):
    path = write_jsonl(tmp_path / "q.jsonl", CONVERSATION)

    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive",
                       "--from", path, "--json")

    rows = json_lines(out)
    assert code == 0
    assert [r["id"] for r in rows] == [r["id"] for r in CONVERSATION]
    for row in rows:
        assert set(row) >= ANSWER_KEYS
    by_id = {r["id"]: r for r in rows}
    assert by_id["follow"]["standalone"].startswith("How does an LSTM work?")
    assert by_id["start"]["citations"][0]["card_id"] == "architectures/lstm"


def test_ask_streams_the_answer_then_lists_its_sources(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive",
                       "How does an LSTM work?")

    assert code == 0
    assert CARDS["architectures/lstm"]["answer"].strip()[:80] in out
    assert "Sources:" in out
    assert "[1]" in out.split("Sources:")[1]


def test_ask_no_stream_prints_the_same_answer_at_once(capsys, built_index, fake_minilm):
    code, out, _ = run(capsys, "--index", str(built_index.index_dir), "ask", "--backend", "extractive",
                       "--no-stream", "How does an LSTM work?")

    assert code == 0
    assert CARDS["architectures/lstm"]["answer"].strip()[:80] in out
    assert "Sources:" in out


# ---- a streamed LLM answer on the terminal is the checked answer `--json` gives ----------------------------


def _ask_args(**changes):
    import argparse

    args = dict(backend="local", k=None, model=None, detail=False, json=False, no_stream=False)
    return argparse.Namespace(**{**args, **changes})


def _fake_llm_tutor(tutor_fake, reply: str):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    llm = GenericFakeChatModel(messages=iter([AIMessage(reply), AIMessage(reply)]))
    tutor_fake.chat_model_factory = lambda backend, config, model, max_tokens: llm
    return tutor_fake


def test_ask_streams_the_checked_llm_answer_that_json_gives(capsys, tutor_fake):
    # The 0.5B's way: grounded sentences, no markers. The terminal must show the markers the Sources refer to.
    from tutor.ask import ask_one

    tutor = _fake_llm_tutor(tutor_fake, "Dropout randomly sets hidden units to zero during training. "
                                        "At inference time dropout is switched off and the full network is used.")
    q = "what is dropout and why does it help"
    assert ask_one(tutor.config, q, _ask_args(), tutor) == 0
    shown = capsys.readouterr().out
    assert ask_one(tutor.config, q, _ask_args(json=True), tutor) == 0
    final = json.loads(capsys.readouterr().out)

    text, sources = shown.split("\nSources:\n")
    assert text.strip() == final["answer"]  # the terminal and --json agree, marker for marker
    assert "during training [1]. At inference" in text and "Checked answer" not in text
    assert [line.split("]")[0] + "]" for line in sources.strip().splitlines()] == \
        [f"[{c['n']}]" for c in final["citations"]]


def test_ask_prints_the_checked_answer_again_when_the_stream_showed_something_else(capsys, tutor_fake):
    """A front end cannot take back what a terminal printed: when the stream and the checked answer differ,
    the checked answer follows under a heading saying it replaces the text above, then its sources."""
    from tutor.answer import Answer, Citation
    from tutor.ask import ask_one

    _, passages = tutor_fake.retrieve("what is dropout and why does it help")
    checked = Answer("q", "q", "Dropout zeroes random units during training [1].",
                     [Citation(1, passages[0].chunk_id, passages[0].card_id, passages[0].source)], False,
                     passages, "local")

    class Drafting:
        config = tutor_fake.config

        def stream(self, question, **opts):
            yield "Dropout zeroes random units during training. "
            yield "It is mostly used in CNNs."
            yield checked

    assert ask_one(tutor_fake.config, "q", _ask_args(), Drafting()) == 0
    out = capsys.readouterr().out
    draft, rest = out.split("Checked answer")
    assert "It is mostly used in CNNs." in draft and "CNNs" not in rest
    assert rest.split("\n", 1)[1].lstrip().startswith("Dropout zeroes random units during training [1].")
    assert rest.index("[1].") < rest.index("Sources:")


def test_ask_does_not_repeat_an_answer_whose_stream_only_added_its_notice(capsys, tutor_fake):
    # A fallback streams "[notice]" before the curated answer; the notice is not a difference in the answer.
    from tutor.ask import ask_one

    tutor = _fake_llm_tutor(tutor_fake, "Bananas are yellow and grow in warm places near the sea.")
    assert ask_one(tutor.config, "what is dropout and why does it help", _ask_args(), tutor) == 0
    out = capsys.readouterr().out
    assert "curated answer" in out and "Checked answer" not in out
