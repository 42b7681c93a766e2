"""Text from outside the program — argv, stdin, a file the learner names — checked once at the door.

Bytes that are not UTF-8 reach Python as lone surrogates: argv always decodes with surrogateescape, and
so does stdin under a C or POSIX locale (elsewhere stdin raises UnicodeDecodeError instead, see
`tolerant_stdin`). Past the door such a string breaks far from its cause: the tokenizers library raises
a TypeError, SQLite cannot encode it. Every entry point therefore rejects it here with one message that
names the first bad byte, and an interactive session says so and asks again.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TextIO

from tutor.errors import UserError

_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _describe(ch: str) -> str:
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # what surrogateescape makes of the byte code - 0xDC00
        return f"byte 0x{code - 0xDC00:02x}"
    return f"a lone surrogate U+{code:04X}"  # e.g. a \\ud800 escape inside a JSON string


def check_utf8(text: str, what: str, fix: str | None = None) -> str:
    """`text` unchanged, or a UserError saying that `what` ("the answer") is not UTF-8 text and where."""
    bad = _LONE_SURROGATE.search(text)
    if bad is None:
        return text
    raise UserError(f"{what} is not UTF-8 text ({_describe(bad.group())} at character {bad.start() + 1})",
                    fix=fix or "type it again as UTF-8 text (is your terminal set to UTF-8?)")


def read_utf8(path: Path, what: str) -> str:
    """The text of a file the user named (`what`: "--answer-file"), or a UserError saying what is wrong."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder; {what} takes a text file")
    if not path.is_file():
        raise UserError(f"{path}: no such file ({what})")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
                        fix="save it as UTF-8 (e.g. iconv -f latin1 -t utf-8), then try again") from None


def stdin_bytes() -> bytes:
    """All of stdin as bytes, whatever its decoding (tests give a StringIO, which has no buffer)."""
    buffer = getattr(sys.stdin, "buffer", None)
    return buffer.read() if buffer is not None else sys.stdin.read().encode("utf-8", "surrogateescape")


def tolerant_stdin(stream: TextIO) -> TextIO:
    """`stream`, set to hand undecodable bytes on as lone surrogates rather than raise mid-session.

    A strict stream (stdin under a UTF-8 locale other than C) raises UnicodeDecodeError from readline
    and the bytes it had buffered are gone; with surrogateescape the line arrives whole and
    `check_utf8` names the bad byte, so the learner can simply type the answer again.
    """
    if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
        stream.reconfigure(errors="surrogateescape")
    return stream
