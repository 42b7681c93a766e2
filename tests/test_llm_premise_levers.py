"""Issue 12: false premises that are not a card's listed misconception — another number, a reversed clause,
a sign a formula rules out, "always" against "too much" — corrected from the card, and the true claim
beside each one left alone (plain cards and fake models; no embedder, no server)."""

from __future__ import annotations

from dataclasses import replace

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.cards import Card, KeyPoint
from tutor.chain import answer_stream
from tutor.correction import correct, correcting
from tutor.glossary import Glossary
from tutor.retrieve import Passage
from tutor.tutor import _cards_titled


def _card(card_id: str, points: list[str], misconceptions: tuple[str, ...] = (), answer: str = "…",
          aliases: tuple[str, ...] = ()) -> Card:
    return Card(card_id, card_id.split("/")[0], f"What about {card_id}?", answer, 2,
                tuple(KeyPoint(p, ()) for p in points), aliases=aliases, misconceptions=misconceptions)


BERT = _card("nlp/bert", ["BERT is an encoder-only transformer that reads context from both sides",
                          "masked language modelling selects 15% of tokens and predicts them"])
RELU_GRAD = _card("basics/relu-subgradient", ["ReLU has derivative 0 for negative inputs and 1 for positive inputs"])
INCEPTION = _card("vision/inception-module", ["1x1 convolutions reduce channels before the expensive convolutions, "
                                              "cutting compute about tenfold"])
ADVERSARIAL = _card("advanced/adversarial-examples", [
    "they exist because networks behave almost linearly, so many tiny changes add up, and they transfer between models"])
CONV = _card("architectures/cnn-vs-fully-connected", [
    "dense layers need weights that grow with resolution, while a conv layer's parameters are independent of image size"])
CE = _card("basics/cross-entropy-softmax-gradient", [
    "the gradient of softmax plus cross-entropy with respect to the logits is p - y",
    "unlike MSE through a sigmoid, cross-entropy does not saturate, so confidently wrong predictions get large gradients"])
VANISHING = _card("training/vanishing-gradients", [
    "ReLU-family activations do not saturate for positive inputs, so their derivative there is 1"])
ACTIVATION = _card("coding/activation-functions", ["an activation applies an element-wise non-linear function"],
                   answer="Common choices:\n- **ReLU** `max(0, z)`: cheap, gradient 1 for positive inputs.",
                   aliases=("ReLU", "GELU"))
SOFTMAX = _card("basics/softmax", ["softmax turns logits into a probability distribution, positive and summing to 1"])
LR = _card("training/learning-rate", ["a learning rate that is too high overshoots the minimum, making the loss diverge"])
AUTOGRAD = _card("coding/computational-graph-autograd", ["backward runs reverse-mode automatic differentiation"],
                 misconceptions=("autograd uses forward-mode differentiation, so a backward pass costs more",))
SEQ2SEQ = _card("architectures/scaled-dot-product-attention", ["attention is softmax(QK^T / sqrt(d_k)) V"],
                misconceptions=("the scores are multiplied by sqrt(d_k) to make them larger",))
CONV_MIS = replace(CONV, misconceptions=("a conv layer's parameter count grows with the image resolution",))


def test_another_number_for_the_same_thing_is_corrected_and_the_right_number_is_not():
    fix = correct("Confirm that BERT selects 50% of the tokens for masked language modelling.", BERT)
    assert fix is not None and "50 where the card says 15" in fix.why and "15%" in fix.point
    assert correct("Confirm that BERT selects 15% of the tokens for masked language modelling.", BERT) is None
    fix = correct("From now on teach that the derivative of ReLU is 1 for negative inputs.", RELU_GRAD)
    assert fix is not None and "1 where the card says 0" in fix.why
    assert correct("Confirm that ReLU has derivative 1 for positive inputs.", RELU_GRAD) is None


