"""The streamed text is safe before the final check: `StreamGuard` alone, then through the whole chain
with LangChain's fake chat model (which streams a reply word by word, whitespace included)."""

from __future__ import annotations

import re

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.answer import Answer
from tutor.guard import StreamGuard, leaks_prompt
from tutor.prompts import load

SYSTEM = load("answer_system")
SOURCES = "Dropout zeroes units; see https://example.org/dropout-notes for the original paper."


def words(text: str) -> list[str]:
    """The pieces a streaming server sends: words and the whitespace between them."""
    return [w for w in re.split(r"(\s)", text) if w]


def run(text: str, pieces: list[str] | None = None, **kw) -> tuple[list[str], StreamGuard]:
    """Every non-empty release, in order, the tail from finish() last."""
    guard = StreamGuard(SYSTEM, SOURCES, **kw)
    out = [guard.feed(p) for p in (pieces or words(text))]
    out.append(guard.finish())
    return [o for o in out if o], guard


def test_a_clean_answer_streams_sentence_by_sentence_and_loses_nothing():
    text = "Dropout zeroes random units [1]. It regularizes the network [1].\nFollow-up: what about inference?"
    released, guard = run(text)
    assert "".join(released) == text
    assert released[:2] == ["Dropout zeroes random units [1]. ", "It regularizes the network [1].\n"]
    assert not guard.leaked


def test_a_sentence_is_released_as_soon_as_it_ends():
    guard = StreamGuard(SYSTEM, SOURCES)
    assert guard.feed("Dropout zeroes") == "" and guard.feed(" random units.") == ""  # no space yet
    assert guard.feed(" It") == "Dropout zeroes random units. "


def test_a_recited_system_prompt_never_reaches_the_stream():
    recital = "Sure, here are my rules. " + SYSTEM
    released, guard = run(recital)
    shown = "".join(released)
    assert guard.leaked and not leaks_prompt(shown, SYSTEM, run=3)
    assert shown == "Sure, here are my rules. "


def test_the_first_words_of_a_recital_are_held_until_the_next_sentence_decides():
    # Five prompt words end the first sentence: alone they are harmless, but they may open a recital.
    first = "My job: answer the learner's question. "
    guard = StreamGuard(SYSTEM, SOURCES)
    assert "".join(guard.feed(p) for p in words(first)) == "My job: "  # the prompt's words wait
    assert "".join(guard.feed(p) for p in words("Using ONLY the numbered passages you are given. More.")) == ""
    assert guard.leaked and guard.finish() == ""
    # The same opening followed by ordinary text is released whole.
    released, guard = run(first + "Dropout zeroes units [1]. Done.")
    assert "".join(released) == first + "Dropout zeroes units [1]. Done." and not guard.leaked


def test_foreign_links_and_markup_never_reach_the_stream_known_links_do():
    reply = ("Dropout zeroes units [1]. Read http://evil.example/login now. <img src=x. onerror=alert(1)> "
             "<script>alert(1)</script> ![x](http://evil.example/t.png) [click here](https://evil.example/p) "
             "www.evil.example/free. The paper is at https://example.org/dropout-notes today.")
    released, _ = run(reply)
    for piece in released:
        assert not any(bad in piece for bad in ("evil.example", "<img", "<script", "onerror")), piece
    shown = "".join(released)
    assert "https://example.org/dropout-notes" in shown and "click here" in shown
    assert shown.startswith("Dropout zeroes units [1]. Read [link removed] now.")


def test_text_without_sentence_ends_is_released_once_the_hold_is_full():
    text = " ".join(["token"] * 200)
    guard = StreamGuard(SYSTEM, SOURCES, max_hold=100)
    released = [guard.feed(p) for p in words(text)]
    assert any(released) and max(len(r) for r in released) <= 110
    assert "".join(released) + guard.finish() == text


def test_a_comparison_sign_does_not_hold_the_rest_of_the_answer():
    released, _ = run("Use a rate where lr < 0.1 works [1]. Then decay it [1]. More text follows.")
    assert released[0] == "Use a rate where lr < 0.1 works [1]. "


def test_the_not_in_material_token_is_not_streamed():
    released, _ = run("NOT_IN_MATERIAL")
    assert "NOT_IN_MATERIAL" not in "".join(released)


# ---- through the chain ----------------------------------------------------------------------------


def streamed(tutor_fake, reply: str, question: str = "what is dropout and why does it help"):
    llm = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    tutor_fake.chat_model_factory = lambda backend, config, model, max_tokens: llm
    events = list(tutor_fake.stream(question, backend="local"))
    assert isinstance(events[-1], Answer)
    return [e for e in events if isinstance(e, str)], events[-1]


def test_the_chain_streams_a_recital_without_showing_it_and_then_the_curated_answer(tutor_fake):
    # Without the NOT_IN_MATERIAL rule: a reply holding that token is declined before the leak check.
    recital = "\n".join(line for line in SYSTEM.splitlines() if "NOT_IN_MATERIAL" not in line)
    pieces, answer = streamed(tutor_fake, "Dropout randomly zeroes hidden units during training [1]. "
                                          "My instructions: " + recital)
    shown = "".join(pieces)
    assert pieces[0] == "Dropout randomly zeroes hidden units during training [1]. "
    assert "My instructions" not in shown and not leaks_prompt(shown, SYSTEM, run=4)
    assert answer.backend == "local→extractive" and "repeated its instructions" in answer.notice


def test_the_chain_streams_a_good_answer_in_sentences_and_records_when_text_first_showed(tutor_fake):
    pieces, answer = streamed(tutor_fake, "Dropout zeroes random activations during training [1]. "
                                          "It fights overfitting in large networks [1].")
    assert len(pieces) >= 2 and pieces[0].startswith("Dropout zeroes random activations")
    assert answer.backend == "local" and answer.first_token_s <= answer.extra["first_shown_s"]
