"""End to end from the command line with the real MiniLM embedder and the real grader: a quiz round with a
hint and a probe, a three-question mock interview, then `tutor progress`. Slow (torch + MiniLM load)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_env

from tutor.config import Config

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def real_index(minilm_cards_index: Config, tmp_path_factory) -> tuple[Path, Path]:
    """The shared MiniLM index of the fixture cards, and a private TUTOR_HOME for this module's progress."""
    return minilm_cards_index.index_dir, tmp_path_factory.mktemp("e2e-home")


def tutor_cmd(paths: tuple[Path, Path], *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    index, home = paths
    env = cli_env(TUTOR_BACKEND="extractive", TUTOR_HOME=str(home), TUTOR_PROFILE="e2e")
    proc = subprocess.run([sys.executable, "-m", "tutor.cli", "--index", str(index), *argv], input=stdin,
                          capture_output=True, text=True, timeout=300, cwd=REPO, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_quiz_interview_and_progress_from_the_command_line(real_index):
    quiz = tutor_cmd(real_index, "quiz", "--topic", "training", "--difficulty", "2", "--limit", "1", stdin=(
        "hint\n"
        "It normalizes each feature over the mini-batch to zero mean and unit variance.\n\n"
        "A learnable scale gamma and shift beta let the layer undo the normalization if needed.\n\n"))
    assert quiz.returncode == 0, quiz.stderr
    out = quiz.stdout
    assert "What is batch normalization" in out and "Hint 1: Area: training" in out
    assert "Score " in out and "✓" in out and "Follow-up:" in out
    scores = [line for line in out.splitlines() if line.startswith("Score ")]
    assert len(scores) == 2  # the answer and the probe's answer were both graded

    interview = tutor_cmd(real_index, "interview", "--questions", "3", "--seed", "7", "--minutes", "30", stdin=(
        "Dropout randomly zeroes units during training, which regularizes the network.\n\nskip\n"
        "I do not know.\n\nskip\n"
        "Softmax exponentiates the logits and divides by their sum so the outputs sum to one.\n\nskip\n"))
    assert interview.returncode == 0, interview.stderr
    graded = [line for line in interview.stdout.splitlines() if line.startswith("Score ")]
    assert len(graded) >= 3 and "# Mock interview scorecard — e2e" in interview.stdout
    assert "| training |" in interview.stdout or "| basics |" in interview.stdout
    saved = [line.split(" to ", 1)[1] for line in interview.stdout.splitlines() if line.startswith("scorecard saved")]
    assert saved and Path(saved[0]).read_text(encoding="utf-8").startswith("# Mock interview scorecard")

    progress = tutor_cmd(real_index, "progress", "--json")
    assert progress.returncode == 0, progress.stderr
    data = json.loads(progress.stdout)
    seen = sum(t["seen"] for t in data["topics"])
    assert data["profile"] == "e2e" and seen >= 3  # the interview may re-ask the quiz card
    assert next(t for t in data["topics"] if t["topic"] == "training")["mastery"] is not None
