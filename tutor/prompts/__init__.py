"""Prompt files under tutor/prompts/, loaded once with importlib.resources."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    return resources.files("tutor.prompts").joinpath(f"{name}.txt").read_text(encoding="utf-8").strip()
