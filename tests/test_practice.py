"""The practice loop on a fixed clock: question order, hints, grading → schedule, probes, mastery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import T0, Clock
from fake_grader import full_answer, partial_answer

from tutor.cards import load_cards
from tutor.config import REPO_ROOT
from tutor.errors import UserError
from tutor.hints import hints_for
from tutor.mastery import topic_mastery, weakest_points
from tutor.practice import PracticeSession
from tutor.progress import Review
from tutor.schedule import Schedule


def test_new_cards_come_easiest_first_and_never_twice(practice_session, cards):
    s = practice_session()
    seen = []
    while (q := s.next_question()) is not None:
        assert q.reason == "new"
        seen.append(q.card)
        s.skip()
    assert sorted(c.id for c in seen) == sorted(c.id for c in cards)
    assert [c.difficulty for c in seen] == sorted(c.difficulty for c in seen)


def test_repeat_allows_the_same_card_again(practice_session):
    s = practice_session(topic="basics", difficulty=1, repeat=True)
    assert s.next_question().card.id == s.next_question().card.id == "basics/softmax"


def test_submit_grades_stores_the_review_and_schedules_the_card(practice_session, store, cards):
    s = practice_session()
    q = s.next_question()
    out = s.submit(full_answer(q.card))
    assert out.grade.score == 10 and out.rating == 4 and out.rating_name == "easy"
    assert out.interval >= timedelta(days=1)
    [r] = store.reviews("alice")
    assert (r.card_id, r.kind, r.rating, r.hints, r.reviewed_at) == (q.card.id, "quiz", 4, 0, T0)
    assert r.grade["points"][0]["status"] == "covered"
    assert Schedule.due(store.schedule_states("alice")[q.card.id]) == out.due


def test_due_cards_come_before_new_ones_most_overdue_first(practice_session):
    clock = Clock()
    s = practice_session(clock)
    first = s.next_question().card
    s.submit("no idea")  # Again: due within minutes
    clock.t = T0 + timedelta(minutes=5)
    second = s.next_question().card
    s.submit("still no idea")
    clock.t = T0 + timedelta(hours=2)
    later = practice_session(clock)
    assert [later.next_question().card.id for _ in range(2)] == [first.id, second.id]
    assert later.current.reason == "due"


def test_due_only_stops_when_nothing_is_due(practice_session):
    s = practice_session(due_only=True)
    assert s.next_question() is None


def test_weak_topics_come_before_other_new_cards(practice_session, store):
    store.add_review(Review("alice", "architectures/lstm", "architectures", T0 - timedelta(days=1), 2.0,
                            "incorrect", 1, 0, "quiz", "q", "a", {}, Schedule().review(None, 3, T0 - timedelta(days=30))
                            | {"due": (T0 + timedelta(days=5)).isoformat()}))
    q = practice_session().next_question()
    assert q.reason == "weak" and q.card.id == "architectures/gru"


def test_filters_and_bad_filters(practice_session):
    s = practice_session(topic="training", difficulty=2)
    assert s.next_question().card.id == "training/batch-normalization"
    assert (s.skip() or s.next_question()) is None
    with pytest.raises(UserError, match="unknown topic"):
        practice_session(topic="cooking")
    with pytest.raises(UserError, match="difficulty must be"):
        practice_session(difficulty=5)
    with pytest.raises(UserError, match="no cards match"):
        practice_session(topic="nlp")


def test_hints_are_revealed_one_at_a_time_and_lower_the_rating(practice_session, store):
    s = practice_session(topic="basics", difficulty=1)
    q = s.next_question()
    hints = [s.hint(), s.hint(), s.hint()]
    assert all(hints) and len(set(hints)) == 3 and s.hint() is None and s.hints_left == 0
    out = s.submit(full_answer(q.card))
    assert out.grade.score == 10 and out.rating == 2 and store.reviews("alice")[0].hints == 3
    assert s.hint() is None  # no hints once graded


def _all_cards():
    return load_cards(REPO_ROOT / "corpus" / "cards")


@pytest.mark.parametrize("source", ["fixture", "corpus"])
def test_no_hint_contains_a_whole_key_point(source, cards):
    for card in cards if source == "fixture" else _all_cards():
        hints = hints_for(card)
        assert 2 <= len(hints) <= 3, card.id
        for hint in hints:
            for kp in card.key_points:
                assert kp.point.lower() not in hint.lower(), (card.id, hint)


def test_hints_go_from_area_to_term_to_partial_statement(cards):
    card = next(c for c in cards if c.id == "training/batch-normalization")
    area, term, partial = hints_for(card)
    assert area.startswith("Area: training") and "3 separate points" in area
    assert "zero mean" in term and "gamma" in term
    assert "normalizes each feature" in partial and partial.endswith("…”")


def test_probe_asks_about_a_missed_point_and_its_answer_is_graded_on_that_point(practice_session, store):
    clock = Clock()
    s = practice_session(clock, topic="training", difficulty=2)
    q = s.next_question()
    s.submit(partial_answer(q.card, 1))
    clock.t += timedelta(minutes=1)
    probe = s.probe()
    assert probe.kind == "missed" and probe.point == q.card.key_points[1].point
    assert probe.point not in probe.question and "gamma" in probe.question
    assert probe.question.startswith("You mentioned")
    before = store.schedule_states("alice")
    out = s.answer_probe("gamma and beta")
    assert out.grade.score == 10 and out.rating is None and s.probe() is None
    r = store.reviews("alice")[-1]
    assert (r.kind, r.rating, r.state, r.question) == ("probe", None, None, probe.question)
    assert store.schedule_states("alice") == before


def test_each_card_is_prepared_for_grading_when_asked_and_a_probe_when_it_is_posed(practice_session):
    s = practice_session(topic="training", difficulty=2)
    q = s.next_question()
    assert s.grade_fn.prepared == [(q.card.id, tuple(kp.point for kp in q.card.key_points))]
    assert s.grade_fn.calls == []  # prepared before any answer came
    s.submit(partial_answer(q.card, 1))
    # the probe grades against its card narrowed to the probed point: that narrowed card is prepared too
    assert s.grade_fn.prepared[-1] == (q.card.id, (s.probe().point,))
    assert len(s.grade_fn.prepared) == 2


def test_a_grade_function_without_prepare_still_practises(store, cards):
    def grade(answer, *, card):
        from fake_grader import FakeGrader

        return FakeGrader()(answer, card=card)

    s = PracticeSession(store, grade, cards, "alice", now=Clock())
    q = s.next_question()
    assert s.submit(full_answer(q.card)).grade.score == 10


def test_a_wrong_point_is_probed_before_a_missed_one(practice_session):
    s = practice_session(topic="training", difficulty=2)
    s.next_question()
    s.submit("zero mean, not gamma")
    probe = s.probe()
    assert probe.kind == "wrong" and "not gamma" in probe.question and "Are you sure" in probe.question


def test_a_complete_answer_is_followed_by_a_follow_up_card(practice_session, store):
    clock = Clock()
    s = practice_session(clock, topic="training", difficulty=2)
    q = s.next_question()
    s.submit(full_answer(q.card))
    clock.t += timedelta(minutes=1)
    probe = s.probe()
    assert probe.kind == "follow_up" and probe.card_id == "training/dropout"
    assert "What is dropout" in probe.question
    s.answer_probe("randomly zero units, regularization, inverted dropout")
    assert store.reviews("alice")[-1].card_id == "training/dropout"


def test_mastery_is_recency_weighted_and_counts_cards_seen(cards):
    def r(card, days_ago, score, kind="quiz"):
        return Review("alice", card, card.split("/")[0], T0 - timedelta(days=days_ago), score, "x", 3, 0, kind,
                      grade={"points": [{"point": "p1", "status": "missed" if score < 5 else "covered"}]})
    reviews = [r("training/dropout", 28, 10.0), r("training/dropout", 0, 0.0), r("basics/softmax", 0, 8.0),
               r("basics/learning-rate", 0, 2.0, kind="probe")]
    states = {"training/dropout": {"due": (T0 - timedelta(hours=1)).isoformat()},
              "basics/softmax": {"due": (T0 + timedelta(days=3)).isoformat()}}
    rows = {m.topic: m for m in topic_mastery(reviews, states, cards, T0)}
    assert rows["training"].mastery == pytest.approx(0.2, abs=0.001)  # 10 at weight 1/4, 0 at weight 1
    assert (rows["training"].seen, rows["training"].total, rows["training"].due_now) == (1, 2, 1)
    assert (rows["basics"].seen, rows["basics"].due_now, rows["basics"].due_week) == (1, 0, 1)
    assert rows["architectures"].mastery is None
    weak = weakest_points(reviews)
    assert [(w.card_id, w.missed, w.asked) for w in weak] == [("basics/learning-rate", 1, 1), ("training/dropout", 1, 2)]


def test_practice_with_the_real_grader_code_grades_a_probe_on_its_point_only(store, cards, config):
    """The real Grader (over FakeEmbedder): the probe's answer is graded against one point, and the
    card's full rubric is not disturbed by the narrowed one (rubrics are cached by content)."""
    from conftest import FakeEmbedder

    from tutor.grade import Grader

    grader = Grader(FakeEmbedder(), cards, config)
    clock = Clock()
    s = PracticeSession(store, lambda answer, *, card: grader.grade(answer, card=card), cards, "alice",
                        topic="training", difficulty=2, now=clock)
    q = s.next_question()
    first = s.submit("It normalizes each feature over the mini-batch to zero mean and unit variance.")
    assert len(first.grade.points) == len(q.card.key_points)
    probe = s.probe()
    assert probe is not None and probe.kind in ("missed", "partly", "wrong")
    clock.t += timedelta(minutes=1)
    out = s.answer_probe("Learnable gamma and beta rescale and shift the normalized values.")
    assert [p.point for p in out.grade.points] == [probe.point]
    again = grader.grade("zero mean and unit variance", card=q.card)
    assert len(again.points) == len(q.card.key_points)


