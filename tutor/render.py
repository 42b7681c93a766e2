"""Plain-text rendering of results for the terminal (the JSON forms come from each type's to_dict)."""

from __future__ import annotations

import json
import re
import textwrap

from tutor.answer import Answer
from tutor.retrieve import Passage


def json_line(obj: object) -> str:
    """One JSON line that stays one line for any reader: U+2028, U+2029 and NEL are escaped.

    With ensure_ascii=False json.dumps leaves them raw, and Python's str.splitlines (and JavaScript)
    break a line there, so a learner's question holding one would split a --json result in two.
    """
    text = json.dumps(obj, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


def passages_text(passages: list[Passage], width: int = 100) -> str:
    lines = []
    for p in passages:
        where = p.card_id or p.source
        lines.append(f"[{p.rank}] {p.title}  ({where}; relevance {p.relevance:.2f})")
        snippet = " ".join(p.text.split())
        lines.append(textwrap.indent(textwrap.shorten(snippet, 300, placeholder=" …"), "    "))
    return "\n".join(lines) if lines else "(no passages)"


def sources_text(answer: Answer) -> str:
    if not answer.citations:
        return ""
    by_chunk = {p.chunk_id: p for p in answer.passages}
    lines = ["", "Sources:"]
    for c in answer.citations:
        p = by_chunk.get(c.chunk_id)
        title = p.title if p else c.chunk_id
        lines.append(f"  [{c.n}] {title} — {c.card_id or c.source}")
    return "\n".join(lines)


def answer_text(answer: Answer) -> str:
    parts = []
    if answer.notice:
        parts.append(f"note: {answer.notice}")
    parts.append(answer.answer)
    src = sources_text(answer)
    if src:
        parts.append(src)
    return "\n".join(parts)


CHECKED_HEADING = "Checked answer (this replaces the text above):"
_NOTICE_LINE = re.compile(r"^\[([^\]\n]+)\]$", re.M)


def stream_shows(streamed: str, answer: Answer) -> bool:
    """True when the text a stream printed reads as the final, checked answer: the same words and markers in
    the same order. Whitespace does not count, nor the "[notice]" line a fallback streams before the
    curated answer (the notice is the answer's own, printed apart)."""
    if answer.notice:
        streamed = _NOTICE_LINE.sub(lambda m: "" if m.group(1) in answer.notice else m.group(0), streamed)
    return streamed.split() == answer.answer.split()


def checked_again(answer: Answer) -> str:
    """The checked answer under a heading saying it replaces what streamed (see `tutor.ask.ask_one`)."""
    return f"\n{CHECKED_HEADING}\n\n{answer.answer}"
