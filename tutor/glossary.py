"""Acronyms and other names, so "what is BPTT" retrieves "backpropagation through time".

MiniLM barely knows most deep-learning acronyms (the BPTT question scored cosine 0.34 against its own
card), and BM25 only matches the acronym where a card happens to spell it. Two sources feed the glossary:

- a card's `aliases:` (its acronyms and other names): each alias names that card, and the card's other
  names are its expansion;
- acronyms a card defines in passing, "long form (ACRONYM)": the long form is the expansion, found the
  way Schwartz and Hearst's abbreviation finder does it (the long form starts with the acronym's first
  letter and contains its letters in order).

At query time `expand` appends the other names of every term the question uses, and `cards_named` says
which cards the question names by an alias, for the retriever to vote for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from tutor.cards import Card

# "long form (ACR)" where ACR has at least two capitals and no spaces: BPTT, MoE, RoPE, WGAN-GP.
# Found in two steps, the "(ACR)" first and then the up-to-nine words before it: one pattern doing both
# tried nine-word runs at every character of every card (0.45 s of each cold query).
_ACRONYM = re.compile(r"\s+\(([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*)\)")
_WORDS_BEFORE = re.compile(r"(?:[\w'-]+\s+){0,8}[\w'-]+\Z")
_MAX_EXPANSIONS = 4
_GLUE = {"of", "the", "and", "for", "to", "in", "on", "a", "an", "with", "by"}


def _norm(term: str) -> str:
    return " ".join(term.lower().split())


def long_form(words: str, acronym: str) -> str | None:
    """The shortest tail of `words` that the acronym abbreviates, or None (Schwartz-Hearst style)."""
    letters = [c.lower() for c in acronym if c.isalpha()]
    if len(letters) < 2:
        return None
    tokens = words.split()
    for start in range(len(tokens) - 1, max(-1, len(tokens) - len(letters) - 3), -1):
        candidate = tokens[start:]
        if candidate[0][:1].lower() != letters[0]:
            continue
        # Every content word starts with one of the acronym's letters, and none is an acronym itself:
        # "masked patches (MAE)" and "LLM-focused roles add fine-tuning (LoRA)" are not definitions.
        if any(w.lower() not in _GLUE and (w[:1].lower() not in letters or sum(c.isupper() for c in w) > 1)
               for w in candidate):
            continue
        text = " ".join(candidate).lower()
        pos = 0
        for letter in letters:
            pos = text.find(letter, pos)
            if pos < 0:
                break
            pos += 1
        else:
            phrase = " ".join(candidate).strip("'-")
            return phrase if phrase.lower() != acronym.lower() else None
    return None


def defined_acronyms(text: str) -> list[tuple[str, str]]:
    """(acronym, long form) for each "long form (ACRONYM)" in a text."""
    out = []
    start = 0  # a definition's words never reach back into the previous one
    for m in _ACRONYM.finditer(text):
        words = _words_before(text, start, m.start())
        if words is None:
            continue
        start = m.end()
        found = long_form(words, m.group(1))
        if found:
            out.append((m.group(1), found))
    return out


def _words_before(text: str, start: int, end: int) -> str | None:
    """The last one to nine whitespace-separated words of text[start:end] that end exactly at `end`."""
    window = max(start, end - 400)
    while True:
        m = _WORDS_BEFORE.search(text, window, end)
        if m is None or m.start() > window or window == start:
            return None if m is None else m.group(0)
        window = max(start, window - 4000)  # the words may begin before the window: look further back


def is_acronym(term: str) -> bool:
    """BPTT, MoE, RoPE, KV cache, TF-IDF: a word with two or more capitals."""
    return any(sum(c.isupper() for c in word) >= 2 for word in term.split())


def _pattern(term: str) -> re.Pattern[str]:
    # Two-letter acronyms (BN, LN, KD, LR) match only as written: "ln" is a logarithm, "lr" a variable.
    # A trailing capital takes a plural: "LLMs", "GRUs".
    body = re.escape(term).replace(r"\ ", r"[\s-]+")
    plural = "s?" if term[-1].isupper() else ""
    flags = 0 if len(term) <= 2 else re.I
    return re.compile(rf"(?<![\w-]){body}{plural}(?![\w-])", flags)


@dataclass
class Glossary:
    """Term → its other names, and alias → the cards that declare it."""

    names: dict[str, list[str]] = field(default_factory=dict)  # normalized term -> expansions, in order
    cards: dict[str, list[str]] = field(default_factory=dict)  # normalized alias -> card ids
    spelled: dict[str, str] = field(default_factory=dict)  # normalized term -> how a card spells it
    spread: dict[str, int] = field(default_factory=dict)  # normalized term -> how many cards use it
    max_spread: int = 10**9  # terms used by more cards than this are left alone (see `terms_in`)
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)
    _order: list[str] | None = field(default=None, repr=False)  # terms, longest first

    def _add_names(self, term: str, others: Iterable[str]) -> None:
        key = _norm(term)
        self.spelled.setdefault(key, term.strip())
        known = self.names.setdefault(key, [])
        for other in others:
            if _norm(other) != key and _norm(other) not in map(_norm, known):
                known.append(other.strip())

    def terms_in(self, question: str) -> list[str]:
        """Glossary terms the question uses (normalized), longest first so "KV cache" beats "KV".

        Only terms that few cards use count. A widespread one (CNN, LLM, GAN) is a topic MiniLM and
        BM25 already handle, and in "why use a Wasserstein loss for GANs" it is the setting, not the
        subject: expanding it or voting for its card pulled the general card above the specific one.
        """
        found: list[str] = []
        folded = question.casefold()
        for key in self._by_length():
            if self.spread.get(key, 0) > self.max_spread:
                continue
            # Each word of a term is in any text its pattern matches: a substring test rules out most
            # terms before a regex is compiled (compiling all ~160 was ~0.1 s of a cold query).
            if not all(word.casefold() in folded for word in key.split()):
                continue
            pattern = self._patterns.get(key)
            if pattern is None:
                pattern = self._patterns[key] = _pattern(self.spelled[key])
            if pattern.search(question) and not any(f" {key} " in f" {longer} " for longer in found):
                found.append(key)
        return found

    def _by_length(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self.spelled, key=len, reverse=True)
        return self._order

    def to_dict(self) -> dict:
        """The tables `tutor ingest` saves in the index (tutor/lexicon.py); `max_spread` is the reader's."""
        return {"names": self.names, "cards": self.cards, "spelled": self.spelled, "spread": self.spread}

    @classmethod
    def from_dict(cls, data: dict, max_spread: int = 10**9) -> Glossary:
        return cls(dict(data["names"]), dict(data["cards"]), dict(data["spelled"]), dict(data["spread"]),
                   max_spread)

    def expand(self, question: str) -> str:
        """The question with the other names of each term it uses appended in brackets."""
        lowered = question.lower()
        extra: list[str] = []
        for key in self.terms_in(question):
            for name in self.names.get(key, [])[:_MAX_EXPANSIONS]:
                if name.lower() not in lowered and name.lower() not in map(str.lower, extra):
                    extra.append(name)
        return f"{question} ({'; '.join(extra)})" if extra else question

    def cards_defined(self, question: str) -> list[str]:
        """The cards that declare the question's whole subject as an alias: "what is ReLU" asks for the
        card named ReLU, however many other cards use the word (`terms_in` leaves widespread terms alone,
        where they are the setting of a question rather than its subject)."""
        typed = definition_term(question)
        if typed is None:
            return []
        for term in (_norm(typed), _norm(typed[:-1]) if typed.endswith("s") else ""):
            # Two letters name a card only as a card writes them: "what is ln" asks about a logarithm.
            if term in self.cards and (len(term) > 2 or typed.rstrip("s") == self.spelled.get(term)):
                return list(self.cards[term])
        return []

    def cards_named(self, question: str) -> list[str]:
        """Cards whose alias the question uses, in the order the terms were found."""
        out: list[str] = []
        for key in self.terms_in(question):
            out += [c for c in self.cards.get(key, []) if c not in out]
        return out


