"""The interview framing of a question: words about the interview itself, not about the subject asked.

Learners practising for interviews say so: "explain dropout in an interview", "an interviewer asked me why
ReLU…", "interview question: what is BPTT". Those words are rare in our material except in the career
cards (how to explain a project, the most-asked topics, what to do when you do not know an answer), so
they pulled those cards first: "explain <card name> in an interview" put a career card first for 113 of
960 names and aliases, and the named card first for .843 of them against .982 for "what is <card name>";
searched unframed, .970 (bench/framing_audit.py). The golden sets barely use framing (rank 1 unchanged).

`unframed` removes the framing; the retriever searches that reading first and keeps it when its best
passage clears the refusal threshold (tutor/retrieve.py), so a question *about* interviewing ("how should I
answer in an interview when I don't know?"), which says little without the framing, keeps it.
"""

from __future__ import annotations

import re

_SETTING = r"(?:an?|the|my|your|this|our|job|technical|coding|onsite|phone|screening|final|[\w-]+ ?(?:ml|dl|ai))"
_KIND = r"(?:(?:deep[- ]learning|machine[- ]learning|ml|dl|ai|data[- ]science|nlp|cv|research|faang|big[- ]tech)\s+)"
_PATTERNS = [
    # "in an interview", "during my ML interview", "for a deep learning interview", "in interviews"
    rf"\b(?:in|during|for|at|on)\s+(?:{_SETTING}\s+)?{_KIND}?(?:job\s+)?interviews?\b",
    # "interview question: …", "a common interview question about …", "as an interview question"
    r"\b(?:as\s+)?(?:an?\s+)?(?:common|typical|classic|popular|tricky|frequent)?\s*interview\s+questions?"
    r"(?:\s+(?:about|on|is|asks?))?\s*:?",
    # "an interviewer asked me (to explain) …", "the interviewer might ask …"
    r"\b(?:an?|the|my)\s+interviewer\s+(?:asked|asks|might ask|may ask|could ask|wants? to know|said)"
    r"(?:\s+me)?(?:\s+to)?\b",
    # "I was asked (in an interview) …" once the setting above is gone
    r"\bi\s+(?:was|got)\s+asked\s+(?=(?:why|what|how|whether|to|about)\b)",
    # "how would you answer / explain … to an interviewer"
    r"\bto\s+(?:an?|the)\s+interviewer\b",
]
_FRAMING = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.I)


def unframed(question: str) -> str:
    """The question without its interview framing ("" when nothing else is left); unchanged without one."""
    if "interview" not in question.lower() and "asked" not in question.lower():
        return question
    bare = _FRAMING.sub(" ", question)
    bare = re.sub(r"\s+([?.,!;:])", r"\1", re.sub(r"\s{2,}", " ", bare)).strip(" ,;:-")
    return bare if bare != question.strip() else question