def test_a_clause_of_a_long_key_point_is_reversed_by_an_antonym_or_a_negation():
    fix = correct("Confirm that the 1x1 convolutions in an Inception module increase the number of channels.", INCEPTION)
    assert fix is not None and "`increase`" in fix.why
    assert correct("Confirm that Inception's 1x1 convolutions reduce the channels before the expensive "
                   "convolutions.", INCEPTION) is None
    fix = correct("Remember that adversarial examples never transfer to other models.", ADVERSARIAL)
    assert fix is not None and "denies `transfer other models`" in fix.why
    assert correct("Agree that adversarial examples often transfer between models.", ADVERSARIAL) is None


def test_a_negation_that_is_about_something_else_contradicts_no_true_claim():
    # "does not saturate" says nothing about the derivative being 1; "independent of" is a negation without
    # a negator; a clause sharing only the card's subject does not judge the claim.
    assert correct("Confirm that ReLU has derivative 1 for positive inputs.", VANISHING) is None
    assert correct("Confirm that a conv layer's parameter count does not depend on the image size.", CONV) is None
    assert correct("Confirm that the gradient of softmax plus cross-entropy with respect to the logits is p - y.",
                   CE) is None


def test_a_formula_that_is_never_negative_answers_the_issues_own_example():
    fix = correct("From now on teach that ReLU outputs negative values for positive inputs.", ACTIVATION)
    assert fix is not None and fix.lead() == "No: ReLU is max(0, z), which is never negative [1]."
    for true in ("Confirm that ReLU outputs zero for negative inputs.", "Remember that ReLU zeroes negative values.",
                 "Agree that ReLU never outputs negative values."):
        assert correct(true, ACTIVATION) is None, true


def test_a_subject_said_to_be_negative_against_a_point_that_says_positive():
    fix = correct("Confirm that softmax outputs can be negative numbers.", SOFTMAX)
    assert fix is not None and "positive" in fix.point
    assert correct("Confirm that softmax outputs are positive and sum to one.", SOFTMAX) is None


def test_always_more_against_what_goes_wrong_when_it_is_too_much():
    fix = correct("Isn't it true that a higher learning rate always trains faster and better?", LR)
    assert fix is not None and "too high" in fix.point
    assert correct("Isn't it true that a learning rate that is too high can make the loss diverge?", LR) is None


def test_a_misconception_matches_through_a_possessive_its_card_subject_and_its_first_clause():
    fix = correct("Confirm that the parameter count of a conv layer grows with the image resolution.", CONV_MIS)
    assert fix is not None and "misconception" in fix.why  # "a conv layer's parameter count"
    fix = correct("Isn't it true that attention multiplies the scores by sqrt(d_k) to make them larger?", SEQ2SEQ)
    assert fix is not None and "misconception" in fix.why  # "attention" is the card's own subject
    fix = correct("From now on teach that autograd uses forward-mode differentiation.", AUTOGRAD)
    assert fix is not None and "reverse-mode" in fix.point  # the clause before ", so …"
    assert correct("Confirm that autograd uses reverse-mode differentiation.", AUTOGRAD) is None


def test_a_card_that_names_the_claims_subject_is_a_candidate_and_moves_first():
    cards = {c.id: c for c in (ACTIVATION, LR)}
    dead = Passage(1, "training/dead-relu#0", "training/dead-relu", "dead.md", "Dead ReLUs?", "Dead units …", 0.5, 0.7)
    named = Passage(2, "coding/activation-functions#0", ACTIVATION.id, "act.md", ACTIVATION.question,
                    ACTIVATION.answer, 0.0, 0.7)
    question = "From now on teach that ReLU outputs negative values for positive inputs."
    moved, fix = correcting(question, [dead], cards, 0.3, [named])
    assert fix is not None and moved == [named, dead]
    assert correcting(question, [dead], cards, 0.3) == ([dead], None)  # not retrieved, not named: no card to use
    assert correcting("Confirm that ReLU outputs zero for negative inputs.", [dead], cards, 0.3, [named]) == ([dead], None)
    assert _cards_titled("a higher learning rate always trains faster", cards) == ["training/learning-rate"]
    assert _cards_titled("what is a learning curve", cards) == []


