"""Practice: one question at a time, hints on request, a per-key-point grade, the probing follow-up."""

from __future__ import annotations

import streamlit as st

from tutor import coach, ui
from tutor.cards import TOPICS
from tutor.practice import PracticeSession

st.title("Practice")
st.caption("Answer as you would in an interview. The grade shows which key points you made, in your own "
           "words; the card comes back when it is due.")

with ui.guard("starting practice"):
    tutor = ui.ready_tutor()
    store = ui.get_store()
    ui.store_notice(store)
    cards = coach.cards_of(tutor)

    c1, c2, c3 = st.columns([2, 2, 1])
    topic = c1.selectbox("Topic", ["any", *[t for t in TOPICS if any(c.topic == t for c in cards)]])
    level = c2.selectbox("Difficulty", ["any", 1, 2, 3],
                         format_func=lambda d: d if d == "any" else f"{d} · {coach.DIFFICULTY[d]}")
    due_only = c3.toggle("Due only", help="Only cards whose review is due now")
    filters = (topic, level, due_only)

    session: PracticeSession | None = st.session_state.get("practice")
    if session is None or st.session_state.get("practice_filters") != filters:
        session = PracticeSession(store, ui.get_grade_fn(), cards, ui.profile(),
                                  topic=None if topic == "any" else topic,
                                  difficulty=None if level == "any" else level, due_only=due_only)
        st.session_state.practice, st.session_state.practice_filters = session, filters
        st.session_state.practice_hints = []
        chosen = st.session_state.pop("practise_card", None)
        if chosen and chosen in session.cards:
            coach.practise_card(session, session.cards[chosen])
        else:
            session.next_question()

    q = session.current
    if q is None:
        st.success("Nothing left to practise with these filters — everything due is done.", icon=":material/done_all:")
        if st.button("Start over", icon=":material/replay:"):
            st.session_state.practice = None
            st.rerun()
        st.stop()

    with st.container(border=True):
        st.caption(coach.question_badges(q))
        st.subheader(q.card.question, anchor=False)
        for i, h in enumerate(st.session_state.practice_hints, 1):
            st.info(f"Hint {i}: {h}", icon=":material/lightbulb:")

    if session.last is None:
        answer = st.text_area("Your answer", height=180, key=f"answer-{len(session.asked)}",
                              placeholder="Explain it in your own words, as in an interview…")
        b1, b2, b3 = st.columns([1, 1, 3])
        if b1.button("Submit", type="primary", icon=":material/send:"):
            with ui.guard("grading your answer"), st.spinner("Grading…"):
                session.submit(answer)
                st.rerun()
        if b2.button(f"Hint ({session.hints_left} left)", disabled=session.hints_left <= 0,
                     icon=":material/lightbulb:"):
            hint = session.hint()
            if hint:
                st.session_state.practice_hints.append(hint)
            st.rerun()
        if b3.button("Skip", icon=":material/skip_next:"):
            session.skip()
            session.next_question()
            st.session_state.practice_hints = []
            st.rerun()
    else:
        st.subheader("Your grade")
        ui.show_grade(session.last.grade, coach.due_text(session.last.due))
        probe = session.probe()
        if probe is not None:
            with st.container(border=True):
                st.markdown(f"**Follow-up:** {probe.question}")
                reply = st.text_area("Your answer to the follow-up", key=f"probe-{len(session.asked)}")
                if st.button("Answer the follow-up", icon=":material/reply:"):
                    with ui.guard("grading your answer"), st.spinner("Grading…"):
                        st.session_state.probe_outcome = session.answer_probe(reply)
                        st.rerun()
        if (out := st.session_state.get("probe_outcome")) is not None:
            st.markdown("**Follow-up grade**")
            ui.show_grade(out.grade)
        if st.button("Next question", type="primary", icon=":material/arrow_forward:"):
            session.next_question()
            st.session_state.practice_hints = []
            st.session_state.probe_outcome = None
            st.rerun()
