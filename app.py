"""Streamlit chat: lays out widgets and calls the same `Tutor` as the CLI; no decisions here."""

from __future__ import annotations

import streamlit as st

from tutor.answer import Answer
from tutor.config import Config
from tutor.errors import TutorError
from tutor.llms import BACKENDS, default_backend
from tutor.render import sources_text
from tutor.tutor import Tutor

st.set_page_config(page_title="tutor — deep-learning interview coach", page_icon="🎓")


@st.cache_resource
def get_tutor() -> Tutor:
    return Tutor(Config())


tutor = get_tutor()
st.title("Deep-learning interview tutor")
st.caption("Answers come from the tutor's curated material, with numbered sources. Ask follow-ups in context.")

with st.sidebar:
    backends = list(BACKENDS)
    backend = st.selectbox("Backend", backends, index=backends.index(default_backend(tutor.config)))
    detail = st.toggle("Detailed answers", value=False)
    if st.button("New conversation"):
        st.session_state.turns = []

turns: list[dict] = st.session_state.setdefault("turns", [])
for turn in turns:
    with st.chat_message("user"):
        st.markdown(turn["question"])
    with st.chat_message("assistant"):
        if turn.get("notice"):
            st.info(turn["notice"])
        st.markdown(turn["answer"])
        if turn.get("sources"):
            st.caption(turn["sources"])

question = st.chat_input("Ask about a deep-learning interview topic, e.g. what is BPTT?")
if question:
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        history = [t["standalone"] for t in turns]
        final: list[Answer] = []

        def pieces():
            for event in tutor.stream(question, history, backend=backend, detail=detail):
                if isinstance(event, Answer):
                    final.append(event)
                else:
                    yield event

        try:
            with st.spinner("Looking through the material…"):
                st.write_stream(pieces())
        except TutorError as exc:
            st.error(str(exc))
        if final:
            answer = final[0]
            if answer.notice:
                st.info(answer.notice)
            sources = sources_text(answer).strip()
            if sources:
                st.caption(sources)
            turns.append({"question": question, "standalone": answer.standalone, "answer": answer.answer,
                          "notice": answer.notice, "sources": sources})
