"""Streamlit glue shared by every page: the one cached Tutor, the session's settings, and error display.

Pages import these so that each stays a short layout of widgets. Nothing here decides what the tutor
says; it only decides how a result or a problem is shown.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import streamlit as st

from tutor.config import Config
from tutor.errors import TutorError
from tutor.session import Conversation, Source, Turn
from tutor.settings import Settings
from tutor.tutor import Tutor

log = logging.getLogger("tutor.app")
LABEL_COLOURS = {"correct": "green", "partial": "orange", "incorrect": "red"}
SYMBOL_COLOURS = {"✓": "green", "~": "orange", "✗": "red"}


@st.cache_resource(show_spinner=False)
def get_tutor() -> Tutor:
    """One Tutor per process (the embedder and index are shared by every browser session).

    With the local backend the llama.cpp server starts in the background now, so its cold start
    overlaps the learner reading the page instead of delaying the first answer.
    """
    tutor = Tutor(Config())
    tutor.warm_up()
    return tutor


def ready_tutor() -> Tutor:
    """The Tutor with its embedder and index loaded; the first call in a process shows what it loads."""
    tutor = get_tutor()
    if tutor._retriever is None:
        with st.spinner("Loading the embedder (MiniLM) and the index — once per start…"):
            tutor.retriever  # noqa: B018 — loading is the point
    return tutor


def settings() -> Settings:
    if "settings" not in st.session_state:
        st.session_state.settings = Settings.default(get_tutor().config)
    return st.session_state.settings


def conversation() -> Conversation:
    if "conversation" not in st.session_state:
        st.session_state.conversation = Conversation()
    return st.session_state.conversation


@contextlib.contextmanager
def guard(what: str = "that") -> Iterator[None]:
    """Show a problem as a message with its fix; a bug is logged, and the page says so in one line."""
    try:
        yield
    except TutorError as exc:
        st.error(exc.message + (f"  \nFix: `{exc.fix}`" if exc.fix else ""), icon=":material/warning:")
    except Exception as exc:  # no traceback reaches the page; the server log keeps it
        log.exception("unexpected error while %s", what)
        st.error(f"Something went wrong while {what} ({type(exc).__name__}: {exc}). "
                 "The details are in the terminal running the app.", icon=":material/error:")


def show_sources(sources: list[Source], key: str) -> None:
    """Each citation as an expander: opening it shows the card title, where it comes from, and the text."""
    if not sources:
        return
    st.caption("Sources — open one to read the passage")
    for s in sources:
        with st.expander(s.label, icon=":material/description:"):
            st.markdown(f"**{s.title}**  \n`{s.where}`")
            st.markdown(s.text)


def show_turn(turn: Turn, index: int) -> None:
    """One answered turn: notice, validated answer with [n] markers, sources, refusal suggestions."""
    if turn.notice:
        st.info(turn.notice, icon=":material/info:")
    st.markdown(turn.shown_text)
    show_sources(turn.sources, key=f"t{index}")
    if turn.suggestions:
        st.caption("Questions I can answer — click one to ask it:")
        for j, q in enumerate(turn.suggestions):
            st.button(q, key=f"suggest-{index}-{j}", icon=":material/arrow_forward:",
                      on_click=queue_question, args=(q,))


def queue_question(question: str) -> None:
    """Ask `question` on the next run, as if typed (used by suggestion buttons)."""
    st.session_state.pending_question = question


@st.cache_resource(show_spinner=False)
def get_store():
    """The progress store, opened once per process (SQLite allows the app's threads to share it)."""
    from tutor.coach import store_for

    return store_for()


@st.cache_resource(show_spinner=False)
def get_grade_fn():
    """The grader over the indexed cards, built once; each question shown prepares its card's grading while
    the learner answers (tutor.practice.PracticeGrader.prepare)."""
    from tutor.coach import grade_fn_for

    with st.spinner("Loading the grader's models — once per start…"):
        return grade_fn_for(ready_tutor())


def profile() -> str:
    from tutor.progress import default_profile

    if "profile" not in st.session_state:
        st.session_state.profile = default_profile()
    return st.session_state.profile


def store_notice(store) -> None:
    """A message the store leaves once (e.g. a damaged file moved aside)."""
    if getattr(store, "notice", None) and not st.session_state.get("store_notice_shown"):
        st.warning(store.notice, icon=":material/warning:")
        st.session_state.store_notice_shown = True


def show_grade(grade, due_text: str = "") -> None:
    """Score, the per-key-point ✓/~/✗ breakdown in the learner's own words, misconceptions, feedback."""
    from tutor.coach import point_rows

    c1, c2 = st.columns([1, 3])
    c1.metric("Score", f"{grade.score:.1f} / 10")
    c1.markdown(f":{LABEL_COLOURS.get(grade.label, 'gray')}-badge[{grade.label}]")
    with c2:
        for row in point_rows(grade):
            colour = SYMBOL_COLOURS.get(row.symbol, "gray")
            quote = f" — you wrote “{row.evidence}”" if row.evidence and row.evidence != "not mentioned" \
                else (" — not mentioned" if row.evidence else "")
            st.markdown(f":{colour}[**{row.symbol}**] {row.point} *({row.status})*{quote}")
    for m in getattr(grade, "misconceptions", []):
        st.warning(f"Misconception: {m.misconception}" + (f" — you wrote “{m.evidence}”" if m.evidence else ""),
                   icon=":material/report:")
    if getattr(grade, "flags", None):
        st.caption("Flags: " + ", ".join(grade.flags))
    if grade.feedback:
        with st.container(border=True):
            st.markdown(grade.feedback)
    if due_text:
        st.caption(f"This card {due_text}.")
