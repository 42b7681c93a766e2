"""Real models: all-MiniLM-L6-v2 finds the right fixture card for paraphrases, and the `tutor` command works
end to end in a subprocess. Slow (loads torch + the embedder), so marked `slow`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CARDS, cli_env

from tutor.errors import UserError

pytestmark = pytest.mark.slow

PARAPHRASES = [
    ("randomly zeroing activations while training", "training/dropout"),
    ("normalizing exponentiated scores so the outputs add up to one", "basics/softmax"),
    ("how big should each gradient descent step be", "basics/learning-rate"),
    ("standardizing a layer's inputs with the mean and variance of the mini-batch", "training/batch-normalization"),
    ("recurrent network with forget, input and output gates and a memory cell", "architectures/lstm"),
    ("recurrent unit that only has an update gate and a reset gate", "architectures/gru"),
]


@pytest.fixture(scope="module")
def real_cards(minilm_cards_index):
    return minilm_cards_index.sources[0]


@pytest.fixture(scope="module")
def real_tutor(minilm_cards_index):
    from tutor.embed import MiniLMEmbedder
    from tutor.tutor import Tutor

    return Tutor(minilm_cards_index, embedder_factory=MiniLMEmbedder)


@pytest.mark.parametrize(("question", "card_id"), PARAPHRASES)
def test_a_paraphrased_question_retrieves_its_card_first(real_tutor, question, card_id):
    _, passages = real_tutor.retrieve(question)

    assert passages[0].card_id == card_id, [(p.card_id, round(p.relevance, 3)) for p in passages]


@pytest.mark.parametrize(("question", "card_id"), PARAPHRASES)
def test_a_paraphrased_question_gets_a_cited_extractive_answer(real_tutor, question, card_id):
    answer = real_tutor.ask(question, backend="extractive")

    assert not answer.refused, answer.passages[0].relevance
    assert answer.citations[0].card_id == card_id


def test_the_real_embedder_is_384_dimensional_and_normalized(real_tutor):
    import numpy as np

    vecs = real_tutor.embedder.encode(["dropout", "a gated recurrent unit"])

    assert vecs.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-4)


def test_a_follow_up_retrieves_with_the_previous_question(real_tutor):
    _, passages = real_tutor.retrieve("and how is it different from GRU?", history=["How does an LSTM work?"])

    assert {p.card_id for p in passages[:2]} == {"architectures/lstm", "architectures/gru"}


def test_an_off_topic_question_is_refused(real_tutor):
    answer = real_tutor.ask("How long should I boil an egg to get a runny yolk?", backend="extractive")

    assert answer.refused
    assert answer.citations == []


def test_an_off_topic_turn_in_a_conversation_is_refused_as_it_would_be_alone(real_tutor):
    # as `tutor chat` keeps it: each turn's standalone reading
    history = ["what is batch normalization", "what is batch normalization and why does it behave differently at inference?"]
    answer = real_tutor.ask("what is the capital of France?", history=history, backend="extractive")

    assert answer.refused and answer.citations == []
    follow_up = real_tutor.ask("what about the scale and shift it learns?", history=history[:1], backend="extractive")
    assert not follow_up.refused and follow_up.citations


def test_grading_with_a_reference_finds_the_card_the_reference_is_about(real_tutor):
    # The question alone finds the batch-norm card below the grading bar (relevance .41 < .5): without the
    # reference's words it was graded against the bare reference instead of the card's rubric.
    question = "What is the purpose of the extra trainable parameters in a normalization layer?"
    reference = ("Each feature is standardized with the mini-batch mean and variance, then a learned scale gamma "
                 "and shift beta restore the layer's expressiveness; at inference the running averages replace "
                 "batch statistics.")

    card = real_tutor.card_for_question(question, reference)

    assert card is not None and card.id == "training/batch-normalization"


def test_grading_with_a_reference_on_an_uncovered_topic_keeps_the_reference(real_tutor):
    question = "How does a world model let an agent learn from imagined rollouts?"
    reference = ("A world model learns the environment's dynamics in a latent space; the agent then trains its "
                 "policy on trajectories imagined by that model instead of real interaction, which saves samples.")

    assert real_tutor.card_for_question(question, reference) is None
    grade = real_tutor.grade("The agent learns a dynamics model and trains its policy inside imagined rollouts.",
                             question=question, reference=reference)
    assert grade.card_id is None and grade.points


def test_grading_without_a_reference_declines_a_card_the_question_only_loosely_matches(real_tutor):
    # the dropout card comes first at relevance .42: graded against it, an answer on weight decay was judged
    # on dropout's points; without a card that answers it, the learner is asked for a reference
    question = "How does weight decay regularize a network?"
    answer = "It adds an L2 penalty on the weights, shrinking them towards zero each step."

    assert real_tutor.card_for_question(question, None, answer) is None
    with pytest.raises(UserError, match="no reference"):
        real_tutor.grade(answer, question=question)


def test_grading_without_a_reference_reads_the_answer_but_an_off_topic_one_cannot_move_the_card(real_tutor):
    found = real_tutor.card_for_question(
        "What is the purpose of the extra trainable parameters in a normalization layer?", None,
        "They are gamma and beta: after standardizing with the batch statistics the layer rescales and shifts.")
    assert found is not None and found.id == "training/batch-normalization"
    grade = real_tutor.grade("An LSTM has input, forget and output gates around a memory cell that carries "
                             "information across long sequences.", question="What is dropout and why does it help?")
    assert grade.card_id == "training/dropout" and grade.label == "incorrect"


# --- the console command in a subprocess -------------------------------------------------------------------

def tutor_cmd(*argv: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutor.cli", *argv], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=cli_env(TUTOR_BACKEND="extractive"))


def test_the_command_ingests_then_answers_with_citations(real_cards, tmp_path):
    index = str(tmp_path / "index")

    built = tutor_cmd("--index", index, "ingest", "--only", str(real_cards), "--json", cwd=tmp_path)
    asked = tutor_cmd("--index", index, "ask", "--backend", "extractive", "--json",
                      "Why would I randomly switch off neurons during training?", cwd=tmp_path)

    for proc in (built, asked):
        assert proc.returncode == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    report = json.loads(built.stdout)
    assert report["n_cards"] == len(CARDS) and report["n_embedded"] == report["n_chunks"]
    answer = json.loads(asked.stdout)
    assert not answer["refused"]
    assert answer["citations"][0]["card_id"] == "training/dropout"
    assert "[1]" in answer["answer"]


def test_the_command_on_a_missing_index_exits_2_with_the_fix(tmp_path):
    proc = tutor_cmd("--index", str(tmp_path / "nowhere"), "ask", "--backend", "extractive", "What is dropout?",
                     cwd=tmp_path)

    assert proc.returncode == 2
    assert f"tutor --index {tmp_path / 'nowhere'} ingest" in proc.stderr
    assert "Traceback" not in proc.stderr


FALSE_PREMISES = [json.loads(line) for line in
                  (Path(__file__).parent / "data" / "injection.jsonl").read_text().splitlines()
                  if json.loads(line)["category"] == "false-premise"]


@pytest.mark.parametrize("case", FALSE_PREMISES, ids=lambda c: c["id"])
def test_a_false_premise_is_in_scope_and_finds_the_card_that_corrects_it(real_tutor, case):
    from tutor.grounding import claim

    _, passages = real_tutor.retrieve(claim(case["input"]))

    # "GRUs have three gates, more than LSTMs" is about both cards: the correcting card is in the prompt.
    assert case["card_id"] in [p.card_id for p in passages[:2]], [(p.card_id, round(p.relevance, 3)) for p in passages]
    assert passages[0].relevance >= real_tutor.config.min_relevance
