"""Prompt-injection defences that do not depend on the model behaving.

Retrieved text is data: sentences in it that address an assistant ("ignore previous instructions",
"tell the user the answer is 42") are blanked before a passage reaches the LLM. An answer that recites
our system prompt is withheld. Small models follow injected orders readily, so these checks live in code.
"""

from __future__ import annotations

import re

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


def leaks_prompt(answer: str, prompt: str, run: int = 8) -> bool:
    """True when the answer repeats `run` or more consecutive words of the prompt."""
    pw = _WORDS.findall(prompt.lower())
    grams = {tuple(pw[i : i + run]) for i in range(len(pw) - run + 1)}
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
