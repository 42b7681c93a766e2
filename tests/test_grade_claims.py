"""Compound key points ("A; B") read claim by claim for the verdicts: fake embedder, the rules' verdicts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.cards import Card
from tutor.grade import GradeParams, Grader, _by_claim, _score_points
from tutor.grade_evidence import card_rubric, claims, gather
from tutor.grade_features import ALL_FEATURES, features

EVAL = "dropout is switched off in eval mode"
FORGET = "forgetting model.eval() leaves predictions random"


@pytest.fixture
def card() -> Card:
    data = dict(CARDS["training/dropout"])
    data["key_points"] = [*data["key_points"][:2],
                          {"point": f"{EVAL}; {FORGET}", "keywords": ["model.eval()"],
                           "synonyms": ["disabled in evaluation mode"]}]
    return Card.from_dict({"id": "training/dropout", "topic": "training", **data})


@pytest.fixture
def grader(card) -> Grader:
    return Grader(FakeEmbedder(), [card], model=None)


def test_a_point_joining_two_claims_splits_and_a_short_piece_stays_with_its_neighbour():
    assert claims(f"{EVAL}; {FORGET}") == [EVAL, FORGET]
    assert claims("Two-stage detectors first propose regions with an RPN, then classify each; accurate but slower") == []
    assert claims("batch norm normalizes over the batch; layer norm over features; both learn scale and shift") == [
        "batch norm normalizes over the batch", "layer norm over features", "both learn scale and shift"]
    assert claims("batch norm normalizes over the batch; per channel; layer norm over features") == [
        "batch norm normalizes over the batch; per channel", "layer norm over features"]
    assert claims("randomly zeroes units during training") == []


def test_the_point_s_keywords_and_synonyms_go_to_the_claim_they_belong_to(card):
    rubric = card_rubric(FakeEmbedder(), card)
    first, second = rubric.claims[2]
    assert (first.point, second.point) == (EVAL, FORGET)
    assert second.keywords == ("model.eval()",) and first.keywords == ()
    assert first.synonyms == ("disabled in evaluation mode",)  # shares "mode" with the first claim
    assert rubric.claims[0] == () and rubric.claim_vecs[0] == []


def test_one_claim_made_is_partly_covered_and_the_feedback_names_the_other(grader, card):
    grade = grader.grade("Dropout randomly zeroes units during training. At test time dropout is switched off "
                         "in eval mode.", card=card)

    point = grade.points[2]
    assert point.status == "partly" and point.missing == FORGET
    assert "switched off in eval mode" in point.evidence
    assert f"covers part of: {EVAL}; {FORGET}" in grade.feedback
    missing = grade.feedback.split("**What was missing**")[1]
    assert f"- {FORGET}" in missing and f"- {EVAL};" not in missing


def test_both_claims_made_in_separate_sentences_cover_the_point_quoting_both(card):
    emb = FakeEmbedder()
    rubric = card_rubric(emb, card)
    ev = gather(emb, rubric, "At test time dropout is switched off in eval mode. "
                             "Forgetting model.eval() leaves predictions random.")

    point = _by_claim(rubric, ev, 2, list(range(len(ev.units))), GradeParams())
    assert point is not None and point.status == "covered" and not point.missing
    assert point.evidence == ("At test time dropout is switched off in eval mode. … "
                              "Forgetting model.eval() leaves predictions random.")
    assert _by_claim(rubric, ev, 0, list(range(len(ev.units))), GradeParams()) is None  # one claim: no reading


def test_no_claim_made_leaves_the_point_missed(grader, card):
    grade = grader.grade("Dropout randomly zeroes units during training.", card=card)
    assert grade.points[2].status == "missed" and not grade.points[2].missing


def test_the_learned_score_never_reads_the_claims(card):
    """Claims change verdicts only: the features (and so the score and the stored training rows) are the
    same with and without them."""
    emb = FakeEmbedder()
    rubric = card_rubric(emb, card)
    ev = gather(emb, rubric, "At test time dropout is switched off in eval mode. Units are zeroed randomly.")
    bare = replace(ev, claim_match=[])
    assert np.array_equal(features(rubric, ev, [], ALL_FEATURES), features(rubric, bare, [], ALL_FEATURES))
    with_claims, _ = _score_points(rubric, ev, GradeParams())
    without, _ = _score_points(rubric, bare, GradeParams())
    assert with_claims[2].missing == FORGET and not without[2].missing


def test_the_json_row_names_what_a_partly_point_still_misses_and_only_there(grader, card):
    from tutor.grade_cli import row_output

    grade = grader.grade("Dropout randomly zeroes units during training. At test time dropout is switched off "
                         "in eval mode.", card=card)
    points = row_output("r1", grade)["points"]
    assert points[2]["missing"] == FORGET
    assert all("missing" not in p for p in points[:2])


def test_a_point_made_in_part_is_probed_and_graded_on_the_claim_still_missing(grader, card):
    from tutor.probe import probe_card, probe_for

    answer = "Dropout randomly zeroes units during training. At test time dropout is switched off in eval mode."
    grade = grader.grade(answer, card=card)
    grade.points = [p if p.status == "partly" else replace(p, status="covered") for p in grade.points]

    probe = probe_for(grade, card, {card.id: card}, answer=answer)
    assert probe is not None and probe.kind == "partly" and probe.claim == FORGET
    assert "“model.eval()”" in probe.question and "that is part of it" in probe.question
    narrowed = probe_card(probe, {card.id: card})
    assert [kp.point for kp in narrowed.key_points] == [FORGET]
    assert narrowed.key_points[0].keywords == ("model.eval()",)
    again = grader.grade("If you forget model.eval() the predictions stay random.", card=narrowed)
    assert again.points[0].status in ("covered", "partly") and again.label != "incorrect"