def test_grader_for_a_tutor_grades_cards_and_refuses_over_long_answers(tutor_fake):
    from tutor.practice import grader_for

    grade = grader_for(tutor_fake)
    card = next(c for c in tutor_fake.cards if c.id == "training/dropout")
    g = grade("Dropout randomly zeroes units during training as a regularizer.", card=card)
    assert g.card_id == "training/dropout" and len(g.points) == 3
    with pytest.raises(UserError, match="the limit is"):
        grade("x" * (tutor_fake.config.max_answer_chars + 1), card=card)


def test_a_probe_names_the_idea_not_the_figure_of_the_cards_example():
    """"Where does “138M” come in?" asks the learner to recall the card's worked example; the probe names a
    keyword that carries the idea and falls back to a figure only when the point has nothing else."""
    from dataclasses import replace

    from tutor.cards import KeyPoint
    from tutor.grade import Grade, PointGrade
    from tutor.probe import probe_for

    card = next(c for c in load_cards(REPO_ROOT / "corpus" / "cards") if c.id == "basics/perceptron")
    for keywords, want in ((("138M", "VGG", "3x3"), ("VGG", "3x3")), (("1,792", "0.25"), ("1,792", "0.25"))):
        kp = KeyPoint(point="a point the learner left out", keywords=keywords, synonyms=())
        narrowed = replace(card, key_points=(kp,), follow_ups=())
        grade = Grade(score=2.0, label="incorrect", misconceptions=[], flags=[], feedback="", card_id=card.id,
                      question=card.question, points=[PointGrade(kp.point, "missed", "", 0.0, 1.0, card.id)])
        question = probe_for(grade, narrowed, {}).question
        named = [k for k in keywords if f"“{k}”" in question]
        assert len(named) == 1 and named[0] in want, question


def test_a_point_made_only_in_part_counts_toward_the_weakest_points():
    def r(status, missing=""):
        return Review("alice", "training/dropout", "training", T0, 6.0, "partial", 3, 0, "quiz",
                      grade={"points": [{"point": "p1; p2", "status": status, "missing": missing}]})

    weak = weakest_points([r("partly", "p2"), r("partly"), r("covered")])
    assert [(w.point, w.missed, w.asked) for w in weak] == [("p1; p2", 1, 3)]
