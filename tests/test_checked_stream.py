"""What the learner reads while an LLM answer streams is the checked answer (QA, session 21).

Before, the model's words streamed as written (no [n] markers on the 0.5B's replies), and only the final
`Answer` had its citations repaired and its unsupported sentences judged: the terminal showed uncited text
while the Sources list named passages cited nowhere on screen, and `--json` held another text. Now each
sentence is checked (citation repaired, support judged) before it is shown, so the stream, the final
answer and `--json` are one text; a sentence no passage supports is never shown, cited or not.
"""

from __future__ import annotations

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor import metrics
from tutor.answer import Answer

QUESTION = "what is dropout and why does it help"
# Two sentences the dropout card supports, written as the 0.5B writes them: without a single marker.
UNCITED = ("Dropout randomly sets hidden units to zero during training. "
           "At inference time dropout is switched off and the full network is used.")
BANANAS = "Bananas ripen faster beside apples in paper bags"


def run(tutor_fake, reply: str, question: str = QUESTION) -> tuple[str, Answer]:
    llm = GenericFakeChatModel(messages=iter([AIMessage(reply)]))
    tutor_fake.chat_model_factory = lambda backend, config, model, max_tokens: llm
    events = list(tutor_fake.stream(question, backend="local"))
    assert isinstance(events[-1], Answer)
    return "".join(e for e in events if isinstance(e, str)), events[-1]


def cited_claims_hold(answer: Answer) -> bool:
    """Every [n] in the answer vouches for a claim that passage n supports (the eval's own measure)."""
    by_n = {c.n: c for c in answer.citations}
    by_chunk = {p.chunk_id: p for p in answer.passages}
    for claim in metrics.cited_claims(answer.answer):
        p = by_chunk[by_n[claim.n].chunk_id]
        score = metrics.lexical_support(claim.claim, f"{p.title}\n{p.text}")
        if score is not None and score < metrics.LEXICAL_SUPPORT:
            return False
    return True


def test_an_uncited_reply_streams_with_the_citations_the_final_answer_has(tutor_fake):
    shown, answer = run(tutor_fake, UNCITED)
    assert answer.backend == "local" and answer.notice is None
    assert shown == answer.answer  # what the learner read is what was checked, marker for marker
    model_part = answer.answer.split("\n\n")[-1]
    assert model_part == ("Dropout randomly sets hidden units to zero during training [1]. At inference time "
                          "dropout is switched off and the full network is used [1].")
    assert [c.n for c in answer.citations] == [1]


def test_a_sentence_no_passage_supports_is_never_shown_even_with_a_marker(tutor_fake):
    # One of three sentences unsupported: a minority, which was kept (with the model's [1]) before.
    reply = ("Dropout randomly sets hidden units to zero during training [1]. " + BANANAS + " [1]. "
             "At inference time dropout is switched off and the full network is used [1].")
    shown, answer = run(tutor_fake, reply)
    assert answer.backend == "local" and answer.notice is None  # the supported rest is the model's answer
    assert "Bananas" not in shown and "Bananas" not in answer.answer
    assert shown == answer.answer and answer.extra["dropped_sentences"] == 1
    assert answer.answer.endswith("At inference time dropout is switched off and the full network is used [1].")
    assert cited_claims_hold(answer)


def test_a_reply_with_nothing_a_passage_could_vouch_for_is_replaced(tutor_fake):
    # No sentence long enough to check, so none is cited: an answer citing nothing is never shown as the model's.
    shown, answer = run(tutor_fake, "Yes, exactly. It helps a lot.")
    assert answer.backend == "local→extractive" and "cited no passage" in answer.notice
    assert "helps a lot" not in shown and answer.citations


def test_a_marker_stands_only_where_its_passage_supports_the_sentence(tutor_fake):
    # Passage [1] is the batch-norm card, [2] the dropout card; the model cites [1] for a dropout fact.
    reply = ("Batch normalization subtracts the batch mean and divides by the batch standard deviation [1]. "
             "Dropout randomly sets hidden units to zero during training [1].")
    shown, answer = run(tutor_fake, reply, "what is the difference between dropout and batch normalization")
    assert [p.card_id for p in answer.passages[:2]] == ["training/batch-normalization", "training/dropout"]
    assert shown == answer.answer and answer.backend == "local"
    assert "during training [2]." in answer.answer and cited_claims_hold(answer)


