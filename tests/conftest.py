"""Shared fakes and fixtures for the whole suite (other test modules rely on these names: keep them stable).

- `FakeEmbedder`: deterministic hashing bag-of-words embedder (dim 64, L2-normalized). Use the class
  itself as an embedder factory: `Tutor(config, embedder_factory=FakeEmbedder)`.
- `CARDS`: the six fixture cards as data (id -> fields); `card_markdown(...)` renders one card file;
  `write_cards(root)` writes all six under root.
- fixtures:
  - `cards_dir`   tmp/cards/<topic>/<slug>.md holding the six valid cards (basics, training, architectures).
  - `write_card`  callable `write_card(root, card_id, **overrides) -> Path` writing one card (valid by default).
  - `config`      tutor.config.Config with index_dir=tmp/index, sources=(cards_dir,) and
                  llm_backend="extractive" (no test reaches an LLM unless it names a backend).
  - `built_index` runs tutor.ingest.ingest with FakeEmbedder; returns the config.
  - `tutor_fake`  tutor.tutor.Tutor over `built_index` with FakeEmbedder.
  - `fake_minilm` monkeypatches tutor.embed.MiniLMEmbedder to FakeEmbedder (for CLI tests).
  - `cards`       the fixture cards as `Card` objects; `store` a SQLite progress store under tmp;
  - `practice_session`  callable `practice_session(clock=None, **kw) -> PracticeSession` for "alice" over
                  `store` and `cards` with FakeGrader, on `Clock()` (T0) unless a clock or `now=` is given.
  - `minilm_cards_index` (session) the six cards indexed once with the real MiniLM: read it, never write.
  - `real_index`, `app_server`, `browser` (session, from browser_harness.py): the repo's index, one
                  extractive `streamlit run` and one Chromium, shared by the browser tests.
- `T0`, `Clock`: a fixed start time and a settable clock (`clock.t = T0 + timedelta(...)`).
- `cli_env(**changes)`: the environment for running `python -m tutor.cli` in a subprocess (offline, this
  checkout first on the path, no shared TUTOR_DB); a change to None removes that variable.

Nothing here loads a real model except `minilm_cards_index` and `models_dir`, used by slow tests only.
The suite must not read /work/shared or the real corpus/: everything comes from these fixtures.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from browser_harness import app_server, browser, real_index  # noqa: F401  (session fixtures, shared)

from tutor.config import REPO_ROOT, Config

_WORD = re.compile(r"[a-z0-9]+")
# Function words carry no topic; leaving them out keeps unrelated questions' cosines near 0.
_STOPWORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "does", "for", "from", "how", "i", "in",
     "is", "it", "its", "of", "on", "or", "so", "that", "the", "this", "to", "what", "when", "which", "why",
     "with", "you", "your"]
)


class FakeEmbedder:
    """Hashing bag-of-words: each lower-cased word (minus a few stopwords) adds ±1 to one of 64 buckets;
    rows are L2-normalized.

    Deterministic across processes (blake2b, not Python's salted hash). Texts sharing words get a high
    cosine, unrelated texts a cosine near 0, so retrieval over the fixture cards behaves sensibly.
    `encoded` counts the texts this instance has embedded.
    """

    name = "fake-hash-embedder"
    dim = 64

    def __init__(self) -> None:
        self.encoded = 0

    @classmethod
    def vector(cls, text: str) -> np.ndarray:
        vec = np.zeros(cls.dim, dtype=np.float32)
        for word in _WORD.findall(text.lower()):
            if word in _STOPWORDS:
                continue
            h = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
            vec[h[0] % cls.dim] += 1.0 if h[1] & 1 else -1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:  # no words (or they cancelled out): a fixed unit vector keeps rows normalized
            vec[0], norm = 1.0, 1.0
        return vec / norm

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encoded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.vector(t) for t in texts]).astype(np.float32)


# Six small cards in our own words; follow-ups resolve within the set; every answer has 80+ words.
CARDS: dict[str, dict] = {
    "basics/softmax": {
        "question": "What does the softmax function do?",
        "also_asked": ["why do classifiers end with a softmax", "how are logits turned into probabilities"],
        "difficulty": 1,
        "key_points": [
            {"point": "exponentiates logits and divides by their sum", "keywords": ["exponential", "normalize"]},
            {"point": "outputs are positive and sum to one", "keywords": ["sum to one", "probability distribution"]},
            {"point": "subtracting the max logit keeps it numerically stable", "keywords": ["max logit", "overflow"]},
        ],
        "follow_ups": ["basics/learning-rate"],
        "answer": (
            "Softmax turns a vector of raw scores, called logits, into a probability distribution over "
            "classes. Each logit is exponentiated and then divided by the sum of all the exponentials, so "
            "every output is positive and the outputs add up to one. Larger logits receive a share of the "
            "probability mass that grows exponentially, which makes the largest class stand out. In "
            "practice we subtract the maximum logit before exponentiating: the result is identical but "
            "the exponentials can no longer overflow. Softmax is paired with the cross-entropy loss for "
            "multi-class classification, and that combination has a simple gradient: the predicted "
            "probabilities minus the one-hot target vector. A temperature parameter divides the logits "
            "first and controls how peaked or flat the distribution is."
        ),
    },
    "basics/learning-rate": {
        "question": "How do you choose the learning rate?",
        "also_asked": ["what happens if the learning rate is too high", "what is a learning rate schedule"],
        "difficulty": 2,
        "key_points": [
            {"point": "too high diverges, too low trains slowly", "keywords": ["diverge", "too slow"]},
            {"point": "a range test sweeps the rate and watches the loss", "keywords": ["range test", "sweep"]},
            {"point": "warmup then decay is a common schedule", "keywords": ["warmup", "cosine decay"]},
        ],
        "follow_ups": ["basics/softmax"],
        "answer": (
            "The learning rate is the step size of gradient descent, and it is usually the single most "
            "important hyperparameter to tune. If it is too high the loss oscillates or diverges to "
            "infinity; if it is too low training crawls and may settle in a poor region. A practical way "
            "to pick it is a range test: start tiny, raise the rate exponentially over a few hundred "
            "steps, and choose a value somewhat below the point where the loss begins to blow up. Modern "
            "recipes rarely keep it constant. A short linear warmup avoids unstable early updates, and "
            "then a schedule such as cosine decay or step decay shrinks the step size so the optimizer "
            "can settle into a minimum. Adaptive optimizers like Adam still need a sensible base rate."
        ),
    },
    "training/dropout": {
        "question": "What is dropout and why does it help?",
        "also_asked": ["how does dropout prevent overfitting", "what does dropout do at inference time"],
        "difficulty": 1,
        "key_points": [
            {"point": "randomly zeroes units during training", "keywords": ["randomly", "zero", "drop units"]},
            {"point": "acts as a regularizer against co-adaptation", "keywords": ["regularization", "co-adaptation"]},
            {"point": "scales activations so inference needs no change", "keywords": ["inverted dropout", "scale"]},
        ],
        "follow_ups": ["training/batch-normalization"],
        "answer": (
            "Dropout is a regularization technique for neural networks. During training, each forward pass "
            "randomly sets a fraction of the hidden units to zero, for example half of them, so the network "
            "cannot rely on any single neuron being present. Units are prevented from co-adapting and each "
            "one has to learn features that are useful on their own, which reduces overfitting. It can be "
            "seen as training a large ensemble of thinned sub-networks that share weights. With inverted "
            "dropout the surviving activations are scaled up by one over the keep probability during "
            "training, so at inference time dropout is simply switched off and the full network is used "
            "without any rescaling. Typical rates are between 0.1 and 0.5."
        ),
    },
    "training/batch-normalization": {
        "question": "What is batch normalization and why does it help?",
        "also_asked": ["why do we use batchnorm", "what does BN do during inference"],
        "difficulty": 2,
        "key_points": [
            {"point": "normalizes each feature over the mini-batch", "keywords": ["zero mean", "unit variance"]},
            {"point": "learnable scale and shift", "keywords": ["gamma", "beta"]},
            {"point": "uses running averages at inference", "keywords": ["running mean", "running average"]},
        ],
        "follow_ups": ["training/dropout"],
        "answer": (
            "Batch normalization standardizes the inputs of a layer using statistics of the current "
            "mini-batch: for every feature it subtracts the batch mean and divides by the batch standard "
            "deviation, giving zero mean and unit variance. A learnable scale called gamma and a learnable "
            "shift called beta then let the layer recover any distribution it needs. The effect is a "
            "smoother loss surface, which allows higher learning rates, makes training less sensitive to "
            "weight initialization and adds a mild regularizing noise. At inference time there may be no "
            "batch, so the layer uses running averages of the mean and variance collected during training. "
            "Very small batches make the statistics noisy, which is why layer normalization is preferred "
            "in transformers."
        ),
    },
    "architectures/lstm": {
        "question": "How does an LSTM work?",
        "also_asked": ["what are the gates of a long short-term memory network", "why do LSTMs help with long sequences"],
        "difficulty": 2,
        "key_points": [
            {"point": "a cell state carries information across time steps", "keywords": ["cell state"]},
            {"point": "forget, input and output gates control the flow", "keywords": ["forget gate", "input gate", "output gate"]},
            {"point": "additive updates ease vanishing gradients", "keywords": ["vanishing gradient", "additive"]},
        ],
        "follow_ups": ["architectures/gru"],
        "answer": (
            "A long short-term memory network is a recurrent architecture built to remember information over "
            "many time steps. Besides the hidden state it keeps a separate cell state that runs through the "
            "sequence with only small, additive changes. Three gates, each a sigmoid layer with values "
            "between zero and one, decide what happens to it: the forget gate chooses what to erase from the "
            "cell, the input gate chooses which new candidate values to write, and the output gate chooses "
            "how much of the cell to expose as the hidden state. Because the cell is updated by addition "
            "rather than repeated multiplication, gradients can flow back through long sequences without "
            "vanishing as quickly as in a plain recurrent network."
        ),
    },
    "architectures/gru": {
        "question": "What is a GRU?",
        "also_asked": ["gated recurrent unit explained", "what is the difference between a GRU and an LSTM"],
        "difficulty": 2,
        "key_points": [
            {"point": "two gates: update and reset", "keywords": ["update gate", "reset gate"]},
            {"point": "no separate cell state", "keywords": ["no cell state", "hidden state only"]},
            {"point": "fewer parameters than an LSTM", "keywords": ["fewer parameters", "faster"]},
        ],
        "follow_ups": ["architectures/lstm"],
        "answer": (
            "A gated recurrent unit is a simpler relative of the LSTM. It merges the cell state and the "
            "hidden state into one vector and uses only two gates. The update gate decides how much of the "
            "previous hidden state to keep and how much to replace with a new candidate, playing the role of "
            "the forget and input gates together. The reset gate decides how much of the past to ignore "
            "when that candidate is computed. With fewer gates a GRU has fewer parameters, trains a little "
            "faster and often matches an LSTM on moderate sequence lengths, while the LSTM can be stronger "
            "on very long dependencies. Choosing between them is usually an empirical question settled on "
            "a validation set."
        ),
    },
}


def card_markdown(card_id: str, **overrides: object) -> str:
    """The Markdown file of `CARDS[card_id]` (or of a new id), with any field overridden.

    `topic` defaults to the id's first part; pass `body=` to replace the answer text.
    """
    base = dict(CARDS.get(card_id) or CARDS["training/dropout"])
    body = overrides.pop("body", base.pop("answer", None))
    base.pop("answer", None)
    meta = {"id": card_id, "topic": card_id.split("/")[0], **base, **overrides}
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n{body}\n"


@pytest.fixture
def write_card():
    """`write_card(root, card_id, **overrides) -> Path`: writes root/<topic>/<slug>.md (path from the id)."""

    def write(root: Path, card_id: str, path_id: str | None = None, **overrides: object) -> Path:
        path = Path(root) / f"{path_id or card_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(card_markdown(card_id, **overrides), encoding="utf-8")
        return path

    return write


def write_cards(root: Path) -> Path:
    """root/<topic>/<slug>.md for every card in CARDS; returns root (for module- and session-wide indexes)."""
    for card_id in CARDS:
        path = root / f"{card_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(card_markdown(card_id), encoding="utf-8")
    return root


@pytest.fixture
def cards_dir(tmp_path: Path) -> Path:
    """tmp/cards/<topic>/<slug>.md for every card in CARDS."""
    return write_cards(tmp_path / "cards")


@pytest.fixture
def config(tmp_path: Path, cards_dir: Path) -> Config:
    return Config(index_dir=tmp_path / "index", sources=(cards_dir,), llm_backend="extractive")


@pytest.fixture
def built_index(config: Config) -> Config:
    """An index of the fixture cards built with FakeEmbedder; returns the config that points at it."""
    from tutor.ingest import ingest

    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return config


@pytest.fixture
def tutor_fake(built_index: Config):
    from tutor.tutor import Tutor

    return Tutor(built_index, embedder_factory=FakeEmbedder)


@pytest.fixture(scope="session", autouse=True)
def _pin_onnx_export_dir():
    """Tests that give themselves a private TUTOR_HOME still use the ONNX MiniLM and the grading reader and
    misconception spotter that `make install` exported."""
    import os

    from tutor import pair_model, spotter
    from tutor.onnx_export import model_dir
    from tutor.reader import reader_dir

    os.environ.setdefault("TUTOR_EMBEDDER_DIR", str(model_dir()))
    os.environ.setdefault("TUTOR_READER_DIR", str(reader_dir()))
    os.environ.setdefault("TUTOR_SPOTTER_DIR", str(pair_model.export_dir(spotter.SPEC)))
    yield


@pytest.fixture
def fake_minilm(monkeypatch: pytest.MonkeyPatch) -> type[FakeEmbedder]:
    """Make the CLI's real embedder a FakeEmbedder (ingest and the Tutor look it up at call time)."""
    import tutor.embed

    monkeypatch.setattr(tutor.embed, "MiniLMEmbedder", FakeEmbedder)
    return FakeEmbedder


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding SmolLM2-135M (98 MB, plumbing only), installed once per test session.

    `TUTOR_TEST_MODELS_DIR` reuses one folder across runs.
    """
    import os

    from tutor import models

    root = Path(os.environ.get("TUTOR_TEST_MODELS_DIR") or tmp_path_factory.mktemp("models"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TUTOR_MODELS_DIR", str(root))
        models.install("smollm2-135m", progress=False)
    return root


def cli_env(**changes: str | None) -> dict[str, str]:
    """The environment a `python -m tutor.cli` subprocess runs with.

    Offline (no hub lookups), this checkout first on the path (the shared venv's editable install points
    elsewhere), no TUTOR_DB from the developer's shell (a test must not write a shared database).
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false"}
    env.pop("TUTOR_DB", None)
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


@pytest.fixture(scope="session")
def minilm_cards_index(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The six fixture cards indexed with the real MiniLM embedder, once per test session.

    Six slow modules each built this same index (one of them once per test); shared, it is built once.
    Tests only read it: one that needs to change an index builds its own.
    """
    from tutor.embed import MiniLMEmbedder
    from tutor.ingest import ingest

    root = tmp_path_factory.mktemp("minilm-cards")
    config = Config(index_dir=root / "index", sources=(write_cards(root / "cards"),), llm_backend="extractive")
    ingest(config, MiniLMEmbedder, MiniLMEmbedder.name, progress=False)
    return config


# ---- practice and interview: a fixed clock, the fixture cards, a progress store -------------------------

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand: `clock.t = T0 + timedelta(minutes=5)`."""

    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def cards(cards_dir: Path):
    from tutor.cards import load_cards

    return load_cards(cards_dir)


@pytest.fixture
def store(tmp_path: Path):
    """A fresh SQLite progress store under tmp (test_progress.py runs its own over SQLite and PostgreSQL)."""
    from tutor.progress import open_store

    s = open_store(None, tmp_path)
    yield s
    s.close()


@pytest.fixture
def practice_session(store, cards):
    """`practice_session(clock=None, **kw)`: a PracticeSession for "alice" graded by FakeGrader."""
    from fake_grader import FakeGrader

    from tutor.practice import PracticeSession

    def make(clock=None, **kw):
        kw.setdefault("now", clock or Clock())
        return PracticeSession(store, FakeGrader(), cards, "alice", **kw)

    return make
