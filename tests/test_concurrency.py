"""One Tutor shared by threads, as the app shares it between its sessions (`st.cache_resource`): the
first questions arriving together must all be answered, whatever is still being loaded lazily.

Five learners at once in the browser (test_browser_load.py) found threads reading a half-built BM25
index ("'BM25' object has no attribute 'scores'"); the Retriever now publishes only finished objects.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from conftest import FakeEmbedder

from tutor.tutor import Tutor

QUESTIONS = ["what is dropout", "how does an LSTM work", "what is a GRU", "what does softmax do",
             "how do you choose the learning rate"]


def test_first_questions_arriving_together_are_all_answered(built_index):
    for _ in range(3):  # a fresh Tutor each round: nothing loaded before the threads start
        tutor = Tutor(built_index, embedder_factory=FakeEmbedder)
        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            answers = list(pool.map(lambda q, t=tutor: t.ask(q, backend="extractive"), QUESTIONS))
        assert all(a.citations and not a.refused for a in answers), [a.answer[:80] for a in answers]
