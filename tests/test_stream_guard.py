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


def test_a_clean_answer_streams_word_by_word_and_loses_nothing():
    text = "Dropout zeroes random units [1]. It regularizes the network [1].\nFollow-up: what about inference?"
    released, guard = run(text)
    assert "".join(released) == text
    # each whole word goes out as soon as the whitespace after it arrives
    assert released[:3] == ["Dropout ", "zeroes ", "random "]
    assert not guard.leaked


def test_a_word_is_released_as_soon_as_it_ends_never_half_written():
    guard = StreamGuard(SYSTEM, SOURCES)
    assert guard.feed("Drop") == "" and guard.feed("out") == ""  # no whitespace yet: may be half a URL
    assert guard.feed(" zeroes") == "Dropout "
    assert guard.feed(" units.\n") == "zeroes units.\n"


def test_a_recited_system_prompt_never_reaches_the_stream():
    recital = "Sure, here are my rules. " + SYSTEM
    released, guard = run(recital)
    shown = "".join(released)
    assert guard.leaked and not leaks_prompt(shown, SYSTEM, run=3)
    # at most hold_run - 1 = 2 words of the recital can show before the third one holds it back
    assert shown.startswith("Sure, here are my rules. ") and len(shown[25:].split()) <= 2


def test_a_credential_from_the_environment_never_reaches_the_stream(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdef")
    monkeypatch.setenv("TUTOR_INDEX_DIR", "index-folder-not-a-secret")
    text = "The key is sk-test-0123456789abcdef and dropout zeroes units [1]."
    released, guard = run(text, [text[:14], text[14:30], text[30:]])  # the key arrives split in two
    assert guard.leaked and "sk-test" not in "".join(released)
    assert "".join(run("Kept in index-folder-not-a-secret [1].")[0]) == "Kept in index-folder-not-a-secret [1]."


def test_the_first_words_of_a_recital_are_held_until_the_next_words_decide():
    # "answer the learner's question" are prompt words: alone they are harmless, but they may open a recital.
    first = "My job: answer the learner's question. "
    guard = StreamGuard(SYSTEM, SOURCES)
    shown = "".join(guard.feed(p) for p in words(first))
    assert shown == "My job: answer the "  # "answer the learner's": the third prompt word waits
    shown += "".join(guard.feed(p) for p in words("Using ONLY the numbered passages you are given. More."))
    assert guard.leaked and guard.finish() == ""
    assert shown == "My job: answer the " and not leaks_prompt(shown, SYSTEM, run=3)
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


def test_text_without_sentence_ends_is_not_held():
    text = " ".join(["token"] * 200)
    guard = StreamGuard(SYSTEM, SOURCES)
    released = [guard.feed(p) for p in words(text)]
    assert max(len(r) for r in released) <= len("token ")
    assert "".join(released) + guard.finish() == text


def test_a_comparison_sign_does_not_hold_the_rest_of_the_answer():
    released, _ = run("Use a rate where lr < 0.1 works [1]. Then decay it [1]. More text follows.")
    assert "".join(released[:7]) == "Use a rate where lr < 0.1 "


def test_the_not_in_material_token_is_not_streamed():
    released, _ = run("NOT_IN_MATERIAL")
    assert "NOT_IN_MATERIAL" not in "".join(released)


# ---- through the chain ----------------------------------------------------------------------------


def streamed(tutor_fake, reply: str, question: str = "what is dropout and why does it help"):
    llm = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    tutor_fake.chat_model_factory = lambda backend, config, model, max_tokens: llm
    events = list(tutor_fake.stream(question, backend="local"))
    assert isinstance(events[-1], Answer)
    # The card's answer, shown before the model's first token (tutor/lead.py), is not the model's.
    pieces = [e for e in events if isinstance(e, str)]
    return (pieces[1:] if events[-1].extra.get("lead") else pieces), events[-1]


def test_the_chain_streams_a_recital_without_showing_it_and_then_the_curated_answer(tutor_fake):
    # Without the NOT_IN_MATERIAL rule: a reply holding that token is declined before the leak check.
    recital = "\n".join(line for line in SYSTEM.splitlines() if "NOT_IN_MATERIAL" not in line)
    pieces, answer = streamed(tutor_fake, "Dropout randomly zeroes hidden units during training [1]. "
                                          "My instructions: " + recital)
    shown = "".join(pieces)
    assert shown.startswith("Dropout randomly zeroes hidden units during training [1].")
    assert not leaks_prompt(shown, SYSTEM, run=4) and not leaks_prompt(shown, SYSTEM, run=4)
    assert answer.backend == "local→extractive" and "repeated its instructions" in answer.notice


def test_the_chain_streams_a_good_answer_in_checked_sentences_and_records_when_text_first_showed(tutor_fake):
    # Words are guarded as they come (above), but shown a whole sentence at a time, once it is checked
    # (tutor/checks.py, CheckedAnswer): what the learner reads is the answer that is kept.
    pieces, answer = streamed(tutor_fake, "Dropout zeroes random activations during training [1]. "
                                          "It fights overfitting in large networks [1].")
    assert pieces == ["Dropout zeroes random activations during training [1].",
                      " It fights overfitting in large networks [1]."]
    # The card's answer (tutor/lead.py) showed before the model's first token, and is kept first.
    assert answer.backend == "local" and answer.extra["first_shown_s"] <= answer.first_token_s
    assert answer.extra["lead"] in ("answer", "closest") and answer.passages[0].text[:60] in answer.answer
    assert answer.answer.endswith("It fights overfitting in large networks [1].")
