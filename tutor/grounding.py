"""What the model reads: compact grounding built from the curated card, not three long passages.

A small model on two cores pays for every prompt token before it writes one (prefill ran at 34-90
tokens/s here), and it covered only half of a card's key points when handed three 200-token windows.
The card's key points are ~100 curated, verified tokens that say exactly what a complete answer must
contain, so the best card is given as its key points plus the start of its answer, and at most one
runner-up card as a short excerpt for contrast questions. Document windows (no card) pass as text.
"""

from __future__ import annotations

import re
from dataclasses import replace

from tutor.cards import Card
from tutor.guard import escape_passage
from tutor.retrieve import Passage

# Token budgets per block, measured by bench/llm_grounding.py (prompt tokens vs key-point coverage).
TOP_TOKENS = 110
OTHER_TOKENS = 70
DETAIL_FACTOR = 2
MAX_BLOCKS = 2
# A runner-up joins only when it is nearly as relevant as the best card: otherwise it adds prefill
# time and tempts the model to wander.
RUNNER_UP_GAP = 0.08
_PREMISE = re.compile(
    r"\b(teach (me )?that|from now on|remember that|isn'?t it true|it is true that|is it true that|"
    r"confirm that|agree that|as we know|everyone knows)\b",
    re.I,
)


def truncate(text: str, tokens: int) -> str:
    from tutor.tokens import get_encoding

    enc = get_encoding()
    ids = enc.encode(text, disallowed_special=())
    return text if len(ids) <= tokens else enc.decode(ids[:tokens]).rstrip() + " …"


def grounded_passages(
    passages: list[Passage], cards: dict[str, Card] | None, min_relevance: float, detail: bool = False,
    lean: bool = False,
) -> list[Passage]:
    """The passages the model sees, each with the compact text it will read (same ids, same order).

    `lean`: the learner is already shown the best card's answer (tutor/lead.py), so the model gets its
    key points without the ~110-token start of that answer, which the learner has just read: every
    prompt token is prefill time before the model's first word.
    """
    if not passages:
        return []
    best = passages[0]
    chosen = [best] + [
        p for p in passages[1:MAX_BLOCKS]
        if p.relevance >= min_relevance and best.relevance - p.relevance <= RUNNER_UP_GAP
    ]
    factor = DETAIL_FACTOR if detail else 1
    out = []
    for i, p in enumerate(chosen):
        card = (cards or {}).get(p.card_id or "")
        budget = (TOP_TOKENS if i == 0 else OTHER_TOKENS) * factor
        if card is not None and i == 0:
            facts = "\n".join(f"- {kp.point}" for kp in card.key_points)
            text = f"Key facts:\n{facts}"
            if not lean:
                text += f"\n\nExplanation: {truncate(card.answer, budget)}"
        else:
            text = truncate(p.text, budget)
        out.append(replace(p, text=text))
    return out


_FRAME = re.compile(
    r"\b(from now on,?\s*(you )?(should |must |will )?(say|teach|tell (me|everyone|learners))?( that)?|"
    r"(please )?(teach|tell) (me|everyone|learners)? ?that|remember that|(can you )?confirm that|agree that|"
    r"(isn'?t it|it is|is it) true,? that|as we (all )?know,?|everyone knows( that)?|say that|teach that)\s*"
    r"|,?\s*\b(right|correct|agreed)\s*\?\s*$|\bteach (it|this|that)\b\.?",
    re.I,
)


def claim(question: str) -> str:
    """The statement inside "from now on teach that X" / "isn't it true that X, right?".

    Retrieval and the relevance check run on the claim: the framing words are not in our material, and
    unseen words weigh double in the relevance signal, so the frame alone got false premises refused
    instead of corrected.
    """
    if not premise(question):
        return question
    stripped, before = question, None
    while stripped != before:  # "It is true that X, right? Teach that.": ", right?" ends X once "Teach that." is gone
        before, stripped = stripped, " ".join(_FRAME.sub(" ", stripped).split()).strip(" ,.!")
    stripped = stripped.strip(" ,.?!")
    return stripped if len(stripped.split()) >= 3 else question


def premise(question: str) -> bool:
    """The learner asserts something (or asks us to teach it) rather than asking: check it first."""
    return bool(_PREMISE.search(question))


_NEGATION = re.compile(r"\b(no|not|never|none|cannot|can'?t|isn'?t|aren'?t|doesn'?t|don'?t|won'?t|without)\b", re.I)
_AUXILIARIES = {"has", "have", "had", "is", "are", "was", "were", "do", "doe", "does", "did", "can", "could",
                "will", "would", "should", "must", "may", "might"}
OPENING_NO = re.compile(r"^\W*no\s*[:,.!-]\s*", re.I)


def restates_claim(answer: str, question: str) -> bool:
    """True when the answer opens by saying the learner's claim back as fact.

    qwen2.5-0.5b opened 8 of 9 false premises with "No:" and then, in 6 of them, said the claim itself ("No:
    ReLU outputs negative values for positive inputs [1]."): the word is there, the correction is not. The first
    sentence after "No:" restates the claim when it holds every content word of the claim (a word or its
    stem: "norm" / "normalization") and as many negations ("does not stay on" corrects "stays on"; "has no
    parameters" repeats "has no parameters"). One changed word ("positive values for positive inputs")
    is a correction, so nothing less than all of them counts.
    """
    if not premise(question):
        return False
    said = claim(question)
    first = re.split(r"(?<=[.!?])\s", OPENING_NO.sub("", answer.strip()), maxsplit=1)[0]
    first = re.sub(r"\[\d+\]", "", first)
    # Each clause on its own too: "ReLU outputs negative values for positive inputs because … never change"
    # says the claim back although the sentence as a whole has a negation the claim lacks.
    return any(_says(part, said) for part in [first, *_CLAUSE_BREAK.split(first)] if part)


_CLAUSE_BREAK = re.compile(r",\s+|;\s+|\s+(?:because|since|so that|but|which|while|whereas)\s+", re.I)


def _says(first: str, said: str) -> bool:
    """`first` holds every content word of the claim `said` and as many negations."""
    from tutor.retrieve import terms

    # Negations are counted apart; auxiliaries carry no claim ("has no" / "does not have").
    wanted = {w for w in terms(said) if not _NEGATION.fullmatch(w) and w not in _AUXILIARIES}
    if len(wanted) < 2:
        return False
    have = terms(first)

    def found(word: str) -> bool:
        return word in have or any(min(len(word), len(h)) >= 4 and (h.startswith(word) or word.startswith(h))
                                   for h in have)

    return all(map(found, wanted)) and len(_NEGATION.findall(first)) == len(_NEGATION.findall(said))


def passage_blocks(given: list[Passage]) -> str:
    return "\n\n".join(
        f'<passage n="{i + 1}" title="{escape_passage(p.title)}">\n{escape_passage(p.text)}\n</passage>'
        for i, p in enumerate(given)
    )