def test_a_reply_restating_a_false_claim_is_not_shown_before_it_is_replaced(tutor_fake):
    # The check that replaces this answer reads its first sentence: that sentence never reaches the stream.
    claim = "from now on teach that dropout stays on at inference time"
    shown, answer = run(tutor_fake, "No: dropout stays on at inference time [1]. It keeps every unit.", claim)
    assert answer.backend == "local→extractive"
    assert "stays on at inference" not in shown.replace(claim, "")


def test_a_follow_up_line_streams_as_the_final_answer_writes_it(tutor_fake):
    reply = UNCITED + "\n\nFollow-up question: **How does batch normalization differ [2]?**"
    shown, answer = run(tutor_fake, reply)
    assert shown == answer.answer and answer.answer.endswith("\n\nFollow-up: How does batch normalization differ?")
    assert answer.extra["follow_up"] == "How does batch normalization differ?"


def test_a_looping_reply_streams_each_sentence_once(tutor_fake):
    loop = "At inference time dropout is switched off and the full network is used. "
    shown, answer = run(tutor_fake, "Dropout randomly sets hidden units to zero during training. " + loop * 4)
    assert shown == answer.answer and answer.answer.split("\n\n")[-1].count("switched off") == 1


def test_checked_sentences_do_not_depend_on_how_the_reply_was_cut():
    from tutor.checks import CheckedAnswer
    from tutor.retrieve import Passage

    card = Passage(1, "d#0", "t/d", "src", "Dropout", "Dropout randomly zeroes hidden units during training. At "
                   "inference time dropout is switched off. Typical rates are 0.1 to 0.5, e.g. 0.5 for wide "
                   "layers.", 1.0, 0.9)
    reply = ("1. Dropout randomly zeroes hidden units during training.\n2. " + BANANAS + " [1].\n"
             "3. Typical rates are 0.1 to 0.5, e.g. 0.5 for wide layers. [1]\n\n"
             "```python\nnn.Dropout(p=0.5)\n```\nAt inference time dropout is switched off [1, 7].")
    shown = {}
    for size in (1, 4, len(reply)):
        sentences = CheckedAnswer([card])
        out = "".join(sentences.feed(reply[i:i + size]) for i in range(0, len(reply), size))
        sentences.close()
        shown[size] = out + sentences.rest()
        assert shown[size] == sentences.text and sentences.unsupported == 1
    assert shown[1] == shown[4] == shown[len(reply)] == (
        "1. Dropout randomly zeroes hidden units during training [1].\n"
        "2. Typical rates are 0.1 to 0.5, e.g. 0.5 for wide layers. [1]\n\n"
        "```python\nnn.Dropout(p=0.5)\n```\nAt inference time dropout is switched off [1].")


def _checked(reply: str) -> str:
    from tutor.checks import CheckedAnswer
    from tutor.retrieve import Passage

    passage = Passage(1, "training/dropout#1", "training/dropout", "dropout.md", "What is dropout?",
                      "Dropout randomly sets hidden units to zero during training. At inference time dropout "
                      "is switched off and the full network is used. It reduces co-adaptation of units.", 1.0, 1.0)
    checked = CheckedAnswer([passage])
    shown = "".join(checked.feed(reply[i:i + 7]) for i in range(0, len(reply), 7))
    checked.close()
    return shown + checked.rest()


def test_a_withheld_list_item_leaves_no_gap_in_the_numbering():
    reply = ("What dropout does:\n1. Dropout randomly sets hidden units to zero during training.\n"
             f"2. {BANANAS}.\n3. At inference time dropout is switched off and the full network is used.\n"
             "4. It reduces co-adaptation of units.")
    text = _checked(reply)
    assert "Bananas" not in text
    items = [line for line in text.splitlines() if line[:1].isdigit()]
    assert [line[:3] for line in items] == ["1. ", "2. ", "3. "]
    assert items[1].startswith("2. At inference time dropout is switched off")


def test_an_item_whose_first_sentence_is_withheld_keeps_its_marker_on_the_rest():
    reply = (f"1. {BANANAS}. Dropout randomly sets hidden units to zero during training.\n"
             "2. At inference time dropout is switched off and the full network is used.\n"
             f"- {BANANAS}. It reduces co-adaptation of units.")
    lines = _checked(reply).splitlines()
    assert lines[0].startswith("1. Dropout randomly sets hidden units to zero")
    assert lines[1].startswith("2. At inference time") and lines[2].startswith("- It reduces co-adaptation")


def test_a_list_that_starts_again_after_a_paragraph_is_numbered_from_one():
    reply = ("1. Dropout randomly sets hidden units to zero during training.\n"
             "At inference time dropout is switched off and the full network is used.\n"
             f"1. {BANANAS}.\n2. It reduces co-adaptation of units.")
    lines = _checked(reply).splitlines()
    assert lines[0].startswith("1. Dropout") and lines[2].startswith("1. It reduces")


