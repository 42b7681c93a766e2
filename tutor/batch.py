"""JSONL batch input: rows with `id` and `question`, where `previous` makes a row a follow-up.

Follow-ups are answered after the row they name, inside that row's conversation, and results come back
in the input's order so a caller can zip them with its file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from tutor.errors import UserError

T = TypeVar("T")


def read_jsonl(path: Path, required: tuple[str, ...] = ("id", "question")) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    rows, seen = [], set()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{n}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{n}: each line must be a JSON object")
        missing = [k for k in required if k not in row]
        if missing:
            raise UserError(f"{path}:{n}: missing field(s) {', '.join(missing)}")
        row["id"] = str(row["id"])
        if row["id"] in seen:
            raise UserError(f"{path}:{n}: duplicate id `{row['id']}`")
        seen.add(row["id"])
        rows.append(row)
    for row in rows:
        prev = row.get("previous")
        if prev is not None and str(prev) not in seen:
            raise UserError(f"{path}: row `{row['id']}` names previous `{prev}`, which is not in the file")
    return rows


def conversation_order(rows: list[dict]) -> list[dict]:
    """Rows reordered so each follow-up comes after the row it names; cycles are an error."""
    by_id = {r["id"]: r for r in rows}
    done: set[str] = set()
    out: list[dict] = []

    def visit(row: dict, trail: tuple[str, ...]) -> None:
        if row["id"] in done:
            return
        if row["id"] in trail:
            raise UserError(f"rows {' -> '.join(trail)} form a cycle of `previous` links")
        prev = row.get("previous")
        if prev is not None:
            visit(by_id[str(prev)], (*trail, row["id"]))
        done.add(row["id"])
        out.append(row)

    for row in rows:
        visit(row, ())
    return out


def run_conversations(
    rows: list[dict], answer: Callable[[dict, list[str]], tuple[T, str]]
) -> Iterator[tuple[dict, T]]:
    """Call `answer(row, history)` in conversation order; it returns (result, standalone question).

    Yields (row, result) in conversation order; the history of a follow-up is its chain of standalone
    questions so far.
    """
    histories: dict[str, list[str]] = {}
    for row in conversation_order(rows):
        prev = row.get("previous")
        history = histories.get(str(prev), []) if prev is not None else []
        result, standalone = answer(row, history)
        histories[row["id"]] = [*history, standalone]
        yield row, result
