"""Every page of the Streamlit app driven by AppTest over the fixture index (FakeEmbedder, no model)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tutor.config import REPO_ROOT


def _page(name: str) -> str:
    return str(REPO_ROOT / "app_pages" / name)


@pytest.fixture
def env(built_index, fake_minilm, tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(built_index.index_dir))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    monkeypatch.setenv("TUTOR_HOME", str(tmp_path / "home"))
    # The fixture sources, not the real corpus, are what this app's Config should index.
    monkeypatch.setattr("tutor.config.default_sources", lambda: list(built_index.sources))
    import streamlit as st

    st.cache_resource.clear()
    return built_index


@pytest.fixture
def app(env) -> AppTest:
    return AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_ask_page_opens_first_with_a_chat_box(app: AppTest):
    assert not app.exception
    assert app.title[0].value == "Ask the tutor"
    assert len(app.chat_input) == 1


def test_question_gets_the_validated_answer_with_markers_and_openable_sources(app: AppTest):
    app.chat_input[0].set_value("what is dropout and why does it help").run()
    assert not app.exception
    assert "[1]" in _text(app)
    labels = [e.label for e in app.expander]
    assert any(lb.startswith("[1] ") and "training/dropout" in lb for lb in labels)
    opened = next(e for e in app.expander if e.label.startswith("[1] "))
    assert any("randomly" in m.value for m in opened.markdown)


def test_follow_up_is_read_in_context_and_new_conversation_clears(app: AppTest):
    app.chat_input[0].set_value("what is dropout and why does it help").run()
    app.chat_input[0].set_value("and what about at inference time?").run()
    turns = app.session_state["conversation"].turns
    assert len(turns) == 2 and turns[1].standalone != turns[1].question
    next(b for b in app.sidebar.button if b.label == "New conversation").click().run()
    assert app.session_state["conversation"].turns == []


def test_refusal_offers_covered_questions_that_ask_themselves(app: AppTest):
    app.chat_input[0].set_value("what is the best pizza topping in Naples").run()
    assert "outside the material" in _text(app)
    suggestions = [b for b in app.button if b.key and b.key.startswith("suggest-")]
    assert suggestions
    asked = suggestions[0].label
    suggestions[0].click().run()
    turns = app.session_state["conversation"].turns
    assert turns[-1].question == asked and not turns[-1].refused


def test_missing_index_shows_the_fix_not_a_traceback(fake_minilm, tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_INDEX_DIR", str(tmp_path / "nothing"))
    monkeypatch.setenv("TUTOR_BACKEND", "extractive")
    import streamlit as st

    st.cache_resource.clear()
    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=30).run()
    at.chat_input[0].set_value("what is dropout").run()
    assert not at.exception
    assert any("tutor ingest" in e.value for e in at.error)


def test_openai_without_a_key_is_a_message_not_a_crash(app: AppTest):
    app.session_state["settings"].backend = "openai"
    app.chat_input[0].set_value("what is dropout").run()
    assert not app.exception
    assert any("API key" in e.value for e in app.error)


def test_library_page_shows_index_status_and_backend_choice(env):
    at = AppTest.from_file(_page("library.py"), default_timeout=30).run()
    assert not at.exception
    assert any("passages" in s.value and "up to date" in s.value for s in at.success)
    assert at.radio[0].value == "extractive"


def test_api_key_is_stored_but_never_rendered_back(env):
    at = AppTest.from_file(_page("library.py"), default_timeout=30).run()
    at.radio[0].set_value("openai").run()
    key_box = next(t for t in at.text_input if t.label == "API key")
    key_box.input("sk-secret-123")
    next(t for t in at.text_input if t.label == "Base URL").input("http://127.0.0.1:9/v1")
    at.button[0].click().run()
    assert at.session_state["settings"].api_key == "sk-secret-123"
    rendered = [t.value for t in at.text_input] + [c.value for c in at.caption]
    assert all("sk-secret" not in (v or "") for v in rendered)


def test_upload_adds_a_document_to_the_index_and_remove_takes_it_out(env, tmp_path):
    from tutor import library

    at = AppTest.from_file(_page("library.py"), default_timeout=60).run()
    home = tmp_path / "home"
    library.save_upload("notes.md", b"# Gradient clipping\n\nClipping caps the gradient norm so that "
                        b"exploding updates in recurrent nets stay bounded during training.\n", home)
    next(b for b in at.button if b.label == "Update index").click().run()
    assert not at.exception
    docs = library.documents(env, home)
    assert [d.name for d in docs] == ["notes.md"] and docs[0].indexed
    at.run()
    next(b for b in at.button if b.key == "rm-notes.md").click().run()
    assert not at.exception
    assert library.documents(env, home) == []


def test_past_conversation_is_listed_and_reopens_with_its_context(app: AppTest):
    app.chat_input[0].set_value("what is dropout and why does it help").run()
    first_id = app.session_state["conversation"].id
    next(b for b in app.sidebar.button if b.label == "New conversation").click().run()
    past = [b for b in app.sidebar.button if b.key == f"past-{first_id}"]
    assert past and "dropout" in past[0].label
    past[0].click().run()
    chat = app.session_state["conversation"]
    assert chat.id == first_id and len(chat.turns) == 1
    assert chat.turns[0].sources and chat.turns[0].standalone
    app.chat_input[0].set_value("and what about at inference time?").run()
    assert len(app.session_state["conversation"].turns) == 2


def test_a_local_model_that_is_down_falls_back_with_the_notice(app: AppTest):
    from tutor import ui
    from tutor.errors import BackendUnavailable

    def down(*args, **kwargs):
        raise BackendUnavailable("the local model server did not start", fix="tutor llm start")

    ui.get_tutor().chat_model_factory = down
    app.session_state["settings"].backend = "local"
    app.chat_input[0].set_value("what is dropout and why does it help").run()
    assert not app.exception
    assert any("did not start" in i.value and "curated answer" in i.value for i in app.info)
    assert "[1]" in _text(app)


def test_the_server_walks_no_source_tree_before_first_paint():
    """Streamlit's file watcher walks the app folder recursively as a session opens; with a real .venv
    beside app.py that delayed the first element by seconds (bench/app_speed.py)."""
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["fileWatcherType"] == "none"
    assert config["server"]["runOnSave"] is False
