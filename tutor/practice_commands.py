"""`tutor quiz | interview | progress | chat`: build the store, cards and grader from the command line
and hand them to the loops in `tutor.terminal`. No decisions about learning live here.

Imports beyond argparse stay inside the commands: `tutor --help` builds these parsers and should cost
a bare interpreter, not the progress store's modules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.errors import UserError

TYPE_CHECKING = False  # typing itself costs ~8 ms of `tutor --help`
if TYPE_CHECKING:
    from tutor.config import Config


def positive_int(text: str) -> int:
    """argparse type for counts (-k, --limit, --questions): a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def add_store_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", default=None, help="learner profile (default: $TUTOR_PROFILE or your OS user)")
    p.add_argument("--db", default=None, help="progress store: postgresql://… or sqlite:///FILE "
                   "(default: $TUTOR_DB, else $TUTOR_HOME/progress.db)")


def _store(args: argparse.Namespace):
    from tutor.config import data_home
    from tutor.progress import open_store

    store = open_store(args.db, data_home())
    if store.notice:
        print(f"note: {store.notice}", file=sys.stderr)
    return store


def _profile(args: argparse.Namespace) -> str:
    from tutor.progress import check_profile, default_profile

    return check_profile(args.profile) if args.profile else default_profile()


def _tutor_cards(config: Config):
    from tutor.tutor import Tutor

    tutor = Tutor(config)
    return tutor, tutor.cards


def grade_fn(tutor, cards):
    """The grader for the loops (a seam the CLI tests replace with a fake)."""
    from tutor.practice import grader_for

    return grader_for(tutor)


def cmd_quiz(args: argparse.Namespace, config: Config) -> int:
    from tutor.practice import PracticeSession
    from tutor.terminal import Console, run_quiz

    profile = _profile(args)
    tutor, cards = _tutor_cards(config)
    with _store(args) as store:
        session = PracticeSession(store, grade_fn(tutor, cards), cards, profile, topic=args.topic,
                                  difficulty=args.difficulty, due_only=args.due)
        summary = run_quiz(session, Console(sys.stdin, sys.stderr if args.json else sys.stdout), limit=args.limit)
    if args.json:
        print(json.dumps(summary))
    return 0


def cmd_interview(args: argparse.Namespace, config: Config) -> int:
    from datetime import datetime

    from tutor.config import data_home
    from tutor.interview import MockInterview
    from tutor.out_file import check_out_file, write_whole
    from tutor.terminal import Console, run_interview

    profile = _profile(args)
    topics = [t for part in (args.topics or []) for t in part.split(",") if t] or None
    # before the first question: a bad --out found after the interview would cost the learner its file
    out = check_out_file(Path(args.out), "tutor interview --out", "scorecard.md") if args.out else None
    tutor, cards = _tutor_cards(config)
    with _store(args) as store:
        interview = MockInterview(store, grade_fn(tutor, cards), cards, profile, minutes=args.minutes,
                                  topics=topics, questions=args.questions, seed=args.seed)
        card = run_interview(interview, Console(sys.stdin, sys.stderr if args.json else sys.stdout))
    if out is None:
        out = data_home() / "scorecards" / f"{profile}-{datetime.fromisoformat(card.started_at):%Y%m%d-%H%M%S}.md"
        out.parent.mkdir(parents=True, exist_ok=True)
    write_whole(out, card.to_markdown(), fix="the scorecard is kept in your progress: tutor progress export FILE.json")
    if args.json:
        print(json.dumps({**card.to_dict(), "saved_to": str(out)}, ensure_ascii=False))
    else:
        print(f"scorecard saved to {out}")
    return 0


