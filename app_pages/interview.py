"""Mock interview: timed, adaptive, no hints; ends with a scorecard you can download as Markdown."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from tutor import coach, ui
from tutor.interview import MockInterview

st.title("Mock interview")


@st.fragment(run_every=1.0)
def clock(ends_at: datetime) -> None:
    left = max((ends_at - datetime.now(ends_at.tzinfo)).total_seconds(), 0)
    st.metric("Time left", f"{int(left) // 60:02d}:{int(left) % 60:02d}")


with ui.guard("running the interview"):
    tutor = ui.ready_tutor()
    interview: MockInterview | None = st.session_state.get("interview")

    if interview is None:
        st.caption("Questions across topics; a strong answer makes the next one harder, a weak one easier. "
                   "No hints. Each answer may get one follow-up, as in a real loop.")
        with st.form("setup"):
            c1, c2 = st.columns(2)
            minutes = c1.number_input("Minutes", 1, 120, 20)
            questions = c2.number_input("Questions", 1, 20, 5)
            if st.form_submit_button("Start the interview", type="primary", icon=":material/play_arrow:"):
                interview = MockInterview(ui.get_store(), ui.get_grade_fn(), coach.cards_of(tutor), ui.profile(),
                                          minutes=minutes, questions=int(questions))
                interview.next_question()
                st.session_state.interview, st.session_state.interview_graded = interview, False
                st.rerun()
        st.stop()

    scorecard = st.session_state.get("scorecard")
    if scorecard is None and interview.current is None:
        scorecard = st.session_state.scorecard = interview.finish()
    if scorecard is not None:
        st.subheader("Scorecard")
        with st.container(border=True):
            st.markdown(coach.scorecard_body(scorecard))
        st.download_button("Download the scorecard (Markdown)", scorecard.to_markdown(),
                           file_name="mock-interview-scorecard.md", mime="text/markdown",
                           icon=":material/download:")
        if st.button("New interview", icon=":material/replay:"):
            st.session_state.interview = st.session_state.scorecard = None
            st.rerun()
        st.stop()

    top1, top2, top3 = st.columns([1, 1, 2])
    with top1:
        clock(interview.ends_at)
    top2.metric("Question", f"{len(interview.results) + (0 if interview.last else 1)}"
                            f" / {interview.max_questions or '∞'}")
    if top3.button("Finish now", icon=":material/stop:"):
        st.session_state.scorecard = interview.finish()
        st.rerun()

    q = interview.current
    with st.container(border=True):
        st.caption(coach.question_badges(q))
        st.subheader(q.card.question, anchor=False)
    if interview.last is None:
        answer = st.text_area("Your answer", height=180, key=f"iv-answer-{len(interview.asked)}")
        if st.button("Submit answer", type="primary", icon=":material/send:"):
            with ui.guard("grading your answer"), st.spinner("Grading…"):
                interview.submit(answer)
                st.rerun()
    else:
        g = interview.last.grade
        st.markdown(f"Score **{g.score:.1f}/10** ({g.label}). Details are in the scorecard at the end.")
        probe = interview.probe()
        if probe is not None:
            st.markdown(f"**Interviewer:** {probe.question}")
            reply = st.text_area("Your answer to the follow-up", key=f"iv-probe-{len(interview.asked)}")
            if st.button("Answer the follow-up", icon=":material/reply:"):
                with ui.guard("grading your answer"), st.spinner("Grading…"):
                    interview.answer_probe(reply)
                    st.rerun()
        if st.button("Next question", type="primary", icon=":material/arrow_forward:"):
            if interview.next_question() is None:
                st.session_state.scorecard = interview.finish()
            st.rerun()
