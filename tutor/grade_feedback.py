"""Feedback on a graded answer: a template by default, an LLM's wording when a backend is on.

Either way the verdicts come from code (tutor.grade); the LLM only phrases them, and any failure —
server down, timeout, an empty or score-changing reply — falls back to the template. Feedback cites
only the card: every missing or wrong point quotes the card sentence it comes from.
"""

from __future__ import annotations

import re

from tutor.grade import Grade
from tutor.grade_evidence import Rubric
from tutor.prompts import load

_MAX_QUOTE = 160
_SCORE_CLAIM = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s*/\s*10\b")


def _quote(text: str) -> str:
    text = " ".join(text.split())
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
    if good:
        lines.append("\n**What was good**")
        for g in good:
            part = "" if g.status == "covered" else " (partly: say it more precisely)"
            lines.append(f"- “{_quote(g.evidence)}” covers: {g.point}{part}")
    missed = [g for g in grade.points if g.status == "missed"]
    if missed and "empty" not in grade.flags:
        lines.append("\n**What was missing**")
        lines += [f"- {g.point}{_cite(grade, g.passage)}" for g in missed]
    wrong = [g for g in grade.points if g.status == "wrong"]
    if wrong:
        lines.append("\n**What was wrong**")
        for g in wrong:
            lines.append(f"- “{_quote(g.evidence)}” {g.why or 'contradicts the point'}. "
                         f"Correct: {g.point}{_cite(grade, g.passage)}")
    return "\n".join(lines)


def verdict_lines(grade: Grade) -> str:
    return "\n".join(
        f"- {g.status}: {g.point} | learner: {_quote(g.evidence) or '-'} | card: {_quote(g.passage) or '-'}"
        + (f" | why wrong: {g.why}" if g.why else "")
        for g in grade.points
    )


def llm_feedback(llm, grade: Grade, answer: str) -> str:
    """The LLM's wording of the code's verdicts; the template on any failure or a reply that re-scores."""
    from langchain_core.messages import HumanMessage, SystemMessage

    fallback = template_feedback(grade)
    user = load("grade_feedback_user").format(
        question=grade.question, score=f"{grade.score:.1f}", label=grade.label, verdicts=verdict_lines(grade),
        answer=_quote(answer.replace('"""', "'''")) if len(answer) <= _MAX_QUOTE else answer[:1200])
    try:
        reply = str(llm.invoke([SystemMessage(load("grade_feedback")), HumanMessage(user)]).content).strip()
    except Exception:  # a feedback failure must never cost the grade
        return fallback
    claimed = _SCORE_CLAIM.search(reply)
    if len(reply) < 20 or (claimed and abs(float(claimed.group(1)) - grade.score) > 0.05):
        return fallback
    return f"**Score {grade.score:.1f}/10 ({grade.label}).**\n\n{reply}"
