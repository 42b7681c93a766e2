"""`tutor grade`: one answer (text or --json) or a JSONL batch (`--from FILE`, `--from -` for stdin).

A batch writes one JSON line per row in input order; a row that cannot be graded (bad JSON, missing
answer, unknown card) gets `{"id", "error"}` and the batch goes on; the exit code is 1 at the end if
any row failed. Environment problems (no index, no model) stop the batch with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.batch import jsonl_objects, no_rows
from tutor.config import Config
from tutor.errors import UserError
from tutor.grade import Grade
from tutor.llms import check_backend
from tutor.tutor import Tutor
from tutor.user_text import read_utf8

ROW_FIELDS = ("id", "score", "label", "points", "misconceptions", "flags", "feedback", "card_id", "latency_s")


def row_output(row_id: str, grade: Grade) -> dict:
    d = grade.to_dict()
    d["points"] = [{"point": p["point"], "status": p["status"], "evidence": p["evidence"]}
                   | ({"missing": p["missing"]} if p["missing"] else {}) for p in d["points"]]
    return {"id": row_id, **{k: d[k] for k in ROW_FIELDS if k != "id"}}


def grade_text(grade: Grade) -> str:
    marks = {"covered": "✓", "partly": "~", "missed": "✗", "wrong": "!"}
    head = f"Card: {grade.card_id}" if grade.card_id else "Graded against the reference"
    lines = [head, *(f"  {marks[p.status]} {p.status:7s} {p.point}" for p in grade.points if p.weight > 0), "",
             grade.feedback]
    return "\n".join(lines)


def _read_answer(args: argparse.Namespace) -> str:
    if args.answer is not None and args.answer_file:
        raise UserError("give --answer or --answer-file, not both")
    if args.answer_file:
        return read_utf8(Path(args.answer_file), "--answer-file")
    if args.answer is None:
        raise UserError("no answer to grade", fix='tutor grade --question "…" --answer "your answer"')
    return args.answer


def grade_row(tutor: Tutor, row: dict, backend: str | None) -> Grade:
    answer = row.get("answer")
    if not isinstance(answer, str):
        raise UserError("the row needs an `answer` string")
    for key in ("question", "reference", "card_id", "card"):
        if row.get(key) is not None and not isinstance(row[key], str):
            raise UserError(f"`{key}` must be a string")
    # `card` is what the single-answer form calls it (--card); the output row says `card_id`
    card, card_id = row.get("card"), row.get("card_id")
    if card and card_id and card != card_id:
        raise UserError(f"`card` ({card}) and `card_id` ({card_id}) name different cards: give one")
    return tutor.grade(answer, card_id=card_id or card, question=row.get("question"),
                       reference=row.get("reference"), backend=backend)


def grade_batch(tutor: Tutor, source: str, backend: str | None) -> int:
    if backend:
        check_backend(backend)  # once, not as every row's error
    failed = rows = 0
    for n, _where, row in jsonl_objects(source):
        rows += 1
        if isinstance(row, str):
            out = {"id": f"line-{n}", "error": row}
        else:
            row_id = str(row.get("id", f"line-{n}"))
            try:
                out = row_output(row_id, grade_row(tutor, row, backend))
            except UserError as exc:
                out = {"id": row_id, "error": exc.message}
        failed += "error" in out
        print(json.dumps(out, ensure_ascii=False), flush=True)
    if not rows:
        raise no_rows(source, "grade", '{"id": "1", "card": "training/dropout", "answer": "…"}')
    if failed:
        print(f"error: {failed} row(s) could not be graded (see their \"error\" lines)", file=sys.stderr)
    return 1 if failed else 0


def grade_command(config: Config, args: argparse.Namespace, tutor: Tutor | None = None) -> int:
    tutor = tutor or Tutor(config)
    if args.from_file:
        return grade_batch(tutor, args.from_file, args.backend)
    if not (args.question or args.card):
        raise UserError("say what the answer is to: --question \"…\" or --card ID",
                        fix='tutor grade --question "what is dropout" --answer "…"')
    answer = _read_answer(args)
    grade = tutor.grade(answer, card_id=args.card, question=args.question, reference=args.reference,
                        backend=args.backend)
    if args.json:
        print(json.dumps(row_output("1", grade) | {"question": grade.question}, ensure_ascii=False))
    else:
        print(grade_text(grade))
    return 0
