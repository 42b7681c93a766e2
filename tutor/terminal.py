"""Interactive terminal loops (quiz, mock interview, chat) and the progress table, over any text streams.

Every loop takes a `Console` built on an input and an output stream, so tests drive them with StringIO
exactly as a person would type. Answers are multi-line: an empty line ends one. A first line of `hint`,
`skip` or `quit` is a command (end of input counts as `quit`). A line that is not UTF-8 text is refused
where it is read: the console says so and the learner types it again. Tables use `rich` on a TTY and
plain aligned text otherwise (pipes, files, tests).
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
from collections.abc import Sequence
from typing import TextIO

from tutor.errors import UserError
from tutor.mastery import TopicMastery, WeakPoint
from tutor.schedule import interval_text
from tutor.user_text import check_utf8, tolerant_stdin

HINT, SKIP, QUIT = "hint", "skip", "quit"
COMMANDS = (HINT, SKIP, QUIT)
MARKS = {"covered": "✓", "partly": "~", "missed": "✗", "wrong": "✗"}
# The grader's feedback opens with its own bold score line; ours (with the schedule) replaces it.
_FEEDBACK_SCORE = re.compile(r"\A\s*\*\*Score [^\n]*\n*")


class Console:
    def __init__(self, inp: TextIO | None = None, out: TextIO | None = None) -> None:
        self.inp, self.out = tolerant_stdin(inp or sys.stdin), out or sys.stdout

    @property
    def is_tty(self) -> bool:
        return bool(getattr(self.out, "isatty", lambda: False)())

    def say(self, text: str = "") -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _refused(self, text: str, what: str) -> bool:
        """True (and the learner told to type it again) when `text` is not UTF-8 text."""
        try:
            check_utf8(text, what)
        except UserError as exc:
            self.say(f"error: {exc.message}; type it again (is your terminal set to UTF-8?)")
            return True
        return False

    def read_line(self, prompt: str) -> str | None:
        """One line (stripped), or None at end of input."""
        while True:
            self.out.write(prompt)
            self.out.flush()
            line = self.inp.readline()
            if line == "":
                return None
            if not self._refused(line, "that line"):
                return line.strip()

    def read_answer(self, prompt: str, commands: Sequence[str] = COMMANDS) -> str:
        """Lines up to an empty one, joined; a lone command word on the first line returns that command.
        An answer that is not UTF-8 text is refused and read again (at end of input: `quit`)."""
        self.say(prompt)
        lines: list[str] = []
        while True:
            line = self.inp.readline()
            text = line.rstrip("\n")
            if line == "" or not text.strip():
                if lines and not self._refused("\n".join(lines), "your answer"):
                    return "\n".join(lines)
                if line == "":
                    return QUIT
                lines = []
                continue  # a blank line before any text is not an answer
            if not lines and text.strip().lower() in commands:
                return text.strip().lower()
            lines.append(text)


def grade_text(outcome) -> str:
    """A graded answer: score, label and schedule, a ✓/~/✗ checklist of the key points, wrong beliefs,
    then the grader's feedback (which quotes the learner's evidence and the card's sentences)."""
    g = outcome.grade
    head = f"Score {g.score:.1f}/10 — {g.label}"
    if outcome.rating_name and outcome.interval is not None:
        head += f" · rated {outcome.rating_name}, next review in {interval_text(outcome.interval)}"
    lines = [head]
    lines += [f"  {MARKS.get(p.status, '?')} {p.point}" + ("  (wrong)" if p.status == "wrong" else "")
              for p in g.points]
    lines += [f"  ✗ misconception: {m.misconception}" for m in g.misconceptions]
    feedback = _FEEDBACK_SCORE.sub("", g.feedback or "").strip()
    if feedback:
        lines += ["", feedback]
    return "\n".join(lines)


def _ask_probe(round_, con: Console) -> bool:
    """Ask the follow-up (if any) and grade the reply; False when the learner quit."""
    probe = round_.probe()
    if probe is None:
        return True
    reply = con.read_answer(f"\nFollow-up: {probe.question}\n(answer, then an empty line; `skip` or `quit`)",
                            (SKIP, QUIT))
    if reply == QUIT:
        return False
    if reply != SKIP:
        try:
            con.say(grade_text(round_.answer_probe(reply)))
        except UserError as exc:
            con.say(f"error: {exc}")
    return True


