"""Curated question cards: `corpus/cards/<topic>/<slug>.md`, YAML front matter + a model answer.

Parsing is strict because key points drive grading and evaluation: a malformed card is reported with
its file, line and what is wrong, and ingest stops before touching the index.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tutor.errors import CorpusError, UserError

TOPICS = ("basics", "coding", "training", "architectures", "nlp", "vision", "advanced", "career")
MAX_SCENARIOS = 3
_FRONT = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*\n(.*)\Z", re.S)


@dataclass(frozen=True)
class KeyPoint:
    point: str
    keywords: tuple[str, ...]
    synonyms: tuple[str, ...] = ()

    @property
    def phrases(self) -> tuple[str, ...]:
        return self.keywords + self.synonyms


@dataclass(frozen=True)
class Card:
    id: str
    topic: str
    question: str
    answer: str
    difficulty: int
    key_points: tuple[KeyPoint, ...]
    also_asked: tuple[str, ...] = ()
    # Symptoms and "what happens if" situations the card explains, in the card's own words: interviewers
    # describe a situation ("my loss went NaN") rather than name the topic. Indexed as question chunks.
    scenarios: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    misconceptions: tuple[str, ...] = ()
    path: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "topic": self.topic,
            "question": self.question,
            "answer": self.answer,
            "difficulty": self.difficulty,
            "also_asked": list(self.also_asked),
            "scenarios": list(self.scenarios),
            "follow_ups": list(self.follow_ups),
            "aliases": list(self.aliases),
            "misconceptions": list(self.misconceptions),
            "key_points": [
                {"point": k.point, "keywords": list(k.keywords), "synonyms": list(k.synonyms)}
                for k in self.key_points
            ],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Card:
        return cls(
            id=d["id"],
            topic=d["topic"],
            question=d["question"],
            answer=d["answer"],
            difficulty=int(d["difficulty"]),
            also_asked=tuple(d.get("also_asked", ())),
            scenarios=tuple(d.get("scenarios", ())),
            follow_ups=tuple(d.get("follow_ups", ())),
            aliases=tuple(d.get("aliases", ())),
            misconceptions=tuple(d.get("misconceptions", ())),
            key_points=tuple(
                KeyPoint(k["point"], tuple(k["keywords"]), tuple(k.get("synonyms", ()))) for k in d["key_points"]
            ),
        )


def _line_of(front: str, key: str) -> int:
    """1-based line in the file of `key:` (front matter starts on line 2)."""
    for i, line in enumerate(front.splitlines()):
        if line.lstrip().startswith(f"{key}:"):
            return i + 2
    return 1


def _str_list(meta: dict, key: str, fail) -> tuple[str, ...]:
    value = meta.get(key) or []
    # YAML reads a bare `0.25` as a float; a number is a fine keyword, so take its text.
    value = [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value] \
        if isinstance(value, list) else value
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fail(key, f"`{key}` must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def parse_card(path: Path) -> Card:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path}: not UTF-8 text (byte {exc.start}); save the card as UTF-8") from None
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        raise CorpusError(f"{path}:1: a card must start with YAML front matter between `---` lines")
    front, body = m.group(1), m.group(2).strip()

    def fail(key: str, why: str) -> None:
        raise CorpusError(f"{path}:{_line_of(front, key)}: {why}")

    import yaml  # here: a query reads cards from the index's JSON and never needs the YAML parser (~25 ms)

    try:
        meta = yaml.safe_load(front)
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        raise CorpusError(f"{path}:{line}: invalid YAML front matter ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(meta, dict):
        raise CorpusError(f"{path}:2: front matter must be a mapping of fields")
    for key in ("id", "topic", "question", "difficulty", "key_points"):
        if key not in meta:
            raise CorpusError(f"{path}:2: missing required field `{key}`")
    card_id, topic = str(meta["id"]), str(meta["topic"])
    if topic not in TOPICS:
        fail("topic", f"unknown topic `{topic}`; valid topics: {', '.join(TOPICS)}")
    if not card_id.startswith(f"{topic}/"):
        fail("id", f"id `{card_id}` must start with its topic `{topic}/`")
    expected = f"{path.parent.name}/{path.stem}"
    if expected != card_id:
        fail("id", f"id `{card_id}` does not match the file's place `<topic folder>/<file name>` = `{expected}`")
    if not isinstance(meta["question"], str) or not meta["question"].strip():
        fail("question", "`question` must be a non-empty string")
    if meta["difficulty"] not in (1, 2, 3):
        fail("difficulty", "`difficulty` must be 1, 2 or 3")
    if not body:
        raise CorpusError(f"{path}: the card has no answer text after the front matter")
    raw_points = meta["key_points"]
    if not isinstance(raw_points, list) or not raw_points:
        fail("key_points", "`key_points` must be a non-empty list")
    points = []
    for kp in raw_points:
        if not isinstance(kp, dict) or not isinstance(kp.get("point"), str) or not kp.get("keywords"):
            fail("key_points", f"each key point needs `point` and `keywords`; got {kp!r}")
        keywords = _str_list(kp, "keywords", fail)
        synonyms = _str_list(kp, "synonyms", fail)
        points.append(KeyPoint(kp["point"].strip(), keywords, synonyms))
    scenarios = _str_list(meta, "scenarios", fail)
    if len(scenarios) > MAX_SCENARIOS:
        fail("scenarios", f"`scenarios` holds at most {MAX_SCENARIOS} symptom or \"what happens if\" phrasings")
    misconceptions = _str_list(meta, "misconceptions", fail)
    if len(misconceptions) > 4:
        fail("misconceptions", "`misconceptions` holds at most 4 typical wrong beliefs")
    return Card(
        id=card_id,
        topic=topic,
        question=meta["question"].strip(),
        answer=body,
        difficulty=int(meta["difficulty"]),
        key_points=tuple(points),
        also_asked=_str_list(meta, "also_asked", fail),
        scenarios=scenarios,
        follow_ups=_str_list(meta, "follow_ups", fail),
        aliases=_str_list(meta, "aliases", fail),
        misconceptions=misconceptions,
        path=str(path),
    )


def is_card_file(path: Path) -> bool:
    if path.suffix.lower() != ".md" or path.name.lower() == "readme.md":
        return False
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.readline().strip() == "---"


def check_cards(cards: list[Card]) -> None:
    """Duplicate ids and dangling follow-ups are errors across the whole set."""
    seen: dict[str, str] = {}
    for card in cards:
        if card.id in seen:
            raise CorpusError(f"{card.path}: duplicate card id `{card.id}` (also in {seen[card.id]})")
        seen[card.id] = card.path
    for card in cards:
        for ref in card.follow_ups:
            if ref not in seen:
                raise CorpusError(f"{card.path}: follow-up `{ref}` is not a card id")


def load_cards(root: Path) -> list[Card]:
    """All cards under `root`, sorted by id, checked as a set."""
    cards = sorted((parse_card(p) for p in root.rglob("*.md") if is_card_file(p)), key=lambda c: c.id)
    check_cards(cards)
    return cards


def find_card(cards: Mapping[str, Card], given: str) -> Card:
    """The card a learner means by `given`: its id, or its name without the topic ("lstm-gates" when one
    card is named so), since ids are long and people type the short part they remember. Anything else is
    an error that lists the nearest ids rather than a bare "not found"."""
    key = given.strip().strip("/").lower().removesuffix(".md")
    if key in cards:
        return cards[key]
    name = key.rsplit("/", 1)[-1]
    topic = key.split("/", 1)[0] if "/" in key else ""
    by_name = {cid.rsplit("/", 1)[-1]: cid for cid in cards}  # a short name shared by two cards: either will do
    short = [c for cid, c in cards.items() if cid.rsplit("/", 1)[-1] == name]
    if len(short) == 1 and topic not in TOPICS:
        return short[0]
    near = [*(c.id for c in short), *difflib.get_close_matches(key, list(cards), n=3, cutoff=0.6),
            *(by_name[n] for n in difflib.get_close_matches(name, list(by_name), n=3, cutoff=0.6))]
    near = list(dict.fromkeys(near))[:3]
    fix = f"did you mean {', '.join(near)}?" if near else 'find its id with: tutor retrieve "your question"'
    raise UserError(f"no card `{given}`", fix=fix)
