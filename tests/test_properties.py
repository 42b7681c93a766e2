"""Property tests over every text entry point: whatever a learner, a file or a pipe sends, nothing escapes.

Hypothesis draws arbitrary Unicode (lone surrogates, NUL and other controls, right-to-left marks,
combining characters, emoji), raw bytes and large inputs. The contract checked: the CLI exits 0 or 1 with
no traceback and keeps its JSON shape; readers return rows or `{"id", "error"}`; the chunker and the card
parser return their result or raise our own error; retrieval returns ranked passages.
"""

from __future__ import annotations

import json
import math
import string

import pytest
import yaml
from conftest import CARDS, FakeEmbedder, card_markdown, write_cards
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tutor.batch import read_batch
from tutor.cards import parse_card
from tutor.chunk import split_text
from tutor.cli import main
from tutor.config import Config
from tutor.errors import CorpusError, UserError
from tutor.tokens import count_tokens

# Every code point, surrogates included (Hypothesis leaves them out by default: argv and pipes do not).
ANY_CHAR = st.characters(codec=None, categories=None)
HOSTILE = st.sampled_from(["\x00", "\ud800", "\udfff", "\u202e", "\u200f", "\u0301", "\U0001f600", "\ufeff",
                           "\r", "\u2028", "```", "</passage>", "[1]", "\\", '"'])
