"""What the retriever knows about the corpus's words, computed once by `tutor ingest` and saved in the index.

A cold `tutor ask` used to rebuild two things from every card before answering: the glossary (acronyms
and aliases, tutor/glossary.py) and each card's content-word set with the corpus IDF over them. Together
≈ 0.2 s of a ~1.5 s cold query on 600 chunks, and at 1M chunks a per-process rebuild of minutes.
`lexicon.json` holds both results: the glossary's tables, and the document frequency of each content word
over cards (a document's chunk counts as its own card). The retriever then reads the term sets of only
the cards a query's candidates belong to (tutor/retrieve.py), so per-query work does not grow with
the corpus.

The file carries its own VERSION. An index without it, or with another version, still works: the
retriever computes the same tables in memory, and the next `tutor ingest` rewrites the index with them
(no re-embedding). tests/test_lexicon.py checks the saved tables give what building in memory gives.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

from tutor.cards import Card
from tutor.chunk import Chunk
from tutor.glossary import Glossary, build_glossary

FILE = "lexicon.json"
# Bump when what `build` writes changes meaning; an index holding another version is recomputed in memory.
# 2: a hyphenated compound with a one-character side ("Q-network", "t-SNE", "1-D", "top-k") is a term too;
#    "card_pairs": the cards' adjacent content-word pairs (Retriever.phrase_penalty).
VERSION = 2

_WORD = re.compile(r"[a-z0-9]+")
# A one-character side of a hyphenated compound is dropped by the length rule below, and with it what the
# compound names: "deep Q-network" read as "deep network" matched a plain architecture card as `exact`.
# The compound joined ("qnetwork", "tsne", "1d", "topk") keeps it, and meets "1D" / "TSNE" written solid.
# Not across another hyphen ("explaining-a-project"), nor with a digit other than "1-D" / "2-D" ("t-1" and
# "1-p" are formulas).
_COMPOUND = re.compile(r"(?<![a-z0-9-])(?:([a-z])-([a-z]{2,})|([a-z]{2,})-([a-z])|(\d)-(d))(?![a-z0-9-])")


def fold(w: str) -> str:
    """The crude plural fold `terms` and `pairs` share: "gradients" → "gradient", "loss" stays."""
    return w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w


def terms(text: str) -> set[str]:
    """Content words, lower-cased, with a crude plural fold so "gradients" matches "gradient"."""
    from tutor.sparse import stopwords

    stop = stopwords()
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in stop or len(w) < 2:
            continue
        out.add(fold(w))
    for m in _COMPOUND.finditer(text.lower()):
        out.add(fold("".join(filter(None, m.groups()))))
    return out


def pairs(text: str) -> set[str]:
    """Adjacent content words ("build cache", "batch norm"), stopwords dropped, plurals folded as in `terms`.

    Two words can each be ours while their pairing is not: "Docker layers and the build cache" shares
    "layer" and "cache" with the KV-cache card and no phrase with anything we wrote.
    """
    from tutor.sparse import stopwords

    stop = stopwords()
    words = [fold(w) for w in _WORD.findall(text.lower()) if w not in stop and len(w) >= 2]
    return {f"{a} {b}" for a, b in zip(words, words[1:], strict=False)}


def group_key(chunk: Chunk) -> str:
    """A card's chunks form one group; a document chunk is a group of its own."""
    return chunk.card_id or chunk.id


def document_frequency(chunks: Iterable[Chunk]) -> tuple[dict[str, int], int]:
    """Per content word, how many groups use it; and the number of groups."""
    groups: dict[str, set[str]] = {}
    for c in chunks:
        groups.setdefault(group_key(c), set()).update(terms(c.embed_text()))
    df: dict[str, int] = {}
    for ts in groups.values():
        for t in ts:
            df[t] = df.get(t, 0) + 1
    return df, len(groups)


class Idf:
    """Corpus IDF over groups, looked up per word (no table of the whole vocabulary is built)."""

    def __init__(self, df: dict[str, int], n_groups: int) -> None:
        self.df = df
        self.n = n_groups
        self.max_idf = math.log(n_groups + 1) + 1  # a word we never indexed weighs the most

    def get(self, term: str, default: float) -> float:
        d = self.df.get(term)
        return default if d is None else math.log((self.n + 1) / (d + 1)) + 1


def build(chunks: list[Chunk], cards: list[Card]) -> dict:
    """The lexicon of an index, as the JSON object `save` writes."""
    df, n_groups = document_frequency(chunks)
    return {"version": VERSION, "glossary": build_glossary(cards).to_dict(), "df": df, "n_groups": n_groups,
            "card_pairs": sorted(card_pairs(chunks))}


def card_pairs(chunks: Iterable[Chunk]) -> set[str]:
    """Every word pair of the curated cards (~30k for 181 cards; documents' pairs are read per query)."""
    out: set[str] = set()
    for c in chunks:
        if c.card_id:
            out.update(pairs(c.embed_text()))
    return out


def save(lexicon: dict, folder: Path) -> None:
    with open(folder / FILE, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(lexicon, ensure_ascii=False, separators=(",", ":")))


def load(folder: Path) -> dict | None:
    """The saved lexicon, or None when it is of another version (the caller recomputes it)."""
    lexicon = json.loads((folder / FILE).read_text(encoding="utf-8"))
    if not isinstance(lexicon, dict) or lexicon.get("version") != VERSION:
        return None
    return lexicon


def glossary_of(lexicon: dict, max_spread: int) -> Glossary:
    return Glossary.from_dict(lexicon["glossary"], max_spread)
