"""Does each card come first when asked about its own subject by name, plainly and in interview framing?

For every card, its name (the id's last part, hyphens as spaces) and each alias go into "what is {name}" and
"explain {name} in an interview"; a card should come first for both. Framing words ("interview") occur in
our material almost only in the career cards, which used to win the framed form (tutor/framing.py).

    python bench/framing_audit.py [--index DIR] [--misses]

Session 31, cards-only index of 271 cards (960 distinct names and aliases), card first:

    reading                                 what is {name}    explain {name} in an interview
    framing kept (Config.unframe off)       .982 (943/960)    .843 (809/960), a career card first in 113
    unframed when that reading clears       .982 (943/960)    .970 (931/960), a career card first in 7
    the refusal threshold (default)
    + a definition question naming a card   .994 (954/960)    .985 (946/960)
    by its id (Retriever.cards_by_name)

Answer-style wordings (`--styles`), before / after tutor/framing.py reads them as framing too:
"explain {name} in simple terms" .890 / .990, "briefly, what is {name}?" .938 / .994, "what is {name}? give
me an example" .927 / .994, "explain {name} step by step like I'm a beginner" .828 / .985, and a list's
label, "Q7: what is {name}?", .935 / .994. Golden dev /
test rank 1 .739 / .779 either way (10 of 852 golden questions carry framing; style words that were the
subject there, "instead of step by step", "simply adding one", are left alone).

Other question forms (`--asks`), before / after the glossary's definition pattern read them as asking about
one named subject (tutor/glossary.py, `definition_term`): "why do we use {name}?" .902 / .989, "what are
the pros and cons of {name}?" .875 / .982 (two cards whose own phrasings say "pros and cons" came first
for 89 names; .993 once tutor/framing.py also reads "the pros and cons of" as the kind of answer wanted,
which saves the subjects no card is named after: "pros and cons of Adam" had the convolution-algorithms
card first), "when should I use {name}?" .870 / .981, "how does {name} work?" .992 / .992. Golden and
real lists unchanged.

Typos (`--typos`: "what is {name}" with two neighbouring letters of its longest word swapped, 229 names of
7+ letters): card first .712 without typo correction, .991 with it (tutor/spelling.py, `correct_typos`).
Golden dev unchanged, test rank 1 .779 → .782 and within 300 words .826 → .829; refusal unchanged;
real lists unchanged.

Conversational requests (`--requests`, session 32), before / after the glossary's definition pattern reads
their openers and endings (tutor/glossary.py, `definition_term`): "can you explain {name}?" .910 / .993, "what
do you know about {name}?" .914 / .995, "I don't really understand {name}" .928 / .996, "what's the intuition
behind {name}?" .938 / .996, "what problem does {name} solve?" .906 / .990, "how is {name} implemented?" .937
/ .995; and the public lists' forms: "Explain the concept of {name}." .927 / .996, "What is {name} and why is
it important?" .926 / .994, "What is {name}? How does it work?" .916 / .994, "Discuss {name}." .926 / .996,
"What are the different types of {name}?" .936 / .996, "What are the benefits of using {name}?" .916 / .996,
"How would you explain {name} to a non-technical person?" .895 / .996, "What is the role of {name} in deep
learning?" .833 / .989, "Give an overview of {name}." .936 / .996, "Talk me through {name}." .862 / .993,
"{name} explained" .924 / .992, "intro to {name}" .923 / .996, "In deep learning, what is {name}?" .875 /
.992, "Quick question: what is {name}?" .938 / .996, "I have an interview tomorrow. What is {name}?" .891 /
.993 (tutor/framing.py drops the announcement), "{name} - what is it?" .934 / .995, "Why is {name} used?" .904
/ .987, "How does {name} help?" .924 / .992, "Why does {name} work?" .914 / .993, "Can you give me an example
of {name}?" .902 / .993, "whats {name}" .941 / .995 (the misses had a card that merely uses the name first:
"can you explain CNN?" the CNN-interpretability card, "what do you know about RNN?" the transformer card).
Golden dev / test, the real GitHub list and the public-style stand-in unchanged.

Turns that change the subject (`--turns`, session 32): each name asked as the second turn of a conversation
whose first turn was another card's question of the same topic. The conversation's card (its prior vote and
the reading prefixed with the previous question) kept the old card first: "what about {name}?" .716, "and
{name}?" .711, "what is {name}?" .802, "can you explain {name} too?" .683, "ok, now explain {name}" .599 ("what
about ZeRO?" after a question on speculative decoding answered with speculative decoding). A turn whose whole
subject names another card is now read as a fresh question (Retriever.names_new_subject): .993 / .993 / .994
/ .991 / .991. Golden follow-ups unchanged (dev .670, test .814: none of them is a bare name).

More public-list forms (`--lists`, session 33), before / after the glossary's definition pattern read them
(tutor/glossary.py): "What is {name}? Why do we need it?" .905 / .993, "What are {name}? Why do we need them?" .906
/ .992, "What is {name}? What is it used for?" .924 / .995, "How to use {name}?" .926 / .994, "How do you implement
{name}?" .902 / .994, "Which types of {name} do you know?" .900 / .992, "What do you mean by {name}?" .927 / .993,
"How does {name} work in practice?" .912 / .991, "Compare {name} with alternatives." .905 / .992 ("What is ZeRO?
Why do we need it?" had the zero_grad card first, "What do you mean by CLIP?" the gradient-clipping card). The
38 forms above move by one name at most ("which language explained": "which" now opens a question). Golden dev /
test unchanged; real GitHub list first .796 → .799.

What follows the named card (`--neighbours`, session 33): for "what is {name}" / "what about {name}?", passages
2-5 came from whatever the bare words met (after "what about GRUs?": a GELU card, an LLM fine-tuning card).
Ranking now reads the named card's own question beside it (Config.definition_expand): passages 2-5 whose card
and the named one use each other's names .361 → .417 / .331 → .394, same topic .424 → .482 / .420 → .477; card
first .995 / .995 → .995 / .996. Golden dev / test and the real lists unchanged.

The last row is partly circular here (the names are the ids), but the defect was real: "what is a
transformer" put the positional-encoding card first, "what is learning rate" the scheduling card.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from dataclasses import replace
from pathlib import Path

from tutor import embed
from tutor.cards import load_cards
from tutor.config import REPO_ROOT, Config
from tutor.index import load_index
from tutor.retrieve import Retriever

TEMPLATES = ("what is {}", "explain {} in an interview")
STYLES = ("explain {} in simple terms", "briefly, what is {}?", "what is {}? give me an example",
          "explain {} step by step like I'm a beginner", "Q7: what is {}?")
ASKS = ("how does {} work?", "why do we use {}?", "what are the pros and cons of {}?", "when should I use {}?")
REQUESTS = ("can you explain {}?", "what do you know about {}?", "I don't really understand {}",
            "what's the intuition behind {}?", "what problem does {} solve?", "how is {} implemented?",
            "Explain the concept of {}.", "What is {} and why is it important?", "What is {}? How does it work?",
            "Discuss {}.", "What are the different types of {}?", "What are the benefits of using {}?",
            "How would you explain {} to a non-technical person?", "What is the role of {} in deep learning?",
            "Give an overview of {}.", "Talk me through {}.", "{} explained", "intro to {}",
            "In deep learning, what is {}?", "Quick question: what is {}?", "I have an interview tomorrow. What is {}?",
            "{} - what is it?", "Why is {} used?", "How does {} help?", "Why does {} work?",
            "Can you give me an example of {}?", "whats {}")

# More of the public lists' forms (`--lists`, session 33): a second question about the same subject, "which …
# do you know?", "how to use / implement …".
LISTS = ("What is {}? Why do we need it?", "What are {}? Why do we need them?", "What is {}? What is it used for?",
         "How to use {}?", "How do you implement {}?", "Which types of {} do you know?", "What do you mean by {}?",
         "How does {} work in practice?", "Compare {} with alternatives.")


def _names(card) -> set[str]:
    return {card.id.rsplit("/", 1)[-1].replace("-", " ").lower(), *(a.lower() for a in card.aliases)}


def _mentions(a, b) -> bool:
    """Does card a's text (question, answer, other phrasings) use one of card b's names?"""
    text = " ".join([a.question, a.answer, *a.also_asked]).lower()
    return any(re.search(rf"(?<![\w-]){re.escape(n)}s?(?![\w-])", text) for n in _names(b) if len(n) > 2)


def neighbours_audit(index, embedder, config: Config, cards: list) -> None:
    """What comes after the card a bare name asks for: the share of passages 2-5 whose card and the named one
    use each other's names, and the share from the same topic, with and without Config.definition_expand."""
    by_id = {c.id: c for c in cards}
    for expand in (False, True):
        retriever = Retriever(index, embedder, replace(config, definition_expand=expand))
        for template in ("what is {}", "what about {}?"):
            linked = same = total = 0
            for card in cards:
                for name in dict.fromkeys([card.id.rsplit("/", 1)[-1].replace("-", " "), *card.aliases]):
                    for other in [by_id[p.card_id] for p in retriever.search(template.format(name), 5)[1:]
                                  if p.card_id in by_id]:
                        total += 1
                        linked += _mentions(other, card) or _mentions(card, other)
                        same += other.topic == card.topic
            print(f"definition_expand {expand!s:5} {template!r:18} passages 2-5: linked by name {linked / total:.3f}, "
                  f"same topic {same / total:.3f}")


