"""The shipped corpus: every card and golden row is well-formed, and nothing copies the source article."""

from __future__ import annotations

import json
import re

import pytest

from tutor.cards import TOPICS, load_cards
from tutor.config import REPO_ROOT, SEED_ARTICLE

CARDS = REPO_ROOT / "corpus" / "cards"
GOLDEN = REPO_ROOT / "corpus" / "golden"


@pytest.fixture(scope="module")
def cards():
    return load_cards(CARDS)


def rows(name: str) -> list[dict]:
    return [json.loads(line) for line in (GOLDEN / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_has_at_least_120_cards_across_all_topics(cards):
    assert len(cards) >= 120
    assert {c.topic for c in cards} == set(TOPICS)


def test_every_card_meets_the_card_format(cards):
    problems = []
    for c in cards:
        words = len(c.answer.split())
        if not 80 <= words <= 250:
            problems.append(f"{c.id}: answer has {words} words")
        if not 3 <= len(c.key_points) <= 6:
            problems.append(f"{c.id}: {len(c.key_points)} key points")
        if not 2 <= len(c.also_asked) <= 4:
            problems.append(f"{c.id}: {len(c.also_asked)} also_asked")
        if not 1 <= len(c.follow_ups) <= 3 or c.id in c.follow_ups:
            problems.append(f"{c.id}: follow_ups {c.follow_ups}")
        body = c.answer.lower()
        problems += [f"{c.id}: keyword `{k}` not in the answer" for p in c.key_points for k in p.keywords
                     if k.lower() not in body]
    assert not problems, "\n".join(problems)


def test_difficulties_are_mixed(cards):
    assert {c.difficulty for c in cards} == {1, 2, 3}


def _grams(text: str, n: int = 10) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SEED_ARTICLE.is_file(), reason="the source article (../shared/seed/article.txt) is absent")
def test_no_card_shares_ten_consecutive_words_with_the_article(cards):
    article = _grams(SEED_ARTICLE.read_text(encoding="utf-8"))
    copied = [c.id for c in cards if _grams(f"{c.question} {c.answer}") & article]
    assert not copied, f"cards copying the article: {copied}"


def test_golden_questions_are_well_formed(cards):
    ids = {c.id: c for c in cards}
    qs = rows("questions.jsonl")
    assert len(qs) >= 150
    seen: set[str] = set()
    for q in qs:
        assert q["id"] not in seen, q["id"]
        assert q.get("previous") is None or q["previous"] in seen, f"{q['id']}: previous must come earlier"
        seen.add(q["id"])
        assert q["question"].strip() and q["key_points"], q["id"]
        assert all(isinstance(kp, list) and kp and all(isinstance(a, str) for a in kp) for kp in q["key_points"])
        card = ids.get(q.get("card_id"))
        assert card is not None, f"{q['id']}: unknown card {q.get('card_id')}"
        body = card.answer.lower()
        for kp in q["key_points"]:
            assert any(a.lower() in body for a in kp), f"{q['id']}: key point {kp} not in {card.id}"
    kinds = [q.get("kind") for q in qs]
    assert kinds.count("paraphrase") >= 40 and kinds.count("followup") >= 15


def test_golden_questions_use_other_wording_than_the_cards(cards):
    phrasings = {p.lower().strip(" ?") for c in cards for p in (c.question, *c.also_asked)}
    same = [q["id"] for q in rows("questions.jsonl") if q["question"].lower().strip(" ?") in phrasings]
    assert not same


def test_out_of_scope_and_grading_sets_are_well_formed(cards):
    oos = rows("out_of_scope.jsonl")
    assert len(oos) >= 30 and all(set(r) - {"split"} == {"id", "question"} for r in oos)
    grading = rows("grading.jsonl")
    assert len(grading) >= 90
    labels = [g["label"] for g in grading]
    for label in ("correct", "partial", "incorrect"):
        assert labels.count(label) >= len(grading) // 4, label
    for g in grading:
        lo, hi = g["score_band"]
        assert 0 <= lo <= hi <= 10 and g["answer"] is not None and g["reference"].strip()
    all_ids = [r["id"] for r in oos + grading + rows("questions.jsonl")]
    assert len(all_ids) == len(set(all_ids))
