"""One Tutor shared by threads, as the app shares it between its sessions (`st.cache_resource`): the
first questions arriving together must all be answered, whatever is still being built lazily."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import bm25s

QUESTIONS = ["what is dropout", "how does an LSTM work", "what is a GRU", "what does softmax do",
             "how do you choose the learning rate"]


def test_first_questions_arriving_together_are_all_answered(tutor_fake, monkeypatch):
    # Building BM25 takes a while on the real corpus; a slow build makes the race certain here. Five
    # learners at once in the browser found a half-built index ("'BM25' object has no attribute 'scores'").
    built = []
    real_index = bm25s.BM25.index

    def slow_index(self, *args, **kwargs):
        built.append(threading.get_ident())
        time.sleep(0.3)
        return real_index(self, *args, **kwargs)

    monkeypatch.setattr(bm25s.BM25, "index", slow_index)
    tutor_fake.retriever  # noqa: B018  (built before the threads: the race under test is BM25's)
    with ThreadPoolExecutor(len(QUESTIONS)) as pool:
        answers = list(pool.map(lambda q: tutor_fake.ask(q, backend="extractive"), QUESTIONS))
    assert all(a.citations and not a.refused for a in answers), [a.answer[:80] for a in answers]
    assert len(built) == 1  # built once, not once per thread
