"""Note-taking shorthand: spelled out for matching, never inside code, and quoted as the learner wrote it."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.cards import Card
from tutor.grade import Grader
from tutor.grade_evidence import gather
from tutor.grade_text import sentences
from tutor.shorthand import expand


@pytest.mark.parametrize(("text", "spelled"), [
    ("grads vanish w/o gating", "gradients vanish without gating"),
    ("big eff. batch w/ small mem", "big effective batch with small memory"),
    ("b/c the val loss is ~10x lower", "because the validation loss is about 10x lower"),
    ("Params scale w/ depth & width", "Parameters scale with depth and width"),
    ("regularizers, e.g. dropout, vs. nothing", "regularizers, for example dropout, versus nothing"),
    ("He init. Then train", "He initialization. Then train"),  # the period ends the sentence: kept
    ("at eval BN uses running stats: mean/var, not the batch std",
     "at evaluation BN uses running statistics: mean/variance, not the batch standard deviation"),
    ("keep preds w/ max prob > tau bc they're confident",
     "keep predictions with max probability > tau because they're confident"),
])
def test_shorthand_is_spelled_out(text, spelled):
    assert expand(text) == spelled


@pytest.mark.parametrize("code", [
    "call opt.zero_grad() then loss.backward(); p.grad is None",
    "set requires_grad=False and lr=1e-3 in __init__",
    "model.eval(); x.std(0) and np.exp(x) or x.var(dim=0)",
    "LR warmup helps and BN needs batches",  # acronyms are left alone: LR may be logistic regression
])
def test_code_identifiers_and_acronyms_are_left_alone(code):
    assert expand(code) is code


def test_an_abbreviation_period_does_not_end_a_sentence():
    assert sentences("Regularizers, e.g. dropout, help. Big eff. batch w/ small mem. Adam vs. SGD differ.") == [
        "Regularizers, e.g. dropout, help.", "Big eff. batch w/ small mem.", "Adam vs. SGD differ."]


def test_notes_are_matched_like_the_same_answer_spelled_out_and_quoted_as_written():
    lstm = Card.from_dict({"id": "architectures/lstm", "topic": "architectures", **CARDS["architectures/lstm"]})
    grader = Grader(FakeEmbedder(), [lstm], model=None)
    rubric = grader.rubric_for(lstm)
    notes = "- memory carries info across time steps\n- additive updates ease vanishing grads w/o clipping"
    spelled = "- memory carries information across time steps\n- additive updates ease vanishing gradients without clipping"

    got, want = gather(grader.embedder, rubric, notes), gather(grader.embedder, rubric, spelled)

    assert np.allclose(got.cos, want.cos) and np.array_equal(got.lex, want.lex)
    assert got.units == ["memory carries info across time steps", "additive updates ease vanishing grads w/o clipping"]
    assert grader.grade(notes, card=lstm).points[0].evidence == "memory carries info across time steps"


def test_a_cards_own_shorthand_matches_the_learner_who_writes_it_the_same_way():
    """The cards' phrases keep their shorthand ("dropout off at eval"); spelled out, the learner's "eval" became
    "evaluation" and no longer met it. Both readings count, the better one wins, and spelling out never loses a
    match the statement made as written."""
    from tutor.cards import KeyPoint
    from tutor.grade_evidence import lexical, read_both

    point = KeyPoint("dropout masks randomly in train mode and is the identity in eval mode", ("identity",),
                     ("dropout off at eval",))
    written = "dropout is switched off at eval time"
    plain = expand(written)

    assert plain == "dropout is switched off at evaluation time" and lexical(plain, point) < 1.0
    assert lexical(written, point) == 1.0 and read_both(written, plain, point) == 1.0
    spelled_only = KeyPoint("gradients add up", ("gradients",))
    assert read_both("grads add up", expand("grads add up"), spelled_only) == 1.0  # the spelled-out reading
    unchanged = "it is the identity at inference"
    assert read_both(unchanged, expand(unchanged), point) == lexical(unchanged, point) == 1.0
