"""A follow-up that lands on the passage the learner was just shown gets the part of it that bears on the
follow-up, not the same answer again.

Why: retrieval rightly keeps a conversation on its card ("and why does that help with long sequences?" after
the RNN / LSTM / GRU answer stays on that card), and both answer paths lead with the card's curated answer.
Shown again word for word, 200 words the learner has just read look like the tutor did not hear the
question. So the card's answer is cut into the blocks a reader sees (paragraphs, list items, a code block,
a table), the blocks closest in meaning to the follow-up's own words are kept in their order, and the
answer says it is still on that card, whose full answer is just above. The model (when one is on) still
reads the whole passage; only what leads changes. `tutor eval` and batch rows, which show each answer on its
own, keep the whole answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

# The nearest blocks are shown until they hold this many words. Chosen on the dev follow-ups the recap applies
# to (bench/recap_followups.py): 60 / 75 / 90 words hold .814 / .849 / .859 of the golden key points the whole
# passage holds, in 81 / 88 / 116 words where the passage has 228 (a block count: 2 blocks .716 in 69).
WORDS = 75
MIN_WORDS = 4  # a shorter block ("Main types:", a heading) says nothing alone
_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+")  # a top-level item; an indented one stays with its parent
_FENCE = re.compile(r"^\s*```")


def blocks(text: str) -> list[str]:
    """The answer as a reader sees it: paragraphs, each list item (with its wrapped lines), a fenced code
    block or a table whole. A line ending in ":" that introduces a list or code stays with the first block
    after it, so an excerpt never shows an item without what it answers."""
    out: list[str] = []
    current: list[str] = []
    fence = False

    def close() -> None:
        if current:
            out.append("\n".join(current).strip())
            current.clear()

    for line in text.splitlines():
        if fence:
            current.append(line)
            if _FENCE.match(line):
                fence = False
                close()
            continue
        if _FENCE.match(line):
            if not _introduces(current):
                close()
            current.append(line)
            fence = True
        elif not line.strip():
            if not _introduces(current):
                close()
        elif _ITEM.match(line) or (line.lstrip().startswith("|") and not _in_table(current)):
            if not _introduces(current):
                close()
            current.append(line)
        else:
            current.append(line)
    close()
    return [b for b in out if b]


def _introduces(lines: list[str]) -> bool:
    return len(lines) == 1 and lines[0].rstrip().endswith(":") and not _ITEM.match(lines[0])


def _in_table(lines: list[str]) -> bool:
    return bool(lines) and lines[-1].lstrip().startswith("|")


def excerpt(question: str, text: str, vectors: Callable[[list[str]], np.ndarray], words: int = WORDS) -> str:
    """The blocks of `text` closest to `question` (cosine of normalized vectors), nearest first until they
    hold `words` words, shown in the text's order; the whole text when it is not longer than that."""
    parts = [b for b in blocks(text) if len(b.split()) >= MIN_WORDS]
    if len(text.split()) <= words or len(parts) < 2:
        return text.strip()
    v = vectors([question, *parts])
    chosen: list[int] = []
    held = 0
    for i in np.argsort(-(v[1:] @ v[0])).tolist():
        chosen.append(i)
        held += len(parts[i].split())
        if held >= words:
            break
    return "\n\n".join(parts[i] for i in sorted(chosen))


def recap_text(title: str, part: str, n: int = 1) -> str:
    """The excerpt under a line saying whose answer it comes from and that the whole of it is above."""
    return f"Still on “{title}” (its full answer is above). The part that bears on your question:\n\n{part} [{n}]"


def led_with(cited: Sequence) -> str | None:
    """The chunk id of the passage an answer led with: its first citation when that is [1] (citations of an
    `Answer` and the app's `Source`s alike carry `n` and `chunk_id`); None when it cites nothing."""
    return cited[0].chunk_id if cited and cited[0].n == 1 else None
