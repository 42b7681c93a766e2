"""The card's key facts, shown before the model's first token when retrieval matched a card exactly.

On two cores the local model needs seconds before its first word (prefill), and qwen2.5-0.5b's own
answers covered about half of a card's key points. The key points are curated and verified, one line
each, so on an exact match they are shown at once, cited as passage [1] (the card the model is also
given first), and the model's tailored explanation follows them. The model never writes this part, so
`tutor eval` reports the model's own coverage apart (`model_coverage`).

Not used for a false premise ("from now on teach that …"): there the correction, "No: …", comes first.
"""

from __future__ import annotations

import re

from tutor.cards import Card

HEADING = "Key points"
_MARKUP = re.compile(r"[*_`]+")


def key_points_lead(card: Card, n: int = 1) -> str:
    """"Key points" and one cited line per curated key point of `card` (passage number `n`)."""
    lines = [f"- {_sentence(kp.point)} [{n}]" for kp in card.key_points]
    return f"{HEADING}:\n" + "\n".join(lines) if lines else ""


def _sentence(point: str) -> str:
    """A key point as a line a learner reads: markup removed, first letter capital, no final stop
    (the citation closes it)."""
    text = " ".join(_MARKUP.sub("", point).split()).rstrip(".;")
    return text[:1].upper() + text[1:]
