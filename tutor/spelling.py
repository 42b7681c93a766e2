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

Typos (`correct_typos`): a word of 7+ letters that neither our material nor English knows (MiniLM's
word-piece vocabulary stands in for an English dictionary) becomes the most used corpus word one edit
away: "what is tranfsormer" had a GAN card first. Card asked by name with one swap of neighbouring
letters (bench/framing_audit.py --typos, 229 names): first .712 → .991. The guards are what make it safe:
without the English check and the length floor it turned "there" into "where", "churn" into "chunk" and
"salary" into "scalar" in the golden questions; with them, 5 of 852 golden questions change, harmlessly
("converged" → "converge").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Container, Mapping

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


# Typos: a word neither the corpus nor English (MiniLM's word-piece vocabulary) knows, one edit from a
# corpus word: "tranfsormer", "halluicnation". Shorter words are left alone: "churn" is one edit from "chunk".
_WORD = re.compile(r"(?<![\w-])[A-Za-z]{7,}(?![\w-])")
_MIN_DF = 2  # the corrected word must be in at least this many cards: a one-off word is no evidence


def deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def one_edit(a: str, b: str) -> bool:
    """One insertion, deletion, substitution or swap of two neighbours turns `a` into `b`."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                   and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def typo_index(df: Mapping[str, int]) -> dict[str, list[str]]:
    """Each corpus word and its one-letter deletions → the corpus words they come from (symmetric-delete
    spelling correction; `one_edit` then keeps the true neighbours)."""
    index: dict[str, list[str]] = {}
    for word, n in df.items():
        if n >= _MIN_DF and len(word) >= 6 and word.isalpha():
            for key in {word, *deletes(word)}:
                index.setdefault(key, []).append(word)
    return index


def correct_typos(text: str, df: Mapping[str, int], index: Callable[[], Mapping[str, list[str]]],
                  english: Callable[[], Container[str]]) -> str:
    """`text` with each unknown word replaced by the most used corpus word one edit away.

    Unknown: not in the corpus (in any plural), not in `english()` (a vocabulary of whole words), not an
    acronym. A word with no such neighbour ("postgres", "kubernetes") stays, so an off-topic question stays
    off-topic. `index` and `english` are called only for a word the corpus lacks: most questions have none,
    and need neither built."""

    def fix(m: re.Match[str]) -> str:
        typed = m[0]
        word = typed.lower()
        if typed.isupper() or fold(word) in df or word in df or word in english():
            return typed
        stem, plural = (word[:-1], "s") if word.endswith("s") and not word.endswith("ss") else (word, "")
        neighbours = index()
        found = {w for key in {stem, *deletes(stem)} for w in neighbours.get(key, ()) if one_edit(stem, w)}
        if not found:
            return typed
        best = max(sorted(found), key=lambda w: df.get(w, 0)) + plural  # the corpus's words are folded singular
        return best.capitalize() if typed[0].isupper() else best

    return _WORD.sub(fix, text)


@functools.lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the packaged MiniLM's word-piece vocabulary (~22k English words): a word there is
    spelled right even when our material never uses it. Empty when the package is missing."""
    try:
        from tutor.onnx_export import source_dir

        lines = (source_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    except (ImportError, OSError):
        return frozenset()
    return frozenset(w for w in lines if w.isalpha() and w.islower())
