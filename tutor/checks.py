"""Checking a model's answer against the passages it was given: citations repaired, unsupported
sentences measured and, when the rest of the answer stands, dropped.

Small models write grounded sentences and forget the markers, cite the wrong passage, loop, or add a
sentence from their own memory. Code fixes the first three and decides about the last (tutor/chain.py).
"""

from __future__ import annotations

import re

from tutor.retrieve import Passage, terms

_CITE = re.compile(r"\[(\d+)\]")
_CITE_LIST = re.compile(r"\[(\d+(?:\s*,\s*\d+)+)\]")
# Sentence ends (kept with the sentence) and line breaks; code blocks are short enough to pass whole.
_SENTENCE = re.compile(r"(?<=[.!?])(?=\s)|(?<=\n)")


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
    return re.sub(r"[ \t]+([.,;])", r"\1", text).strip(), cited_numbers(text)


def cited_numbers(text: str) -> list[int]:
    return sorted({int(n) for n in _CITE.findall(text)})


Verdicts = list[tuple[str, bool]]


def verdicts(text: str, passages: list[Passage]) -> Verdicts:
    """(sentence, unsupported?) for each checkable sentence, by the eval's first, lexical test
    (metrics.lexical_support): under half of a sentence's content words in every passage.

    Computed once per answer: `unsupported_share` and `drop_unsupported` both read them.
    """
    from tutor import metrics

    sources = [f"{p.title}\n{p.text}" for p in passages]
    out = []
    for sentence in metrics.split_sentences(text):
        scores = [v for v in (metrics.lexical_support(metrics.strip_markers(sentence), s) for s in sources)
                  if v is not None]
        if scores:
            out.append((sentence, max(scores) < metrics.LEXICAL_SUPPORT))
    return out


def unsupported_share(found: Verdicts) -> float | None:
    """Share of the answer's checkable sentences that no passage supports, from its `verdicts` (None:
    nothing to check). The follow-up line is split off before this, so a question never counts."""
    return sum(bad for _, bad in found) / len(found) if found else None


def drop_unsupported(text: str, found: Verdicts) -> tuple[str, int, int]:
    """The answer without the sentences `found` unsupported (its `verdicts`), how many were dropped, and
    how many checkable, supported sentences remain: the caller decides whether what remains is enough."""
    for sentence, bad in found:
        if bad:
            text = text.replace(sentence, "", 1)
    text = re.sub(r"[ \t]{2,}", " ", re.sub(r"\n{3,}", "\n\n", text)).strip()
    dropped = sum(bad for _, bad in found)
    return text, dropped, len(found) - dropped


def _end_cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    tail = sentence[len(body):]
    if body and body[-1] in ".!?:":
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}{tail}"
    return f"{body} [{n}]{tail}"
