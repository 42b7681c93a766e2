"""The grounded answering chain: condense → retrieve → refuse or answer from numbered passages → validate.

The LLM writes; code decides. Citations are checked against the passages actually given, an answer
with no valid citation (or one that recites our instructions) is replaced by the curated extractive
answer with a notice, and any backend failure mid-answer falls back the same way.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import replace

from tutor.answer import Answer, cite, extractive_answer, is_relevant
from tutor.cards import Card
from tutor.grounding import claim, grounded_passages, passage_blocks, premise, restates_claim, truncate
from tutor.guard import NOT_IN_MATERIAL, StreamGuard, escape_passage, leaks_prompt, strip_untrusted_markup
from tutor.lead import key_points_lead
from tutor.prompts import load
from tutor.retrieve import Passage, retrieval_query, terms
from tutor.tokens import count_tokens

_CITE = re.compile(r"\[(\d+)\]")
_CITE_LIST = re.compile(r"\[(\d+(?:\s*,\s*\d+)+)\]")
# Sentence ends (kept with the sentence) and line breaks; code blocks are short enough to pass whole.
_FOLLOW_UP_LINE = re.compile(r"^\W*follow[- ]?up( question)?\W*:\s*(.+)$", re.I | re.M)
_SENTENCE = re.compile(r"(?<=[.!?])(?=\s)|(?<=\n)")
# Per-passage budget keeps a normal prompt under ~900 tokens: 3 x 200 + instructions + question.
PASSAGE_TOKENS = 200
PROMPT_PASSAGES = 3
# How much of the raw reply `tutor eval` rows keep (never `--json`): a whole answer, to see why it fell back.
MODEL_TEXT_CHARS = 2000
# The decline rule is told only when retrieval is unsure. In the system prompt, told for every question,
# qwen2.5-0.5b replied NOT_IN_MATERIAL to 6 of 14 golden questions whose own card it had been given.
DECLINE_RULE = "If the passages do not answer the question, reply exactly: NOT_IN_MATERIAL"
# More than this share of unsupported sentences and the curated answer is shown instead (issue 12).
UNSUPPORTED_MAX = 0.5
EXACT_NOTE = "Passage [1] is a curated answer to this question: explain it to the learner."


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
    return truncate(text, tokens)


def prepare(
    question: str, passages: list[Passage], detail: bool = False, *, cards: dict[str, Card] | None = None,
    min_relevance: float = 0.0, earlier: str | None = None, exact: bool = False,
) -> tuple[list[Passage], list]:
    """The passages as the model will read them, and the messages that carry them.

    With `cards` the grounding is compact (tutor/grounding.py); without, each passage is cut to
    PASSAGE_TOKENS, which is how document-only indexes and older callers are served.
    `exact`: retrieval matched passage [1]'s card to the question, so the model is not offered the
    NOT_IN_MATERIAL reply (see EXACT_NOTE); otherwise it is told when to decline (DECLINE_RULE).
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    if cards is not None:
        given = grounded_passages(passages, cards, min_relevance, detail)
    else:
        budget = PASSAGE_TOKENS * (2 if detail else 1)
        given = [replace(p, text=_truncate(p.text, budget)) for p in passages[:PROMPT_PASSAGES]]
    context = ""
    if earlier:
        context += f"\nEarlier question in this conversation: {escape_passage(earlier)}"
    if premise(question):
        # Only here, not in the system prompt: told to every question, the 0.5B model opened ordinary
        # answers with "No: the passage does not answer" (6 of 14 golden answers replaced).
        context += ("\nThe learner's message makes a claim. If the passages contradict it, start with \"No:\" "
                    "and give the correct fact with its citation; never repeat a false claim as true.")
    if not exact:
        context += "\n" + DECLINE_RULE
    elif not premise(question):  # a false claim is answered "No: …" (above), not explained
        context += "\n" + EXACT_NOTE
    length = "a thorough answer of 200-350 words" if detail else "90-160 words"
    user = load("answer_user").format(passages=passage_blocks(given), context=context,
                                      question=escape_passage(question), length=length)
    return given, [SystemMessage(load("answer_system")), HumanMessage(user)]


