"""The curated card, shown before the model's first token whenever an answer is built on a card.

On two cores the local model needs seconds before its first word (prefill), and qwen2.5-0.5b's own
answers covered about half of a card's key points. The card is curated and verified, so it is shown at
once, cited as passage [1] (the card the model is also given first), and the model's tailored
explanation follows it. The model never writes this part, so `tutor eval` reports the model's own
coverage apart (`model_coverage`).

Which part of the card leads was decided by figures (session 11, 28 golden rows, the model's replies of
the quiet session-10 run re-scored): the key points alone cover 0.61 of the golden key points (90
words), with the model's words 0.66; the card's answer covers 0.93 (214 words), as the extractive
backend does. A learner must get at least what the card says, so the card's answer leads
(`curated_lead`); `key_points_lead` is kept for `bench/llm_variants.py`, which measures the variants.

When retrieval only found the closest material (answerability `closest`), the heading says so and names
the card: the learner must never take a neighbouring card's facts for the answer to their question.
Not used for a false premise ("from now on teach that …"): there the correction, "No: …", comes first
(tutor/correction.py).
"""

from __future__ import annotations

import re

from tutor.cards import Card

HEADING = "Key points"
CLOSEST_HEADING = "Closest material we have"
# Emphasis and code marks, not the * and _ of formulas and identifiers ("mu*v", "g * v", "requires_grad").
_MARKUP = re.compile(r"`+|\*\*|__|(?:(?<=^)|(?<=[\s(]))[*_](?=\w)|(?<=\w)[*_](?=[\s).,;:]|$)")


def key_points_lead(card: Card, n: int = 1, closest: bool = False) -> str:
    """"Key points" and one cited line per curated key point of `card` (passage number `n`).

    `closest`: the card only comes close to the question, so the heading names it as such.
    """
    lines = [f"- {sentence_of(kp.point)} [{n}]" for kp in card.key_points]
    if not lines:
        return ""
    heading = f"{CLOSEST_HEADING} (“{card.question}”), its key points" if closest else HEADING
    return f"{heading}:\n" + "\n".join(lines)


def curated_lead(answer: str, title: str, n: int = 1, closest: bool = False) -> str:
    """The card's answer cited as passage `n`, exactly as the extractive backend shows it; on a `closest`
    match under a heading that names the card as the closest material (`title`: its question)."""
    body = f"{answer} [{n}]"
    return f"{CLOSEST_HEADING} (“{title}”):\n\n{body}" if closest else body


def sentence_of(point: str) -> str:
    """A key point as a line a learner reads: markup removed, first letter capital, no final stop
    (the citation closes it)."""
    text = " ".join(_MARKUP.sub("", point).split()).rstrip(".;")
    return text[:1].upper() + text[1:]
