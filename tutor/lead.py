"""The card's key facts, shown before the model's first token whenever an answer is built on a card.

On two cores the local model needs seconds before its first word (prefill), and qwen2.5-0.5b's own
answers covered about half of a card's key points. The key points are curated and verified, one line
each, so they are shown at once, cited as passage [1] (the card the model is also given first), and the
model's tailored explanation follows them. The model never writes this part, so `tutor eval` reports
the model's own coverage apart (`model_coverage`).

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
_MARKUP = re.compile(r"[*_`]+")


def key_points_lead(card: Card, n: int = 1, closest: bool = False) -> str:
    """"Key points" and one cited line per curated key point of `card` (passage number `n`).

    `closest`: the card only comes close to the question, so the heading names it as such.
    """
    lines = [f"- {sentence_of(kp.point)} [{n}]" for kp in card.key_points]
    if not lines:
        return ""
    heading = f"{CLOSEST_HEADING} (“{card.question}”), its key points" if closest else HEADING
    return f"{heading}:\n" + "\n".join(lines)


def sentence_of(point: str) -> str:
    """A key point as a line a learner reads: markup removed, first letter capital, no final stop
    (the citation closes it)."""
    text = " ".join(_MARKUP.sub("", point).split()).rstrip(".;")
    return text[:1].upper() + text[1:]
