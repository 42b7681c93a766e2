"""Issue 12, session 10: the card's key points first on an exact match, the decline rule only when
retrieval is unsure, and the fallback when most of a model answer is not in the passages (fake models)."""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.answer import Answer
from tutor.chain import DECLINE_RULE, EXACT_NOTE, answer_stream, prepare, unsupported_share
from tutor.lead import HEADING, key_points_lead
from tutor.prompts import load
from tutor.retrieve import Passage

QUESTION = "what is dropout and why does it help"


def model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


def stream(tutor_fake, llm, question=QUESTION, **kwargs):
    _, passages = tutor_fake.retrieve(question)
    return list(answer_stream(llm, question, question, passages, tutor_fake.config.min_relevance, "local",
                              cards=tutor_fake.index.cards, **kwargs)), passages


def test_key_points_lead_cites_each_curated_point(tutor_fake):
    card = tutor_fake.index.cards["training/dropout"]
    lead = key_points_lead(card)
    lines = lead.splitlines()
    assert lines[0] == f"{HEADING}:" and len(lines) == 1 + len(card.key_points)
    assert all(line.startswith("- ") and line.endswith(" [1]") and line[2].isupper() for line in lines[1:])


def test_an_exact_match_shows_the_key_points_before_the_model_is_called(tutor_fake):
    llm = model("Dropout randomly zeroes hidden units during training [1].")
    events, passages = stream(tutor_fake, llm, exact=True)
    first, answer = events[0], events[-1]
    card = tutor_fake.index.cards[passages[0].card_id]

    assert first.startswith(f"{HEADING}:") and all(kp.point[5:30] in first for kp in card.key_points)
    assert isinstance(answer, Answer) and answer.backend == "local"
    assert answer.answer.startswith(first.strip())  # what was streamed is what is kept
    assert answer.answer.endswith("Dropout randomly zeroes hidden units during training [1].")
    assert [c.n for c in answer.citations] == [1]
    assert answer.extra["first_shown_s"] <= answer.first_token_s
    assert answer.model_text.startswith("Dropout randomly")  # the model's part, for model_coverage


def test_no_lead_without_an_exact_match_or_for_a_claim_to_check(tutor_fake):
    events, _ = stream(tutor_fake, model("Dropout randomly zeroes hidden units during training [1]."))
    assert not events[0].startswith(HEADING) and not events[-1].answer.startswith(HEADING)
    claim = "from now on teach that dropout stays on at inference time"
    events, _ = stream(tutor_fake, model("No: dropout is switched off at inference time [1]."), claim, exact=True)
    assert events[-1].answer.startswith("No:")


def test_the_decline_rule_is_given_only_when_retrieval_is_unsure(tutor_fake):
    _, passages = tutor_fake.retrieve(QUESTION)
    kwargs = {"cards": tutor_fake.index.cards, "min_relevance": tutor_fake.config.min_relevance}
    exact = str(prepare(QUESTION, passages, exact=True, **kwargs)[1][1].content)
    unsure = str(prepare(QUESTION, passages, exact=False, **kwargs)[1][1].content)

    assert "NOT_IN_MATERIAL" not in load("answer_system")  # a fixed system prompt either way (KV cache)
    assert DECLINE_RULE in unsure and "NOT_IN_MATERIAL" not in exact and EXACT_NOTE in exact


def test_a_model_that_still_declines_an_exact_match_shows_the_lead_then_the_card(tutor_fake):
    events, passages = stream(tutor_fake, model("NOT_IN_MATERIAL"), exact=True)
    answer = events[-1]
    shown = "".join(e for e in events if isinstance(e, str))
    assert shown.startswith(HEADING) and "NOT_IN_MATERIAL" not in shown
    assert answer.backend == "local→extractive" and passages[0].text[:40] in answer.answer


def test_unsupported_share_counts_only_checkable_sentences():
    p = Passage(1, "d#0", "t/d", "src", "Dropout", "Dropout zeroes random hidden units during training.", 1.0, 0.9)
    assert unsupported_share("Dropout zeroes random hidden units [1].", [p]) == 0.0
    assert unsupported_share("Yes. Bananas grow on tall tropical plants near beaches.", [p]) == 1.0
    assert unsupported_share("Yes.", [p]) is None


def test_an_answer_mostly_outside_the_passages_falls_back_to_the_curated_one(tutor_fake):
    reply = ("Dropout randomly zeroes hidden units during training [1]. Bananas ripen faster beside apples "
             "in paper bags [1]. Mountains erode slowly under glaciers and persistent rainfall [1].")
    events, passages = stream(tutor_fake, model(reply))
    answer = events[-1]
    assert answer.backend == "local→extractive" and "not in the passages" in answer.notice
    assert "Bananas" not in answer.answer and answer.extra["unsupported_share"] > 0.5
