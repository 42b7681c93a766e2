"""Compound words spelled the way our material spells them, before a question is searched.

Learners and public interview lists write "over-fitting", "under-fitting", "finetuning", "multihead" and
"over- and under-fitting"; the cards write "overfitting", "fine-tuning", "multi-head". BM25 then matches
"over" and "fitting" (or nothing at all) and MiniLM reads the pieces: "What is over-fitting?" was answered
`exact` from the calibration card ("over-confident"), and "Explain over- and under-fitting and how to
combat them?" was refused at relevance .22 while the same words written solid find the overfitting card
at .46. Three rewrites, each only when the corpus has the other spelling and never the user's:

- a suspended hyphen is completed: "over- and under-fitting" → "over-fitting and under-fitting";
- a hyphenated word becomes the solid word the corpus uses ("over-fitting" → "overfitting") when the
  corpus has that word and never writes the two halves side by side;
- a solid word the corpus never uses becomes the hyphenated pair it does use ("finetuning" →
  "fine-tuning"), split where both halves are corpus words that the cards write next to each other.

Lexical only (the index's lexicon: its document frequencies and the cards' word pairs), so it needs no
model and costs microseconds a question.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping

from tutor.lexicon import fold

_SUSPENDED = re.compile(r"(?<![\w-])([A-Za-z]{2,})-\s+(and|or|&|and/or)\s+([A-Za-z]{2,})-([A-Za-z]{2,})(?![\w-])")
_HYPHENATED = re.compile(r"(?<![\w-])([A-Za-z]{2,})-([A-Za-z]{2,})(?![\w-])")
_SOLID = re.compile(r"(?<![\w-])[A-Za-z]{6,}(?![\w-])")
_MIN_HALF = 4  # "fine", "mini", "multi": with 3 ("any-one", "out-numbers") ordinary words split


def respell(text: str, df: Mapping[str, int], card_pairs: Container[str]) -> str:
    """`text` with its compounds in the corpus's spelling (`df`: the lexicon's word → document count)."""
    text = _SUSPENDED.sub(lambda m: f"{m[1]}-{m[4]} {m[2]} {m[3]}-{m[4]}", text)

    def to_solid(m: re.Match[str]) -> str:
        a, b = m[1].lower(), m[2].lower()
        if fold(a + b) in df and f"{fold(a)} {fold(b)}" not in card_pairs:
            return m[1] + m[2]
        return m[0]

    def to_hyphenated(m: re.Match[str]) -> str:
        word = m[0].lower()
        if fold(word) in df:
            return m[0]
        for i in range(_MIN_HALF, len(word) - _MIN_HALF + 1):
            a, b = word[:i], fold(word[i:])
            if a in df and b in df and f"{a} {b}" in card_pairs:
                return f"{m[0][:i]}-{m[0][i:]}"
        return m[0]

    return _SOLID.sub(to_hyphenated, _HYPHENATED.sub(to_solid, text))
