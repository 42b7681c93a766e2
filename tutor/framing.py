"""The framing of a question: words about the interview or the answer's style, not about the subject asked.

Learners practising for interviews say so: "explain dropout in an interview", "an interviewer asked me why
ReLU…", "interview question: what is BPTT". Those words are rare in our material except in the career
cards (how to explain a project, the most-asked topics, what to do when you do not know an answer), so
they pulled those cards first: "explain <card name> in an interview" put a career card first for 113 of
960 names and aliases, and the named card first for .843 of them against .982 for "what is <card name>";
searched unframed, .970 (bench/framing_audit.py). The golden sets barely use framing (rank 1 unchanged).
Answer-style words do the same on a smaller scale ("explain X in simple terms" .890 → .990, "… step by
step like I'm a beginner" .828 → .985), and are removed only where they end a clause or open a request:
"instead of step by step" and "simply adding one" are the subject. A list's numbering or label ("12.",
"Q7:") goes too: "Q7: what is {name}?" .935 → .994; so does a sentence announcing the interview ("I have an
interview tomorrow. What is {name}?" .891 → .993) when nothing but a time follows it.

`unframed` removes the framing; the retriever searches that reading first and keeps it when its best
passage clears the refusal threshold (tutor/retrieve.py), so a question *about* interviewing ("how should I
answer in an interview when I don't know?"), which says little without the framing, keeps it.
"""

from __future__ import annotations

import re

_SETTING = r"(?:an?|the|my|your|this|our|job|technical|coding|onsite|phone|screening|final|[\w-]+ ?(?:ml|dl|ai))"
_KIND = r"(?:(?:deep[- ]learning|machine[- ]learning|ml|dl|ai|data[- ]science|nlp|cv|research|faang|big[- ]tech)\s+)"
_PATTERNS = [
    # a sentence that announces the interview: "I have an interview tomorrow.", "I'm preparing for my ML
    # interview, …" (before the shorter "for my ML interview" below would leave "I'm preparing.")
    r"(?:^|(?<=[.!?])\s*)(?:hi|hello|hey)?[!,.]?\s*i\s*(?:'m|\s+am|\s+have|'ve\s+got|\s+got)\s+(?:(?:preparing|prepping|"
    r"studying|practi[cs]ing|getting\s+ready)\s+for\s+)?(?:an?\s+|my\s+)?(?:[\w-]+\s+){0,3}interviews?\b"
    r"(?:\s+(?:tomorrow|today|tonight|soon|next\s+\w+|this\s+\w+|on\s+\w+|in\s+(?:a|an|one|two|three|\d+)\s+\w+|"
    r"coming\s+up|at\s+[\w-]+(?:\s+[\w-]+)?))*\s*[.!,:]",
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
# How the learner wants the answer, not what it is about: "in simple terms", "briefly", "step by step like
# I'm a beginner", "give me an example", "ELI5".
_END = r"(?=\s*(?:[?.!,;:]|$))"  # what an answer-style phrase is followed by: the end of a clause
_STYLE = [
    r"\b(?:in|using)\s+(?:very\s+)?(?:simple|plain|layman'?s?|easy|everyday|non-technical)\s+"
    r"(?:terms|words|english|language)\b",
    r"\b(?:in\s+(?:one|a\s+few|two|1|2|3)\s+(?:sentences?|lines?|words)|in\s+(?:a\s+)?nutshell|in\s+brief|"
    rf"in\s+(?:great\s+|more\s+)?detail|in\s+depth){_END}",
    # an adverb is style at the start ("Briefly, what is…"), at the end, or right after "explain"
    r"^\s*(?:briefly|concisely|simply|quickly|intuitively)\b,?",
    rf"\b(?:briefly|concisely|simply|intuitively){_END}",
    r"(?<=\bexplain )(?:briefly|concisely|simply|quickly|intuitively)\b",
    r"\b(?:like|as\s+if)\s+(?:i'?m|i\s+am|you'?re\s+talking\s+to)\s+(?:a\s+|an\s+)?"
    r"(?:five|5|a\s+child|kid|child|beginner|newbie|novice|non-expert|layman|high[- ]schooler)"
    r"(?:\s+years?\s+old)?\b",
    r"\bfor\s+(?:a|an|the)\s+(?:complete\s+|total\s+|absolute\s+)?(?:beginner|newbie|novice|layman|non-expert)s?"
    + _END,
    r"\b(?:eli5|tl;?dr)\b:?",
    r"\b(?:and\s+)?(?:give|show)\s+(?:me\s+)?(?:an?\s+|some\s+)?(?:concrete\s+|simple\s+|real[- ]world\s+)?"
    rf"examples?{_END}",
    rf"\bwith\s+(?:an?\s+|some\s+)?(?:concrete\s+|simple\s+|real[- ]world\s+)?examples?{_END}",
    # the kind of answer wanted about a subject: "the pros and cons of Adam" is about Adam
    r"\b(?:the\s+)?(?:pros\s+and\s+cons|advantages\s+and\s+disadvantages|strengths\s+and\s+weaknesses|"
    r"benefits\s+and\s+drawbacks|trade-?offs)\s+of\b",
]
# "step by step" is style after an opening request ("Walk me through beam search step by step") and content
# elsewhere ("train in parallel instead of step by step", "show its reasoning step by step").
_STEPS = re.compile(r"^(\s*(?:explain|describe|derive|walk\s+me\s+through|go\s+through)\b.{0,80}?)\s*"
                    r"\bstep[- ]by[- ]step\b", re.I)
# A list's numbering or label before the question: "12. What is…", "Q3: …", "Question 7 - …", "Q: …".
_PREFIX = re.compile(r"^\s*(?:(?:q|question)\s*\d*\s*[:.)\-–]|\d{1,3}\s*[.):\-–])\s+(?=\S)", re.I)
_FRAMING = re.compile("|".join(f"(?:{p})" for p in [*_PATTERNS, *_STYLE]), re.I)
_CUES = ("interview", "asked", "simpl", "brief", "example", "step", "beginner", "five", "eli5", "term", "detail",
         "concise", "quick", "nutshell", "intuitive", "depth", "sentence", "line", "word", "child", "kid", "tl", "pros",
         "advantages", "strengths", "benefits", "trade")


def unframed(question: str) -> str:
    """The question without its interview framing and answer-style wording ("" when nothing else is left);
    unchanged without them."""
    lowered = question.lower()
    numbered = _PREFIX.match(question) is not None
    if not numbered and not any(cue in lowered for cue in _CUES):
        return question
    bare = _STEPS.sub(r"\1", _PREFIX.sub("", question))
    for _ in range(2):  # a phrase may end its clause only once the one after it is gone ("in detail with an example")
        bare = _FRAMING.sub(" ", bare)
    bare = re.sub(r"\s+([?!,;:]|\.(?!\w))", r"\1", re.sub(r"\s{2,}", " ", bare)).strip(" ,;:-")
    return bare if bare != question.strip() else question
