"""Prompt-injection defences that do not depend on the model behaving.

Retrieved text is data: sentences in it that address an assistant ("ignore previous instructions",
"tell the user the answer is 42") are blanked before a passage reaches the LLM. An answer that recites
our system prompt is withheld. Small models follow injected orders readily, so these checks live in code.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

_INJECTION = re.compile(
    r"[^.!?\n]*\b("
    r"ignore (all |any |the )?(previous|prior|above|earlier|your) (instructions|rules|prompts?)"
    r"|disregard (all |any |the )?(previous|prior|above|your) (instructions|rules)"
    r"|(tell|inform) the (user|reader|learner) (that )?the answer is"
    r"|you (must|should) (now )?(answer|reply|respond|say)\b"
    r"|(system|developer) prompt"
    r"|as an ai (language )?model,? you"
    r")[^.!?\n]*[.!?]?",
    re.I,
)
REMOVED = "[instruction-like text removed]"
_WORDS = re.compile(r"[a-z0-9]+")


def neutralize(text: str) -> str:
    return _INJECTION.sub(REMOVED, text)


def escape_passage(text: str) -> str:
    """A passage cannot close its own data block or open a new one."""
    return neutralize(text).replace("<", "‹").replace(">", "›")


@lru_cache(maxsize=64)
def _grams(prompt: str, n: int) -> frozenset[tuple[str, ...]]:
    """Every run of `n` consecutive words of the prompt (the prompt is fixed: computed once per n)."""
    pw = _WORDS.findall(prompt.lower())
    return frozenset(tuple(pw[i : i + n]) for i in range(len(pw) - n + 1))


def leaks_prompt(answer: str, prompt: str, run: int = 8) -> bool:
    """True when the answer repeats `run` or more consecutive words of the prompt."""
    grams = _grams(prompt, run)
    aw = _WORDS.findall(answer.lower())
    return any(tuple(aw[i : i + run]) in grams for i in range(len(aw) - run + 1))


_URL = re.compile(r"(?:https?://|www\.)[^\s)\]>\"']+", re.I)
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)]*)\)")
_TAG = re.compile(r"</?[a-z][^>]*>", re.I)


def strip_untrusted_markup(answer: str, sources: str) -> str:
    """Links and HTML the passages do not contain are removed from a model's answer.

    A model can be talked into "add a link to …" or into emitting an <img>/<script> tag; the learner's
    page would render either. A URL that appears in our material is kept; everything else goes, the
    visible text of a Markdown link stays.
    """
    known = {u.rstrip(".,;") for u in _URL.findall(sources)}
    text = _MD_IMAGE.sub("", answer)
    text = _MD_LINK.sub(lambda m: m.group(1) if m.group(2).rstrip(".,;") not in known else m.group(0), text)
    text = _URL.sub(lambda m: m.group(0) if m.group(0).rstrip(".,;") in known else "[link removed]", text)
    return _TAG.sub("", text)


# The start of an HTML tag: streamed text is held from here until the tag closes.
_OPEN_TAG = re.compile(r"<[a-z/!]", re.I)
_CONTEXT = 400  # characters of earlier text that surely hold the last `run` words of any prompt run
NOT_IN_MATERIAL = "NOT_IN_MATERIAL"
_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)$", re.I)


def env_secrets() -> tuple[str, ...]:
    """Values of this process's credential-like environment variables (…_KEY, …_TOKEN, …): a model
    never receives them, but a stream that spells one out must not reach the page either."""
    return tuple(v for k, v in os.environ.items() if _SECRET_NAME.search(k) and len(v) >= 8)


class StreamGuard:
    """Releases a model's streamed text only once it is known to be safe to show.

    The final answer is checked whole (leak, links, markup), but a learner watches the stream first, so
    a recited system prompt or a foreign link would flash on screen before the check replaced it. This
    guard releases whole words (text up to the last whitespace) and holds back only what could still be
    unsafe:
    - once anything received repeats `run` words of the prompt, or spells out a credential from the
      environment (`env_secrets`), nothing more is released (the chain then replaces the answer with the
      curated one);
    - a trailing run of `hold_run` or more consecutive prompt words stays back until the next words show
      whether the recital goes on, so at most `hold_run - 1` words of a recital are ever shown;
    - a `<tag` or `[link](…)` that is still open stays back, so markup is judged whole; then links and
      tags the passages do not contain are removed, exactly as `strip_untrusted_markup` does for the
      final answer.
    Releasing words rather than sentences matters on a 2-core machine: a sentence is 1-2 s of tokens. The
    answering chain then shows them a checked sentence at a time (tutor/checks.py, `CheckedAnswer`): a
    sentence's citation and support are known only once it ends.
    """

    def __init__(self, prompt: str, sources: str, run: int = 8, hold_run: int = 3) -> None:
        self.prompt, self.sources, self.run, self.hold_run = prompt, sources, run, hold_run
        self.secrets = env_secrets()
        self.leaked = False
        self._received = ""
        self._pending = ""
        self._shown = ""  # the last _CONTEXT characters released (before markup stripping): prompt-run context

    def feed(self, piece: str) -> str:
        """Take the next piece from the model; return the text that may be shown now (often "")."""
        if self.leaked:
            return ""
        # Only runs that end in the new piece are new: the last `run` words fit in _CONTEXT characters,
        # so that much of the earlier text is all we keep.
        self._received = self._received[-_CONTEXT:] + piece
        self._pending += piece
        if leaks_prompt(self._received, self.prompt, self.run) or any(v in self._received for v in self.secrets):
            self.leaked = True
            self._pending = ""
            return ""
        return self._release(self._cut())

    def finish(self) -> str:
        """The held tail once the model has finished ("" after a leak)."""
        return "" if self.leaked else self._release(len(self._pending), final=True)

    def _cut(self) -> int:
        """The end of the last whole word: a word (or URL) is never shown half-written."""
        return max(self._pending.rfind(" "), self._pending.rfind("\n"), self._pending.rfind("\t")) + 1

    def _release(self, cut: int, final: bool = False) -> str:
        text = self._pending[:cut]
        if not final:
            text = text[: min(_open_markup(text), self._prompt_tail(text))]
        if not text:
            return ""
        self._pending = self._pending[len(text):]
        self._shown = (self._shown + text)[-_CONTEXT:]
        return strip_untrusted_markup(text, self.sources).replace(NOT_IN_MATERIAL, "")

    def _prompt_tail(self, text: str) -> int:
        """Where a trailing run of `hold_run`+ consecutive prompt words starts in `text` (len(text): none)."""
        before = self._shown[-_CONTEXT:]
        spans = [(m.start(), m.group(0)) for m in _WORDS.finditer((before + text).lower())]
        words = tuple(w for _, w in spans)
        for n in range(min(self.run - 1, len(words)), self.hold_run - 1, -1):
            if words[-n:] in _grams(self.prompt, n):
                return max(0, spans[-n][0] - len(before))
        return len(text)


def _open_markup(text: str) -> int:
    """Where the markup that `text` opens and does not close starts (`<tag …`, `[text …`, `[text](url …`);
    len(text) when everything is closed. URLs need no check: a cut is always at whitespace, so whole."""
    cut = len(text)
    tags = [m.start() for m in _OPEN_TAG.finditer(text)]
    if tags and ">" not in text[tags[-1]:]:
        cut = tags[-1]
    lb = text.rfind("[")
    if lb != -1:
        rest = text[lb:]
        rb = rest.find("]")
        if rb == -1 or (rest[rb + 1 : rb + 2] == "(" and ")" not in rest[rb + 1 :]):
            cut = min(cut, lb - 1 if lb and text[lb - 1] == "!" else lb)
    return cut
