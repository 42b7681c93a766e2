"""Practice, Mock interview and Progress pages driven by AppTest, with the keyword FakeGrader."""

from __future__ import annotations

import json

import pytest
from fake_grader import FakeGrader
from streamlit.testing.v1 import AppTest

from tutor.config import REPO_ROOT


@pytest.fixture
def grader() -> FakeGrader:
    return FakeGrader()


@pytest.fixture
def app(built_index, fake_minilm, grader, tmp_path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(built_index.index_dir))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TUTOR_PROFILE", "tester")
    monkeypatch.delenv("TUTOR_DB", raising=False)
    monkeypatch.setattr("tutor.coach.grade_fn_for", lambda tutor: grader)
    import streamlit as st

    st.cache_resource.clear()
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()


def _go(app: AppTest, page: str) -> AppTest:
    return app.switch_page(f"app_pages/{page}.py").run()


def _button(app: AppTest, label: str):
    return next(b for b in app.button if b.label.startswith(label))


def _md(app: AppTest) -> str:
    return "\n".join(m.value for m in app.markdown)


def test_practice_round_hint_grade_per_point_and_next(app: AppTest, grader: FakeGrader):
    _go(app, "practice")
    assert not app.exception
    question = app.session_state["practice"].current.card
    assert question.question in [h.value for h in app.subheader]
    _button(app, "Hint").click().run()
    assert len(app.info) == 1 and app.info[0].value.startswith("Hint 1")
    kp = question.key_points[0]
    app.text_area[0].input(f"It {kp.keywords[0]} things.")
    _button(app, "Submit").click().run()
    assert not app.exception
    assert grader.calls and grader.calls[0][1] == question.id
    text = _md(app)
    assert f":green[**✓**] {kp.point}" in text and f"“{kp.keywords[0]}”" in text
    assert f":red[**✗**] {question.key_points[1].point}" in text
    assert app.metric[0].value.endswith("/ 10")
    _button(app, "Next question").click().run()
    assert app.session_state["practice"].current.card.id != question.id


def test_practice_filters_pick_matching_cards(app: AppTest):
    _go(app, "practice")
    app.selectbox[0].set_value("architectures").run()
    assert app.session_state["practice"].current.card.topic == "architectures"


def test_one_question_mock_interview_ends_with_a_downloadable_scorecard(app: AppTest):
    _go(app, "interview")
    assert not app.exception
    app.number_input[1].set_value(1)
    _button(app, "Start the interview").click().run()
    interview = app.session_state["interview"]
    card = interview.current.card
    assert "Hint" not in " ".join(b.label for b in app.button)
    app.text_area[0].input(". ".join(kp.keywords[0] for kp in card.key_points))
    _button(app, "Submit answer").click().run()
    assert "Score **10.0/10**" in _md(app)
    _button(app, "Next question").click().run()
    assert not app.exception
    assert app.session_state["scorecard"].overall == 10.0
    assert "Verdict" in _md(app)
    assert any("scorecard" in b.label.lower() for b in app.get("download_button"))


def test_progress_shows_due_mastery_and_weak_points_after_practice(app: AppTest):
    _go(app, "progress")
    assert not app.exception
    assert any("No answers graded yet" in i.value for i in app.info)
    _go(app, "practice")
    app.text_area[0].input("no idea")
    _button(app, "Submit").click().run()
    _go(app, "progress")
    assert not app.exception
    assert [m.value for m in app.metric][2] == "1"
    assert len(app.get("vega_lite_chart")) == 2  # mastery per topic, answers per day
    assert any(b.key and b.key.startswith("practise-") for b in app.button)


def test_weak_point_practise_link_opens_that_card(app: AppTest):
    _go(app, "practice")
    first = app.session_state["practice"].current.card.id
    app.text_area[0].input("no idea")
    _button(app, "Submit").click().run()
    _go(app, "progress")
    next(b for b in app.button if b.key == "practise-0").click().run()
    assert not app.exception
    assert app.session_state["practice"].current.card.id == first


def test_export_then_import_reports_nothing_new(app: AppTest, tmp_path):
    _go(app, "practice")
    app.text_area[0].input("no idea")
    _button(app, "Submit").click().run()
    from tutor.coach import store_for

    store = store_for(tmp_path / "home")
    data = store.export("tester")
    assert len(data["reviews"]) == 1
    assert store.import_data(json.loads(json.dumps(data))).added["reviews"] == 0


def test_a_grading_error_is_a_message_and_the_question_stays(app: AppTest, grader: FakeGrader, monkeypatch):
    from tutor.errors import UserError

    def too_long(answer, *, card):
        raise UserError("the answer is 9999 characters; the limit is 4000: shorten it")

    _go(app, "practice")
    monkeypatch.setattr(app.session_state["practice"], "grade_fn", too_long)
    app.text_area[0].input("x" * 50)
    _button(app, "Submit").click().run()
    assert not app.exception
    assert any("shorten it" in e.value for e in app.error)
    assert app.session_state["practice"].last is None and len(app.text_area) == 1
