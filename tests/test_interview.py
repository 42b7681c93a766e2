"""The mock interview: adaptive difficulty, topic rotation, time limit, probes, and the scorecard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import T0, Clock
from fake_grader import FakeGrader, full_answer

from tutor.cards import load_cards
from tutor.errors import UserError
from tutor.interview import MockInterview
from tutor.scorecard import verdict_for


@pytest.fixture
def cards(cards_dir, write_card):
    write_card(cards_dir, "training/weight-decay", difficulty=3, question="What is weight decay?",
               key_points=[{"point": "adds an L2 penalty on the weights", "keywords": ["l2 penalty"]},
                           {"point": "shrinks weights toward zero each step", "keywords": ["shrink"]}],
               follow_ups=[])
    write_card(cards_dir, "architectures/attention", difficulty=3, question="What is attention?",
               key_points=[{"point": "weights values by query-key similarity", "keywords": ["query", "key"]}],
               follow_ups=[])
    return load_cards(cards_dir)


def make(store, cards, **kw):
    kw.setdefault("now", Clock())
    return MockInterview(store, FakeGrader(), cards, "alice", seed=1, **kw)


def test_three_question_interview_ends_with_a_saved_scorecard(store, cards):
    iv = make(store, cards, questions=3, topics=["training", "architectures", "basics"])
    topics, answered = [], 0
    while (q := iv.next_question()) is not None:
        topics.append(q.card.topic)
        out = iv.submit(full_answer(q.card) if answered != 1 else "I am not sure")
        answered += 1
        if iv.probe() is not None:
            iv.answer_probe("a short follow-up answer")
        assert out.review.kind == "interview" and out.rating is not None
    assert topics == ["training", "architectures", "basics"] and iv.finished
    card = iv.finish()
    assert card is iv.finish()  # saved once
    [saved] = store.scorecards("alice")
    assert saved.markdown == card.to_markdown() and saved.data["verdict"] == card.verdict
    md = card.to_markdown()
    for part in ("# Mock interview scorecard", "Verdict:", "| training |", "## Strengths", "## Gaps", "Study next"):
        assert part in md
    assert card.gaps and all(g["card_id"] in {c.id for c in cards} for g in card.gaps)
    assert card.study[0] == card.results[1]["card_id"]
    assert [r.kind for r in store.reviews("alice")].count("interview") == 3


def test_difficulty_rises_after_strong_answers_and_falls_after_weak_ones(store, cards):
    iv = make(store, cards, topics=["training"])
    q = iv.next_question()
    assert q.card.difficulty == 2
    iv.submit(full_answer(q.card))
    assert iv.difficulty == 3 and iv.next_question().card.id == "training/weight-decay"
    iv.submit("nothing useful")
    assert iv.difficulty == 2
    iv.next_question()
    iv.submit("nothing")
    assert iv.difficulty == 1


def test_the_interview_stops_when_time_is_up(store, cards):
    clock = Clock()
    iv = make(store, cards, minutes=10, now=clock)
    assert iv.next_question() is not None and iv.remaining() == timedelta(minutes=10)
    iv.submit("x")
    clock.t = T0 + timedelta(minutes=11)
    assert iv.next_question() is None and iv.remaining() == timedelta(0)
    assert iv.finish().verdict == "not enough answers"


def test_the_interview_offers_no_hints(store, cards):
    assert not hasattr(make(store, cards), "hint")


def test_bad_interview_settings_are_user_errors(store, cards):
    with pytest.raises(UserError, match="minutes"):
        make(store, cards, minutes=0)
    with pytest.raises(UserError, match="unknown topic"):
        make(store, cards, topics=["astrology"])


@pytest.mark.parametrize(("overall", "topics", "n", "verdict"), [
    (8.0, {"a": 8.0, "b": 7.5}, 4, "ready"),
    (7.5, {"a": 9.0, "b": 4.0}, 4, "nearly ready"),
    (5.5, {"a": 5.5}, 3, "nearly ready"),
    (3.0, {"a": 3.0}, 3, "not ready yet"),
    (9.0, {"a": 9.0}, 2, "not enough answers"),
])
def test_readiness_verdict(overall, topics, n, verdict):
    assert verdict_for(overall, topics, n)[0] == verdict


def test_scorecard_gaps_put_wrong_points_first_and_keep_three_per_card():
    from tutor.scorecard import build_scorecard

    points = [{"point": f"p{i}", "status": "missed", "weight": 1.0} for i in range(5)]
    points.append({"point": "bad", "status": "wrong", "weight": 1.0})
    results = [{"card_id": "t/x", "topic": "t", "difficulty": 2, "question": "Q?", "answer": "",
                "grade": {"score": 1.0, "label": "incorrect", "points": points, "misconceptions": []}, "probe": None}]
    card = build_scorecard("alice", T0, T0 + timedelta(minutes=5), results, {})
    assert [g["point"] for g in card.gaps] == ["bad", "p0", "p1"] and card.study == ["t/x"]
    assert card.verdict == "not enough answers"


def test_scorecard_gaps_name_the_claim_a_point_made_in_part_still_misses():
    from tutor.scorecard import build_scorecard

    points = [{"point": "dropout is off in eval mode; forgetting model.eval() leaves it on", "status": "partly",
               "weight": 1.0, "missing": "forgetting model.eval() leaves it on"},
              {"point": "it zeroes random units", "status": "covered", "weight": 1.5, "missing": ""}]
    results = [{"card_id": "t/x", "topic": "t", "difficulty": 2, "question": "Q?", "answer": "",
                "grade": {"score": 6.0, "label": "partial", "points": points, "misconceptions": []}, "probe": None}]
    card = build_scorecard("alice", T0, T0 + timedelta(minutes=5), results, {})
    assert card.gaps == [{"point": "forgetting model.eval() leaves it on", "card_id": "t/x", "status": "missed"}]
