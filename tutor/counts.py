"""Counted lists in a claim: "a GRU has three gates, update and reset" names two.

A small model gets counts wrong while copying the list right, and lexical support cannot see it: every
word of "three gates, update and reset" is in a passage that says "two gates, update and reset". The
claim contradicts itself, though: the number is not the length of the list that follows it. Only a plain
list is read (two or more items of at most three words, joined by commas / "and" / "or", running to the
end of the clause); anything else ("two gates, which control …") is left alone. Not read against the
passages: a claim listing fewer of the passages' items under a smaller number ("its two main gates, forget
and input") is no error, and the same items under another number is the case above.
"""

from __future__ import annotations

import re

_NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_NUMBER = "|".join([*_NUMBERS, r"[2-9]", "10"])
# "three gates, update and reset" / "two phases: prefill and decode". Not a parenthesis: "two random
# augmentations (crop, colour jitter, blur)" gives examples, "10 mantissa bits (more precision, …)" a gloss;
# one adjective may sit between the number and the noun ("two learned gates"), or "kinds of" ("three kinds
# of layers: input, hidden and output").
_COUNTED = re.compile(rf"\b({_NUMBER})\s+(?:[a-z-]+\s+)?(?:(?:kinds?|types?|sorts?)\s+of\s+)?"
                      r"([a-z-]{3,}s)\s*(?:,|:|--|—|–)\s*([^.;:()\n]+)", re.I)
_SPLIT = re.compile(r"\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s+or\s+", re.I)
# A word that makes an "item" a clause or a gloss rather than a name ("two layers, something like 2-2-1,
# with nonlinear activations"): the list is something else, so it is not read.
_CLAUSE = frozenset(re.findall(r"\w+", "is are was were be has have had that which who whose where when while because "
                                      "so to can could will would may might must should each both all it they "
                                      "this these those not no do does also than then with like such as e g i for "
                                      "from by via using"))
_ARTICLE = re.compile(r"^(?:the|a|an)\s+", re.I)
_MAX_ITEM_WORDS = 3


def counted_lists(text: str) -> list[tuple[int, str, tuple[str, ...]]]:
    """(number, noun, items) for each plain list a number announces in `text`."""
    out = []
    for m in _COUNTED.finditer(text):
        raw = m.group(1).lower()
        number = _NUMBERS.get(raw) or int(raw)
        items = tuple(_ARTICLE.sub("", i.strip().lower()) for i in _SPLIT.split(m.group(3).strip()) if i.strip())
        if len(items) < 2 or any(len(i.split()) > _MAX_ITEM_WORDS or _CLAUSE & set(i.split()) for i in items):
            continue
        out.append((number, _singular(m.group(2)), items))
    return out


def miscounted(claim: str) -> bool:
    """Whether a number in `claim` announces a list of another length."""
    return any(len(items) != number for number, _, items in counted_lists(claim))


def _singular(noun: str) -> str:
    noun = noun.lower()
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
