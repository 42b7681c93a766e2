"""A follow-up that lands on the passage just shown gets the part of it that bears on the follow-up, not the
same answer twice (tutor/recap.py), on the extractive path, the model path, the app's conversation and chat."""

from __future__ import annotations

import io

import pytest
from conftest import FakeEmbedder
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.chain import answer_stream
from tutor.recap import WORDS, blocks, excerpt, recap_text
from tutor.session import Conversation, Source, Turn
from tutor.terminal import Console, run_chat

INFERENCE = ("At inference time dropout is switched off; inverted dropout already scaled the surviving "
             "activations during training, so no rescaling is needed at test time.")
ANSWER = "\n".join([
    "Dropout is a regularization technique: during training each forward pass randomly zeroes a fraction of "
    "the hidden units.",
    "",
    "Why it helps:",
    "- units cannot co-adapt, so each one learns features that are useful alone;",
    "- it trains an ensemble of thinned sub-networks that share their weights.",
    "  - a sub-item stays with the item it belongs to.",
    "",
    INFERENCE,
    "",
    "```python",
    "mask = (torch.rand_like(h) > p).float()",
    "h = h * mask / (1 - p)",
    "```",
    "",
    "Typical rates are between 0.1 and 0.5, higher for large fully connected layers.",
    "",
    "For convolutional layers, spatial dropout removes whole feature maps, because neighbouring pixels are so "
    "correlated that zeroing single activations barely changes what the next layer sees.",
    "",
    "Dropout slows convergence, often needing more epochs, and combines poorly with batch normalization when "
    "it is placed before it, since the variance seen in training differs from the variance at test time.",
])
QUESTION = "What is dropout and why does it help?"
FOLLOW_UP = "and what happens at inference time?"


def vectors(texts: list[str]):
    import numpy as np

    return np.vstack([FakeEmbedder.vector(t) for t in texts])


def test_blocks_are_what_a_reader_sees():
    parts = blocks(ANSWER)
    assert parts[0].startswith("Dropout is a regularization")
    assert parts[1].startswith("Why it helps:\n- units cannot")  # the line introducing a list stays with it
    assert parts[2].startswith("- it trains an ensemble") and parts[2].endswith("the item it belongs to.")
    assert parts[3] == INFERENCE
    assert parts[4].startswith("```python") and parts[4].endswith("```") and "mask / (1 - p)" in parts[4]
    assert parts[5].startswith("Typical rates") and len(parts) == 8


def test_excerpt_keeps_the_nearest_blocks_in_their_order():
    question = "what happens at inference time, is it switched off?"
    assert excerpt(question, ANSWER, vectors, words=1) == INFERENCE  # the nearest block alone
    part = excerpt(question, ANSWER, vectors)
    kept = part.split("\n\n")
    assert INFERENCE in kept and WORDS <= len(part.split()) < len(ANSWER.split())
    assert len(kept) >= 2 and [ANSWER.index(k) for k in kept] == sorted(ANSWER.index(k) for k in kept)


def test_an_answer_within_the_budget_is_kept_whole():
    text = "One paragraph only.\n\nAnd a second one here."
    assert excerpt("anything", text, vectors) == text
    assert excerpt("inference", ANSWER, vectors, words=len(ANSWER.split())) == ANSWER


@pytest.fixture
def tutor_blocks(config, cards_dir, write_card):
    """The fixture cards with dropout's answer in blocks, indexed with FakeEmbedder."""
    from tutor.ingest import ingest
    from tutor.tutor import Tutor

    write_card(cards_dir, "training/dropout", body=ANSWER)
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return Tutor(config, embedder_factory=FakeEmbedder)


def first_answer(tutor):
    answer = tutor.ask(QUESTION, [], backend="extractive")
    assert answer.citations[0].card_id == "training/dropout" and answer.answer.startswith(ANSWER.split("\n")[0])
    return answer


def test_a_follow_up_on_the_passage_just_shown_gets_its_relevant_part(tutor_blocks):
    first = first_answer(tutor_blocks)
    shown = first.citations[0].chunk_id
    again = tutor_blocks.ask(FOLLOW_UP, [first.standalone], backend="extractive", shown=shown)
    assert again.citations[0].chunk_id == shown
    assert again.answer.startswith(f"Still on “{QUESTION}”") and INFERENCE in again.answer
    assert len(again.answer) < len(first.answer)
    assert f"{ANSWER} [1]" not in again.answer


def test_without_the_passage_on_screen_or_for_the_same_question_the_whole_answer_comes_back(tutor_blocks):
    first = first_answer(tutor_blocks)
    shown = first.citations[0].chunk_id
    fresh = tutor_blocks.ask(FOLLOW_UP, [first.standalone], backend="extractive")  # nothing shown yet
    assert fresh.answer.startswith(f"{ANSWER} [1]")
    short = tutor_blocks.ask("and how does an LSTM remember things?", [], backend="extractive")
    again = tutor_blocks.ask("and why does that help with long sequences?", [short.standalone],
                             backend="extractive", shown=short.citations[0].chunk_id)
    assert again.citations[0].chunk_id == short.citations[0].chunk_id  # one paragraph: its own excerpt
    assert again.answer.startswith(f"{short.passages[0].text} [1]")
    repeated = tutor_blocks.ask(QUESTION.lower(), [first.standalone], backend="extractive", shown=shown)
    assert repeated.answer.startswith(f"{ANSWER} [1]")


def model(*replies: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))


def test_the_model_path_leads_with_the_recap_and_a_fallback_shows_it_once(tutor_blocks):
    _, passages = tutor_blocks.retrieve(QUESTION)
    recap = recap_text(passages[0].title, INFERENCE)

    def run(llm):
        return list(answer_stream(llm, FOLLOW_UP, FOLLOW_UP, passages, tutor_blocks.config.min_relevance, "local",
                                  cards=tutor_blocks.index.cards, exact=True, recap=recap))

    events = run(model("At inference dropout is switched off [1]."))
    assert events[0].strip() == recap and events[-1].answer.startswith(recap)
    assert ANSWER.split("\n")[0] not in events[-1].answer
    declined = run(model("NOT_IN_MATERIAL"))
    shown = "".join(e for e in declined if isinstance(e, str))
    assert shown.count(INFERENCE) == 1 and declined[-1].answer.count(INFERENCE) == 1
    assert declined[-1].backend == "local→extractive"


def test_the_conversation_and_the_chat_pass_on_the_passage_they_led_with(tutor_blocks):
    chat = Conversation(turns=[Turn("q", "sq", "a [1]", [Source(1, "t", "c/d", "x", "c/d", "c/d#0")]),
                               Turn("pizza?", "pizza?", "outside", refused=True)])
    assert chat.shown == "c/d#0"  # a refused aside shows no passage
    assert Conversation().shown is None
    out = io.StringIO()
    con = Console(io.StringIO(f"{QUESTION}\n{FOLLOW_UP}\nquit\n"), out)
    seen = []
    run_chat(tutor_blocks, con, lambda q, a: seen.append(a), backend="extractive")
    assert seen[1].answer.startswith("Still on") and out.getvalue().count(ANSWER.split("\n")[0]) == 1

