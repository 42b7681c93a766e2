"""Third-party documents: site furniture is stripped and the text is split into sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.documents import clean_lines, load_document, split_sections
from tutor.errors import CorpusError

QUESTIONS = [f"{i + 1}. What is concept{i}? Concept{i} is explained here in plain words, number {i}." for i in range(16)]
FURNITURE_TAIL = [
    "Recommended Reads:",
    "Ten Career Tips For Data Scientists",
    "Register for our webinar",
    "Webinar Slot: Saturday 11 AM",
    "Time zone: (GMT+5:30) Asia/Kolkata",
    "Join 50,000+ professionals",
    "See you there!",
]
BYLINE = ["Article written by Jane Example", "Reviewed by John Sample"]


def article() -> str:
    """A captured web article: title, byline, intro, two question lists, then a boilerplate tail."""
    return "\n".join(
        [
            "Top Deep Learning Interview Questions and Answers",
            *BYLINE,
            "Deep learning keeps growing and employers test the fundamentals.",
            "Below are some basic deep learning interview questions.",
            *QUESTIONS[:8],
            "Here are some advanced deep learning interview questions for experienced engineers.",
            *QUESTIONS[8:],
            *FURNITURE_TAIL,
        ]
    )


def test_boilerplate_tail_from_recommended_reads_on_is_cut():
    kept = clean_lines(article())

    for line in FURNITURE_TAIL:
        assert line not in kept
    assert QUESTIONS[-1] in kept


def test_byline_lines_are_stripped_but_content_is_kept():
    kept = clean_lines(article())

    for line in BYLINE:
        assert line not in kept
    for line in QUESTIONS:
        assert line in kept


def test_a_tail_marker_early_in_the_document_does_not_cut_the_content():
    text = "\n".join(["Recommended reads are at the bottom of this page.", *QUESTIONS])

    kept = clean_lines(text)

    assert all(q in kept for q in QUESTIONS)


def test_plain_text_splits_at_question_list_intros():
    sections = split_sections(Path("article.txt"), article())

    assert len(sections) == 3
    assert sections[0].title == "article"
    assert "basic deep learning interview questions" in sections[1].title
    assert "advanced deep learning interview questions" in sections[2].title
    assert all(q in sections[1].text for q in QUESTIONS[:8])
    assert all(q in sections[2].text for q in QUESTIONS[8:])
    assert not any(s.headed for s in sections)


def test_every_content_line_lands_in_exactly_one_section():
    sections = split_sections(Path("article.txt"), article())

    for q in QUESTIONS:
        assert sum(q in s.text for s in sections) == 1


def test_markdown_headings_start_titled_sections():
    text = "# Regularization\nDropout zeroes units.\n\n## Weight decay ##\nAn L2 penalty shrinks weights.\n"

    sections = split_sections(Path("notes.md"), text)

    assert [(s.title, s.headed) for s in sections] == [("Regularization", True), ("Weight decay", True)]
    assert sections[0].text == "Dropout zeroes units."
    assert sections[1].text == "An L2 penalty shrinks weights."


def test_heading_syntax_in_plain_text_is_not_a_heading():
    sections = split_sections(Path("notes.txt"), "# not a heading\nsome text")

    assert len(sections) == 1
    assert "# not a heading" in sections[0].text


def test_a_document_with_nothing_left_after_cleaning_is_an_error(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("Article written by Nobody\n\n\n", encoding="utf-8")

    with pytest.raises(CorpusError, match="empty.txt"):
        load_document(path)


def test_non_utf8_text_is_a_corpus_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("na\xefve caf\xe9".encode("latin-1"))

    with pytest.raises(CorpusError, match="latin1.txt"):
        load_document(path)


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7\n" + bytes(range(256)) * 4, bytes(range(256)) * 8])
def test_a_pdf_that_cannot_be_read_is_a_corpus_error_naming_the_file(tmp_path, data):
    path = tmp_path / "notes.pdf"
    path.write_bytes(data)

    with pytest.raises(CorpusError, match=f"{path}: not a readable PDF"):
        load_document(path)
