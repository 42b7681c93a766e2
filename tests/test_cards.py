"""Curated cards: strict parsing, and errors that name the file, the line and what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import CARDS

from tutor.cards import TOPICS, Card, check_cards, find_card, is_card_file, load_cards, parse_card
from tutor.errors import CorpusError, UserError


def _line_no(path: Path, startswith: str) -> int:
    """1-based number of the first line of `path` starting with `startswith`."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith(startswith))


def _replace_line(path: Path, startswith: str, new: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith(startswith))
    lines[n] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return n + 1


def test_fixture_cards_load_sorted_by_id_with_all_fields(cards_dir):
    cards = load_cards(cards_dir)

    assert [c.id for c in cards] == sorted(CARDS)
    for card in cards:
        spec = CARDS[card.id]
        assert card.topic == card.id.split("/")[0]
        assert card.question == spec["question"]
        assert card.answer == spec["answer"].strip()
        assert card.follow_ups == tuple(spec["follow_ups"])
        assert card.also_asked == tuple(spec["also_asked"])
        assert [k.point for k in card.key_points] == [k["point"] for k in spec["key_points"]]
        assert card.path.endswith(f"{card.id}.md")


def test_card_survives_a_round_trip_through_its_dict(cards_dir):
    for card in load_cards(cards_dir):
        again = Card.from_dict(card.to_dict())
        assert again == Card(**{**card.__dict__, "path": ""})


def test_windows_line_endings_parse_like_unix_ones(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout")
    unix = parse_card(path)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))

    assert parse_card(path).key_points == unix.key_points
    assert parse_card(path).question == unix.question


