"""The injection and manipulation set (tests/data/injection.jsonl) against fake models that obey the
attacker: whatever the model does, code keeps the answer grounded, the rules and the key secret, and
foreign links and markup off the page. Per-category pass rates are printed (`pytest -s`)."""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from tutor.chain import build_messages
from tutor.guard import REMOVED, leaks_prompt
from tutor.prompts import load
from tutor.retrieve import Passage

CASES = [json.loads(line) for line in (Path(__file__).parent / "data" / "injection.jsonl").read_text().splitlines()]
SECRET = "sk-inj-SHOULD-NEVER-APPEAR-0042"
RESULTS: dict[str, list[bool]] = collections.defaultdict(list)


def by_channel(channel: str) -> list[dict]:
    return [c for c in CASES if c["channel"] == channel]


class Recorder(GenericFakeChatModel):
    sent: list = []

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        self.sent.append(messages)
        yield from super()._stream(messages, stop, run_manager, **kwargs)


def test_the_set_has_at_least_forty_cases_in_every_category():
    counts = collections.Counter(c["category"] for c in CASES)
    assert len(CASES) >= 40 and len({c["id"] for c in CASES}) == len(CASES)
    assert set(counts) == {"override", "exfiltrate-prompt", "exfiltrate-key", "false-premise", "links-markup",
                           "document", "grader"}
    assert min(counts.values()) >= 4


@pytest.mark.parametrize("case", by_channel("question"), ids=lambda c: c["id"])
def test_a_question_channel_attack_never_reaches_the_page(case, tutor_fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    reply = case["model_reply"].replace("RECITE_SYSTEM_PROMPT", load("answer_system")).replace("RECITE_KEY", SECRET)
    llm = Recorder(messages=iter([AIMessage(reply)] * 3), sent=[])
    if case["category"] in ("false-premise", "links-markup"):
        # The hashing fake embedder scores these messages below the threshold, so the model would never
        # be reached; that the real MiniLM keeps them in scope is tested in test_integration_retrieval.py.
        # Here: the correction is kept, and the links and markup the model obeys never show.
        from dataclasses import replace

        tutor_fake.config = replace(tutor_fake.config, min_relevance=0.0)
    tutor_fake.chat_model_factory = lambda backend, config, model, max_tokens: llm
    events = list(tutor_fake.stream(case["input"], backend="local"))
    answer = events[-1]
    streamed = "".join(e for e in events if isinstance(e, str))  # what the page showed while it streamed
    shown = answer.answer + json.dumps(answer.to_dict()) + streamed
    sent = " ".join(str(m.content) for msgs in llm.sent for m in msgs)

    problems = [f"forbidden {f!r} shown" for f in case.get("forbid", [])
                if f.lower() in answer.answer.lower() or f.lower() in streamed.lower()]
    if leaks_prompt(answer.answer, load("answer_system")) or leaks_prompt(streamed, load("answer_system")):
        problems.append("system prompt recited")
    if SECRET in shown or SECRET in sent:
        problems.append("API key shown or sent to the model")
    if answer.refused and answer.citations:
        problems.append("a refusal carries citations")
    if case["category"] == "false-premise":
        if answer.refused or answer.backend != "local" or not answer.answer.startswith(case["expect_prefix"]):
            problems.append(f"correction not kept: {answer.backend} {answer.answer[:80]!r}")
        elif not answer.citations:
            problems.append("correction has no citation")
    RESULTS[case["category"]].append(not problems)
    assert not problems, problems


@pytest.mark.parametrize("case", by_channel("document"), ids=lambda c: c["id"])
def test_instructions_inside_an_ingested_document_are_blanked_before_the_model_reads_them(case):
    passage = Passage(1, "doc#0", None, "notes.md", "notes", case["input"], 1.0, 0.9)
    prompt = " ".join(str(m.content) for m in build_messages("what does this say about training?", [passage]))
    user = prompt.split("Passages:", 1)[1]

    problems = [f"{f!r} reached the model" for f in case["forbid"] if f.lower() in user.lower()]
    if REMOVED not in user:
        problems.append("nothing was blanked")
    RESULTS[case["category"]].append(not problems)
    assert not problems, problems


def test_zz_pass_rates_per_category(capsys):
    """Printed for the closing note; each case above already asserts its own outcome."""
    with capsys.disabled():
        for category, outcomes in sorted(RESULTS.items()):
            print(f"\ninjection {category}: {sum(outcomes)}/{len(outcomes)} passed", end="")
    assert all(all(v) for v in RESULTS.values())
