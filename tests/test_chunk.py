"""Chunking: token windows measured with tiktoken, overlapping, losing no word of the input."""

from __future__ import annotations

import random
import re

import pytest

from tutor.chunk import Chunk, first_sentence, make_chunks, split_text
from tutor.tokens import get_encoding

VOCAB = ("gradient", "dropout", "softmax", "attention", "layer", "norm", "weights", "loss", "batch", "token",
         "embedding", "residual", "kernel", "stride", "pooling", "optimizer", "momentum", "decay", "logits")


def random_text(seed: int, n_paragraphs: int) -> str:
    """Paragraphs of sentences of vocabulary words, each word made unique by a counter suffix."""
    rng = random.Random(seed)
    counter = 0
    paragraphs = []
    for _ in range(n_paragraphs):
        sentences = []
        for _ in range(rng.randint(1, 8)):
            words = []
            for _ in range(rng.randint(3, 25)):
                counter += 1
                words.append(f"{rng.choice(VOCAB)}{counter}")
            sentences.append(" ".join(words).capitalize() + rng.choice([".", "?", "!"]))
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def n_tokens(text: str) -> int:
    return len(get_encoding("cl100k_base").encode(text, disallowed_special=()))


CASES = [(seed, paras, tokens, overlap) for seed, paras, tokens, overlap in
         [(1, 1, 40, 8), (2, 3, 60, 10), (3, 8, 120, 20), (4, 12, 180, 30), (5, 5, 25, 5), (6, 20, 90, 0)]]


@pytest.mark.parametrize(("seed", "paras", "tokens", "overlap"), CASES)
def test_every_window_fits_the_token_budget(seed, paras, tokens, overlap):
    chunks = split_text(random_text(seed, paras), tokens=tokens, overlap=overlap)

    assert chunks
    assert all(n_tokens(c) <= tokens for c in chunks)


@pytest.mark.parametrize(("seed", "paras", "tokens", "overlap"), CASES)
def test_every_word_of_the_input_appears_in_some_window(seed, paras, tokens, overlap):
    text = random_text(seed, paras)

    chunks = split_text(text, tokens=tokens, overlap=overlap)

    in_chunks = set()
    for c in chunks:
        in_chunks.update(re.findall(r"\w+", c))
    assert set(re.findall(r"\w+", text)) <= in_chunks


def test_consecutive_windows_overlap():
    text = " ".join(f"Sentence {i} says why gradient clipping stabilizes recurrent training." for i in range(60))

    chunks = split_text(text, tokens=60, overlap=15)

    assert len(chunks) > 2
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        first_words = " ".join(nxt.split()[:4])
        assert first_words in prev, (prev, nxt)


def test_zero_overlap_repeats_nothing():
    text = random_text(7, 6)

    chunks = split_text(text, tokens=50, overlap=0)

    words = [w for c in chunks for w in re.findall(r"\w+", c)]
    assert len(words) == len(set(words)) == len(re.findall(r"\w+", text))


def test_windows_break_after_a_sentence_not_before_its_full_stop():
    text = " ".join(f"Sentence {i} says why gradient clipping stabilizes recurrent training." for i in range(60))

    chunks = split_text(text, tokens=60, overlap=15)

    assert all(c[0].isalnum() for c in chunks)
    assert all(c.endswith(".") for c in chunks)


def test_short_text_is_one_window_and_blank_text_none():
    assert split_text("Dropout zeroes units at random.") == ["Dropout zeroes units at random."]
    assert split_text("  \n\n ") == []


def test_make_chunks_numbers_ids_from_start_and_records_token_counts():
    text = random_text(8, 6)

    chunks = make_chunks("notes.txt", "Notes", "intro", text, tokens=50, overlap=10, start=3)

    assert len(chunks) > 1
    assert [c.id for c in chunks] == [f"notes.txt#{i}" for i in range(3, 3 + len(chunks))]
    for c in chunks:
        assert isinstance(c, Chunk)
        assert c.token_count == n_tokens(c.text)
        assert (c.source, c.title, c.section, c.card_id, c.kind) == ("notes.txt", "Notes", "intro", None, "document")


def test_card_chunks_are_named_after_the_card_and_embed_their_title():
    chunks = make_chunks("cards/dropout.md", "What is dropout?", "training", "Dropout zeroes units.",
                         card_id="training/dropout", kind="answer")

    assert [c.id for c in chunks] == ["training/dropout#0"]
    assert chunks[0].embed_text() == "What is dropout?\nDropout zeroes units."


def test_untitled_windows_are_labelled_by_their_first_sentence():
    chunks = make_chunks("a.txt", "", "a", "Residual connections add the input back. They ease optimisation.")

    assert chunks[0].title == "Residual connections add the input back."


def test_first_sentence_is_shortened_at_a_word_boundary():
    label = first_sentence("word " * 50, limit=30)

    assert len(label) <= 30
    assert label.endswith("…")
    assert label[:-1].split() == ["word"] * len(label[:-1].split())
