"""The extractive backend: quotes the best card with a [1] citation, or refuses with nearby topics."""

from __future__ import annotations

import re

import pytest
from conftest import CARDS, FakeEmbedder

from tutor.answer import SUGGEST_MIN_COSINE, extractive_answer, nearest_topics, refusal_text
from tutor.errors import IndexMissing, UserError
from tutor.retrieve import Passage
from tutor.tutor import Tutor


def passage(rank, card_id, relevance, title=None):
    return Passage(rank=rank, chunk_id=f"{card_id or 'doc.txt'}#{rank}", card_id=card_id, source="src",
                   title=title or f"Question about {card_id}", text=f"Answer about {card_id}.", score=1.0 / rank,
                   relevance=relevance)


def cited_numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\[(\d+)\]", text)}


def test_an_in_scope_question_quotes_the_top_card_and_cites_it_as_1(tutor_fake):
    answer = tutor_fake.ask("What is dropout and why does it help?")

    assert not answer.refused
    assert answer.passages[0].card_id == "training/dropout"
    assert answer.citations[0].n == 1
    assert answer.citations[0].card_id == "training/dropout"
    assert answer.citations[0].chunk_id == answer.passages[0].chunk_id
    assert CARDS["training/dropout"]["answer"].strip() in answer.answer
    assert "[1]" in answer.answer


def test_every_citation_marker_in_the_text_has_a_citation_and_a_passage(tutor_fake):
    for spec in CARDS.values():
        answer = tutor_fake.ask(spec["question"])
        assert cited_numbers(answer.answer) == {c.n for c in answer.citations}
        passage_ids = {p.chunk_id for p in answer.passages}
        assert all(c.chunk_id in passage_ids for c in answer.citations)


def test_below_min_relevance_it_refuses_with_nearest_topics_and_no_citations(tutor_fake, built_index):
    # not a bare name: a question that only names a card is never refused (Config.named_is_relevant)
    question = "How does dropout help a network generalize?"
    _, passages = tutor_fake.retrieve(question)
    strict = Tutor(built_index.with_(min_relevance=passages[0].relevance + 0.01), embedder_factory=FakeEmbedder)

    answer = strict.ask(question)

    assert answer.refused
    assert answer.citations == []
    assert not cited_numbers(answer.answer)
    for title in nearest_topics(answer.passages, min_cosine=SUGGEST_MIN_COSINE):
        assert title in answer.answer
    assert CARDS["training/dropout"]["question"] in answer.answer


def test_an_out_of_scope_question_is_refused_at_the_default_threshold(tutor_fake):
    answer = tutor_fake.ask("Suggest a recipe for vegetarian lasagna with spinach")

    assert answer.passages[0].relevance < tutor_fake.config.min_relevance
    assert answer.refused and answer.citations == []


def test_related_cards_are_cited_only_when_relevant_enough():
    passages = [passage(1, "a/top", 0.9), passage(2, "a/close", 0.7), passage(3, "a/far", 0.2)]

    answer = extractive_answer("q", "q", passages, min_relevance=0.5)

    assert [(c.n, c.card_id) for c in answer.citations] == [(1, "a/top"), (2, "a/close")]
    assert "Question about a/close [2]" in answer.answer
    assert "a/far" not in answer.answer


def test_document_windows_are_never_listed_as_related_cards():
    passages = [passage(1, "a/top", 0.9), passage(2, None, 0.9, title="A window of an article")]

    answer = extractive_answer("q", "q", passages, min_relevance=0.5)

    assert [c.card_id for c in answer.citations] == ["a/top"]
    assert "A window of an article" not in answer.answer


def test_with_no_passages_at_all_it_refuses():
    answer = extractive_answer("q", "q", [], min_relevance=0.0)

    assert answer.refused and answer.citations == []


def test_nearest_topics_prefer_curated_cards_and_skip_repeats():
    passages = [passage(1, None, 0.3, title="window"), passage(2, "a/x", 0.2, title="card x"),
                passage(3, "a/y", 0.1, title="card x"), passage(4, "a/z", 0.1, title="card z")]

    assert nearest_topics(passages, n=3) == ["card x", "card z", "window"]


def test_answer_dict_carries_the_documented_keys(tutor_fake):
    d = tutor_fake.ask("How does an LSTM work?").to_dict()

    assert {"id", "answer", "citations", "refused", "passages", "latency_s"} <= set(d)
    assert d["latency_s"] >= 0
    assert all({"n", "chunk_id", "card_id", "source"} <= set(c) for c in d["citations"])


def test_stream_yields_text_then_the_finished_answer(tutor_fake):
    events = list(tutor_fake.stream("How does an LSTM work?"))

    assert all(isinstance(e, str) for e in events[:-1])
    assert "".join(events[:-1]) == events[-1].answer


@pytest.mark.parametrize("question", ["", "   ", None])
def test_an_empty_question_is_a_user_error(tutor_fake, question):
    with pytest.raises(UserError, match="empty"):
        tutor_fake.ask(question)


def test_an_over_long_question_is_a_user_error_naming_the_limit(tutor_fake):
    limit = tutor_fake.config.max_question_chars

    with pytest.raises(UserError, match=str(limit)):
        tutor_fake.ask("why " * (limit // 4 + 1))


def test_an_unknown_backend_is_a_user_error(tutor_fake):
    with pytest.raises(UserError, match="backend"):
        tutor_fake.ask("How does an LSTM work?", backend="telepathy")


def test_a_missing_index_is_reported_before_any_llm_is_started(config):
    def no_llm(*args, **kwargs):
        raise AssertionError("an LLM was started before the index was checked")

    tutor = Tutor(config, embedder_factory=FakeEmbedder, chat_model_factory=no_llm)

    with pytest.raises(IndexMissing):
        tutor.ask("What is dropout?", backend="local")


def test_a_refusal_suggests_only_questions_that_are_near():
    near, far = passage(1, "a/near", 0.1, title="near card"), passage(2, "a/far", 0.1, title="far card")
    near.cosine, far.cosine = SUGGEST_MIN_COSINE + 0.1, SUGGEST_MIN_COSINE - 0.1

    assert "near card" in refusal_text([near, far]) and "far card" not in refusal_text([near, far])
    nothing_near = refusal_text([far])
    assert "outside the material" in nothing_near and "help with" not in nothing_near
