"""Feedback on a graded answer: a template by default, an LLM's wording when a backend is on.

Either way the verdicts come from code (tutor.grade); the LLM only phrases them, and any failure —
server down, timeout, an empty or score-changing reply — falls back to the template. Feedback cites
only the card: every missing or wrong point quotes the card sentence it comes from.
"""

from __future__ import annotations

import re

from tutor.grade import Grade
from tutor.grade_evidence import Rubric
from tutor.grade_text import asks
from tutor.prompts import load

_MAX_QUOTE = 160
_SCORE_CLAIM = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s*/\s*10\b")
_REF = re.compile(r"\[\d{1,2}\]")
_POINT_WORDS = 14  # a key point's gist
_SPAN_WORDS = 12  # the learner's deciding span
_WHY_WORDS = 16  # why a statement is wrong (a misconception's text)
_FLAGS = ("manipulation", "empty", "keyword_list", "off_topic")


_EMPHASIS = re.compile(r"\*\*|__")


def _quote(text: str) -> str:
    """One line, at most _MAX_QUOTE characters, without bold markers: a sentence cut out of "**Inverted
    dropout** scales …" keeps one `**`, which would turn the rest of the feedback bold."""
    text = " ".join(_EMPHASIS.sub("", text).split())
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1].rstrip() + "…"


def _cite(grade: Grade, passage: str) -> str:
    where = f"card `{grade.card_id}`" if grade.card_id else "the reference"
    return f" — {where}: “{_quote(passage)}”" if passage else ""


def template_feedback(grade: Grade, rubric: Rubric | None = None) -> str:
    lines = [f"**Score {grade.score:.1f}/10 ({grade.label}).**"]
    if "manipulation" in grade.flags:
        lines.append("- Text addressed to the grader was ignored and earns nothing; answer the question instead.")
    if "empty" in grade.flags:
        lines.append("- No answer to grade yet: say what you know, even in part, and it will earn credit.")
    if "keyword_list" in grade.flags:
        lines.append("- A list of keywords is not an explanation: make each one a statement of what happens and why.")
    if "off_topic" in grade.flags:
        lines.append("- The answer does not address this question.")
    good = [g for g in grade.points if g.status in ("covered", "partly") and g.evidence]
    # A point made as a question ("Is it the forget gate that …?") keeps its credit; an interviewer hears a guess.
    asked = next((g.evidence for g in good if asks(g.evidence)), None) if "off_topic" not in grade.flags else None
    if asked:
        lines.append(f"- Some of it came as a question (“{_quote(asked)}”): in an interview, state what you "
                     "know; a question reads as a guess.")
    if good:
        lines.append("\n**What was good**")
        for g in good:
            if g.missing:
                lines.append(f"- “{_quote(g.evidence)}” covers part of: {g.point}")
                continue
            part = "" if g.status == "covered" else " (partly: say it more precisely)"
            lines.append(f"- “{_quote(g.evidence)}” covers: {g.point}{part}")
    missed = [g for g in grade.points if g.status == "missed" or g.missing]
    if missed and "empty" not in grade.flags:
        lines.append("\n**What was missing**")
        lines += [f"- {g.missing or g.point}{_cite(grade, g.passage)}" for g in missed]
    wrong = [g for g in grade.points if g.status == "wrong"]
    if wrong:
        lines.append("\n**What was wrong**")
        for g in wrong:
            lines.append(f"- “{_quote(g.evidence)}” {g.why or 'contradicts the point'}. "
                         f"Correct: {g.point}{_cite(grade, g.passage)}")
    return "\n".join(lines)


