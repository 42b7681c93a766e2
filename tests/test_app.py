"""The Streamlit page driven by AppTest: it only lays out widgets and shows what the Tutor returns."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tutor.config import REPO_ROOT


@pytest.fixture
def app(built_index, fake_minilm, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(built_index.index_dir))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    import streamlit as st

    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30)
    return at.run()


def test_page_opens_with_a_chat_box_and_the_configured_backend(app: AppTest):
    assert not app.exception
    assert app.title[0].value.startswith("Deep-learning interview tutor")
    assert app.sidebar.selectbox[0].value == "extractive"
    assert len(app.chat_input) == 1


def test_question_gets_a_cited_answer_and_a_follow_up_keeps_context(app: AppTest):
    app.chat_input[0].set_value("what is dropout and why does it help").run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "[1]" in text
    assert any("training/dropout" in c.value for c in app.caption)
    app.chat_input[0].set_value("and what about at inference time?").run()
    turns = app.session_state["turns"]
    assert len(turns) == 2 and turns[1]["standalone"] != turns[1]["question"]


def test_off_topic_question_is_declined_on_the_page(app: AppTest):
    app.chat_input[0].set_value("what is the best pizza topping in Naples").run()
    assert any("outside the material" in m.value for m in app.markdown)


def test_empty_index_shows_the_fix_instead_of_a_traceback(fake_minilm, tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    import streamlit as st

    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()
    at.chat_input[0].set_value("what is dropout").run()
    assert not at.exception
    assert any("tutor ingest" in e.value for e in at.error)
