"""Streamlit entry: page setup and navigation only; each page lives in app_pages/ and calls tutor.*."""

from __future__ import annotations

import streamlit as st

# A Material icon, not an emoji, as the favicon: an emoji page_icon made Streamlit load its emoji catalogue
# before the first element; measured with bench/app_speed.py on two quiet cores, first paint 2.28 / 2.35 s
# with the emoji and 2.00 / 2.05 / 1.88 s with the icon (a one-heading app: 1.7-2.05 s in the same runs).
st.set_page_config(page_title="tutor — deep-learning interview coach", page_icon=":material/school:", layout="wide")

PAGES = [
    st.Page("app_pages/ask.py", title="Ask", icon=":material/forum:", default=True),
    st.Page("app_pages/practice.py", title="Practice", icon=":material/fitness_center:"),
    st.Page("app_pages/interview.py", title="Mock interview", icon=":material/record_voice_over:"),
    st.Page("app_pages/progress.py", title="Progress", icon=":material/insights:"),
    st.Page("app_pages/library.py", title="Library & settings", icon=":material/tune:"),
]

st.navigation(PAGES).run()
