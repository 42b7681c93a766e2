"""Interview framing: which words are about the interview rather than the subject, and how retrieval reads a
question with them (the subject's card first; a question about interviewing keeps its career card)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import FakeEmbedder

from tutor.framing import unframed


@pytest.mark.parametrize(("question", "bare"), [
    ("explain dropout in an interview", "explain dropout"),
    ("Explain BPTT in an interview.", "Explain BPTT."),
    ("interview question: what is BPTT?", "what is BPTT?"),
    ("What is a common interview question about batch norm?", "What is batch norm?"),
    ("An interviewer asked me why a layer norm is slow on a GPU", "why a layer norm is slow on a GPU"),
    ("The interviewer asked me to compare MAML with prototypical networks", "compare MAML with prototypical networks"),
    ("In an interview I was asked why XGBoost wins on tabular data", "why XGBoost wins on tabular data"),
    ("How would you explain attention to an interviewer?", "How would you explain attention?"),
    ("During my ML interview: what is weight decay?", "what is weight decay?"),
    ("explain dropout in simple terms", "explain dropout"),
    ("Briefly, what is dropout?", "what is dropout?"),
    ("what is dropout? give me an example", "what is dropout?"),
    ("explain dropout step by step like I'm a beginner", "explain dropout"),
    ("explain LSTMs in detail with an example", "explain LSTMs"),
    ("ELI5: attention", "attention"),
    ("Walk me through beam search step by step for a decoder.", "Walk me through beam search for a decoder."),
    ("What are the pros and cons of Adam?", "What are Adam?"),  # the kind of answer wanted, not the subject
    ("pros and cons of fft convolution vs winograd", "fft convolution vs winograd"),
    ("12. What is dropout?", "What is dropout?"),  # a list's numbering or label
    ("Q3: what is BPTT", "what is BPTT"),
    ("Question 7 - explain attention", "explain attention"),
    # a sentence announcing the interview
    ("I have an interview tomorrow. What is dropout?", "What is dropout?"),
    ("Hi! I have an interview on Friday. Can you explain LSTMs?", "Can you explain LSTMs?"),
    ("I'm preparing for my ML interview, what is BPTT?", "what is BPTT?"),
])
def test_the_framing_is_removed_and_the_subject_kept(question, bare):
    assert unframed(question) == bare


@pytest.mark.parametrize("question", [
    "what is dropout",
    "How many weeks should I set aside to get interview-ready?",  # about interviewing: nothing to remove
    "Why was the interview process designed like this",
    # answer-style words that are the subject here
    "What let language models train in parallel instead of step by step?",
    "Why does asking an LLM to show its reasoning step by step help?",
    "What makes Kneser-Ney better than simply adding one to every count?",
    "How should I plan training for a beginner runner?",
    "I never reset .grad between steps; is that why my loss explodes?",
    "2-layer networks and XOR",  # numbers that belong to the question
    "Q-learning vs SARSA",
    "10.5 is a learning rate?",
    # the announcement carries the question: kept whole
    "I have an interview tomorrow and I keep mixing up L1 and L2. What is the difference?",
])
def test_a_question_without_framing_is_left_alone(question):
    assert unframed(question) == question


CAREER = dict(
    question="How do I explain a project in an interview?",
    also_asked=["walk the interviewer through something you built", "interview tips for explaining your work"],
    scenarios=["an interviewer asks you to explain your project in an interview"],
    aliases=[],
    key_points=[{"point": "start with the problem, your role in the interview story, then the result",
                 "keywords": ["interview"], "synonyms": ["interviewer"]}],
    follow_ups=[],
    misconceptions=[],
    body=("In an interview, explain a project as a story the interviewer can follow: the problem, what you did, "
          "what you measured and what you would change. Interviewers want your own decisions, the trade-offs "
          "you weighed and the numbers that moved. Practise the explanation aloud before the interview, keep "
          "it under three minutes, and leave room for the interviewer's questions about the details. ") * 2,
)


@pytest.fixture
def career_index(tmp_path, cards_dir, write_card):
    from tutor.config import Config
    from tutor.ingest import ingest
    from tutor.tutor import Tutor

    write_card(cards_dir, "career/explaining-a-project", **CAREER)
    config = Config(index_dir=tmp_path / "index", sources=(cards_dir,), llm_backend="extractive")
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return Tutor(config, embedder_factory=FakeEmbedder)


def _first(tutor, question: str, unframe: bool) -> list[str]:
    retriever = tutor.retriever
    retriever.config = replace(tutor.config, unframe=unframe)
    return [p.card_id for p in retriever.search(question, 3)]


def test_a_framed_question_is_answered_from_its_subjects_card(career_index):
    question = "explain dropout in an interview to the interviewer"
    framed, plain = _first(career_index, question, False), _first(career_index, question, True)

    assert framed[0] == "career/explaining-a-project"  # what the framing words did before
    assert plain[0] == "training/dropout"


def test_a_question_about_interviewing_keeps_its_career_card(career_index):
    question = "How do I explain my project in an interview?"

    assert _first(career_index, question, True)[0] == "career/explaining-a-project"


def test_a_definition_question_naming_a_card_by_its_id_asks_for_that_card(tutor_fake):
    retriever = tutor_fake.retriever

    assert retriever.cards_by_name("What is a GRU?") == ["architectures/gru"]
    assert retriever.cards_by_name("what are LSTMs") == ["architectures/lstm"]
    assert retriever.cards_by_name("explain batch normalization") == ["training/batch-normalization"]
    assert retriever.cards_by_name("why does a GRU have fewer gates than an LSTM?") == []
    assert retriever.cards_by_name("what is normalization") == []  # part of an id is not its name