def build_messages(question: str, passages: list[Passage], detail: bool = False, **kwargs) -> list:
    return prepare(question, passages, detail, **kwargs)[1]


def split_follow_up(text: str) -> tuple[str, str | None]:
    """The answer body, and the model's suggested next question (not a factual claim: never validated)."""
    m = _FOLLOW_UP_LINE.search(text)
    if not m:
        return text, None
    question = _CITE.sub("", m.group(2)).strip().strip("*").strip()
    return text[: m.start()].rstrip(), (question if 8 <= len(question) <= 200 else None)


def support(sentence: str, passage_terms: set[str]) -> float:
    """Share of the sentence's content words found in the passage's words (0..1)."""
    words = terms(_CITE.sub("", sentence))
    return len(words & passage_terms) / len(words) if words else 0.0


def validate(text: str, passages: list[Passage], min_support: float = 0.5) -> tuple[str, list[int]]:
    """Drop citations of passages that were not given, and fix what small models get wrong.

    A sentence citing a passage that does not support it is re-pointed at the passage that does; an
    uncited sentence that a passage clearly supports (half its content words) gets that citation.
    Small models often write a grounded answer and forget the markers: this keeps such answers.
    A sentence repeated word for word (a looping model) is kept once.
    """
    text = _CITE_LIST.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    valid = set(range(1, len(passages) + 1))
    text = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
    # Each passage's words once, not once per sentence of the answer.
    passage_terms = {n: terms(passages[n - 1].title + " " + passages[n - 1].text) for n in valid}
    out = []
    seen: set[str] = set()
    for sentence in _SENTENCE.split(text):
        # A small model caught in a loop writes the same sentence again and again: say it once.
        key = " ".join(_CITE.sub("", sentence).lower().split())
        if len(key.split()) >= 4 and key in seen:
            continue
        seen.add(key)
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


def unsupported_share(text: str, passages: list[Passage]) -> float | None:
    """Share of the answer's checkable sentences that no passage supports (None: nothing to check).

    The eval's first, lexical test (metrics.lexical_support): under half of a sentence's content words
    in every passage. The follow-up line is split off before this, so a question never counts.
    """
    from tutor import metrics

    sources = [f"{p.title}\n{p.text}" for p in passages]
    verdicts = []
    for sentence in metrics.split_sentences(text):
        scores = [v for v in (metrics.lexical_support(metrics.strip_markers(sentence), s) for s in sources)
                  if v is not None]
        if scores:
            verdicts.append(max(scores) < metrics.LEXICAL_SUPPORT)
    return sum(verdicts) / len(verdicts) if verdicts else None


def _end_cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    tail = sentence[len(body):]
    if body and body[-1] in ".!?:":
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}{tail}"
    return f"{body} [{n}]{tail}"


