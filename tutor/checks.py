"""Checking a model's answer against the passages it was given: citations repaired, unsupported
sentences withheld, and the answer released to the learner one checked sentence at a time.

Small models write grounded sentences and forget the markers, cite the wrong passage, loop, or add a
sentence from their own memory. Code fixes the first three and withholds the last (tutor/chain.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tutor import metrics
from tutor.counts import miscounted, uncounted
from tutor.grounding import OPENING_NO
from tutor.retrieve import Passage

_CITE = re.compile(r"\[(\d+)\]")
_CITE_LIST = re.compile(r"\[(\d+(?:\s*,\s*\d+)+)\]")
# Sentence ends (kept with the sentence) and line breaks; code blocks are short enough to pass whole.
_SENTENCE = re.compile(r"(?<=[.!?])(?=\s)|(?<=\n)")
_FOLLOW_UP_LINE = re.compile(r"^\W*follow[- ]?up( question)?\W*:\s*(.+)$", re.I | re.M)
_FOLLOW_UP_START = re.compile(r"\W*follow[- ]?up( question)?\W*:", re.I)
# A sentence ends at . ! or ? (with any markers after it: "… not BN. [1]") once whitespace and something
# other than a marker follow; a line ends at its newline. While streaming, the text after the last end waits.
# Not after "e.g." / "i.e." / "vs." / "cf.": half a sentence cannot be judged on its own.
_STOP_MARK = r"(?:(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\bcf)\.|[!?])"
_MARKERS_AFTER = r"(?:[ \t]*\[\d+(?:\s*,\s*\d+)*\])*"
_UNIT_END = re.compile(_STOP_MARK + _MARKERS_AFTER + r"(?=\s+[^\s\[])|\n", re.I)
_UNIT_END_LAST = re.compile(_STOP_MARK + _MARKERS_AFTER + r"(?=\s)|\n", re.I)
_LETTER = re.compile(r"[^\W\d_]")  # "1." before a list item is no sentence
_ITEM = re.compile(r"(?:[-*•]|(\d{1,2})([.)]))[ \t]+")  # a list item's marker at the start of a line
_FENCE = "```"
# "BPTT is a type of backpropagation through time (BPTT)": a definition by the term itself says nothing
# and reads as a claim (the 0.5B opens definitions this way); its support score is the term's.
_CIRCULAR = re.compile(r"^(?:an?|the)?\s*(.{2,60}?)\s+(?:is|are)\s+(?:an?|the)\s+(?:\w+\s+)?"
                       r"(?:type|kind|form|variant|version|method|technique)s?\s+of\s+(.+)$", re.I | re.S)
# An acronym and a spelled-out form after it: "ELBO (evidence lower bound)". Small models invent these
# ("ELBO (Expected Log-Probability of the Belief)"); lexical support cannot see it, the acronym carries it.
_EXPANSION = re.compile(r"\b([A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*)\s*"
                        r"\(([A-Za-z][A-Za-z-]*(?:\s+[A-Za-z][A-Za-z-]*)+)\)")
_FENCE_CLOSE = re.compile(r"\n[ \t]*```[^\n]*(?=\n)")
_FENCE_CLOSE_LAST = re.compile(r"\n[ \t]*```[^\n]*(?:\n|$)")


def sources_of(passages: list[Passage]) -> list[str]:
    """Each passage as the support checks read it (title and text), as the eval's judge reads it."""
    return [f"{p.title}\n{p.text}" for p in passages]


def check_sentence(sentence: str, sources: list[str]) -> tuple[str, bool | None]:
    """One sentence with its citations made true, and whether the passages support it.

    Support is the eval's lexical test (metrics.lexical_support): half the sentence's content words in one
    passage; None when the sentence is too short to carry a claim ("Yes.", "In short:"). A supported
    sentence keeps the markers of the passages that support it, loses those of passages that do not, and
    gets the best passage's marker when none is left (small models write grounded sentences without
    markers): a marker never vouches for a sentence its passage does not hold, which is how `tutor eval`
    counts an invalid citation. An unsupported sentence comes back unchanged; the caller withholds it.
    Markers of passages that were not given go in every case.
    """
    text = _CITE_LIST.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), sentence)
    text = _CITE.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(sources) else "", text)
    text = strip_invented_expansions(text, sources)
    claim = metrics.strip_markers(text)
    if circular(claim) or miscounted(claim) or uncounted(claim, sources):
        return _tidy(text), False
    scores = {n: metrics.lexical_support(claim, source) for n, source in enumerate(sources, 1)}
    judged = {n: s for n, s in scores.items() if s is not None}
    if not judged:
        return _tidy(text), None
    best = max(judged, key=judged.get)
    if judged[best] < metrics.LEXICAL_SUPPORT:
        return _tidy(text), False
    good = {n for n, s in judged.items() if s >= metrics.LEXICAL_SUPPORT}
    kept = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in good else "", text)
    if not _CITE.search(kept):
        kept = _end_cite(kept, best)
    return _tidy(kept), True


