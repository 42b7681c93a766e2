"""The app's decisions outside Streamlit: what a turn shows, what an upload may be, how a key is held."""

from __future__ import annotations

import pytest

from tutor import library
from tutor.errors import UserError
from tutor.session import Conversation, Source, Turn
from tutor.settings import Settings, backend_args, key_fingerprint


def test_refused_turn_does_not_list_its_suggestions_twice():
    turn = Turn("pizza?", "pizza?", "That is outside the material I cover, so I won't guess at it. The nearest "
                "questions I can help with:\n- What is dropout?\n- How does an LSTM work?", refused=True,
                suggestions=["What is dropout?", "How does an LSTM work?"])
    assert turn.shown_text == "That is outside the material I cover, so I won't guess at it."


def test_answered_turn_is_shown_as_validated():
    turn = Turn("q", "q", "Dropout zeroes units [1].", [Source(1, "What is dropout?", "training/dropout", "…")])
    assert turn.shown_text == turn.answer


def test_conversation_round_trips_through_its_dict():
    chat = Conversation(turns=[Turn("q", "sq", "a [1]", [Source(1, "t", "w", "x", "c/d")])])
    again = Conversation.from_dict(chat.to_dict())
    assert again == chat and again.history == ["sq"]


def test_a_refused_turn_gives_later_follow_ups_no_context():
    chat = Conversation(turns=[Turn("q", "sq", "a [1]"), Turn("pizza?", "pizza?", "outside", refused=True),
                               Turn("and why?", "sq2", "b [1]")])
    assert chat.history == ["sq", "sq2"]


@pytest.mark.parametrize("name, expected", [("../../etc/passwd.md", "passwd.md"), ("my notes (v2).txt", "my-notes-v2-.txt"),
                                            ("...", "document")])
def test_upload_names_cannot_leave_the_library_folder(name, expected):
    assert library.safe_name(name) == expected


def test_uploads_of_other_types_or_empty_files_are_refused(tmp_path):
    with pytest.raises(UserError, match="unsupported"):
        library.save_upload("model.pkl", b"x", tmp_path)
    with pytest.raises(UserError, match="empty"):
        library.save_upload("notes.md", b"", tmp_path)
    assert not (tmp_path / "library").exists()  # nothing was written


def test_missing_index_status_says_how_to_build_it(config):
    status = library.index_status(config)
    assert not status.exists and "tutor ingest" in status.summary()


def test_openai_client_is_registered_under_a_handle_without_the_key(tutor_fake):
    settings = Settings(backend="openai", model="m", base_url="http://127.0.0.1:9/v1", api_key="sk-very-secret")
    backend, handle = backend_args(tutor_fake, settings)
    assert backend == "openai" and "sk-very-secret" not in handle and key_fingerprint("sk-very-secret") in handle
    assert ("openai", handle, False) in tutor_fake._llms
    assert "sk-very-secret" not in settings.describe()


def test_openai_without_a_key_asks_for_one(tutor_fake):
    with pytest.raises(UserError, match="API key"):
        backend_args(tutor_fake, Settings(backend="openai"))
