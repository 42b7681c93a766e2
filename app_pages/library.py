"""Library & settings: which backend answers, the index and its rebuild, the learner's own documents."""

from __future__ import annotations

import streamlit as st

from tutor import library, ui
from tutor.settings import BACKEND_LABELS, installed_models, llm_status

settings = ui.settings()
tutor = ui.get_tutor()

st.title("Library & settings")

st.subheader("Answering")
backends = list(BACKEND_LABELS)
settings.backend = st.radio("Backend", backends, index=backends.index(settings.backend),
                            format_func=BACKEND_LABELS.get, horizontal=True)
if settings.backend == "local":
    models = installed_models()
    if models:
        current = settings.model if settings.model in models else models[0]
        settings.model = st.selectbox("Local model", models, index=models.index(current))
    else:
        st.warning("No local model is installed. Run `tutor llm install --default` (or `make run`).")
    status = llm_status()
    (st.success if status.running else st.info)(f"Model server: {status.text}")
elif settings.backend == "openai":

    def save_endpoint() -> None:
        settings.base_url = st.session_state.openai_url.strip()
        settings.model = st.session_state.openai_model.strip()
        if st.session_state.openai_key.strip():
            settings.api_key = st.session_state.openai_key.strip()
        st.session_state.openai_key = ""  # the field renders empty again: a key is never sent back

    with st.form("openai"):
        st.text_input("Base URL", value=settings.base_url, key="openai_url",
                      placeholder="https://api.openai.com/v1")
        st.text_input("Model", value=settings.model, key="openai_model", placeholder="gpt-4o-mini")
        st.text_input("API key", type="password", key="openai_key",
                      placeholder="leave empty to keep the current key")
        st.form_submit_button("Save", on_click=save_endpoint)
    st.caption("API key: " + ("set for this session" if settings.api_key else "not set"))
settings.detail = st.toggle("Detailed answers (longer, more steps)", value=settings.detail)
st.caption(f"Now answering with: {settings.describe()}. A backend that is down or slow falls back to "
           "the curated answer, with a notice.")

st.subheader("Index")
status = library.index_status(tutor.config)
(st.warning if status.stale or not status.exists else st.success)(status.summary())


def run_refresh(paths=None, rebuild=False) -> None:
    bar = st.progress(0.0, text="starting")
    with ui.guard("building the index"):
        library.refresh(tutor, paths=paths, rebuild=rebuild, report=lambda f, m: bar.progress(f, text=m))
        st.success("The index is up to date.")


c1, c2 = st.columns(2)
if c1.button("Update index", icon=":material/sync:", help="Index new or changed sources only"):
    run_refresh()
if c2.button("Rebuild from scratch", icon=":material/construction:", help="Re-embed every source (about a minute)"):
    run_refresh(rebuild=True)

st.subheader("Your documents")
st.caption("Add your own notes (.md, .txt, .pdf): answers can then cite them too.")
with st.form("upload", clear_on_submit=True):
    files = st.file_uploader("Documents", type=["md", "txt", "pdf"], accept_multiple_files=True)
    if st.form_submit_button("Add to the index", icon=":material/upload_file:") and files:
        with ui.guard("adding your documents"):
            paths = [library.save_upload(f.name, f.getvalue()) for f in files]
            run_refresh(paths=paths)

docs = library.documents(tutor.config)
if not docs:
    st.caption("No documents of your own yet.")
for doc in docs:
    a, b = st.columns([5, 1])
    state = "indexed" if doc.indexed else "not indexed"
    a.markdown(f":material/description: **{doc.name}** · {doc.size / 1024:.1f} kB · {state}")
    if b.button("Remove", key=f"rm-{doc.name}"):
        with ui.guard("removing the document"):
            library.remove_document(doc.name)
            run_refresh()
            st.rerun()