# The last words of a sentence cut off by the token limit ("…, where they"): a function word never ends one.
_DANGLING = frozenset(re.findall(r"\w+", "a an the and or but of to in on at by for with from as than that which who "
                                          "whose where when while because so if is are was were be been has have "
                                          "its their they it we you this these those such very more most"))


def cut_off(text: str) -> bool:
    """Whether the model's final words stop mid-sentence: no closing mark and a function word last."""
    claim = metrics.strip_markers(text).strip()
    if not claim or claim.startswith(_FENCE) or claim[-1] in ".!?:;)]}\"'`*":
        return False
    words = re.findall(r"[A-Za-z']+", claim)
    return bool(words) and words[-1].lower() in _DANGLING


def circular(claim: str) -> bool:
    """Whether a sentence defines a term as a kind of itself ("X is a type of ... X ...")."""
    m = _CIRCULAR.match(claim.strip())
    head = re.split(r"[,;:]|\b(?:that|which|where|who|whose|used|designed|to|in|for|with)\b",
                    m.group(2))[0] if m else ""
    return bool(m) and re.search(rf"(?<!\w){re.escape(m.group(1))}(?!\w)", head, re.I) is not None


def strip_invented_expansions(text: str, sources: list[str]) -> str:
    """The sentence without an acronym's spelled-out form that no passage gives: "ELBO (Expected
    Log-Probability of the Belief)" keeps "ELBO". Only a parenthesis of two or more words starting with the
    acronym's first letter after an acronym that a passage uses; a form the passages spell out stays."""
    def keep(m: re.Match) -> str:
        acronym, spelled = m.group(1), m.group(2)
        if spelled[0].lower() != acronym[0].lower() or not any(acronym in s for s in sources):
            return m.group(0)
        wanted = " ".join(spelled.lower().replace("-", " ").split())
        known = any(wanted in " ".join(s.lower().replace("-", " ").split()) for s in sources)
        return m.group(0) if known else acronym
    return _EXPANSION.sub(keep, text)


def validate(text: str, passages: list[Passage]) -> tuple[str, list[int]]:
    """The whole answer's citations repaired by `check_sentence`, each sentence said once (a looping model
    writes the same sentence again and again); nothing is withheld here: `CheckedAnswer` does that."""
    sources = sources_of(passages)
    out = []
    seen: set[str] = set()
    for sentence in _SENTENCE.split(text):
        key = _key(sentence)
        if len(key.split()) >= 4 and key in seen:
            continue
        seen.add(key)
        body = sentence.strip()
        checked = check_sentence(body, sources)[0] if body else ""
        out.append(sentence.replace(body, checked, 1) if body else sentence)
    text = "".join(out)
    return re.sub(r"[ \t]+([.,;])", r"\1", text).strip(), cited_numbers(text)


def cited_numbers(text: str) -> list[int]:
    return sorted({int(n) for n in _CITE.findall(text)})


Verdicts = list[tuple[str, bool]]


def verdicts(text: str, passages: list[Passage]) -> Verdicts:
    """(sentence, unsupported?) for each checkable sentence, by the eval's first, lexical test
    (metrics.lexical_support): under half of a sentence's content words in every passage."""
    sources = sources_of(passages)
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


def split_follow_up(text: str) -> tuple[str, str | None]:
    """The answer body, and the model's suggested next question (not a factual claim: never validated)."""
    m = _FOLLOW_UP_LINE.search(text)
    if not m:
        return text, None
    question = _CITE.sub("", m.group(2)).strip().strip("*").strip()
    question = re.sub(r"\s+([?.!,;:])", r"\1", question)
    return text[: m.start()].rstrip(), (question if 8 <= len(question) <= 200 else None)