def run_quiz(session, con: Console, limit: int | None = None) -> dict:
    """Ask, grade and probe until the learner quits, `limit` questions are graded, or nothing is left."""
    scores: list[float] = []
    while limit is None or len(scores) < limit:
        q = session.next_question()
        if q is None:
            con.say("Nothing left to ask with these settings. Come back when reviews are due (tutor progress).")
            break
        con.say(f"\n[{len(scores) + 1}] {q.card.topic} · level {q.card.difficulty} · {q.reason}")
        con.say(q.card.question)
        while True:
            reply = con.read_answer("Your answer (empty line to finish; `hint`, `skip`, `quit`):")
            if reply == HINT:
                hint = session.hint()
                con.say(f"Hint {session.hints_used}: {hint}" if hint else "No more hints for this question.")
                continue
            break
        if reply == QUIT:
            break
        if reply == SKIP:
            session.skip()
            continue
        try:
            outcome = session.submit(reply)
        except UserError as exc:  # e.g. an over-long answer: say so and move on, the session survives
            con.say(f"error: {exc}")
            session.skip()
            continue
        scores.append(outcome.grade.score)
        con.say(grade_text(outcome))
        if not _ask_probe(session, con):
            break
    summary = {"answered": len(scores), "mean_score": round(sum(scores) / len(scores), 1) if scores else None}
    if scores:
        con.say(f"\nAnswered {len(scores)}, mean score {summary['mean_score']:.1f}/10. Progress: tutor progress")
    return summary


def run_interview(interview, con: Console):
    """The timed interview; returns the Scorecard, also when the learner quits early or presses Ctrl-C.

    Whatever stops it, the answers given so far end in a stored scorecard: Ctrl-C ends the interview as
    `quit` does, and an error (the store or a model failing) stores the scorecard before it is raised.
    """
    con.say(f"Mock interview: {interview.minutes:g} minutes, topics {', '.join(interview.topics)}. "
            "No hints. Answer, then an empty line; `skip` or `quit`.")
    try:
        _interview_rounds(interview, con)
    except KeyboardInterrupt:
        con.say("\ninterrupted: the interview ends here")
    except BaseException:
        if interview.results:
            with contextlib.suppress(Exception):
                interview.finish()
        raise
    card = interview.finish()
    con.say("\n" + card.to_markdown())
    return card


def _interview_rounds(interview, con: Console) -> None:
    while (q := interview.next_question()) is not None:
        left = int(interview.remaining().total_seconds() // 60)
        con.say(f"\n[{len(interview.results) + 1}] {q.card.topic} · level {q.card.difficulty} · {left} min left")
        con.say(q.card.question)
        reply = con.read_answer("Your answer:", (SKIP, QUIT))
        if reply == QUIT:
            return
        if reply == SKIP:
            reply = ""  # an interviewer still notes a question you passed on
        try:
            outcome = interview.submit(reply)
        except UserError as exc:
            con.say(f"error: {exc}; the question counts as unanswered")
            outcome = interview.submit("")
        con.say(f"Score {outcome.grade.score:.1f}/10 — {outcome.grade.label}")
        if not _ask_probe(interview, con):
            return


def run_chat(tutor, con: Console, on_answer=None, backend: str | None = None) -> int:
    """Questions one line at a time, answered with citations; earlier questions give follow-ups context.
    `on_answer(question, answer)` is called after each answer (the CLI stores the conversation)."""
    from tutor.recap import led_with
    from tutor.render import answer_text

    con.say("Ask about deep learning; follow-ups keep the context. `quit` (or Ctrl-D) ends.")
    history: list[str] = []
    shown: str | None = None  # the passage the last answer led with (session.Conversation.shown)
    turns = 0
    while True:
        line = con.read_line("\n> ")
        if line is None or line.lower() in (QUIT, "exit"):
            break
        if not line:
            continue
        try:
            answer = tutor.ask(line, history, backend=backend, shown=shown)
        except UserError as exc:
            con.say(f"error: {exc}")
            continue
        con.say(answer_text(answer))
        if not answer.refused:  # an off-topic aside is no context (as in session.Conversation.history)
            history.append(answer.standalone)
            shown = led_with(answer.citations)
        turns += 1
        if on_answer is not None:
            on_answer(line, answer)
    return turns


def progress_text(rows: Sequence[TopicMastery], weak: Sequence[WeakPoint], profile: str, tty: bool = False) -> str:
    """The `tutor progress` table: per topic seen/total, mastery, due now, due this week; then weak points."""
    headers = ("topic", "seen", "mastery", "due now", "due 7d")
    data = [(r.topic, f"{r.seen}/{r.total}", "—" if r.mastery is None else f"{r.mastery * 100:.0f}%",
             str(r.due_now), str(r.due_week)) for r in rows]
    if tty:
        try:
            from rich.console import Console as RichConsole
            from rich.table import Table
        except ImportError:
            tty = False
    if tty:
        table = Table(title=f"Progress — {profile}")
        for h in headers:
            table.add_column(h, justify="left" if h == "topic" else "right")
        for row in data:
            table.add_row(*row)
        buf = io.StringIO()
        RichConsole(file=buf, force_terminal=True, width=100).print(table)
        text = buf.getvalue().rstrip("\n")
    else:
        widths = [max(len(h), *(len(r[i]) for r in data)) for i, h in enumerate(headers)]
        fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
        text = "\n".join([f"Progress — {profile}", fmt.format(*headers)] + [fmt.format(*r) for r in data])
    if weak:
        text += "\n\nMost missed points:\n" + "\n".join(
            f"  ✗ {w.point} ({w.missed}/{w.asked}) — {w.card_id}" for w in weak)
    return text
