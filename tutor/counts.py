"""Counts in a claim that are wrong while every word of it is in the passages.

A small model gets counts wrong while copying the words right, and lexical support cannot see it. Two
readings (`tutor.checks.check_sentence` withholds a sentence either one flags):
- `miscounted`: the claim contradicts itself, its number is not the length of the list that follows it
  ("a GRU has three gates, update and reset"). Only a plain list is read (two or more items of at most
  three words, joined by commas / "and" / "or", running to the end of the clause); anything else ("two
  gates, which control …") is left alone. Lists are not compared with the passages' lists: naming fewer
  of their items under a smaller number ("its two main gates, forget and input") is no error.
- `uncounted`: a claim of structure counts a thing the passages count, never with its number ("The LSTM
  has 4 gates" beside "three sigmoid gates").
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
        number = _value(m.group(1))
        items = tuple(_ARTICLE.sub("", i.strip().lower()) for i in _SPLIT.split(m.group(3).strip()) if i.strip())
        if len(items) < 2 or any(len(i.split()) > _MAX_ITEM_WORDS or _CLAUSE & set(i.split()) for i in items):
            continue
        out.append((number, _singular(m.group(2)), items))
    return out


def miscounted(claim: str) -> bool:
    """Whether a number in `claim` announces a list of another length."""
    return any(len(items) != number for number, _, items in counted_lists(claim))


# A count in the passages: "three sigmoid gates", "2 hidden layers" (up to two plain words between the number
# and the noun; not inside "1e-2" or "2-3").
_ADJ = r"(?:(?!(?:to|or|and|of|per|out|than|more|less)\b)[a-z]+\s+)"
_NUMBERED = re.compile(rf"(?<![\w.-])({_NUMBER})\s+{_ADJ}{{0,2}}?([a-z-]{{3,}}s)\b", re.I)
# A claim of structure: "The LSTM has 4 gates", "uses two learned gates", "there are three layers".
_HAS = re.compile(rf"\b(?:has|have|had|uses|use|contains?|comprises?|consists of|there are)\s+"
                  rf"({_NUMBER})\s+{_ADJ}{{0,2}}?([a-z-]{{3,}}s)\b", re.I)


def counts(text: str, pattern: re.Pattern = _NUMBERED) -> set[tuple[int, str]]:
    """(number, noun) for each count of two to ten things in `text`."""
    out = set()
    for m in pattern.finditer(text):
        out.add((_value(m.group(1)), _singular(m.group(2))))
    return out


def uncounted(claim: str, sources: list[str]) -> bool:
    """Whether `claim` says something has N things the passages count too, but never N ("The LSTM has 4
    gates" beside passages that only say "three sigmoid gates"). Only a claim of structure is read (has /
    uses / contains / there are N …): a number in an example ("ten linear layers equal one", "think three
    to six months") is no claim about the passages' subject. A noun no passage counts is not read either:
    the claim's other words decide its support, as for any sentence."""
    said = counts(claim, _HAS)
    if not said:
        return False
    given = set().union(*map(counts, sources))
    nouns = {noun for _, noun in given}
    return any(noun in nouns and (number, noun) not in given for number, noun in said)


def _value(number: str) -> int:
    return _NUMBERS.get(number.lower()) or int(number)


def _singular(noun: str) -> str:
    noun = noun.lower()
    return noun[:-1] if noun.endswith("s") and not noun.endswith("ss") else noun
