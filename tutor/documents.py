"""Third-party documents (plain text, Markdown, PDF) turned into clean sections.

Captured web articles carry site furniture (bylines, course adverts, webinar forms) that would pollute
retrieval; it is stripped here, before chunking, so every index built from the file agrees.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import CorpusError, MissingExtra

# Lines that are site furniture, not content. The tail cut starts at the first of these found in the
# last third of a document ("Recommended Reads:" and the webinar widgets in the seed article).
_TAIL_MARKERS = re.compile(r"^(recommended reads?|related (articles|posts)|time zone:|register for our webinar)", re.I)
_NOISE = re.compile(
    r"^(article written by|reviewed by|time zone:|webinar slot|register for|join \d[\d,]*\+|"
    r"\d[\d,]*\+ (professionals|instructors)|ⓘ|see you there)",
    re.I,
)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
# Plain-text captures lose their headings; intro sentences like "Below are some basic deep learning
# interview questions ..." still mark where a section starts.
_INTRO = re.compile(r"\b(interview questions|questions (and answers )?for)\b", re.I)


@dataclass(frozen=True)
class Section:
    title: str
    text: str
    headed: bool = False


def read_text(path: Path) -> str:
    if path.suffix.lower() == ".pdf":
        try:
            from pypdf import PdfReader
        except ImportError as exc:
            raise MissingExtra("pypdf", "pdf") from exc
        # pypdf logs each repair it makes ("EOF marker not found") on stderr: noise beside our one message
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        try:
            return "\n\n".join(page.extract_text() or "" for page in PdfReader(str(path)).pages)
        except Exception as exc:  # pypdf raises its own errors and, on broken files, plain ValueError,
            # KeyError, TypeError...: to the user they all mean that this PDF cannot be read.
            raise CorpusError(f"{path}: not a readable PDF ({_pdf_problem(exc)}); re-export it as a PDF or "
                              "pass its text as a .md/.txt file") from None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text; convert it or pass a .md/.txt/.pdf file") from None


def _pdf_problem(exc: Exception) -> str:
    if type(exc).__name__ == "FileNotDecryptedError":
        return "it is encrypted; save a copy without the password"
    first = next(iter(str(exc).strip().splitlines()), "")
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def clean_lines(text: str) -> list[str]:
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").split("\n")]
    cut = len(lines)
    for i in range(len(lines) * 2 // 3, len(lines)):
        if _TAIL_MARKERS.match(lines[i]):
            cut = i
            break
    return [ln for ln in lines[:cut] if not _NOISE.match(ln)]


def split_sections(path: Path, text: str) -> list[Section]:
    """Markdown headings start sections; in plain text, question-list intros do."""
    sections: list[Section] = []
    title, buf, headed = path.stem, [], False
    markdown = path.suffix.lower() in (".md", ".markdown")

    def flush() -> None:
        body = "\n".join(buf).strip()
        if body:
            sections.append(Section(title, body, headed))
        buf.clear()

    for line in clean_lines(text):
        heading = _HEADING.match(line) if markdown else None
        if heading:
            flush()
            title, headed = heading.group(2), True
        elif not markdown and len(line) < 200 and _INTRO.search(line) and buf:
            flush()
            title, headed = line.rstrip(".:")[:90], False
            buf.append(line)
        else:
            buf.append(line)
    flush()
    if not sections:
        raise CorpusError(f"{path}: no text found after cleaning; is it empty?")
    return sections


def load_document(path: Path) -> list[Section]:
    return split_sections(path, read_text(path))