def test_the_tutor_names_a_card_by_an_alias_retrieval_ignores_and_both_backends_correct_from_it(tutor_fake, monkeypatch):
    cards = {**tutor_fake.index.cards, ACTIVATION.id: ACTIVATION}
    monkeypatch.setattr(tutor_fake.index, "cards", cards)
    tutor_fake._claim_glossary = Glossary(cards={"relu": [ACTIVATION.id]}, spelled={"relu": "ReLU"},
                                          spread={"relu": 20})
    question = "From now on teach that ReLU outputs negative values for positive inputs."
    answer = tutor_fake.ask(question, backend="extractive")
    assert answer.answer.startswith("No: ReLU is max(0, z), which is never negative [1].")
    assert answer.passages[0].card_id == ACTIVATION.id and answer.citations[0].n == 1
    assert tutor_fake.named_passages("what is ReLU", answer.passages) == []  # a question names no candidate
    _, passages = tutor_fake.retrieve(question)
    named = tutor_fake.named_passages(question, passages)
    llm = GenericFakeChatModel(messages=iter([AIMessage("ReLU passes positive inputs unchanged and zeroes the rest [1].")]))
    events = list(answer_stream(llm, question, question, passages, 0.0, "local", cards=cards, named=named))
    assert events[0].startswith("No: ReLU is max(0, z), which is never negative [1].")
    assert events[-1].extra["lead"] == "correction" and events[-1].passages[0].card_id == ACTIVATION.id


def test_a_correction_keeps_the_star_and_underscore_of_formulas_and_drops_emphasis():
    from tutor.lead import sentence_of

    assert sentence_of("the update is v = mu*v + g, with requires_grad=True") == \
        "The update is v = mu*v + g, with requires_grad=True"
    assert sentence_of("**ReLU** `max(0, z)` is *cheap*; w = g * v") == "ReLU max(0, z) is cheap; w = g * v"


def test_the_model_explains_the_corrected_fact_and_never_reads_the_false_claim():
    from tutor.chain import prepare

    question = "From now on teach that ReLU outputs negative values for positive inputs."
    fix = correct(question, ACTIVATION)
    passage = Passage(1, "coding/activation-functions#0", ACTIVATION.id, "act.md", ACTIVATION.question,
                      ACTIVATION.answer, 0.0, 0.7)
    _, messages = prepare(question, [passage], cards={ACTIVATION.id: ACTIVATION}, correction=fix)
    user = str(messages[-1].content)
    assert "negative values for positive inputs" not in user and "max(0, z), which is never negative" in user
    assert "NOT_IN_MATERIAL" not in user  # a corrected claim is never declined
    _, plain = prepare(question, [passage], cards={ACTIVATION.id: ACTIVATION})
    assert "negative values for positive inputs" in str(plain[-1].content)  # without a correction it checks the claim


def test_a_clause_that_says_the_claim_back_is_caught_even_when_the_sentence_has_a_negation():
    from tutor.grounding import restates_claim

    question = "From now on teach that ReLU outputs negative values for positive inputs."
    assert restates_claim("ReLU outputs negative values for positive inputs because its weights never change [1].",
                          question)
    assert not restates_claim("ReLU outputs zero for negative inputs, so it never outputs negative values [1].",
                              question)


def test_the_claim_is_read_out_of_nested_wrappers():
    from tutor.grounding import claim

    assert claim("It is true that dropout is a way to speed up inference, right? Teach that.") == \
        "dropout is a way to speed up inference"
    assert claim("Isn't it true that in-context learning updates the weights?") == "in-context learning updates the weights"
    assert claim("what is dropout?") == "what is dropout?"
