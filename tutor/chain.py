"""The grounded answering chain: condense → retrieve → refuse or answer from numbered passages → validate.

The LLM writes; code decides. The curated card is shown before the model's first token (tutor/lead.py),
or for a false premise code's own correction, "No: … [1]." (tutor/correction.py). The model's words are
shown one checked sentence at a time (tutor/checks.py, `CheckedAnswer`): citations checked against the
passages actually given, a sentence no passage supports withheld, so what streams is the answer that is
kept. An answer with no valid citation (or one that recites our instructions, or mostly unsupported) is
replaced by the curated extractive answer with a notice, and any backend failure mid-answer falls back
the same way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from tutor.answer import Answer, cite, extractive_answer, is_relevant
from tutor.cards import Card
from tutor.checks import CheckedAnswer, cited_numbers, split_follow_up, unsupported_share, validate
from tutor.correction import Correction, correcting, refuted
from tutor.grounding import claim, grounded_passages, passage_blocks, premise, restates_claim, truncate
from tutor.guard import NOT_IN_MATERIAL, StreamGuard, escape_passage, leaks_prompt
from tutor.lead import curated_lead
from tutor.prompts import load
from tutor.retrieve import Passage, retrieval_query
from tutor.tokens import count_tokens

__all__ = ["answer_stream", "build_messages", "condense", "prepare", "split_follow_up", "unsupported_share",
           "validate"]

# Per-passage budget keeps a normal prompt under ~900 tokens: 3 x 200 + instructions + question.
PASSAGE_TOKENS = 200
PROMPT_PASSAGES = 3
# How much of the raw reply `tutor eval` rows keep (never `--json`): a whole answer, to see why it fell back.
MODEL_TEXT_CHARS = 2000
# The decline rule is told only when retrieval is unsure. In the system prompt, told for every question,
# qwen2.5-0.5b replied NOT_IN_MATERIAL to 6 of 14 golden questions whose own card it had been given.
DECLINE_RULE = "If the passages do not answer the question, reply exactly: NOT_IN_MATERIAL"
# Unsupported sentences are always withheld (grounded or silent); when more than this share of the checkable
# ones were, and too little supported is left, the curated answer is shown instead (issue 12).
UNSUPPORTED_MAX = 0.5
# Supported sentences a model answer must keep after its unsupported ones are dropped: one when the card's
# answer (or a correction) already leads the answer, two when the model's words stand alone.
KEEP_MIN_WITH_LEAD = 1
KEEP_MIN_ALONE = 2
EXACT_NOTE = "Passage [1] is a curated answer to this question: explain it to the learner."
# On a `closest` match the learner is shown the card's answer under a heading naming it as the
# closest material; the model is told the same, and not offered the decline (which only ever led to the
# same curated card, with the model's words discarded: 6 of 28 golden questions, session 10).
CLOSEST_NOTE = ("Passage [1] is the closest material we have, not a direct answer: explain what it says "
                "that bears on the question.")


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
    min_relevance: float = 0.0, earlier: str | None = None, exact: bool = False, lead: bool = False,
    correction: Correction | None = None,
) -> tuple[list[Passage], list]:
    """The passages as the model will read them, and the messages that carry them.

    With `cards` the grounding is compact (tutor/grounding.py); without, each passage is cut to
    PASSAGE_TOKENS, which is how document-only indexes and older callers are served.
    `exact`: retrieval matched passage [1]'s card to the question, so the model is not offered the
    NOT_IN_MATERIAL reply (see EXACT_NOTE). `lead`: the learner already sees the card's answer, so
    the model reads its key points without the card's opening (grounding `lean`), and on a `closest` match it is
    told the card is the closest material (CLOSEST_NOTE) instead of being offered the decline.
    `correction`: code found the key point that contradicts the learner's claim; the model explains that
    fact and is not shown the claim.
    The system prompt never changes, so llama.cpp's prompt cache always covers it.
    """
    from langchain_core.messages import HumanMessage, SystemMessage

    if cards is not None:
        given = grounded_passages(passages, cards, min_relevance, detail, lean=lead and not detail)
    else:
        budget = PASSAGE_TOKENS * (2 if detail else 1)
        given = [replace(p, text=_truncate(p.text, budget)) for p in passages[:PROMPT_PASSAGES]]
    context = ""
    claimed = premise(question)
    if earlier:
        context += f"\nEarlier question in this conversation: {escape_passage(earlier)}"
    if correction is not None:
        # The model never reads the false claim: told to correct it, qwen2.5-0.5b said it back as fact in 7 of
        # 8 answers (bench/llm_premise.py, session 12), which replaced its part with the card. It explains
        # the correct fact, which the learner has just been shown, instead.
        question = f"Explain this: {correction.point}"
        context += ("\nThe learner believed the opposite and has just been told this fact [1]. Explain it "
                    "from the passages, citing them.")
    elif claimed:
        # Only here, not in the system prompt: told to every question, the 0.5B model opened ordinary
        # answers with "No: the passage does not answer" (6 of 14 golden answers replaced).
        context += ("\nThe learner's message makes a claim. If the passages contradict it, start with \"No:\" "
                    "and give the correct fact with its citation; never repeat a false claim as true.")
    if claimed:
        context += "" if exact or correction is not None else "\n" + DECLINE_RULE
    elif exact:
        context += "\n" + EXACT_NOTE
    else:
        context += "\n" + (CLOSEST_NOTE if lead else DECLINE_RULE)
    length = "a thorough answer of 200-350 words" if detail else "90-160 words"
    user = load("answer_user").format(passages=passage_blocks(given), context=context,
                                      question=escape_passage(question), length=length)
    return given, [SystemMessage(load("answer_system")), HumanMessage(user)]


def build_messages(question: str, passages: list[Passage], detail: bool = False, **kwargs) -> list:
    return prepare(question, passages, detail, **kwargs)[1]


def answer_stream(
    llm, question: str, standalone: str, passages: list[Passage], min_relevance: float,
    backend: str, detail: bool = False, *, cards: dict[str, Card] | None = None, earlier: str | None = None,
    model: str | None = None, exact: bool = False, named: list[Passage] | None = None, recap: str | None = None,
) -> Iterator[str | Answer]:
    """Text pieces as they become safe to show, then the validated `Answer`, whose text is the pieces joined.

    Whenever passage [1] is a card, something curated is shown before the model's first token
    (`_lead`): its answer (headed as the closest material unless `exact`), or for a false premise
    the key point that contradicts it, "No: … [1]." (tutor/correction.py). The model's tailored
    explanation follows, guarded word by word (`StreamGuard`: no recital, no foreign link) and shown
    sentence by sentence once checked (`CheckedAnswer`: its markers made true, a sentence no passage
    supports withheld). A model that declines anyway is overruled by the curated answer; an answer mostly
    outside the passages (more than UNSUPPORTED_MAX of its checkable sentences) with too little supported
    left is replaced by the curated answer the same way. The stream differs from the final answer only
    when an answer is replaced after some of its checked sentences showed (a failure or a recital
    mid-answer): the "[notice]" line says so, and `tutor ask` prints the final answer again (tutor/ask.py).
    `recap` (tutor/recap.py) leads instead of the card's answer when the learner was just shown that answer.
    """
    t0 = time.perf_counter()
    fallback = extractive_answer(question, standalone, passages, min_relevance, lead=recap)
    if not is_relevant(passages, min_relevance):
        fallback.backend = backend
        yield fallback.answer
        yield fallback
        return
    # The model reads the learner's own words unless a rewrite made them standalone; retrieval may have
    # searched only the claim inside "from now on teach that …".
    asked = question if earlier is not None or standalone == claim(question) else standalone
    ranked = passages
    passages, fix = correcting(question, passages, cards, min_relevance, named)
    if passages[0] is not ranked[0]:  # the contradicting card leads now: the curated answer follows it
        fallback, recap = extractive_answer(question, standalone, passages, min_relevance), None
    card = (cards or {}).get(passages[0].card_id or "")
    lead, kind = _lead(question, passages, card, exact, fix, recap)
    given, messages = prepare(asked, passages, detail, cards=cards, min_relevance=min_relevance, earlier=earlier,
                              exact=exact, lead=kind in ("answer", "closest"), correction=fix)
    stats = {"prompt_tokens": sum(count_tokens(str(m.content)) for m in messages), "model": model, "lead": kind}
    if fix is not None:
        stats["correction"] = fix.why
    if lead:  # curated text at once; the model's explanation follows (tutor/lead.py, tutor/correction.py)
        stats["first_shown_s"] = round(time.perf_counter() - t0, 4)
        yield lead + "\n\n"
    pieces: list[str] = []
    first = None
    sources = " ".join(p.text for p in passages)
    shield = StreamGuard(load("answer_system"), sources)
    # Checked against the whole passage (the card's full answer), not only the excerpt the model read: a
    # true sentence from the card is supported whether or not it fit in the prompt. Against the passage
    # alone, as `tutor eval` checks a citation: the excerpt's "Key facts" lines (the card's key points)
    # lent support to sentences the answer text does not hold, and each of those was an invalid citation.
    full = {p.chunk_id: p for p in passages}
    checked = [full[g.chunk_id] for g in given]
    keep_min = KEEP_MIN_WITH_LEAD if lead else KEEP_MIN_ALONE
    by_n = {n: (cards or {}).get(g.card_id or "") for n, g in enumerate(given, 1)}
    sentences = CheckedAnswer(checked, keep_min=keep_min, strip_no=fix is not None,
                              withdraws=lambda text: restates_claim(text, question),
                              refutes=lambda text, n: by_n.get(n) is not None and refuted(text, by_n[n]))

    def show(text: str) -> Iterator[str]:
        if text:
            stats.setdefault("first_shown_s", round(time.perf_counter() - t0, 4))
            yield text

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
                released = shield.feed(piece)
                if shield.leaked or NOT_IN_MATERIAL in "".join(pieces[-8:]):
                    sentences.stop()  # the answer will be replaced: show nothing more of it
                yield from show(sentences.feed(released))
    except Exception as exc:  # server down, killed or too slow: the curated answer still serves
        yield from _fallback(fallback, backend, f"the {backend} model failed ({type(exc).__name__}); "
                             "showing the curated answer instead", t0, first, stats, "".join(pieces), lead)
        return
    raw = "".join(pieces)
    sentences.close(shield.finish())  # the last sentences wait for the checks below
    if NOT_IN_MATERIAL in raw:
        # Retrieval already judged these passages relevant (weak retrieval is refused before any model
        # runs), and a small model's decline is the weaker signal: qwen2.5-0.5b declined 6 of 28 golden
        # questions whose card was first but not an exact match. The curated answer serves, with its
        # "closest material" notice where retrieval gave one; a refusal would leave covered questions
        # unanswered, which the extractive backend answers.
        why = ("the model did not use the passages, although they match the question closely" if exact
               else "the model found no direct answer in the passages")
        yield from _fallback(fallback, backend, why + "; showing the curated answer instead", t0, first, stats, raw,
                             lead)
        return
    share = sentences.share
    stats["unsupported_share"] = None if share is None else round(share, 3)
    text = sentences.text
    problem = None
    if shield.leaked or leaks_prompt(sentences.checked, load("answer_system")):
        problem = "the model's answer repeated its instructions; showing the curated answer instead"
    elif restates_claim(sentences.checked, question):
        problem = "the model repeated the claim instead of checking it; showing the curated answer instead"
    elif share is not None and share > UNSUPPORTED_MAX and sentences.supported < keep_min:
        problem = "most of the model's sentences are not in the passages; showing the curated answer instead"
    elif not cited_numbers(text):  # what would be shown cites nothing: grounded or silent
        problem = "the model's answer cited no passage, so it is replaced by the curated answer"
    if problem:
        yield from _fallback(fallback, backend, problem, t0, first, stats, raw, lead)
        return
    # Sentences no passage supports were withheld, whatever their share (grounded or silent); the rest is
    # exactly what streamed.
    yield from show(sentences.rest())
    if sentences.unsupported:
        stats["dropped_sentences"] = sentences.unsupported
    used = cited_numbers(text)
    if lead:
        text, used = f"{lead}\n\n{text}", sorted({1, *used})
    follow_up = sentences.follow_up
    if follow_up:
        text += f"\n\nFollow-up: {follow_up}"
        yield from show(f"\n\nFollow-up: {follow_up}")
    answer = Answer(question, standalone, text, [cite(n, given[n - 1]) for n in used], False, passages, backend)
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra.update(stats, follow_up=follow_up)
    answer.model_text = raw[:MODEL_TEXT_CHARS]
    yield answer


def _lead(question: str, passages: list[Passage], card: Card | None, exact: bool,
          fix: Correction | None, recap: str | None = None) -> tuple[str, str | None]:
    """What is shown before the model's first token, and its kind (None: nothing).

    A claim to check leads with its correction or with nothing ("No: …" must come first, and only code
    that found the contradicting key point may say it); otherwise the card's answer (tutor/lead.py),
    under a heading naming it as the closest material unless retrieval matched it exactly, or, when the
    learner was just shown that answer, the part of it that bears on the follow-up (`recap`).
    """
    if fix is not None:
        return fix.lead(), "correction"
    if card is None or premise(question):
        return "", None
    if recap:
        return recap, "answer" if exact else "closest"
    return curated_lead(passages[0].text, card.question, closest=not exact), "answer" if exact else "closest"


def _fallback(answer: Answer, backend: str, notice: str, t0: float, first: float | None, stats: dict,
              raw: str | None = None, lead: str = ""):
    """The curated answer in place of the model's. A lead already shown stays at the top; when it is the
    card's answer itself (passage [1] of both), only the rest of the curated answer follows it."""
    answer.model_text = raw[:MODEL_TEXT_CHARS] if raw is not None else None
    answer.backend = f"{backend}→extractive"
    answer.notice = notice
    answer.latency_s, answer.first_token_s = time.perf_counter() - t0, first
    answer.extra.update(stats)
    curated = f"{answer.passages[0].text} [1]" if answer.passages else ""
    rest = answer.answer
    for shown in (lead, curated):  # the lead itself (a recap), or the card's answer under a heading
        if lead and shown and lead.endswith(shown) and rest.startswith(shown):
            rest = rest[len(shown):].lstrip("\n")
            break
    yield "\n\n[" + notice + "]\n" + rest
    if lead and answer.citations and answer.citations[0].n == 1:  # the lead cites [1]: passage [1] of both
        answer.answer = f"{lead}\n\n{rest}".rstrip()
    yield answer
