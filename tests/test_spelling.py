"""Compounds respelled as the material spells them (tutor/spelling.py) before a question is searched."""

from __future__ import annotations

import pytest

from tutor.spelling import respell

# A tiny lexicon: the material writes "overfitting" and "underfitting" solid, "fine-tuning" and
# "multi-head" hyphenated (so the cards' word pairs hold "fine tuning" and "multi head"), and "any" and
# "one" as words of their own.
DF = {"overfitting": 5, "underfitting": 2, "fine": 4, "tuning": 6, "multi": 3, "head": 8, "attention": 9,
      "any": 3, "one": 7, "pre": 2, "training": 20, "pretraining": 3}
PAIRS = {"fine tuning", "multi head", "head attention", "any one", "pre training"}


def test_a_hyphenated_word_takes_the_solid_spelling_the_material_uses():
    assert respell("What is over-fitting?", DF, PAIRS) == "What is overfitting?"
    assert respell("Under-Fitting vs over-fitting", DF, PAIRS) == "UnderFitting vs overfitting"


def test_a_suspended_hyphen_is_completed_before_joining():
    assert respell("Explain over- and under-fitting.", DF, PAIRS) == "Explain overfitting and underfitting."
    assert respell("over- or under-fitting", DF, PAIRS) == "overfitting or underfitting"


def test_a_solid_word_the_material_never_uses_takes_its_hyphenated_spelling():
    assert respell("what is finetuning", DF, PAIRS) == "what is fine-tuning"
    assert respell("multihead attention", DF, PAIRS) == "multi-head attention"


def test_spellings_the_material_itself_uses_are_left_alone():
    # both spellings exist ("pre training" is a card pair and "pretraining" a word): nothing to fix
    assert respell("pre-training and pretraining", DF, PAIRS) == "pre-training and pretraining"
    assert respell("fine-tuning", DF, PAIRS) == "fine-tuning"
    # a word we do not know whose halves are too short to be a compound of ours
    assert respell("anyone", DF, PAIRS) == "anyone"
    # unknown on both sides: no rewrite
    assert respell("a well-known cat-dog trick", DF, PAIRS) == "a well-known cat-dog trick"


def test_the_retriever_reads_the_respelled_question(tutor_fake):
    """The fixture cards write "overfitting" solid: the hyphenated spelling finds the same card."""
    solid, passages = tutor_fake.retrieve("How does dropout prevent overfitting?")
    hyphen, same = tutor_fake.retrieve("How does dropout prevent over-fitting?")
    assert hyphen == solid
    assert [p.card_id for p in same] == [p.card_id for p in passages]
    assert [round(p.relevance, 6) for p in same] == [round(p.relevance, 6) for p in passages]


TYPO_DF = {"transformer": 9, "attention": 12, "hallucination": 3, "normalization": 7, "chunk": 4, "converge": 5,
      "gradient": 20, "onlyonce": 1}
ENGLISH = frozenset({"there", "converged", "remover", "favourite"})


def _typos(text: str) -> str:
    from tutor.spelling import correct_typos, typo_index

    return correct_typos(text, TYPO_DF, lambda: typo_index(TYPO_DF), lambda: ENGLISH)


def test_one_edit_is_an_insertion_a_deletion_a_substitution_or_a_swap():
    from tutor.spelling import one_edit

    assert one_edit("tranfsormer", "transformer") and one_edit("atention", "attention")
    assert one_edit("attentiion", "attention") and one_edit("attentoin", "attention")
    assert not one_edit("attention", "attention") and not one_edit("atetnoin", "attention")


@pytest.mark.parametrize(("typed", "fixed"), [
    ("what is a tranfsormer", "what is a transformer"),
    ("Halluicnation in LLMs", "Hallucination in LLMs"),
    ("batch normalizaton and gradeints", "batch normalization and gradients"),
])
def test_a_typo_of_a_corpus_word_is_corrected(typed, fixed):
    assert _typos(typed) == fixed


@pytest.mark.parametrize("text", [
    "what is the churn rate",  # short words are left alone: "churn" is one edit from "chunk"
    "the loss converged there",  # English words the corpus never uses
    "why is my postgres index slow",  # no corpus word nearby: an off-topic question stays off-topic
    "what is ATTENTIN",  # acronyms as typed
    "what is onlyonec",  # a word one card uses is no evidence
])
def test_words_that_are_not_typos_of_ours_are_left_alone(text):
    assert _typos(text) == text
