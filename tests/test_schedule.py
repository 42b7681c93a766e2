"""FSRS scheduling: grade + hints → rating, and the intervals that follow, on a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tutor.schedule import Schedule, interval_text, rating_for

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("score", "rating"), [(0, 1), (2.9, 1), (3, 2), (6.9, 2), (7, 3), (8.9, 3), (9, 4), (10, 4)])
def test_score_bands_map_to_again_hard_good_easy(score, rating):
    assert rating_for(score) == rating


def test_each_hint_lowers_the_rating_but_a_pass_stays_at_least_hard():
    assert [rating_for(10, h) for h in range(4)] == [4, 3, 2, 2]
    assert rating_for(8, 1) == 2
    assert rating_for(1, 0) == rating_for(1, 3) == 1


def test_better_ratings_give_longer_intervals_for_a_new_card():
    preview = Schedule().preview(None, NOW)
    assert list(preview) == ["again", "hard", "good", "easy"]
    assert preview["again"] < preview["hard"] < preview["good"] < preview["easy"]
    assert preview["again"] <= timedelta(minutes=10)
    assert preview["easy"] >= timedelta(days=1)


def test_schedule_is_deterministic_and_state_round_trips_as_plain_data():
    s = Schedule()
    a = s.review(None, 3, NOW)
    b = s.review(None, 3, NOW)
    assert a == b and isinstance(a, dict)
    later = s.review(a, 3, Schedule.due(a))
    assert Schedule.due(later) - Schedule.due(a) >= timedelta(days=1)


def test_successive_good_reviews_grow_the_interval():
    s, state, now, gaps = Schedule(), None, NOW, []
    for _ in range(5):
        state = s.review(state, 3, now)
        due = Schedule.due(state)
        gaps.append(due - now)
        now = due
    assert gaps[2:] == sorted(gaps[2:]) and gaps[-1] > timedelta(days=7)


def test_again_after_learning_brings_the_card_back_soon():
    s = Schedule()
    state = s.review(s.review(None, 4, NOW), 4, NOW + timedelta(days=8))
    lapse = s.review(state, 1, NOW + timedelta(days=40))
    assert Schedule.due(lapse) - (NOW + timedelta(days=40)) <= timedelta(hours=1)


def test_retrievability_is_zero_unseen_and_falls_with_time():
    s = Schedule()
    state = s.review(None, 4, NOW)
    assert s.retrievability(None, NOW) == 0.0
    assert s.retrievability(state, NOW + timedelta(days=1)) > s.retrievability(state, NOW + timedelta(days=60))


@pytest.mark.parametrize(("delta", "text"), [(timedelta(seconds=30), "1 min"), (timedelta(minutes=10), "10 min"),
                                             (timedelta(hours=5), "5 h"), (timedelta(days=3), "3 d"),
                                             (timedelta(days=90), "3 mo")])
def test_interval_text(delta, text):
    assert interval_text(delta) == text