def typo_audit(retriever: Retriever, cards: list, unframe: bool) -> None:
    """Each card's name with one swap of neighbouring letters in its longest word (7+ letters), searched the
    way a learner's question is (Retriever.search_in_context: respelling and typo correction first)."""
    rng = random.Random(0)
    first = total = 0
    for card in cards:
        words = card.id.rsplit("/", 1)[-1].split("-")
        i = max(range(len(words)), key=lambda j: len(words[j]))
        if len(words[i]) < 7:
            continue
        k = rng.randrange(1, len(words[i]) - 2)
        w = words[i]
        words[i] = w[:k] + w[k + 1] + w[k] + w[k + 2:]
        got = [p.card_id for p in retriever.search_in_context("what is " + " ".join(words), None, 3)[1]]
        total += 1
        first += bool(got) and got[0] == card.id
    print(f"unframe {unframe!s:5} typos (one swap, {total} names)      first {first / total:.3f} ({first}/{total}); "
          f"typo correction {'on' if retriever.config.correct_typos else 'off'}")


TURNS = ("what about {}?", "and {}?", "what is {}?", "can you explain {} too?", "ok, now explain {}")


def turns_audit(retriever: Retriever, cards: list, misses: bool) -> None:
    """Each card's names asked as the second turn of a conversation whose first turn was another card's question
    of the same topic (chosen at random, seed 0): the learner changes the subject by naming it."""
    by_topic: dict[str, list] = {}
    for card in cards:
        by_topic.setdefault(card.topic, []).append(card)
    for template in TURNS:
        rng = random.Random(0)
        first, total, missed = 0, 0, []
        for card in cards:
            other = rng.choice([o for o in by_topic[card.topic] if o.id != card.id])
            for name in dict.fromkeys([card.id.rsplit("/", 1)[-1].replace("-", " "), *card.aliases]):
                turn = template.format(name)
                got = [p.card_id for p in retriever.search_in_context(turn, [other.question], 3)[1]]
                total += 1
                if got and got[0] == card.id:
                    first += 1
                else:
                    missed.append(f"    {card.id} after {other.id}: {turn!r} -> {got[:2]}")
        print(f"turn after another card's question {template!r:28} first {first / total:.3f} ({first}/{total})")
        if misses:
            print("\n".join(missed))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", help="index folder (default: ./index or $TUTOR_INDEX_DIR)")
    parser.add_argument("--misses", action="store_true", help="list the names whose card is not first")
    parser.add_argument("--styles", action="store_true", help="also answer-style wordings (simple terms, briefly…)")
    parser.add_argument("--asks", action="store_true", help="also other question forms (how does … work, why…)")
    parser.add_argument("--requests", action="store_true",
                        help="also conversational requests (can you explain …, what do you know about …)")
    parser.add_argument("--lists", action="store_true",
                        help="also public-list forms ('What is {name}? Why do we need it?', 'Which … do you know?')")
    parser.add_argument("--neighbours", action="store_true",
                        help="what follows the named card: passages 2-5 of 'what is {name}', related or not")
    parser.add_argument("--turns", action="store_true",
                        help="also a name asked as the next turn after another card's question ('what about {name}?')")
    parser.add_argument("--typos", action="store_true",
                        help="'what is {name}' with two neighbouring letters of its longest word swapped")
    args = parser.parse_args(argv)
    config = Config().with_(index_dir=Path(args.index) if args.index else None)
    embedder = embed.MiniLMEmbedder()
    index = load_index(config.index_dir, config, embedder.name)
    cards = load_cards(REPO_ROOT / "corpus" / "cards")
    if args.neighbours:
        neighbours_audit(index, embedder, config, cards)
    for unframe in (False, True):
        retriever = Retriever(index, embedder, replace(config, unframe=unframe))
        if args.turns and unframe:
            turns_audit(retriever, cards, args.misses)
        if args.typos:
            typo_audit(retriever, cards, unframe)
        for template in TEMPLATES + (STYLES if args.styles else ()) + (ASKS if args.asks else ()) + \
                (REQUESTS if args.requests else ()) + (LISTS if args.lists else ()):
            first, total, misses = 0, 0, []
            for card in cards:
                for name in dict.fromkeys([card.id.rsplit("/", 1)[-1].replace("-", " "), *card.aliases]):
                    question = template.format(name)
                    got = [p.card_id for p in retriever.search(question, 5)]
                    total += 1
                    if got and got[0] == card.id:
                        first += 1
                    else:
                        misses.append(f"    {card.id}: {question!r} -> {got[:2]}")
            career = sum("career/" in m.split("->")[1].split(",")[0] for m in misses)
            print(f"unframe {unframe!s:5} {template!r:34} first {first / total:.3f} ({first}/{total}); "
                  f"misses led by a career card {career}")
            if args.misses:
                print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
