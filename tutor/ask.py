"""`tutor ask`: one question (streamed or whole) or a JSONL batch, over any backend."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutor.batch import batch_status, is_error, no_rows, read_batch, run_batch
from tutor.config import Config
from tutor.render import answer_text, checked_again, json_line, sources_text, stream_shows
from tutor.tutor import Tutor


def ask_one(config: Config, question: str | None, args: argparse.Namespace, tutor: Tutor | None = None) -> int:
    """One question: `--json` or `--no-stream` print the finished answer; otherwise it streams, and the last
    answer on screen is the one `--json` gives.

    The chain streams only checked sentences (tutor/checks.py, `CheckedAnswer`), so the streamed text is
    normally the final answer, markers included. Where it is not (a model answer withdrawn after some of
    its sentences showed; any future path that streams a draft), a terminal cannot take printed text back:
    erasing it by cursor moves breaks on wrapped lines, on text scrolled out of view and in pipes. So the
    checked answer is printed in full under a heading that says it replaces the text above, and the
    Sources list follows it: a learner reads the checked answer last, next to the sources its markers
    name, and never has to work out which sentences of the draft were kept.
    """
    tutor = tutor or Tutor(config)
    opts = {"backend": args.backend, "k": args.k, "model": args.model, "detail": args.detail}
    if args.json or args.no_stream:
        answer = tutor.ask(question or "", **opts)
        print(json_line(answer.to_dict()) if args.json else answer_text(answer))
        return 0
    answer = None
    streamed: list[str] = []
    for event in tutor.stream(question or "", **opts):
        if isinstance(event, str):
            sys.stdout.write(event)
            sys.stdout.flush()
            streamed.append(event)
        else:
            answer = event
    print()
    if answer is not None:
        if not stream_shows("".join(streamed), answer):
            print(checked_again(answer))
        if answer.notice:
            print(f"\nnote: {answer.notice}", file=sys.stderr)
        print(sources_text(answer))
    return 0


def ask_batch(config: Config, source: str | Path, args: argparse.Namespace, tutor: Tutor | None = None) -> int:
    """`tutor ask --from FILE|-`: one line per row in input order; a failed row is `{"id", "error"}`."""
    from tqdm import tqdm

    tutor = tutor or Tutor(config)
    rows = read_batch(str(source))
    if not rows:
        raise no_rows(str(source), "ask")

    def one(row: dict, history: list[str]) -> tuple[dict, str]:
        answer = tutor.ask(row["question"], history, backend=args.backend, k=args.k, model=args.model,
                           detail=args.detail)
        answer.id = row["id"]
        return answer.to_dict(), answer.standalone

    with tqdm(total=len(rows), desc="asking", file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
        results, failed = run_batch(rows, one, progress=lambda: bar.update(1))
    for out in results:
        if args.json:
            print(json_line(out))
        else:
            print(f"[{out['id']}] error: {out['error']}\n" if is_error(out) else f"[{out['id']}] {out['answer']}\n")
    return batch_status(failed, len(rows))