# "what is ReLU", "explain LoRA", "define BPTT?", "what does KV cache mean", "why do we use dropout", "what are
# the pros and cons of Adam", "when should I use GRUs", and as learners and public lists also put it: "can you
# explain CNNs?", "what do you know about RLHF?", "I don't really understand GANs", "what problem does batch
# norm solve?", "how is dropout implemented?", "explain the concept of attention", "what is dropout and why
# is it important?", "what is the role of dropout in deep learning?", "how would you explain LSTMs to a
# non-technical person?", "CNNs explained", "intro to RLHF": the whole subject is one term.
_OPENERS = (
    # longer forms before "what is"
    r"what\s+(?:are|is)\s+the\s+(?:pros\s+and\s+cons|advantages(?:\s+and\s+disadvantages)?|disadvantages|"
    r"benefits|drawbacks|limitations|strengths\s+and\s+weaknesses)\s+of(?:\s+using)?",
    r"what(?:'s|\s+is|\s+are)\s+the\s+(?:intuition|idea|main\s+idea|point|purpose|concept|role)\s+(?:behind|of)",
    r"what\s+are\s+the\s+(?:different\s+|main\s+|common\s+|key\s+)?(?:types|kinds|variants|components|parts)\s+of",
    r"what\s+is\s+meant\s+by", r"what\s+do\s+(?:you|we|they|people)\s+mean\s+by",
    r"what\s+problems?\s+(?:does|do|is|are)",
    # "which types of optimizers do you know?", "what kinds of pooling are there?" (with an ending below)
    r"which(?:\s+(?:different\s+)?(?:types?|kinds?|sorts?|variants?)\s+of)?",
    r"what\s+(?:different\s+)?(?:types?|kinds?|sorts?|variants?)\s+of",
    r"what\s+(?:do|can)\s+you\s+(?:know|tell\s+me)\s+about",
    r"what(?:'s|s|\s+is|\s+are|\s+does|\s+do)",
    r"(?:how\s+(?:would|do|can)\s+you\s+)?(?:explain|describe)(?:\s+the\s+(?:concept|idea|basics)\s+of)?",
    # "how to use X?", "how do you implement X?", "how should I choose the learning rate?"
    r"how\s+(?:to|(?:do|would|can|should|could)\s+(?:you|we|i|one))\s+(?:use|implement|apply|choose|pick|select|"
    r"set|tune)",
    r"compare",
    r"define", r"discuss", r"(?:tell|teach)\s+me\s+about", r"(?:give\s+(?:me\s+)?)?an\s+overview\s+of",
    r"(?:an?\s+)?(?:quick\s+|short\s+|simple\s+)?(?:explanation|intro(?:duction)?)\s+(?:of|to)",
    r"(?:walk|talk|take)\s+me\s+through", r"(?:give\s+(?:me\s+)?)?(?:an?\s+|some\s+)?examples?\s+of",
    r"(?:help\s+me\s+)?understand",
    r"i\s+(?:do\s+not|don'?t|can'?t|cannot)\s+(?:really\s+|quite\s+|fully\s+)?(?:understand|get|grasp)",
    r"i'?m\s+(?:a\s+bit\s+|really\s+|so\s+|still\s+)?confused\s+(?:about|by)",
    r"how\s+(?:does|do|is|are)",
    r"why\s+(?:do|would|should|did)\s+(?:we|you|i|people)\s+(?:use|need)", r"why\s+(?:is|are|does|do)",
    r"when\s+(?:should|would|do|to)\s+(?:(?:we|you|i|one)\s+)?use",
    # a turn that moves to a new subject: "what about ZeRO?", "how about GRUs?", "and LSTMs?"
    r"(?:and\s+)?(?:what|how)\s+about", r"and",
)
# What is asked about the subject rather than the subject: "… mean", "… used for", "… and why is it
# important?", "…? How does it work?", "… in deep learning", "… to a non-technical person".
_ENDINGS = (
    r"\s+(?:mean|stand\s+for|do|work|used(?:\s+for)?|needed|important|useful|help|solve|address|implemented|"
    r"computed|calculated|trained|101)",
    r",?\s+explained",
    r"\s*[-–—:]\s*what\s+(?:is|are)\s+(?:it|they|that)",
    r"\s+(?:too|as\s+well|also|instead|then|now)",
    r"\s*[?.]?\s*(?:and\s+)?(?:why|how)\s+(?:is|are|does|do)\s+(?:it|they|this|that)\s+(?:so\s+)?"
    r"(?:important|useful|needed|necessary|used|work|matter|help|helpful)",
    r"\s+in\s+(?:deep\s+learning|machine\s+learning|neural\s+networks|ml|dl|ai)",
    # a second question about the same subject: "What is X? Why do we need it?", "…? What is it used for?"
    r"\s*[?.]?\s*(?:and\s+)?why\s+(?:do|would|should)\s+(?:we|you|i|one)\s+(?:need|use|want)\s+"
    r"(?:it|them|this|these|that)",
    r"\s*[?.]?\s*(?:and\s+)?what\s+(?:is|are)\s+(?:it|they|this|these|that)\s+(?:used|good)\s+for",
    r"\s+(?:work\s+)?in\s+practice", r"\s+(?:with|to)\s+(?:the\s+|its\s+)?alternatives",
    r"\s+(?:do\s+you\s+know|are\s+there|exist|can\s+you\s+name)",
    r"\s+to\s+(?:an?\s+|your\s+)?(?:non-?technical\s+(?:person|audience|stakeholder|manager|friend)|child|kid|"
    r"beginner|layman|five[- ]year[- ]old|manager|product\s+manager)",
)
_DEFINITION = re.compile(
    r"^\s*(?:(?:so,?\s+|and\s+|ok(?:ay)?,?\s+|hi,?\s+|hey,?\s+|now,?\s+|next,?\s+|then,?\s+|alright,?\s+)*"
    # a label or the field named first: "Quick question: what is X?", "In deep learning, what is X?"
    r"(?:(?:quick|simple|basic|short|one|a)\s+question\s*[:,-]\s*|in\s+(?:deep\s+learning|machine\s+learning|ml|dl|ai|"
    r"nlp|computer\s+vision|neural\s+networks)\s*,\s*)?"
    # a polite or conversational request around the same question: "can you explain X?", "please define X"
    r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+)?"
    rf"(?:{'|'.join(_OPENERS)})\s+)?"
    r"(?:an?\s+|the\s+)?(?P<term>[^?!.,;:]+?)"
    rf"(?:{'|'.join(_ENDINGS)})?(?:\s+exactly)?\s*[?.!]*\s*$", re.I)