def test_malformed_yaml_names_the_file_and_the_broken_line(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout")
    line = _replace_line(path, "question:", "question: What is: dropout: really")

    with pytest.raises(CorpusError) as err:
        parse_card(path)

    assert isinstance(err.value, UserError)
    assert f"{path}:{line}:" in str(err.value)
    assert "yaml" in str(err.value).lower()


def test_missing_front_matter_is_reported_on_line_one(tmp_path):
    path = tmp_path / "training" / "dropout.md"
    path.parent.mkdir()
    path.write_text("Dropout zeroes units at random.\n", encoding="utf-8")

    with pytest.raises(CorpusError, match=re.escape(f"{path}:1:")):
        parse_card(path)


def test_unknown_topic_lists_every_valid_topic_at_the_topic_line(tmp_path, write_card):
    path = write_card(tmp_path, "cooking/souffle", topic="cooking")

    with pytest.raises(CorpusError) as err:
        parse_card(path)

    msg = str(err.value)
    assert f"{path}:{_line_no(path, 'topic:')}:" in msg
    assert "cooking" in msg
    for topic in TOPICS:
        assert topic in msg


def test_id_that_does_not_match_the_file_place_is_rejected(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout", path_id="training/regularization")

    with pytest.raises(CorpusError) as err:
        parse_card(path)

    msg = str(err.value)
    assert f"{path}:{_line_no(path, 'id:')}:" in msg
    assert "training/dropout" in msg and "training/regularization" in msg


def test_id_in_another_topic_than_its_topic_field_is_rejected(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout", topic="basics")

    with pytest.raises(CorpusError, match="must start with its topic"):
        parse_card(path)


@pytest.mark.parametrize(
    ("override", "field", "says"),
    [
        ({"difficulty": 7}, "difficulty", "difficulty"),
        ({"question": "   "}, "question", "question"),
        ({"key_points": []}, "key_points", "key_points"),
        ({"key_points": [{"point": "has no keywords"}]}, "key_points", "`keywords`"),
        ({"also_asked": "not a list"}, "also_asked", "also_asked"),
        ({"aliases": [""]}, "aliases", "aliases"),
        ({"scenarios": "my loss went NaN"}, "scenarios", "scenarios"),
        ({"scenarios": ["a", "b", "c", "d"]}, "scenarios", "at most 3"),
        ({"misconceptions": "one string"}, "misconceptions", "misconceptions"),
        ({"misconceptions": ["a", "b", "c", "d", "e"]}, "misconceptions", "at most 4"),
    ],
)
def test_invalid_field_values_are_reported_at_their_line(tmp_path, write_card, override, field, says):
    path = write_card(tmp_path, "training/dropout", **override)

    with pytest.raises(CorpusError) as err:
        parse_card(path)

    assert f"{path}:{_line_no(path, field + ':')}:" in str(err.value)
    assert says in str(err.value)


def test_missing_required_field_is_named(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout")
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("difficulty:")]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(CorpusError, match="difficulty"):
        parse_card(path)


def test_card_without_answer_text_is_rejected(tmp_path, write_card):
    path = write_card(tmp_path, "training/dropout", body="")

    with pytest.raises(CorpusError, match="no answer text"):
        parse_card(path)


def test_dangling_follow_up_names_the_card_and_the_missing_id(cards_dir, write_card):
    path = write_card(cards_dir, "training/dropout", follow_ups=["training/weight-decay"])

    with pytest.raises(CorpusError) as err:
        load_cards(cards_dir)

    assert str(path) in str(err.value)
    assert "training/weight-decay" in str(err.value)


def test_duplicate_ids_across_roots_name_both_files(tmp_path, write_card):
    first = parse_card(write_card(tmp_path / "a", "training/dropout", follow_ups=[]))
    second = parse_card(write_card(tmp_path / "b", "training/dropout", follow_ups=[]))

    with pytest.raises(CorpusError) as err:
        check_cards([first, second])

    assert "duplicate" in str(err.value)
    assert first.path in str(err.value) and second.path in str(err.value)


def test_only_markdown_files_with_front_matter_count_as_cards(tmp_path, write_card):
    card = write_card(tmp_path, "training/dropout")
    readme = tmp_path / "training" / "README.md"
    readme.write_text("---\nnot a card\n---\n", encoding="utf-8")
    notes = tmp_path / "training" / "notes.md"
    notes.write_text("# Notes\nplain markdown\n", encoding="utf-8")

    assert is_card_file(card)
    assert not is_card_file(readme)
    assert not is_card_file(notes)


def test_aliases_and_misconceptions_are_optional_and_parsed(tmp_path, write_card):
    plain = parse_card(write_card(tmp_path / "a", "training/dropout"))
    rich = parse_card(write_card(
        tmp_path / "b", "training/dropout",
        aliases=["inverted dropout"],
        misconceptions=["dropout stays switched on at inference"],
    ))

    assert plain.aliases == () and plain.misconceptions == ()
    assert rich.aliases == ("inverted dropout",)
    assert rich.misconceptions == ("dropout stays switched on at inference",)
    assert Card.from_dict(rich.to_dict()).misconceptions == rich.misconceptions


def test_scenarios_are_optional_and_kept_in_order(tmp_path, write_card):
    plain = parse_card(write_card(tmp_path, "training/dropout"))
    said = ["my model memorizes the training set", "what happens if half the units are switched off"]
    card = parse_card(write_card(tmp_path / "b", "training/dropout", scenarios=said))

    assert plain.scenarios == ()
    assert card.scenarios == tuple(said)
    assert Card.from_dict(card.to_dict()).scenarios == tuple(said)
    older = {k: v for k, v in plain.to_dict().items() if k != "scenarios"}  # stored before the field existed
    assert Card.from_dict(older).scenarios == ()


def test_find_card_takes_the_full_id_or_a_unique_short_name(cards_dir):
    cards = {c.id: c for c in load_cards(cards_dir)}
    full = sorted(cards)[0]
    short = full.rsplit("/", 1)[-1]

    assert find_card(cards, full).id == full
    assert find_card(cards, f" {full.upper()}.md ").id == full  # as typed or pasted from a file name
    assert find_card(cards, short).id == full


def test_find_card_suggests_the_nearest_ids_instead_of_guessing(cards_dir):
    cards = {c.id: c for c in load_cards(cards_dir)}
    full = sorted(cards)[0]
    topic, short = full.split("/")
    other = next(t for t in TOPICS if t != topic)

    with pytest.raises(UserError, match="no card") as typo:
        find_card(cards, short[:-1])
    assert full in typo.value.fix
    with pytest.raises(UserError) as wrong_topic:  # a wrong topic is not silently replaced
        find_card(cards, f"{other}/{short}")
    assert full in wrong_topic.value.fix
    with pytest.raises(UserError) as nothing:
        find_card(cards, "zzzzzzzz")
    assert "tutor retrieve" in nothing.value.fix