QUESTION = st.one_of(
    st.text(ANY_CHAR, max_size=60),
    st.lists(st.one_of(HOSTILE, st.sampled_from(["what", "is", "dropout", " ", "?"])), max_size=20).map("".join),
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def index_config(tmp_path_factory) -> Config:
    from tutor.ingest import ingest

    root = tmp_path_factory.mktemp("prop")
    config = Config(index_dir=root / "index", sources=(write_cards(root / "cards"),), llm_backend="extractive")
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return config


@pytest.fixture(scope="module")
def tutor(index_config):
    from tutor.tutor import Tutor

    return Tutor(index_config, embedder_factory=FakeEmbedder)


@pytest.fixture
def cli(index_config, monkeypatch, capsys):
    import tutor.embed

    monkeypatch.setattr(tutor.embed, "MiniLMEmbedder", FakeEmbedder)
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--index", str(index_config.index_dir), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


# ---- questions: the Tutor and the CLI ---------------------------------------------------------------

@FAST
@given(question=QUESTION)
@example(question="\x00")
@example(question="\ud83d\ude00 \udc80\udcff what is dropout")  # bytes that were not UTF-8 reach argv so
@example(question="\u202ewhat is dropout\u202c")
def test_any_question_is_answered_or_refused_with_a_user_error(tutor, question):
    try:
        answer = tutor.ask(question, backend="extractive")
    except UserError as exc:
        assert str(exc) and "\n" not in exc.message
        return
    d = answer.to_dict()
    json.dumps(d, ensure_ascii=False).encode("utf-8")  # printable: no lone surrogate survives into the output
    assert isinstance(d["refused"], bool) and (d["citations"] == [] if d["refused"] else d["citations"])


@FAST
@given(question=QUESTION, command=st.sampled_from(["ask", "retrieve"]))
def test_the_cli_exits_0_or_1_and_keeps_its_json_shape(cli, question, command):
    args = [command, "--json", "--", question] if command == "retrieve" else \
        [command, "--backend", "extractive", "--json", "--", question]
    code, out, err = cli(*args)
    assert "Traceback" not in err
    assert code in (0, 1), err
    if code == 0:
        (row,) = [json.loads(line) for line in out.splitlines() if line.strip()]
        assert {"passages"} <= set(row) and ("answer" in row or "query" in row)
        out.encode("utf-8")
    else:
        assert err.startswith("error: ") and out == ""


def test_a_question_of_one_megabyte_is_a_user_error_naming_the_limit(cli):
    code, _, err = cli("retrieve", "--json", "--", "dropout " * 131072)
    assert code == 1 and "limit" in err and "Traceback" not in err


# ---- batches -----------------------------------------------------------------------------------------

LINE = st.one_of(
    st.binary(max_size=40),
    st.text(ANY_CHAR, max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.fixed_dictionaries({"id": st.one_of(st.integers(0, 5), st.text(string.ascii_lowercase, max_size=2)),
                           "question": st.one_of(st.text(max_size=20), st.integers(), st.none())},
                          optional={"previous": st.text("ab0123", max_size=1)})
    .map(lambda d: json.dumps(d).encode("utf-8")),
)


@FAST
@given(lines=st.lists(LINE, max_size=8))
def test_a_batch_reader_returns_one_row_or_error_per_line_and_never_raises(tmp_path, lines):
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    rows = read_batch(str(path))
    assert len(rows) == sum(bool(b.strip()) for b in b"\n".join(lines).splitlines())
    for row in rows:
        if "error" in row:
            assert set(row) == {"id", "error"} and isinstance(row["error"], str)
        else:
            assert isinstance(row["id"], str) and isinstance(row["question"], str)


@FAST
@given(lines=st.lists(LINE, min_size=1, max_size=6))
def test_a_cli_batch_writes_a_line_per_row_and_exits_1_when_any_failed(cli, tmp_path, lines):
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = cli("retrieve", "--from", str(path), "--json")
    assert "Traceback" not in err
    results = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(results) == len(read_batch(str(path)))
    failed = [r for r in results if "error" in r]
    assert code == (1 if failed or not results else 0), err  # a batch without rows is an error, as in grade
    assert all(set(r) == {"id", "error"} for r in failed)


# ---- the chunker, the card parser, retrieval --------------------------------------------------------

@FAST
@given(text=st.one_of(st.text(max_size=3000), st.lists(HOSTILE.filter(lambda c: not "\ud800" <= c <= "\udfff")
                                                       | st.text(max_size=30), max_size=200).map("".join)))
def test_the_chunker_keeps_every_window_within_its_token_budget(text):
    chunks = split_text(text, tokens=64, overlap=8)
    assert all(isinstance(c, str) and c.strip() for c in chunks)
    assert all(count_tokens(c) <= 64 for c in chunks)
    if text.strip():
        assert chunks


YAML_VALUE = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=6)
FIELDS = ["id", "topic", "question", "also_asked", "difficulty", "key_points", "follow_ups", "aliases",
          "misconceptions"]


@FAST
@given(field=st.sampled_from(FIELDS), value=YAML_VALUE)
def test_a_card_with_any_field_value_parses_or_names_the_problem(tmp_path, field, value):
    path = tmp_path / "training" / "dropout.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = yaml.safe_load(card_markdown("training/dropout").split("---")[1])
    meta[field] = value
    body = CARDS["training/dropout"]["answer"]
    path.write_text(f"---\n{yaml.safe_dump(meta, allow_unicode=True)}---\n{body}\n", encoding="utf-8")
    try:
        card = parse_card(path)
    except CorpusError as exc:
        assert str(path) in str(exc)
        return
    assert card.id and card.question


@FAST
@given(raw=st.binary(max_size=400))
@example(raw=b"---\n---\n")
@example(raw=b"---\nid: [\n---\nbody")
@example(raw=b"\xff\xfe---\n")
def test_any_bytes_as_a_card_file_parse_or_name_the_file(tmp_path, raw):
    path = tmp_path / "basics" / "x.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    try:
        parse_card(path)
    except CorpusError as exc:
        assert str(path) in str(exc)


@FAST
@given(query=st.text(ANY_CHAR.filter(lambda c: not "\ud800" <= c <= "\udfff"), max_size=80), k=st.integers(1, 8))
def test_retrieval_returns_ranked_passages_for_any_query(tutor, query, k):
    try:
        _, passages = tutor.retrieve(query, k)
    except UserError:
        return
    assert len(passages) <= k
    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert all(math.isfinite(p.relevance) and math.isfinite(p.score) for p in passages)
    assert len({p.card_id for p in passages if p.card_id}) == len([p for p in passages if p.card_id])


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x1c"])
def test_text_holding_a_unicode_line_separator_survives_ingest_and_reload(config, write_card, separator):
    """str.splitlines() breaks a JSON line at these characters: the index once came back unreadable."""
    from tutor.ingest import ingest
    from tutor.tutor import Tutor

    body = CARDS["training/dropout"]["answer"].replace(". ", f".{separator} ", 2)
    write_card(config.sources[0], "training/dropout", body=body)
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    _, passages = Tutor(config, embedder_factory=FakeEmbedder).retrieve("what is dropout and why does it help")
    assert passages[0].card_id == "training/dropout" and separator in passages[0].text