def answer_stream(
    llm, question: str, standalone: str, passages: list[Passage], min_relevance: float,
    backend: str, detail: bool = False, *, cards: dict[str, Card] | None = None, earlier: str | None = None,
    model: str | None = None, exact: bool = False,
) -> Iterator[str | Answer]:
    """Text pieces as they become safe to show (`StreamGuard`), then the validated `Answer`.

    `exact`: retrieval found a card clearly about the question (answerability.match_of). Its key points
    are streamed first (tutor/lead.py), the model is not offered the decline, and a model that declines
    anyway is overruled by the curated answer. An answer mostly outside the passages (more than
    UNSUPPORTED_MAX of its checkable sentences) is replaced the same way.
    """
    t0 = time.perf_counter()
    fallback = extractive_answer(question, standalone, passages, min_relevance)
    if not is_relevant(passages, min_relevance):
        fallback.backend = backend
        yield fallback.answer
        yield fallback
        return
    # The model reads the learner's own words unless a rewrite made them standalone; retrieval may have
    # searched only the claim inside "from now on teach that …".
    asked = question if earlier is not None or standalone == claim(question) else standalone
    given, messages = prepare(asked, passages, detail, cards=cards, min_relevance=min_relevance, earlier=earlier,
                              exact=exact)
    stats = {"prompt_tokens": sum(count_tokens(str(m.content)) for m in messages), "model": model}
    lead = _lead(question, passages, cards) if exact else ""
    if lead:  # the card's key points at once; the model's explanation follows (tutor/lead.py)
        stats["first_shown_s"] = round(time.perf_counter() - t0, 4)
        yield lead + "\n\n"
    pieces: list[str] = []
    first = None
    sources = " ".join(p.text for p in passages)
    shield = StreamGuard(load("answer_system"), sources)
    try:
        for chunk in llm.stream(messages):
            piece = str(chunk.content)
            usage = getattr(chunk, "usage_metadata", None)
            if usage:  # llama.cpp (and OpenAI) report the server-side counts on the last chunk
                stats.update(prompt_tokens=usage.get("input_tokens"), generated_tokens=usage.get("output_tokens"),
                             cached_tokens=(usage.get("input_token_details") or {}).get("cache_read"))
            if piece:
                first = first if first is not None else time.perf_counter() - t0
                pieces.append(piece)
                shown = shield.feed(piece)
                if shown:
                    stats.setdefault("first_shown_s", round(time.perf_counter() - t0, 4))
                    yield shown
    except Exception as exc:  # server down, killed or too slow: the curated answer still serves
        yield from _fallback(fallback, backend, f"the {backend} model failed ({type(exc).__name__}); "
                             "showing the curated answer instead", t0, first, stats, "".join(pieces))
        return
    raw = "".join(pieces)
    body, follow_up = split_follow_up("".join(pieces))
    # Validate against the whole passage (the card's full answer), not only the excerpt the model read:
    # a true sentence from the card is supported whether or not it fit in the prompt.
    full = {p.chunk_id: p for p in passages}
    checked = [replace(g, text=g.text + "\n" + full[g.chunk_id].text) for g in given]
    text, used = validate(strip_untrusted_markup(body, sources), checked)
    if NOT_IN_MATERIAL in text:
        # Retrieval already judged these passages relevant (weak retrieval is refused before any model
        # runs), and a small model's decline is the weaker signal: qwen2.5-0.5b declined 6 of 28 golden
        # questions whose card was first but not an exact match. The curated answer serves, with its
        # "closest material" notice where retrieval gave one; a refusal would leave covered questions
        # unanswered, which the extractive backend answers.
        why = ("the model did not use the passages, although they match the question closely" if exact
               else "the model found no direct answer in the passages")
        yield from _fallback(fallback, backend, why + "; showing the curated answer instead", t0, first, stats, raw)
        return
    share = unsupported_share(text, checked)
    stats["unsupported_share"] = None if share is None else round(share, 3)
    problem = None
    if shield.leaked or leaks_prompt(text, load("answer_system")):
        problem = "the model's answer repeated its instructions; showing the curated answer instead"
    elif not used:
        problem = "the model's answer cited no passage, so it is replaced by the curated answer"
    elif restates_claim(text, question):
        problem = "the model repeated the claim instead of checking it; showing the curated answer instead"
    elif share is not None and share > UNSUPPORTED_MAX:
        problem = "most of the model's sentences are not in the passages; showing the curated answer instead"
    if problem:
        yield from _fallback(fallback, backend, problem, t0, first, stats, raw)
        return
    tail = shield.finish()
    if tail:
        yield tail
    if lead:
        text, used = f"{lead}\n\n{text}", sorted({1, *used})
    if follow_up:
        text += f"\n\nFollow-up: {follow_up}"
    answer = Answer(question, standalone, text, [cite(n, given[n - 1]) for n in used], False, passages, backend)
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra.update(stats, follow_up=follow_up)
    answer.model_text = raw[:MODEL_TEXT_CHARS]
    yield answer


def _lead(question: str, passages: list[Passage], cards: dict[str, Card] | None) -> str:
    """The key points of passage [1]'s card, or "" (no card, or a claim to check first)."""
    card = (cards or {}).get(passages[0].card_id or "") if passages else None
    return key_points_lead(card) if card is not None and not premise(question) else ""


def _fallback(answer: Answer, backend: str, notice: str, t0: float, first: float | None, stats: dict,
              raw: str | None = None):
    answer.model_text = raw[:MODEL_TEXT_CHARS] if raw is not None else None
    answer.backend = f"{backend}→extractive"
    answer.notice = notice
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra.update(stats)
    yield "\n\n[" + notice + "]\n" + answer.answer
    yield answer
