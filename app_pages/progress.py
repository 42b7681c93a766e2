"""Progress: mastery per topic, reviews over time, what is due, weakest key points; export and import."""

from __future__ import annotations

import json

import altair as alt
import pandas as pd
import streamlit as st

from tutor import coach, ui

st.title("Progress")

with ui.guard("reading your progress"):
    tutor = ui.ready_tutor()
    store = ui.get_store()
    ui.store_notice(store)
    profile = ui.profile()
    summary = coach.progress_summary(store, profile, coach.cards_of(tutor))

    m1, m2, m3 = st.columns(3)
    m1.metric("Due today", summary.due_today)
    m2.metric("Due this week", summary.due_week)
    m3.metric("Answers graded", summary.n_reviews)
    if not summary.n_reviews:
        st.info("No answers graded yet: start on the Practice page, and your mastery shows up here.",
                icon=":material/school:")

    st.subheader("Mastery per topic")
    mastery = pd.DataFrame(summary.mastery_chart())
    base = alt.Chart(mastery).encode(y=alt.Y("topic:N", sort=None, title=None))
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        x=alt.X("mastery %:Q", scale=alt.Scale(domain=[0, 100])), tooltip=["topic", "label"])
    labels = base.mark_text(align="left", dx=4, color="gray").encode(x="mastery %:Q", text="label:N")
    st.altair_chart((bars + labels).properties(height=280), use_container_width=True)
    st.caption("Recent answers count more: an answer's weight halves every two weeks.")

    st.subheader("Answers over the last 30 days")
    days = pd.DataFrame({"day": pd.to_datetime(list(summary.per_day)), "answers": list(summary.per_day.values())})
    st.altair_chart(alt.Chart(days).mark_bar(size=12).encode(
        x=alt.X("day:T", title=None, axis=alt.Axis(format="%b %d")), y=alt.Y("answers:Q", axis=alt.Axis(tickMinStep=1)),
        tooltip=["day:T", "answers"]).properties(height=200), use_container_width=True)

    st.subheader("Weakest key points")
    if not summary.weakest:
        st.caption("None yet — missed points show up here once you have practised.")
    for i, w in enumerate(summary.weakest):
        a, b = st.columns([5, 1])
        a.markdown(f"**{w.point}**  \n`{w.card_id}` · missed {w.missed} of {w.asked}")
        if b.button("Practise", key=f"practise-{i}", icon=":material/fitness_center:"):
            st.session_state.practise_card = w.card_id
            st.session_state.practice = None
            st.switch_page("app_pages/practice.py")

    st.subheader("Export / import")
    st.caption(f"Profile `{profile}` · stored in {store.describe()}")
    st.download_button("Export my progress (JSON)", json.dumps(store.export(profile), indent=1),
                       file_name=f"tutor-progress-{profile}.json", mime="application/json",
                       icon=":material/download:")
    upload = st.file_uploader("Import a progress export", type=["json"])
    if upload is not None and st.button("Import", icon=":material/upload:"):
        try:
            data = json.loads(upload.getvalue())
        except (json.JSONDecodeError, UnicodeDecodeError):
            st.error("That file is not JSON; export one with the button above or `tutor progress export`.")
        else:
            st.success(store.import_data(data).summary())
