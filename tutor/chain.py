"""The grounded answering chain: condense → retrieve → refuse or answer from numbered passages → validate.

The LLM writes; code decides. Citations are checked against the passages actually given, an answer
with no valid citation (or one that recites our instructions) is replaced by the curated extractive
answer with a notice, and any backend failure mid-answer falls back the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from tutor.answer import Answer, cite, extractive_answer, is_relevant, refusal_text
from tutor.guard import escape_passage, leaks_prompt
from tutor.prompts import load
from tutor.retrieve import Passage, retrieval_query, terms
from tutor.tokens import count_tokens

NOT_IN_MATERIAL = "NOT_IN_MATERIAL"
_CITE = re.compile(r"\[(\d+)\]")
_CITE_LIST = re.compile(r"\[(\d+(?:\s*,\s*\d+)+)\]")
# Sentence ends (kept with the sentence) and line breaks; code blocks are short enough to pass whole.
_SENTENCE = re.compile(r"(?<=[.!?])(?=\s)|(?<=\n)")
# Per-passage budget keeps a normal prompt under ~900 tokens: 3 x 200 + instructions + question.
PASSAGE_TOKENS = 200
PROMPT_PASSAGES = 3


def condense(llm, history: list[str], question: str) -> str:
    """A follow-up made standalone by the LLM; the heuristic rewrite when the model's is unusable."""
    fallback = retrieval_query(question, history)
    if not history or llm is None:
        return fallback
    from langchain_core.messages import HumanMessage

    prompt = load("condense").format(history="\n".join(f"- {h}" for h in history[-3:]), question=question)
    try:
        text = str(llm.invoke([HumanMessage(prompt)]).content).strip().strip('"').splitlines()
    except Exception:  # a condense failure must not cost the answer
        return fallback
    out = text[0].strip() if text else ""
    return out if 8 <= len(out) <= 300 else fallback


def _truncate(text: str, tokens: int) -> str:
    from tutor.tokens import get_encoding

    enc = get_encoding()
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= tokens else enc.decode(ids[:tokens]) + " …"


def build_messages(question: str, passages: list[Passage], detail: bool = False) -> list:
    from langchain_core.messages import HumanMessage, SystemMessage

    blocks = "\n\n".join(
        f'<passage n="{i + 1}" title="{escape_passage(p.title)}">\n'
        f"{escape_passage(_truncate(p.text, PASSAGE_TOKENS * (2 if detail else 1)))}\n</passage>"
        for i, p in enumerate(passages)
    )
    length = "a thorough answer of 200-350 words" if detail else "120-200 words"
    user = load("answer_user").format(passages=blocks, question=escape_passage(question), length=length)
    return [SystemMessage(load("answer_system")), HumanMessage(user)]


def support(sentence: str, passage_terms: set[str]) -> float:
    """Share of the sentence's content words found in the passage's words (0..1)."""
    words = terms(_CITE.sub("", sentence))
    return len(words & passage_terms) / len(words) if words else 0.0


def validate(text: str, passages: list[Passage], min_support: float = 0.5) -> tuple[str, list[int]]:
    """Drop citations of passages that were not given, and fix what small models get wrong.

    A sentence citing a passage that does not support it is re-pointed at the passage that does; an
    uncited sentence that a passage clearly supports (half its content words) gets that citation.
    Small models often write a grounded answer and forget the markers: this keeps such answers.
    """
    text = _CITE_LIST.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    valid = set(range(1, len(passages) + 1))
    text = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    # Each passage's words once, not once per sentence of the answer.
    passage_terms = {n: terms(passages[n - 1].title + " " + passages[n - 1].text) for n in valid}
    out = []
    for sentence in _SENTENCE.split(text):
        scores = {n: support(sentence, passage_terms[n]) for n in valid}
        best = max(scores, key=scores.get) if scores else None
        cited = [int(n) for n in _CITE.findall(sentence)]
        if best is not None and len(terms(sentence)) >= 4 and scores[best] >= min_support:
            if not cited:
                sentence = _end_cite(sentence, best)
            elif all(scores[n] < min_support / 2 for n in cited):
                sentence = _end_cite(_CITE.sub("", sentence), best)
        out.append(sentence)
    text = "".join(out)
    used = sorted({int(n) for n in _CITE.findall(text)})
    return re.sub(r"[ \t]+([.,;])", r"\1", text).strip(), used


def _end_cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    tail = sentence[len(body):]
    if body and body[-1] in ".!?:":
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}{tail}"
    return f"{body} [{n}]{tail}"


def answer_stream(
    llm, question: str, standalone: str, passages: list[Passage], min_relevance: float,
    backend: str, detail: bool = False,
) -> Iterator[str | Answer]:
    """Text pieces as the model writes them, then the validated `Answer`."""
    t0 = time.perf_counter()
    fallback = extractive_answer(question, standalone, passages, min_relevance)
    if not is_relevant(passages, min_relevance):
        fallback.backend = backend
        yield fallback.answer
        yield fallback
        return
    given = passages[:PROMPT_PASSAGES]
    messages = build_messages(standalone, given, detail)
    prompt_tokens = sum(count_tokens(str(m.content)) for m in messages)
    pieces: list[str] = []
    first = None
    try:
        for chunk in llm.stream(messages):
            piece = str(chunk.content)
            if piece:
                first = first if first is not None else time.perf_counter() - t0
                pieces.append(piece)
                yield piece
    except Exception as exc:  # server down, killed or too slow: the curated answer still serves
        yield from _fallback(fallback, backend, f"the {backend} model failed ({type(exc).__name__}); "
                             "showing the curated answer instead", t0, first, prompt_tokens)
        return
    text, used = validate("".join(pieces), given)
    if NOT_IN_MATERIAL in text:
        # The model read the passages and found no answer: grounded or silent, so decline.
        refusal = Answer(question, standalone, refusal_text(passages), [], True, passages, backend,
                         notice="the model found no answer to this in the passages")
        refusal.latency_s, refusal.first_token_s = time.perf_counter() - t0, first
        refusal.extra["prompt_tokens"] = prompt_tokens
        yield "\n\n" + refusal.answer
        yield refusal
        return
    problem = None
    if leaks_prompt(text, load("answer_system")):
        problem = "the model's answer repeated its instructions; showing the curated answer instead"
    elif not used:
        problem = "the model's answer cited no passage, so it is replaced by the curated answer"
    if problem:
        yield from _fallback(fallback, backend, problem, t0, first, prompt_tokens)
        return
    answer = Answer(question, standalone, text, [cite(n, given[n - 1]) for n in used], False, passages, backend)
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra["prompt_tokens"] = prompt_tokens
    yield answer


def _fallback(answer: Answer, backend: str, notice: str, t0: float, first: float | None, prompt_tokens: int):
    answer.backend = f"{backend}→extractive"
    answer.notice = notice
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra["prompt_tokens"] = prompt_tokens
    yield "\n\n[" + notice + "]\n" + answer.answer
    yield answer