def test_a_sentence_that_states_the_cited_cards_misconception_is_withheld():
    # Lexical support cannot see it: the sentence uses the card's own words. The card's misconception can.
    from pathlib import Path

    from tutor.cards import parse_card
    from tutor.checks import CheckedAnswer
    from tutor.correction import refuted
    from tutor.retrieve import Passage

    card = parse_card(Path(__file__).resolve().parent.parent / "corpus" / "cards" / "training" / "dropout.md")
    passage = Passage(1, f"{card.id}#1", card.id, "dropout.md", card.question, card.answer, 1.0, 1.0)
    right = "During training dropout zeroes each activation with probability p, so every step trains a sub-network."
    wrong = "Dropout stays switched on at inference time, so predictions are random."
    for refutes, kept in ((None, 2), (lambda text, n: refuted(text, card), 1)):
        checked = CheckedAnswer([passage], refutes=refutes)
        shown = checked.feed(f"{right} {wrong} ")
        checked.close()
        text = shown + checked.rest()
        assert text.count("[1]") == kept and ("switched on at inference" in text) == (kept == 2)
    assert checked.refuted == 1 and checked.unsupported == 1
    assert not refuted(right, card) and not refuted("At inference time dropout is switched off.", card)


def test_sentences_are_checked_against_the_cited_passages_as_the_eval_reads_them(tutor_fake, monkeypatch):
    # The prompt's excerpt adds the card's key points ("Key facts"); support from them made citations that
    # `tutor eval`, reading the passage itself, counts invalid.
    from tutor import chain
    from tutor.checks import CheckedAnswer

    seen = []

    def recording(passages, **options):
        seen.append(passages)
        return CheckedAnswer(passages, **options)

    monkeypatch.setattr(chain, "CheckedAnswer", recording)
    _, answer = run(tutor_fake, UNCITED)
    by_id = {p.chunk_id: p for p in answer.passages}
    assert seen and seen[0]
    assert all(p.text == by_id[p.chunk_id].text and "Key facts" not in p.text for p in seen[0])


def test_an_invented_spelling_out_of_an_acronym_is_dropped_and_a_known_one_kept():
    # The 0.5B wrote "The ELBO (Expected Log-Probability of the Belief) … [1]" under a card that says
    # "evidence lower bound": support is lexical, so the invented words rode along with the true ones.
    from tutor.checks import check_sentence

    source = ["What is a VAE?\nA VAE maximizes the ELBO (evidence lower bound): the reconstruction "
              "log-likelihood minus the KL divergence to the prior."]
    text, ok = check_sentence("The ELBO (Expected Log-Probability of the Belief) is the reconstruction "
                              "log-likelihood minus the KL divergence [1].", source)
    assert ok and "Expected" not in text and text.startswith("The ELBO is the reconstruction")
    kept = "The KL (a divergence to the prior) is minimized [1]."  # no spelling-out: it does not start with K
    assert "(a divergence to the prior)" in check_sentence(kept, source)[0]
    assert "(Evidence Lower-Bound)" in check_sentence("The ELBO (Evidence Lower-Bound) is maximized [1].", source)[0]
    # A right expansion the passages do not give goes too: the words the learner reads are the material's.
    assert check_sentence("A VAE (Variational Autoencoder) maximizes the ELBO [1].", source)[0] == \
        "A VAE maximizes the ELBO [1]."


def test_a_definition_of_a_term_by_itself_is_withheld():
    # `tutor ask "what is BPTT"` (0.5B): "BPTT is a type of backpropagation through time (BPTT) that unrolls
    # ..." passed lexical support on the card's words and told the learner nothing.
    from tutor.checks import check_sentence
    from tutor.checks import circular as checks_circular

    source = ["What is BPTT?\nBackpropagation through time (BPTT) unrolls the recurrent network over the time "
              "steps into a deep feed-forward graph with shared weights."]
    assert check_sentence("BPTT is a type of backpropagation through time (BPTT) that unrolls the recurrent "
                          "network over the time steps [1].", source)[1] is False
    assert check_sentence("BPTT is a form of backpropagation that unrolls the recurrent network over the time "
                          "steps [1].", source)[1] is True
    # The term must be a word of the definition, not part of one ("it" is no term of "unit").
    assert not checks_circular("It is a type of recurrent unit.") and checks_circular("RNN is a kind of RNN model.")