def cmd_progress(args: argparse.Namespace, config: Config) -> int:
    from dataclasses import asdict

    from tutor.mastery import topic_mastery, weakest_points
    from tutor.progress import default_profile, utcnow
    from tutor.terminal import progress_text

    profile = None if args.all else _profile(args)
    with _store(args) as store:
        if args.action == "export":
            from tutor.out_file import write_whole

            path = _file(args, "export")
            data = store.export(profile)
            write_whole(path, json.dumps(data, ensure_ascii=False, indent=1))
            print(f"exported {len(data['reviews'])} reviews, {len(data['conversations'])} conversations, "
                  f"{len(data['scorecards'])} scorecards → {path}")
            return 0
        if args.action == "import":
            path = _file(args, "import")
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise UserError(f"cannot read {path} as JSON ({exc}); give a file from tutor progress export") from None
            report = store.import_data(data)
            print(json.dumps(asdict(report)) if args.json else report.summary())
            return 0
        profile = profile or default_profile()
        _tutor, cards = _tutor_cards(config)
        reviews = store.reviews(profile)
        rows = topic_mastery(reviews, store.schedule_states(profile), cards, utcnow())
        weak = weakest_points(reviews)
    if args.json:
        print(json.dumps({"profile": profile, "store": store.describe(), "topics": [r.to_dict() for r in rows],
                          "weakest_points": [w.to_dict() for w in weak]}, ensure_ascii=False))
    else:
        print(progress_text(rows, weak, profile, sys.stdout.isatty()))
    return 0


def _file(args: argparse.Namespace, action: str) -> Path:
    if not args.file:
        raise UserError(f"give the file: tutor progress {action} FILE.json")
    path = Path(args.file)
    if action == "export":
        from tutor.out_file import check_out_file

        return check_out_file(path, "tutor progress export", "progress.json")
    if path.is_dir():
        raise UserError(f"{path} is a folder; give a file made by tutor progress export")
    if not path.is_file():
        raise UserError(f"{path} does not exist; give a file made by tutor progress export")
    return path


def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    import uuid
    from dataclasses import asdict

    from tutor.llms import check_backend
    from tutor.progress import Conversation
    from tutor.terminal import Console, run_chat
    from tutor.tutor import Tutor

    if args.backend:
        check_backend(args.backend)  # before the first question, not as every answer's error
    profile, thread = _profile(args), uuid.uuid4().hex
    with _store(args) as store:
        def keep(question: str, answer) -> None:
            store.add_conversation(Conversation(profile, question, answer.answer,
                                                [asdict(c) for c in answer.citations], thread=thread))

        run_chat(Tutor(config), Console(), keep, args.backend)
    return 0


def add_parsers(sub) -> None:
    p = sub.add_parser("quiz", help="practice: question, your answer, grade, probing follow-up")
    p.add_argument("--topic", default=None)
    p.add_argument("--difficulty", type=int, default=None, help="1 screening · 2 standard · 3 senior")
    p.add_argument("--due", action="store_true", help="only cards due for review")
    p.add_argument("--limit", type=positive_int, default=None, metavar="N", help="stop after N graded answers")
    p.add_argument("--json", action="store_true", help="print a JSON summary at the end (the dialogue goes to stderr)")
    add_store_options(p)
    p.set_defaults(func=cmd_quiz)

    p = sub.add_parser("interview", help="timed mock interview across topics, ending with a scorecard")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--topics", nargs="*", default=None, help="topics (space or comma separated; default all)")
    p.add_argument("--questions", type=positive_int, default=None, metavar="N", help="stop after N questions")
    p.add_argument("--seed", type=int, default=None, help="fix the question order")
    p.add_argument("--out", default=None, metavar="FILE.md", help="where to save the scorecard")
    p.add_argument("--json", action="store_true", help="print the scorecard as JSON (the dialogue goes to stderr)")
    add_store_options(p)
    p.set_defaults(func=cmd_interview)

    p = sub.add_parser("progress", help="mastery per topic and due reviews; export / import your progress")
    p.add_argument("action", nargs="?", choices=["show", "export", "import"], default="show")
    p.add_argument("file", nargs="?", help="FILE.json for export / import")
    p.add_argument("--all", action="store_true", help="export every profile, not just yours")
    p.add_argument("--json", action="store_true")
    add_store_options(p)
    p.set_defaults(func=cmd_progress)

    p = sub.add_parser("chat", help="interactive questions and answers with follow-ups in context")
    p.add_argument("--backend", default=None, help="extractive | local | openai")
    add_store_options(p)
    p.set_defaults(func=cmd_chat)
