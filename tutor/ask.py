"""`tutor ask`: one question (streamed or whole) or a JSONL batch, over any backend."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.batch import read_jsonl, run_conversations
from tutor.config import Config
from tutor.render import answer_text, sources_text
from tutor.tutor import Tutor


def ask_one(config: Config, question: str | None, args: argparse.Namespace, tutor: Tutor | None = None) -> int:
    tutor = tutor or Tutor(config)
    opts = {"backend": args.backend, "k": args.k, "model": args.model, "detail": args.detail}
    if args.json or args.no_stream:
        answer = tutor.ask(question or "", **opts)
        print(json.dumps(answer.to_dict(), ensure_ascii=False) if args.json else answer_text(answer))
        return 0
    answer = None
    for event in tutor.stream(question or "", **opts):
        if isinstance(event, str):
            sys.stdout.write(event)
            sys.stdout.flush()
        else:
            answer = event
    print()
    if answer is not None:
        if answer.notice:
            print(f"\nnote: {answer.notice}", file=sys.stderr)
        print(sources_text(answer))
    return 0


def ask_batch(config: Config, path: Path, args: argparse.Namespace, tutor: Tutor | None = None) -> int:
    from tqdm import tqdm

    tutor = tutor or Tutor(config)
    rows = read_jsonl(path)
    results: dict[str, dict] = {}

    def one(row: dict, history: list[str]):
        answer = tutor.ask(row["question"], history, args.backend, args.k, args.model, args.detail)
        answer.id = row["id"]
        return answer, answer.standalone

    for row, answer in tqdm(run_conversations(rows, one), total=len(rows), desc="asking", file=sys.stderr,
                            disable=not sys.stderr.isatty()):
        results[row["id"]] = answer.to_dict()
    for row in rows:
        out = results[row["id"]]
        print(json.dumps(out, ensure_ascii=False) if args.json else f"[{row['id']}] {out['answer']}\n")
    return 0
