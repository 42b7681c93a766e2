"""HyDE: search with what an answer would say, not only with how the learner asked.

A learner's question often shares few words with the card that answers it ("how does a network figure
out the gradient for every single weight?" against the backpropagation card), and MiniLM then prefers a
card that shares the question's words. A short answer written by the local model, right or wrong in its
details, is in the material's vocabulary; the retriever adds its vector to the question's (Gao et al.,
2022, "Precise Zero-Shot Dense Retrieval without Relevance Labels"). It moves ranking only: relevance,
and so refusal, stays computed from the question as typed (tutor/retrieve.py), and the hypothetical text
is never shown or cited.

Off by default (Config.hyde_weight, TUTOR_HYDE): with the packaged Qwen2.5-0.5B the gain on the golden
questions moved with the prompt's wording between none and six of 230 dev questions, and the hint costs
~2 s before the learner's first text (bench/hyde.py has the figures). It is kept for stronger models.
"""

from __future__ import annotations

from tutor.prompts import load

MAX_TOKENS = 80  # two or three sentences: enough vocabulary, ~2 s from the 0.5B on 2 cores
_MIN_CHARS = 20  # shorter replies ("I don't know.") carry no vocabulary worth searching with


def hypothetical_answer(llm, question: str) -> str | None:
    """The model's short answer to search with, or None (no model, an error, an empty or tiny reply):
    retrieval then runs on the question alone, so a failing model costs nothing here."""
    if llm is None:
        return None
    from langchain_core.messages import HumanMessage

    try:  # the answer's own client, held to a short reply for this call only
        short = llm.bind(max_tokens=MAX_TOKENS)
        text = str(short.invoke([HumanMessage(load("hyde").format(question=question))]).content).strip()
    except Exception:  # the answer's own call reports a dead server; retrieval must not fail on this one
        return None
    return text if len(text) >= _MIN_CHARS else None
