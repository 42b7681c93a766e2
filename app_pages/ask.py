"""Ask: chat with cited answers; the streamed text is replaced by the validated answer when it is done."""

from __future__ import annotations

import streamlit as st

# The heading first: on a fresh server this page's first run imports the tutor (numpy, FAISS, the
# retriever: ~1 s on two cores), and a learner should see the page while that happens, not a blank one.
# The sidebar below is its own container, so drawing it after the heading changes nothing on screen.
st.title("Ask the tutor")
st.caption("Answers come from the curated interview material, with numbered sources you can open. "
           "Follow-up questions keep the context.")

from tutor import coach, ui  # noqa: E402
from tutor.session import Conversation, Turn  # noqa: E402

settings = ui.settings()
chat = ui.conversation()

with st.sidebar:
    st.caption(f"Answering with: {settings.describe()}")
    if st.button("New conversation", icon=":material/add_comment:", use_container_width=True):
        st.session_state.conversation = chat = Conversation()
    with ui.guard("listing past conversations"):
        past = coach.past_conversations(ui.get_store(), ui.profile())
        if past:
            st.caption("Past conversations")
        for thread, first, n in past:
            label = (first if len(first) <= 48 else first[:47] + "…") + (f" ({n})" if n > 1 else "")
            if st.button(label, key=f"past-{thread}", icon=":material/history:", use_container_width=True,
                         disabled=thread == chat.id):
                st.session_state.conversation = chat = coach.reopen(ui.get_store(), ui.profile(), thread)

with ui.guard("loading the tutor"):
    ui.ready_tutor()

for i, turn in enumerate(chat.turns):
    with st.chat_message("user"):
        st.markdown(turn.question)
    with st.chat_message("assistant"):
        ui.show_turn(turn, i)

typed = st.chat_input("Ask a deep-learning interview question, e.g. what is BPTT?")
question = typed or st.session_state.pop("pending_question", None)
if question:
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"), ui.guard("answering"):
        tutor = ui.ready_tutor()
        live = st.empty()
        done: list[Turn] = []

        def pieces():
            for event in chat.ask(tutor, settings, question):
                if isinstance(event, Turn):
                    done.append(event)
                else:
                    yield event

        with live.container(), st.spinner("Looking through the material…"):
            st.write_stream(pieces())
        live.empty()
        if done:
            with live.container():
                ui.show_turn(done[0], len(chat.turns) - 1)
            with ui.guard("saving the conversation"):
                coach.save_turn(ui.get_store(), ui.profile(), chat, done[0])
