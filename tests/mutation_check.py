"""Mutation check: switch off one safety behaviour at a time and show that its test goes red.

Run from the repository root: `python tests/mutation_check.py` (about two minutes on 2 cores). For each
entry it edits one line of the source in place, runs the named test (it must FAIL), restores the file
(always, also on Ctrl-C) and runs the test again (it must PASS). Exit status 1 when any behaviour can be
switched off with its test staying green. Not collected by pytest: it edits the code under test.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    behaviour: str
    path: str  # relative to the repository root
    line: str  # the exact source text that implements the behaviour (must occur once)
    mutant: str  # the same line with the behaviour switched off
    test: str  # the pytest id that must fail


MUTATIONS = (
    Mutation("refusal", "tutor/answer.py",
             "return bool(passages) and passages[0].relevance >= min_relevance",
             "return bool(passages)",
             "tests/test_chain.py::test_off_topic_question_is_refused_without_calling_the_llm"),
    Mutation("citation validation (invalid numbers dropped)", "tutor/checks.py",
             'text = _CITE.sub(lambda m: m.group(0) if 1 <= int(m.group(1)) <= len(sources) else "", text)',
             "text = text",
             "tests/test_chain.py::test_answer_cites_valid_passages_and_streams_pieces"),
    Mutation("citation validation (uncited answer replaced)", "tutor/chain.py",
             "    elif not cited_numbers(text):",
             "    elif False:",
             "tests/test_checked_stream.py::test_a_reply_with_nothing_a_passage_could_vouch_for_is_replaced"),
    Mutation("citation validation (a marker only where its passage supports the sentence)", "tutor/checks.py",
             'kept = _CITE.sub(lambda m: m.group(0) if int(m.group(1)) in good else "", text)',
             "kept = text",
             "tests/test_checked_stream.py::test_a_marker_stands_only_where_its_passage_supports_the_sentence"),
    Mutation("unsupported sentences withheld", "tutor/checks.py",
             "        if supported is False:",
             "        if False:",
             "tests/test_checked_stream.py::test_a_sentence_no_passage_supports_is_never_shown_even_with_a_marker"),
    Mutation("the stream shows checked sentences", "tutor/chain.py",
             "yield from show(sentences.feed(released))",
             "sentences.feed(released); yield from show(released)",
             "tests/test_checked_stream.py::test_an_uncited_reply_streams_with_the_citations_the_final_answer_has"),
    Mutation("tutor ask prints the checked answer when the stream differs", "tutor/ask.py",
             'if not stream_shows("".join(streamed), answer):',
             "if False:",
             "tests/test_cli.py::test_ask_prints_the_checked_answer_again_when_the_stream_showed_something_else"),
    Mutation("leak guard", "tutor/chain.py",
             'if shield.leaked or leaks_prompt(sentences.checked, load("answer_system")):',
             "if False:",
             "tests/test_chain.py::test_model_reply_reciting_the_system_prompt_is_withheld"),
    Mutation("leak guard on the stream", "tutor/guard.py",
             "if leaks_prompt(self._received[-(len(piece) + _CONTEXT):], self.prompt, self.run):",
             "if False:",
             "tests/test_stream_guard.py::test_a_recited_system_prompt_never_reaches_the_stream"),
    Mutation("links and markup stripped from the stream", "tutor/guard.py",
             'return strip_untrusted_markup(text, self.sources).replace(NOT_IN_MATERIAL, "")',
             'return text.replace(NOT_IN_MATERIAL, "")',
             "tests/test_stream_guard.py::test_foreign_links_and_markup_never_reach_the_stream_known_links_do"),
    Mutation("injection blanking", "tutor/guard.py",
             "return _INJECTION.sub(REMOVED, text)",
             "return text",
             "tests/test_chain.py::test_instructions_inside_passages_are_neutralized_before_the_prompt"),
    Mutation("fallback (model fails mid-answer)", "tutor/chain.py",
             "except Exception as exc:  # server down, killed or too slow",
             "except ZeroDivisionError as exc:  # server down, killed or too slow",
             "tests/test_chain.py::test_server_dying_mid_answer_falls_back_with_a_notice"),
    Mutation("fallback (backend cannot start)", "tutor/tutor.py",
             "except EnvironmentProblem as exc:  # loses nothing",
             "except ZeroDivisionError as exc:  # loses nothing",
             "tests/test_chain.py::test_backend_that_cannot_start_falls_back_to_extractive"),
    Mutation("grader manipulation guard", "tutor/grade.py",
             'spans = manipulation_spans(answer or "")',
             "spans = []",
             "tests/test_grade.py::test_text_addressed_to_the_grader_earns_nothing_and_is_flagged"),
)


def run_test(test: str) -> tuple[bool, str]:
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test],
                         cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    proof = next((line.strip() for line in lines if line.startswith("E ")), lines[-1] if lines else "")
    return out.returncode == 0, proof


def check(mutation: Mutation) -> bool:
    path = ROOT / mutation.path
    source = path.read_text(encoding="utf-8")
    if source.count(mutation.line) != 1:
        print(f"?  {mutation.behaviour}: `{mutation.line}` is not exactly once in {mutation.path}; update MUTATIONS")
        return False
    try:
        path.write_text(source.replace(mutation.line, mutation.mutant), encoding="utf-8")
        passed_mutated, proof = run_test(mutation.test)
    finally:
        path.write_text(source, encoding="utf-8")
    passed_restored, _ = run_test(mutation.test)
    ok = not passed_mutated and passed_restored
    print(f"{'ok' if ok else 'NO'} {mutation.behaviour}: {mutation.test}\n"
          f"   switched off -> {'green (the test does not guard it!)' if passed_mutated else 'red: ' + proof}\n"
          f"   restored     -> {'green' if passed_restored else 'red (fix the test first)'}")
    return ok


def main() -> int:
    results = [check(m) for m in MUTATIONS]
    print(f"{sum(results)} of {len(results)} behaviours are guarded by a test that fails without them")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
