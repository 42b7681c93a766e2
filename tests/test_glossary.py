"""The glossary: acronyms and other names from cards, expanded at query time."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tutor.cards import Card, KeyPoint
from tutor.glossary import Glossary, _pattern, build_glossary, defined_acronyms, is_acronym, long_form


def card(card_id: str, question: str, answer: str = "", aliases: tuple[str, ...] = ()) -> Card:
    return Card(card_id, card_id.split("/")[0], question, answer or question, 2,
                (KeyPoint("a point", ("point",)),), aliases=aliases)


CARDS = [
    card("coding/bptt", "How does backpropagation through time (BPTT) work?", aliases=("BPTT", "backprop through time")),
    card("training/batch-norm", "What is batch normalization?", aliases=("BN", "batchnorm", "batch norm")),
    card("architectures/kv-cache", "What is the KV cache?", aliases=("KV cache", "key-value cache")),
    card("architectures/moe", "What is a layer?", "A mixture-of-experts (MoE) layer routes each token."),
    card("advanced/quant", "What is quantization?", aliases=("PTQ", "QAT", "GPTQ")),
]


@pytest.fixture(scope="module")
def glossary():
    return build_glossary(CARDS)


@pytest.mark.parametrize(("text", "expected"), [
    ("uses backpropagation through time (BPTT) to learn", [("BPTT", "backpropagation through time")]),
    ("a mixture-of-experts (MoE) layer", [("MoE", "mixture-of-experts")]),
    ("Intersection over Union (IoU) measures overlap", [("IoU", "Intersection over Union")]),
    # not definitions: the words before the brackets do not spell the acronym
    ("reconstructing masked patches (MAE)", []),
    ("roles add fine-tuning (LoRA)", []),
    ("encoder-only (BERT)", []),
    ("SiLU (Swish) is smooth", []),
])
def test_acronyms_are_found_only_where_the_text_spells_them_out(text, expected):
    assert defined_acronyms(text) == expected


def test_a_long_form_is_the_shortest_tail_that_starts_with_the_first_letter():
    assert long_form("we train a recurrent neural network", "RNN") == "recurrent neural network"
    assert long_form("nothing to see here", "RNN") is None


@pytest.mark.parametrize(("term", "acronym"), [("BPTT", True), ("KV cache", True), ("RoPE", True),
                                                ("batchnorm", False), ("Adam", False)])
def test_an_acronym_is_a_word_with_two_capitals(term, acronym):
    assert is_acronym(term) is acronym


def test_an_acronym_expands_to_its_spelled_out_names(glossary):
    expanded = glossary.expand("what is BPTT")
    assert expanded.startswith("what is BPTT (")
    assert "backprop through time" in expanded and "backpropagation through time" in expanded


def test_a_question_naming_a_card_by_alias_points_at_that_card(glossary):
    assert glossary.cards_named("explain BPTT please") == ["coding/bptt"]
    assert glossary.cards_named("How big does the KV cache get?") == ["architectures/kv-cache"]
    assert glossary.cards_named("What is a layer?") == []


def test_an_acronym_defined_only_in_card_text_still_expands(glossary):
    assert "mixture-of-experts" in glossary.expand("how does MoE routing work")
    assert glossary.cards_named("how does MoE routing work") == []  # no card declares it


def test_matching_is_whole_word_and_takes_plurals(glossary):
    assert glossary.cards_named("BPTTs in practice") == ["coding/bptt"]
    assert glossary.cards_named("the xBPTT thing") == []


def test_two_letter_acronyms_match_only_in_capitals(glossary):
    assert glossary.cards_named("what does BN do at inference") == ["training/batch-norm"]
    assert glossary.cards_named("what is ln of two") == []


def test_sibling_acronyms_of_one_card_do_not_expand_into_each_other(glossary):
    assert glossary.expand("PTQ or QAT?") == "PTQ or QAT?"


def test_words_already_in_the_question_are_not_repeated(glossary):
    assert glossary.expand("BPTT is backpropagation through time; backprop through time") == \
        "BPTT is backpropagation through time; backprop through time"


def test_the_longer_term_wins_over_the_one_inside_it(glossary):
    assert glossary.terms_in("How big is the KV cache?") == ["kv cache"]


def test_no_cards_means_no_expansion():
    assert build_glossary([]).expand("what is BPTT") == "what is BPTT"


# The two-step finder must find exactly what the one-pattern definition finds (slow, but plainly right).
_REFERENCE = re.compile(r"((?:[\w'-]+\s+){0,8}?[\w'-]+)\s+\(([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*)\)")
_PIECES = st.sampled_from(list("ab AB(),.'-\n") + ["BPTT", " (GRU)", "gated recurrent unit", " (LN)", "x" * 60])


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_defined_acronyms_matches_the_one_pattern_reference(text):
    expected = [(m.group(2), f) for m in _REFERENCE.finditer(text) if (f := long_form(m.group(1), m.group(2)))]
    assert defined_acronyms(text) == expected


def test_a_definition_far_after_a_long_run_of_words_is_found():
    text = "word " * 500 + "backpropagation through time (BPTT) unrolls the network."
    assert defined_acronyms(text) == [("BPTT", "backpropagation through time")]


def test_a_saved_glossary_reads_back_the_same_and_takes_the_readers_max_spread(glossary):
    import json

    table = json.loads(json.dumps(glossary.to_dict()))
    assert Glossary.from_dict(table).to_dict() == glossary.to_dict()
    assert Glossary.from_dict(table).terms_in("what is BPTT") == ["bptt"]
    assert Glossary.from_dict(table, max_spread=0).terms_in("what is BPTT") == []


# terms_in skips a term unless each of its words is a substring of the question: never a term the
# pattern would have found.
_QUESTION_PIECES = st.sampled_from(["BPTT", "bptt", "KV", "kv", " cache", "-cache", "key-value", " ", "s", "MoE",
                                    "moe", "BN", "bn", "PTQ", "ſ", "K", "what is ", "?", "xBPTT", "batch", "norm"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_QUESTION_PIECES, max_size=12).map("".join))
def test_the_substring_prefilter_never_drops_a_term_the_pattern_finds(question):
    glossary = build_glossary(CARDS)
    expected: list[str] = []
    for key in sorted(glossary.spelled, key=len, reverse=True):
        if _pattern(glossary.spelled[key]).search(question) and \
                not any(f" {key} " in f" {longer} " for longer in expected):
            expected.append(key)
    assert glossary.terms_in(question) == expected


@pytest.mark.parametrize(("question", "expected"), [
    ("what is BPTT?", ["coding/bptt"]),
    ("Explain batchnorm", ["training/batch-norm"]),
    ("so what's a KV cache", ["architectures/kv-cache"]),
    ("what does PTQ stand for?", ["advanced/quant"]),
    ("how does batch norm work?", ["training/batch-norm"]),
    ("define KV caches", ["architectures/kv-cache"]),
    # the alias is only part of the subject, or no card declares it: no definition vote
    ("what is BPTT used for in practice?", []),
    ("why does batch norm help training?", []),
    ("what is a mixture of experts", []),
    ("what is BN?", ["training/batch-norm"]),
    ("what is bn", []),  # two letters count only as written
])
def test_a_question_whose_whole_subject_is_an_alias_names_the_card_that_declares_it(question, expected):
    spread_everywhere = build_glossary(CARDS, max_spread=0)  # every term widespread: cards_named sees none
    assert spread_everywhere.cards_named(question) == []
    assert spread_everywhere.cards_defined(question) == expected


@pytest.mark.parametrize(("question", "term"), [
    ("what is ReLU", "ReLU"),
    ("what is meant by overfitting?", "overfitting"),
    ("what does KV cache mean", "KV cache"),
    ("why do we use dropout?", "dropout"),
    ("Why do we need batch norm", "batch norm"),
    ("what are the pros and cons of Adam?", "Adam"),
    ("What are the advantages of residual connections?", "residual connections"),
    ("when should I use GRUs?", "GRUs"),
    ("what is dropout used for?", "dropout"),
    # conversational requests around the same question (bench/framing_audit.py --requests)
    ("Can you explain CNNs?", "CNNs"),
    ("could you please describe the transformer", "transformer"),
    ("what do you know about ZeRO?", "ZeRO"),
    ("What can you tell me about LSTMs?", "LSTMs"),
    ("I don't really understand GANs", "GANs"),
    ("help me understand RLHF", "RLHF"),
    ("I'm confused about backprop", "backprop"),
    ("what's the intuition behind attention?", "attention"),
    ("what problem does batch norm solve?", "batch norm"),
    ("how is dropout implemented?", "dropout"),
    # the public lists' forms
    ("Explain the concept of attention.", "attention"),
    ("What is dropout and why is it important?", "dropout"),
    ("What is dropout? How does it work?", "dropout"),
    ("Discuss GANs.", "GANs"),
    ("What are the different types of RNN?", "RNN"),
    ("What are the benefits of using batch norm?", "batch norm"),
    ("How would you explain LSTMs to a non-technical person?", "LSTMs"),
    ("What is the role of dropout in deep learning?", "dropout"),
    ("Give an overview of RLHF.", "RLHF"),
    ("Talk me through BPTT.", "BPTT"),
    ("CNNs explained", "CNNs"),
    ("dropout, explained", "dropout"),
    ("a quick intro to RLHF", "RLHF"),
    ("In deep learning, what is dropout?", "dropout"),
    ("Quick question: what is BPTT?", "BPTT"),
    ("RLHF - what is it?", "RLHF"),
    ("Why is dropout used?", "dropout"),
    ("Why does dropout work?", "dropout"),
    ("How does batch norm help?", "batch norm"),
    ("Can you give me an example of overfitting?", "overfitting"),
    ("whats attention", "attention"),
    # a second question about the same subject, and the lists' "which … do you know?" forms
    ("What is ZeRO? Why do we need it?", "ZeRO"),
    ("What are augmentations? Why do we need them?", "augmentations"),
    ("What is LoRA? What is it used for?", "LoRA"),
    ("Which optimizers do you know?", "optimizers"),
    ("What kind of augmentations do you know?", "augmentations"),
    ("Which types of pooling are there?", "pooling"),
    ("What do you mean by attention?", "attention"),
    ("How does DDP work in practice?", "DDP"),
    ("How to set the learning rate?", "learning rate"),
    ("How do you implement dropout?", "dropout"),
    ("Compare GANs with alternatives.", "GANs"),
    # a turn that changes the subject
    ("what about ZeRO?", "ZeRO"),
    ("and GRUs?", "GRUs"),
    ("ok, now explain DDP", "DDP"),
    ("can you explain LSTMs too?", "LSTMs"),
    ("what about it?", "it"),  # names no card: no vote
])
def test_a_question_about_one_named_subject_gives_that_subject(question, term):
    from tutor.glossary import definition_term

    assert definition_term(question) == term


@pytest.mark.parametrize(("question", "parts"), [
    ("What is dropout?", []),  # one sentence: the question alone
    ("BLEU is a translation metric. What are its pros and cons?", ["What are its pros and cons?"]),
    ("What is dropout? Why is it useful? How does it work?",
     ["What is dropout?", "Why is it useful?", "How does it work?"]),
    ("What is L1 vs. L2 regularization? Explain.", ["What is L1 vs. L2 regularization?"]),  # "vs." ends nothing
    ("Dropout. Why?", []),  # one word is not a question of its own
])
def test_a_question_of_several_sentences_also_offers_each_question_in_it(question, parts):
    from tutor.glossary import question_parts

    assert question_parts(question) == [question, *parts]


def test_a_question_with_more_than_a_subject_is_not_a_definition():
    from tutor.glossary import definition_term

    # the whole remainder is the "term": it names no card, so nothing gets a definition vote
    assert definition_term("why does dropout help, and when does it hurt?") is None
    assert definition_term("what are the advantages of LSTMs over RNNs?") == "LSTMs over RNNs"
    assert definition_term("can you explain why my loss explodes after a few steps?") == \
        "why my loss explodes after a few steps"  # names no card: no vote
    assert definition_term("what is the role of dropout in transformers?") == "dropout in transformers"
    # "which" and "how to" lead only into a subject the remainder names whole
    assert definition_term("Which activation function should I use for a regression output?") == \
        "activation function should I use for a regression output"
    assert definition_term("What is dropout? Why does it hurt small models?") is None