class CheckedAnswer:
    """A model's answer checked one sentence at a time, so that what the learner reads is what was checked.

    `feed` takes the text the StreamGuard releases and returns what may be shown now: whole sentences
    (lines, code blocks) after `check_sentence`, never a word of one still being written. A sentence no
    passage supports is withheld, cited or not; one said before is skipped. The answer the chain keeps is
    exactly the text this released (`text`), so the terminal, the app and `--json` show one answer.

    Sentences are shown only once the answer is sure to be kept on their account: once `keep_min`
    supported sentences are in (the chain keeps a model answer that has them; tutor/chain.py), or at the
    end (`rest`) when the chain keeps it. Until then they wait, so an answer that will be replaced is not
    shown first. `refutes(sentence, n)` says whether passage n's card contradicts a sentence that cites
    it (lexical support cannot: "batch norm uses the batch's statistics at test time" shares the card's
    words); such a sentence is withheld as unsupported. `withdraws(checked_text)` is a whole-answer test
    the chain runs as sentences arrive (a restated false claim); once true, or after `stop()` (a recital,
    a decline), nothing more is shown.
    A line that opens "Follow-up:" ends the answer: the suggested question (`follow_up`) is no claim.

    Costs latency: a sentence shows when it ends (1-2 s of tokens on two cores) rather than word by word.
    Worth it: the 0.5B wrote no markers on 5 of 5 answers QA compared, so the words it streamed were never
    the cited answer, and a sentence from its own memory was on screen before any check.
    """

    def __init__(self, passages: list[Passage], *, keep_min: int = 1, strip_no: bool = False,
                 withdraws: Callable[[str], bool] | None = None,
                 refutes: Callable[[str, int], bool] | None = None) -> None:
        self.sources = sources_of(passages)
        self.keep_min, self.withdraws, self.refutes = keep_min, withdraws, refutes
        self._strip_no, self._capitalize = strip_no, False
        self._buffer = ""
        self._gap = ""  # whitespace owed before the next kept sentence (a withheld one's merges into it)
        self._held: list[tuple[str, str]] = []  # kept, not yet shown: (whitespace before, sentence)
        self._seen: set[str] = set()
        self._follow: str | None = None
        self._orphan = ""  # a withheld item's marker, owed to the item's next kept sentence on that line
        self._number: int | None = None  # the last number shown in the current numbered list
        self._closed = False
        self.shown = ""  # released so far
        self.checked = ""  # every sentence after its check, withheld ones too (what `withdraws` reads)
        self.judged = self.unsupported = self.supported = self.refuted = 0
        self.stopped = False

    # ---- what the chain reads ----------------------------------------------------------------------

    @property
    def text(self) -> str:
        """The answer as kept: what was shown, then what still waits."""
        return self.shown + self._join(self._held, bool(self.shown))

    @property
    def share(self) -> float | None:
        """Share of the checkable sentences no passage supports (None: nothing to check)."""
        return self.unsupported / self.judged if self.judged else None

    @property
    def follow_up(self) -> str | None:
        return split_follow_up(self._follow)[1] if self._follow else None

    # ---- streaming ---------------------------------------------------------------------------------

    def feed(self, text: str) -> str:
        """Take released model text; return the checked sentences that may be shown now (often "")."""
        self._buffer += text
        self._split(last=False)
        return self._release() if self.supported >= self.keep_min else ""

    def close(self, text: str = "") -> None:
        """The model finished (`text`: the guard's held tail): check what is left, shown only by `rest`."""
        if not self._closed:
            self._closed = True
            self._buffer += text
            self._split(last=True)

    def rest(self) -> str:
        """Everything kept and not yet shown, once the chain keeps the answer (a `stop` only held it back:
        the chain's final checks decide)."""
        self.close()
        self.stopped = False
        return self._release()

    def stop(self) -> None:
        """A whole-answer problem: nothing more is shown (the chain replaces the answer)."""
        self.stopped = True

    # ---- inside --------------------------------------------------------------------------------------

    def _split(self, last: bool) -> None:
        ends, fence_close = (_UNIT_END_LAST, _FENCE_CLOSE_LAST) if last else (_UNIT_END, _FENCE_CLOSE)
        while True:
            rest = self._buffer.lstrip()
            gap = self._buffer[: len(self._buffer) - len(rest)]
            if not rest:
                return
            if rest.startswith(_FENCE):  # a code block is judged whole, fence to fence
                m = fence_close.search(rest, len(_FENCE))
                end = m.end() if m else (len(rest) if last else -1)
            else:
                end, start = -1, 0
                while (m := ends.search(rest, start)) is not None:
                    end = m.start() if m.group(0) == "\n" else m.end()
                    if _LETTER.search(rest[:end]):
                        break
                    end, start = -1, m.end()
                if end < 0 and last:
                    end = len(rest)
            if end < 0:
                return
            self._buffer = rest[end:]
            unit = rest[:end].rstrip()
            self._sentence(gap, unit, cut=last and not self._buffer.strip() and cut_off(unit))

    def _sentence(self, gap: str, text: str, cut: bool = False) -> None:
        if self._follow is not None:
            self._follow += gap + text
            return
        if (not self.checked or "\n" in gap) and _FOLLOW_UP_START.match(text):
            self._follow = text
            return
        if self._strip_no:  # the correction already said "No:" (tutor/correction.py)
            self._strip_no, self._capitalize = False, True
            text = OPENING_NO.sub("", text, count=1)
        if text and self._capitalize:
            self._capitalize, text = False, text[:1].upper() + text[1:]
        key = _key(text)
        if not key or (len(key.split()) >= 4 and key in self._seen):
            self._gap = _wider(self._gap, gap)
            return
        starts_line = "\n" in gap or not self.checked
        item = _ITEM.match(text) if starts_line else None
        if starts_line:
            self._orphan = ""
            if item and item.group(1) == "1":
                self._number = 0  # a new numbered list
        self._seen.add(key)
        code = text.startswith(_FENCE)
        text, supported = (text, _code_supported(text, self.sources)) if code else check_sentence(text, self.sources)
        if cut:  # the model ran out of tokens mid-sentence ("…, where they [1]"): no claim to show
            supported = False
        if supported and self.refutes is not None and any(  # the card it cites says otherwise
                self.refutes(metrics.strip_markers(text), int(n)) for n in dict.fromkeys(_CITE.findall(text))):
            self.refuted += 1
            supported = False
        self.checked += (_spacing(gap) if self.checked else "") + text
        if supported is not None:
            self.judged += 1
        if supported is False:
            self.unsupported += 1
            self._gap = _wider(self._gap, gap)
            self._orphan = item.group(0) if item else self._orphan
        else:
            self.supported += bool(supported)
            if self._orphan and not starts_line:  # the rest of an item whose first sentence was withheld
                text, self._orphan, starts_line = self._orphan + text, "", True
            self._held.append((_wider(self._gap, gap), self._renumber(text) if starts_line else text))
            self._gap = ""
        if self.withdraws is not None and not self.stopped and self.withdraws(self.checked):
            self.stop()

    def _renumber(self, line: str) -> str:
        """A kept numbered item takes the next number of its list, so a withheld item leaves no gap
        ("1. … 3. …"); a line that is no item ends the list."""
        item = _ITEM.match(line)
        if item is None:
            self._number = None
            return line
        if item.group(1) is None:  # a bullet
            return line
        self._number = (self._number or 0) + 1
        return f"{self._number}{item.group(2)} {line[item.end():]}"

    def _release(self) -> str:
        if self.stopped or not self._held:
            return ""
        out = self._join(self._held, bool(self.shown))
        self._held = []
        self.shown += out
        return out

    @staticmethod
    def _join(held: list[tuple[str, str]], after_text: bool) -> str:
        out = ""
        for gap, text in held:
            out += (_spacing(gap) if out or after_text else "") + text
        return out


def _key(sentence: str) -> str:
    return " ".join(_CITE.sub("", sentence).lower().split())


def _wider(a: str, b: str) -> str:
    return a if a.count("\n") >= b.count("\n") else b


def _spacing(gap: str) -> str:
    """The whitespace between two kept sentences: a paragraph break, a line break or a space."""
    return "\n" * min(gap.count("\n"), 2) or " "


def _code_supported(block: str, sources: list[str]) -> bool | None:
    """A code block is supported when none of its checkable lines is unsupported (None: none checkable)."""
    found = []
    for line in block.splitlines()[1:-1]:
        scores = [v for v in (metrics.lexical_support(line, s) for s in sources) if v is not None]
        if scores:
            found.append(max(scores) >= metrics.LEXICAL_SUPPORT)
    return all(found) if found else None


def _tidy(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", re.sub(r"[ \t]+([.,;!?])(?=\s|$)", r"\1", text)).strip()


def _end_cite(sentence: str, n: int) -> str:
    body = sentence.rstrip()
    tail = sentence[len(body):]
    if body and body[-1] in ".!?:":
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}{tail}"
    return f"{body} [{n}]{tail}"
