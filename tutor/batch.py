"""JSONL batch input: rows with `id` and `question`, where `previous` makes a row a follow-up.

Follow-ups are answered after the row they name, inside that row's conversation, and results come back
in the input's order so a caller can zip them with its file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from tutor.errors import EnvironmentProblem, TutorError, UserError
from tutor.user_text import stdin_bytes

T = TypeVar("T")


def read_jsonl(path: Path, required: tuple[str, ...] = ("id", "question")) -> list[dict]:
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows, seen = [], set()
    # split("\n"), not splitlines(): U+2028 or NEL inside a JSON string does not end its line
    for n, line in enumerate(text.split("\n"), 1):
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


# ---- batches from the command line: a bad row costs only itself -------------------------------------

def _batch_bytes(source: str) -> tuple[str, bytes]:
    """(name for messages, content) of `--from SOURCE`; `-` is stdin."""
    if source == "-":
        return "<stdin>", stdin_bytes()
    path = Path(source)
    if path.is_dir():
        raise UserError(f"{path}: is a folder; --from takes a JSONL file (or - for stdin)")
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror})") from None


def jsonl_objects(source: str) -> Iterator[tuple[int, str, dict | str]]:
    """(line number, where, the line's JSON object or what is wrong with it) for each non-empty line of
    `--from SOURCE`.

    Bytes, not text, are split: a line that is not UTF-8 costs only itself, and U+2028 or NEL inside a
    JSON string does not end its line.
    """
    name, data = _batch_bytes(source)
    for n, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        where = f"{name}:{n}"
        try:
            row = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            yield n, where, f"{where}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
            continue
        except json.JSONDecodeError as exc:
            yield n, where, f"{where}: not valid JSON ({exc.msg})"
            continue
        yield n, where, row if isinstance(row, dict) else f"{where}: each line must be a JSON object"


def no_rows(source: str, verb: str, example: str = '{"id": "1", "question": "what is dropout"}') -> UserError:
    """The error for a `--from` batch without a single row; `example` is one row the command takes."""
    return UserError(f"nothing to {verb}: {'stdin' if source == '-' else source} has no rows",
                     fix=f"one JSON object per line, e.g. {example}")


def read_batch(source: str, required: tuple[str, ...] = ("id", "question")) -> list[dict]:
    """The rows of a `--from` batch in input order; a row that cannot be used is `{"id", "error"}`.

    Unlike `read_jsonl` (golden files, which their author fixes before anything runs), a batch is often
    machine-made and large: one malformed line must not cost the rows that were fine. A line that is not
    UTF-8 or not JSON has `id` None and names its line; a follow-up of a failed row fails too.
    """
    rows: list[dict] = []
    seen: dict[str, int] = {}
    for n, where, row in jsonl_objects(source):
        if isinstance(row, str):
            rows.append({"id": None, "error": row})
            continue
        row_id = None if row.get("id") is None else str(row["id"])
        missing = [k for k in required if row.get(k) is None]
        if missing:
            rows.append({"id": row_id, "error": f"{where}: missing field(s) {', '.join(missing)}"})
            continue
        if not isinstance(row["question"], str):
            rows.append({"id": row_id, "error": f"{where}: `question` must be a string"})
            continue
        if row_id in seen:
            rows.append({"id": row_id, "error": f"{where}: duplicate id `{row_id}` (first on line {seen[row_id]})"})
            continue
        seen[row_id] = n
        rows.append({**row, "id": row_id})
    return _fail_broken_conversations(rows)


def _fail_broken_conversations(rows: list[dict]) -> list[dict]:
    """A follow-up whose `previous` is absent, failed or part of a cycle fails, naming why."""
    by_id = {r["id"]: r for r in rows if "error" not in r}
    changed = True
    while changed:  # a failure propagates down its chain of follow-ups
        changed = False
        for i, row in enumerate(rows):
            if "error" in row or row.get("previous") is None:
                continue
            prev, why = str(row["previous"]), None
            if prev not in by_id:
                why = f"row `{row['id']}` names previous `{prev}`, which is not a usable row of the batch"
            elif "error" in by_id[prev]:
                why = f"its previous row `{prev}` failed"
            else:
                trail, cur = {row["id"]}, by_id[prev]
                while cur.get("previous") is not None and "error" not in cur:
                    if cur["id"] in trail:
                        why = f"rows linked by `previous` form a cycle through `{cur['id']}`"
                        break
                    trail.add(cur["id"])
                    cur = by_id.get(str(cur["previous"]), {"error": "absent"})
            if why:
                rows[i] = by_id[row["id"]] = {"id": row["id"], "error": why}
                changed = True
    return rows


def run_batch(
    rows: list[dict], answer: Callable[[dict, list[str]], tuple[dict, str]],
    progress: Callable[[], None] | None = None,
) -> tuple[list[dict], int]:
    """Results in input order (one dict per row, `{"id", "error"}` for a failed row) and how many failed.

    `answer(row, history)` returns (result, standalone). A user error in one row (an empty or over-long
    question) fails that row and its follow-ups; a problem of the environment (no index) stops the batch.
    """
    results: dict[int, dict] = {i: r for i, r in enumerate(rows) if "error" in r}
    good = {id(r): i for i, r in enumerate(rows) if "error" not in r}
    failed: dict[str, str] = {}
    histories: dict[str, list[str]] = {}
    for row in conversation_order([r for r in rows if "error" not in r]):
        i, prev = good[id(row)], row.get("previous")
        if prev is not None and str(prev) in failed:
            failed[row["id"]] = f"its previous row `{prev}` failed"
            results[i] = {"id": row["id"], "error": failed[row["id"]]}
            continue
        history = histories.get(str(prev), []) if prev is not None else []
        try:
            result, standalone = answer(row, history)
        except EnvironmentProblem:
            raise
        except TutorError as exc:
            failed[row["id"]] = exc.message
            results[i] = {"id": row["id"], "error": exc.message}
            continue
        histories[row["id"]] = [*history, standalone]
        results[i] = result
        if progress is not None:
            progress()
    ordered = [results[i] for i in range(len(rows))]
    return ordered, sum(is_error(r) for r in ordered)


def is_error(result: dict) -> bool:
    return set(result) == {"id", "error"}


def batch_status(failed: int, total: int) -> int:
    """Exit status of a batch: 1 when any row failed (said once on stderr), else 0."""
    if failed:
        print(f"error: {failed} of {total} rows failed (their lines carry an `error`)", file=sys.stderr)
    return 1 if failed else 0
