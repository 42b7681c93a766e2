"""HyDE: the model's short hypothetical answer moves the dense ranking of a fresh question, never refusal."""

from __future__ import annotations

from dataclasses import replace

from conftest import FakeEmbedder
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.answer import Answer
from tutor.hyde import MAX_TOKENS, hypothetical_answer
from tutor.index import load_index
from tutor.retrieve import Retriever
from tutor.tutor import Tutor

DROPOUT_WORDS = "Dropout zeroes random units during training so neurons cannot co-adapt; at inference all units are kept."


class Recording(GenericFakeChatModel):
    """Scripted replies, remembering every prompt it was sent; a reply "RAISE" fails that call."""

    prompts: list = []
    calls: list = []

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):
        self.prompts.append(" ".join(str(m.content) for m in messages))
        self.calls.append(kwargs)
        result = super()._generate(messages, stop, run_manager, **kwargs)
        if result.generations[0].message.content == "RAISE":
            raise ConnectionError("server went away")
        return result


def recording(*replies: str) -> Recording:
    return Recording(messages=iter([AIMessage(r) for r in replies]), prompts=[], calls=[])


def test_hypothetical_answer_is_the_models_reply_or_none():
    assert hypothetical_answer(recording(DROPOUT_WORDS), "what is dropout") == DROPOUT_WORDS
    assert hypothetical_answer(None, "what is dropout") is None
    assert hypothetical_answer(recording("I don't know."), "what is dropout") is None  # too short to search with
    assert hypothetical_answer(recording("RAISE"), "what is dropout") is None  # a dead server costs nothing here
    llm = recording(DROPOUT_WORDS)
    hypothetical_answer(llm, "why switch off units at random?")
    assert "why switch off units at random?" in llm.prompts[0]


def retriever(config, hyde_weight: float = 0.6) -> Retriever:
    config = replace(config, hyde_weight=hyde_weight)
    return Retriever(load_index(config.index_dir, config, FakeEmbedder.name), FakeEmbedder(), config)


def test_a_hint_moves_ranking_towards_the_card_it_speaks_of(built_index):
    question = "which trick stops a big network memorising its training set?"
    plain = retriever(built_index).search(question)
    assert plain[0].card_id != "training/dropout"  # the question shares no words with the dropout card
    hinted = retriever(built_index).search(question, hint=DROPOUT_WORDS)
    assert hinted[0].card_id == "training/dropout"
    assert retriever(built_index, hyde_weight=0.0).search(question, hint=DROPOUT_WORDS)[0].card_id == plain[0].card_id


def test_a_hint_never_changes_relevance_so_refusal_stays_the_questions(built_index):
    r = retriever(built_index)
    for question in ("which trick stops a big network memorising its training set?", "a good lasagna recipe"):
        plain = {p.card_id: p.relevance for p in r.search(question, k=6)}
        hinted = {p.card_id: p.relevance for p in r.search(question, k=6, hint=DROPOUT_WORDS)}
        for card, rel in hinted.items():
            if card in plain:
                assert abs(rel - plain[card]) < 1e-5, card
    lasagna = r.search("a good lasagna recipe", hint=DROPOUT_WORDS)
    assert lasagna[0].relevance < built_index.min_relevance  # an on-topic hint does not make it answerable


def hyde_tutor(built_index, llm) -> Tutor:
    config = replace(built_index, hyde_weight=0.6)
    tutor = Tutor(config, embedder_factory=FakeEmbedder)
    tutor.chat_model_factory = lambda backend, cfg, model, max_tokens: llm
    return tutor


def test_a_fresh_question_asks_the_model_for_a_hint_first(built_index):
    llm = recording(DROPOUT_WORDS, "Dropout zeroes random units while training [1].")
    tutor = hyde_tutor(built_index, llm)
    question = "which trick stops a big network memorising its training set?"
    answer = tutor.ask(question, backend="local")
    assert isinstance(answer, Answer) and question in llm.prompts[0]
    assert answer.passages[0].card_id == "training/dropout"
    # The question's own words decide refusal, and with the fake embedder they match no card well.
    assert answer.refused and "hyde_s" in answer.extra
    assert llm.calls[0].get("max_tokens") == MAX_TOKENS  # the hint is held to its own short budget


def test_a_failing_hint_still_answers_and_a_follow_up_asks_for_none(built_index):
    llm = recording("RAISE", "Dropout zeroes random units while training [1].")
    answer = hyde_tutor(built_index, llm).ask("what is dropout?", backend="local")
    assert not answer.refused and "hyde_s" not in answer.extra and answer.citations
    llm = recording("It is dropped at inference [1].")  # one reply: a hint call would take it
    answer = hyde_tutor(built_index, llm).ask("and at inference?", ["what is dropout?"], backend="local")
    assert len(llm.prompts) == 1 and "hyde_s" not in answer.extra