def definition_term(question: str) -> str | None:
    """The whole subject of a definition question ("what is a transformer" → "transformer"), or None."""
    m = _DEFINITION.match(question)
    return m.group("term").strip() if m else None


# A sentence ends at . ? or ! before a capital: "What is dropout? Why is it useful?", not at "L1 vs. L2".
_SENTENCE_END = re.compile(r"(?<=[.?!])(?<!\bvs\.)(?<!\bv\.)(?<!e\.g\.)(?<!i\.e\.)(?<!\betc\.)(?<!\bcf\.)\s+(?=[A-Z])")


def question_parts(question: str) -> list[str]:
    """The question, then, when it has several sentences, each of them that asks something ("…?", two words
    or more): the public lists put context first ("BLEU is a popular metric for translation. What are its
    pros and cons?") or chain questions on one subject ("What is dropout? Why is it useful?")."""
    sentences = [s for s in _SENTENCE_END.split(question.strip()) if s]
    if len(sentences) < 2:
        return [question]
    return [question, *(s for s in sentences if s.endswith("?") and len(s.split()) >= 2)]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def build_glossary(cards: Iterable[Card], max_spread: int = 10**9) -> Glossary:
    """The glossary of these cards; terms used by more than `max_spread` cards are not expanded."""
    glossary = Glossary(max_spread=max_spread)
    cards = list(cards)
    for card in cards:
        for alias in card.aliases:
            glossary.cards.setdefault(_norm(alias), []).append(card.id)
            # An acronym expands to the card's spelled-out names; one name does not expand to its
            # siblings ("PTQ" to "GPTQ, AWQ"), which would pull in whatever else the card mentions.
            glossary._add_names(alias, [a for a in card.aliases if not is_acronym(a)] if is_acronym(alias) else [])
    for card in cards:
        for acronym, phrase in defined_acronyms(f"{card.question}\n{card.answer}"):
            glossary._add_names(acronym, [phrase])
            glossary._add_names(phrase, [acronym])
    vocab = [_words(" ".join([c.question, *c.also_asked, *c.aliases, c.answer])) for c in cards]
    for key in glossary.spelled:
        words = _words(key)
        # a plural counts: "GANs" is a use of GAN
        glossary.spread[key] = sum(all(w in v or f"{w}s" in v for w in words) for v in vocab)
    return glossary