def _phrase(text: str, words: int) -> str:
    """At most `words` words, cut at a clause break when one falls late enough: the LLM needs the gist of
    a point or of the learner's span, not the whole sentence (each word is prefill time on 2 cores)."""
    ws = " ".join(text.split()).split(" ")
    if len(ws) <= words:
        return " ".join(ws)
    head = ws[:words]
    for k in range(words - 1, words // 2, -1):
        if head[k].endswith((",", ";", ":")):
            return " ".join(head[: k + 1])[:-1] + " …"
    return " ".join(head) + " …"


def _cited(grade: Grade) -> list[tuple[str, str]]:
    """The card passages of the missing and wrong points, numbered once each: the prompt names them by
    [n] only and code prints their text under the LLM's reply, so feedback cites the card verbatim."""
    out: list[tuple[str, str]] = []
    for g in grade.points:
        if (g.status in ("missed", "wrong") or g.missing) and g.passage and g.passage not in [p for _, p in out]:
            out.append((f"[{len(out) + 1}]", g.passage))
    return out


def _why(why: str) -> str:
    return why.removeprefix("the statement ") or "contradicts the card"


Cited = list[tuple[str, str]]


def verdict_lines(grade: Grade, cited: Cited | None = None) -> str:
    """The verdicts as short notes grouped the way the feedback reads (good, missing, wrong): a small
    model that copies its input still gives readable feedback. Points are gists, the learner's words are
    their deciding spans, and card passages appear as [n] only (`cited`: `_cited(grade)`, when the
    caller has it already)."""
    ids = {passage: ref for ref, passage in (_cited(grade) if cited is None else cited)}

    def span(g) -> str:
        return _phrase(g.evidence.replace('"', "'"), _SPAN_WORDS)

    def ref(g) -> str:
        return f" {ids[g.passage]}" if g.passage in ids else ""

    def said(g) -> str:
        return "asked" if asks(g.evidence) else "said"

    good = [f'- you {said(g)} "{span(g)}": {_phrase(g.point, _POINT_WORDS)}'
            + ("" if g.status == "covered" else " (only partly)")
            for g in grade.points if g.status in ("covered", "partly") and g.evidence]
    missing = [f"- {_phrase(g.missing or g.point, _POINT_WORDS)}{ref(g)}" for g in grade.points
               if g.status == "missed" or g.missing]
    wrong = [f'- you said "{span(g)}", which {_phrase(_why(g.why), _WHY_WORDS)}; '
             f"correct: {_phrase(g.point, _POINT_WORDS)}{ref(g)}" for g in grade.points if g.status == "wrong"]
    parts = [(title, lines) for title, lines in (("Good", good), ("Missing", missing), ("Wrong", wrong)) if lines]
    return "\n".join(f"{title}:\n" + "\n".join(lines) for title, lines in parts) or "(no verdicts)"


def feedback_messages(grade: Grade, cited: Cited | None = None) -> tuple[str, str]:
    """(system, user) for the LLM. The system prompt is fixed, byte for byte, so llama.cpp's prompt cache
    serves it; the per-answer part holds only short verdicts (the learner's spans stand in for the whole
    answer, passage ids for the passages), which keeps the first token within seconds on 2 cores."""
    flags = ", ".join(f for f in grade.flags if f in _FLAGS) or "none"
    user = load("grade_feedback_user").format(question=_phrase(grade.question or "", 40),
                                              score=f"{grade.score:.1f}", label=grade.label, flags=flags,
                                              verdicts=verdict_lines(grade, cited))
    return load("grade_feedback"), user


def card_passages(grade: Grade, cited: Cited | None = None) -> str:
    """The cited card passages, printed by code under the LLM's wording."""
    cited = _cited(grade) if cited is None else cited
    if not cited:
        return ""
    where = f"card `{grade.card_id}`" if grade.card_id else "the reference"
    return f"\n\n**From {where}**\n" + "\n".join(f"- {ref} “{_quote(p)}”" for ref, p in cited)


def llm_feedback(llm, grade: Grade) -> str:
    """The LLM's wording of the code's verdicts; the template on any failure or a reply that re-scores.
    The learner's answer is not sent whole: the verdicts quote its deciding spans."""
    from langchain_core.messages import HumanMessage, SystemMessage

    fallback = template_feedback(grade)
    cited = _cited(grade)  # numbered once: the prompt, the citation filter and the printed passages agree
    system, user = feedback_messages(grade, cited)
    try:
        reply = str(llm.invoke([SystemMessage(system), HumanMessage(user)]).content).strip()
    except Exception:  # a feedback failure must never cost the grade
        return fallback
    claimed = _SCORE_CLAIM.search(reply)
    if len(reply) < 20 or (claimed and abs(float(claimed.group(1)) - grade.score) > 0.05):
        return fallback
    known = {ref for ref, _ in cited}
    reply = _REF.sub(lambda m: m.group(0) if m.group(0) in known else "", reply)  # no invented citations
    return f"**Score {grade.score:.1f}/10 ({grade.label}).**\n\n{reply}{card_passages(grade, cited)}"
