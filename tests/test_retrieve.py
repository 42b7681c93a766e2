"""Hybrid retrieval: reciprocal rank fusion of dense and BM25 ranks, one passage per card."""

from __future__ import annotations

import random

import faiss
import numpy as np
import pytest
from conftest import CARDS, FakeEmbedder

from tutor.chunk import Chunk
from tutor.config import Config
from tutor.index import Index
from tutor.retrieve import Retriever, relevance, retrieval_query

WORDS = ["gradient", "dropout", "softmax", "attention", "kernel", "stride", "pooling", "momentum", "decay",
         "logits", "residual", "embedding", "token", "batch", "layer", "variance", "bias", "epoch"]


class FixedEmbedder:
    """Embeds every text as the same given vector: the test controls the dense ranking exactly."""

    name = "fixed"

    def __init__(self, vec: np.ndarray) -> None:
        self.vec = vec.astype(np.float32)
        self.dim = len(vec)

    def encode(self, texts):
        return np.tile(self.vec, (len(texts), 1))


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    m = rng.standard_normal((n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def doc_index(texts: list[str], vectors: np.ndarray, tmp_path) -> Index:
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(np.ascontiguousarray(vectors))
    chunks = [Chunk(f"doc.txt#{i}", "doc.txt", None, f"title {i}", "s", t, len(t.split()), "document")
              for i, t in enumerate(texts)]
    return Index({"dim": vectors.shape[1]}, flat, chunks, {}, tmp_path)


def random_case(seed: int, tmp_path):
    """A random document index, a random query vector, and the retriever over them."""
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    n = pyrng.randint(3, 30)
    texts = [" ".join(pyrng.choices(WORDS, k=pyrng.randint(3, 12))) for _ in range(n)]
    vectors = unit_rows(rng, n, 16)
    qvec = unit_rows(rng, 1, 16)[0]
    # The fusion stage alone: card-level re-ranking (tested below) would reorder by more than RRF.
    config = Config(index_dir=tmp_path, sources=(), k=pyrng.randint(1, 8), rrf_k=pyrng.choice([1, 10, 60]),
                    rerank_weights=(0.0, 0.0, 0.0))
    retriever = Retriever(doc_index(texts, vectors, tmp_path), FixedEmbedder(qvec), config)
    cosines = vectors @ qvec
    dense_rank = {int(i): r + 1 for r, i in enumerate(np.argsort(-cosines))}
    return retriever, config, cosines, dense_rank, n


def doc_vote(config: Config, rank: int) -> float:
    """One RRF vote for a document window at 1-based `rank` (documents may be down-weighted)."""
    return getattr(config, "document_weight", 1.0) / (config.rrf_k + rank)


def chunk_no(passage) -> int:
    return int(passage.chunk_id.split("#")[1])


SEEDS = range(25)


@pytest.mark.parametrize("seed", SEEDS)
def test_rrf_without_lexical_matches_is_the_dense_ranking(seed, tmp_path):
    retriever, config, cosines, dense_rank, n = random_case(seed, tmp_path)

    passages = retriever.search("the of and")  # only stopwords: BM25 has nothing to say

    assert len(passages) == min(config.k, n)
    for p in passages:
        assert dense_rank[chunk_no(p)] == p.rank
        assert p.score == pytest.approx(doc_vote(config, p.rank))
        assert p.cosine == pytest.approx(float(cosines[chunk_no(p)]), abs=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_rrf_score_is_the_dense_vote_plus_at_most_one_lexical_vote(seed, tmp_path):
    retriever, config, cosines, dense_rank, n = random_case(seed, tmp_path)
    query = " ".join(random.Random(seed).sample(WORDS, 2))

    passages = retriever.search(query)

    assert [p.rank for p in passages] == list(range(1, len(passages) + 1))
    assert len(passages) == min(config.k, n)
    assert all(a.score >= b.score for a, b in zip(passages, passages[1:], strict=False))
    for p in passages:
        lexical = p.score - doc_vote(config, dense_rank[chunk_no(p)])
        assert lexical >= -1e-12
        if lexical > 1e-12:  # a BM25 vote is worth 1 / (rrf_k + r) for a whole rank r within the pool
            r = getattr(config, "document_weight", 1.0) / lexical - config.rrf_k
            assert r == pytest.approx(round(r), abs=1e-6)
            assert 1 <= round(r) <= n
        assert p.cosine == pytest.approx(float(cosines[chunk_no(p)]), abs=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_chunk_first_in_both_rankings_wins_with_the_maximum_fused_score(seed, tmp_path):
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    n = pyrng.randint(2, 20)
    texts = [" ".join(pyrng.choices(WORDS, k=6)) for _ in range(n)]
    star = pyrng.randrange(n)
    texts[star] += " quantization quantization"
    vectors = unit_rows(rng, n, 16)
    config = Config(index_dir=tmp_path, sources=(), k=3, rrf_k=pyrng.choice([1, 10, 60]))
    retriever = Retriever(doc_index(texts, vectors, tmp_path), FixedEmbedder(vectors[star]), config)

    passages = retriever.search("quantization")

    assert passages[0].chunk_id == f"doc.txt#{star}"
    assert passages[0].score == pytest.approx(2 * doc_vote(config, 1))
    assert all(p.score <= passages[0].score for p in passages)
    assert passages[0].cosine == pytest.approx(1.0, abs=1e-5)


def test_k_limits_the_number_of_passages(tutor_fake):
    for k in (1, 3, len(CARDS)):
        _, passages = tutor_fake.retrieve("How do gates work in recurrent networks?", k=k)
        assert len(passages) == k


@pytest.mark.parametrize("question", [spec["question"] for spec in CARDS.values()]
                         + ["gates in recurrent networks", "numerical overflow of exponentials", "bake bread"])
def test_one_passage_per_card_carrying_the_full_curated_answer(tutor_fake, question):
    _, passages = tutor_fake.retrieve(question, k=len(CARDS) + 5)

    card_ids = [p.card_id for p in passages]
    assert len(card_ids) == len(set(card_ids)) == len(CARDS)
    for p in passages:
        assert p.text == CARDS[p.card_id]["answer"].strip()
        assert p.title == CARDS[p.card_id]["question"]
        assert p.chunk_id.startswith(f"{p.card_id}#")
        assert not p.chunk_id.endswith("#q")


@pytest.mark.parametrize("question", [spec["question"] for spec in CARDS.values()]
                         + ["zzz qqq", "what", "How long should I boil an egg?"])
def test_relevance_is_a_cosine_within_minus_one_and_one(tutor_fake, question):
    _, passages = tutor_fake.retrieve(question, k=len(CARDS))

    assert passages
    for p in passages:
        assert -1.0 - 1e-5 <= p.relevance <= 1.0 + 1e-5
        assert -1.0 - 1e-5 <= p.cosine <= 1.0 + 1e-5
        assert p.score > 0


@pytest.mark.parametrize("card_id", list(CARDS))
def test_asking_a_cards_own_question_ranks_that_card_first(tutor_fake, card_id):
    _, passages = tutor_fake.retrieve(CARDS[card_id]["question"])

    assert passages[0].card_id == card_id


def test_passage_dict_is_json_ready_with_rounded_scores(tutor_fake):
    _, passages = tutor_fake.retrieve("What is dropout?")
    d = passages[0].to_dict()

    assert set(d) >= {"rank", "chunk_id", "card_id", "source", "title", "text", "score", "relevance"}
    assert d["score"] == round(passages[0].score, 6)
    assert d["relevance"] == round(passages[0].relevance, 4)


# --- follow-up questions without an LLM --------------------------------------------------------------------

def test_a_follow_up_is_made_standalone_with_the_previous_question():
    history = ["What is batch normalization?", "How does an LSTM work?"]

    query = retrieval_query("and how is it different from GRU?", history)

    assert history[-1] in query
    assert "and how is it different from GRU?" in query
    assert history[0] not in query


def test_a_long_fresh_question_does_not_drag_the_conversation_along():
    question = "What is the purpose of batch normalization in deep convolutional networks during training?"

    assert retrieval_query(question, ["How does an LSTM work?"]) == question


@pytest.mark.parametrize("question", ["what about GRU?", "why?", "Compared with plain RNNs, which wins?"])
def test_short_or_connective_questions_count_as_follow_ups(question):
    assert retrieval_query(question, ["How does an LSTM work?"]).startswith("How does an LSTM work?")


def test_without_history_the_question_is_used_as_is():
    assert retrieval_query("and how is it different from GRU?", []) == "and how is it different from GRU?"
    assert retrieval_query("and how is it different from GRU?", None) == "and how is it different from GRU?"


def test_tutor_retrieval_of_a_follow_up_uses_the_history(tutor_fake):
    alone, _ = tutor_fake.retrieve("and how is it different from GRU?")
    standalone, passages = tutor_fake.retrieve("and how is it different from GRU?", history=["How does an LSTM work?"])

    assert alone == "and how is it different from GRU?"
    assert "LSTM" in standalone
    assert {"architectures/lstm", "architectures/gru"} <= {p.card_id for p in passages[:2]}


def test_fake_embedder_is_deterministic_and_normalized():
    a = FakeEmbedder().encode(["Dropout zeroes units", "", "the of and"])
    b = FakeEmbedder().encode(["Dropout zeroes units", "", "the of and"])

    assert a.shape == (3, FakeEmbedder.dim)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)


# --- issue 13: glossary votes, card-level re-ranking, conversation prior, relevance -------------------------

@pytest.fixture
def alias_tutor(tmp_path, cards_dir, write_card):
    """The fixture cards, the LSTM card declaring an alias its text never uses ("CEC")."""
    from tutor.ingest import ingest
    from tutor.tutor import Tutor

    write_card(cards_dir, "architectures/lstm", aliases=["CEC", "constant error carousel"])
    config = Config(index_dir=tmp_path / "index", sources=(cards_dir,), llm_backend="extractive")
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return Tutor(config, embedder_factory=FakeEmbedder)


def test_aliases_enter_the_cards_question_chunk(alias_tutor):
    chunk = next(c for c in alias_tutor.index.chunks if c.card_id == "architectures/lstm" and c.kind == "question")
    assert "CEC" in chunk.text and "constant error carousel" in chunk.text


def test_a_question_naming_a_card_by_its_alias_ranks_that_card_first(alias_tutor):
    _, passages = alias_tutor.retrieve("what is a CEC")
    assert passages[0].card_id == "architectures/lstm"


def test_a_definition_question_votes_for_the_card_declaring_its_subject_however_widespread(alias_tutor):
    # "what is ReLU" went to a card that uses the word: ReLU is in too many cards for an alias vote.
    # every term counts as widespread; the vote alone (the named card's question beside it would move the rest)
    config = alias_tutor.config.with_(glossary_max_cards=0, definition_expand=False)
    scores = {}
    for weight in (0.0, config.definition_weight):
        retriever = Retriever(alias_tutor.index, FakeEmbedder(), config.with_(definition_weight=weight))
        assert retriever.glossary.cards_named("what is a CEC?") == []
        scores[weight] = {p.card_id: p.score for p in retriever.search("what is a CEC?", k=len(CARDS))}
    before, after = scores[0.0], scores[config.definition_weight]
    assert after["architectures/lstm"] >= before["architectures/lstm"] + config.definition_weight / (config.rrf_k + 1)
    assert all(after[c] == pytest.approx(before[c]) for c in before if c != "architectures/lstm")
    assert max(after, key=after.get) == "architectures/lstm"


def test_expansion_moves_ranking_but_not_relevance(alias_tutor):
    plain = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config.with_(expand_aliases=False))
    expanded = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config)
    question = "why does the CEC keep gradients alive over long sequences"
    a = {p.card_id: p for p in plain.search(question, k=len(CARDS))}
    b = {p.card_id: p for p in expanded.search(question, k=len(CARDS))}
    assert expanded.glossary.expand(question) != question
    for card_id in a:
        assert b[card_id].relevance == pytest.approx(a[card_id].relevance, abs=1e-6)


@pytest.mark.parametrize("card_id", list(CARDS))
def test_a_prior_card_gains_a_vote_at_rank_one_and_no_other_card_moves(tutor_fake, card_id):
    retriever = tutor_fake.retriever
    question = "how do networks learn"
    without = {p.card_id: p.score for p in retriever.search(question, k=len(CARDS))}
    with_prior = {p.card_id: p.score for p in retriever.search(question, k=len(CARDS), prior=card_id)}
    config = tutor_fake.config
    vote = config.prior_weight / (config.rrf_k + 1)  # on the card's question chunk, as if ranked first
    assert with_prior[card_id] > without[card_id]
    assert with_prior[card_id] >= vote
    for other in CARDS:
        if other != card_id:
            assert with_prior[other] == pytest.approx(without[other])


def test_in_a_conversation_the_previous_card_stays_in_view(tutor_fake):
    # The fixture's eight cards never use "other" or "kind", so the stray check (tested below) would read
    # this turn as leaving the conversation; the real corpus uses both words. The prior is tested here.
    retriever = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(stray_cosine=0.0))
    _, passages = retriever.search_in_context("what is the difference from the other kind",
                                              ["How does an LSTM work?"], k=2)
    assert "architectures/lstm" in [p.card_id for p in passages]


@pytest.mark.parametrize("turn", ["what is the capital of France?", "Recommend a good hotel in Lisbon for next weekend."])
def test_a_turn_that_leaves_the_conversation_is_judged_alone(tutor_fake, turn):
    history = ["What is dropout and why does it help?"]
    alone = tutor_fake.retrieve(turn)[1]
    standalone, in_conversation = tutor_fake.retrieve(turn, history=history)

    assert tutor_fake.retriever.strays(turn, history)
    assert standalone == turn  # not glued to the dropout question
    assert [(p.card_id, p.relevance) for p in in_conversation] == [(p.card_id, p.relevance) for p in alone]
    assert in_conversation[0].relevance < tutor_fake.config.min_relevance  # so it is refused, as alone
    # with the check off, the reading prefixed with the dropout question lends it dropout's relevance
    glued = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(stray_cosine=0.0))
    assert glued.search_in_context(turn, history)[1][0].relevance >= tutor_fake.config.min_relevance


@pytest.mark.parametrize("turn", ["what about at inference time?", "How is it scaled at test time?",
                                  "How does dropout compare with weight decay?"])
def test_a_turn_about_the_conversation_stays_in_it(tutor_fake, turn):
    assert not tutor_fake.retriever.strays(turn, ["What is dropout and why does it help?"])


def test_reranking_by_coverage_alone_puts_the_best_covering_card_first(tutor_fake):
    retriever = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(rerank_weights=(0.0, 100.0, 0.0)))
    passages = retriever.search("gates cell state forget overflow", k=len(CARDS))
    assert passages[0].coverage == max(p.coverage for p in passages)


def test_passages_carry_coverage_and_question_cosine(tutor_fake):
    _, passages = tutor_fake.retrieve("What is dropout and why does it help?")
    top = passages[0].to_dict()
    assert top["card_id"] == "training/dropout"
    assert 0.0 < top["coverage"] <= 1.0
    assert top["question_cosine"] == pytest.approx(1.0, abs=0.35)  # its own question, among its phrasings


@pytest.mark.parametrize(("cosine", "coverage", "expected"), [
    (0.5, 1.0, 0.75), (0.2, 0.6, 0.4), (0.0, 1.0, 0.0), (-0.3, 1.0, 0.0), (0.1, 1.0, 0.3)])
def test_coverage_counts_in_full_only_on_topic(cosine, coverage, expected):
    assert relevance(cosine, coverage) == pytest.approx(expected)


# --- issue 13, round 3: scenario chunks (a card's symptom / "what happens if" phrasings) ------------------

@pytest.fixture
def scenario_tutor(tmp_path, cards_dir, write_card):
    """The fixture cards, the dropout card declaring a situation in words no card uses otherwise."""
    from tutor.ingest import ingest
    from tutor.tutor import Tutor

    write_card(cards_dir, "training/dropout", scenarios=["zebracorn quokka wobble after shuffling"])
    config = Config(index_dir=tmp_path / "index", sources=(cards_dir,), llm_backend="extractive")
    ingest(config, FakeEmbedder, FakeEmbedder.name, progress=False)
    return Tutor(config, embedder_factory=FakeEmbedder)


def test_a_question_put_as_a_cards_scenario_finds_that_card_with_its_full_answer(scenario_tutor):
    _, passages = scenario_tutor.retrieve("why the zebracorn quokka wobble")
    top = passages[0]
    assert top.card_id == "training/dropout"
    assert top.chunk_id == "training/dropout#0"  # the scenario chunk stands for the card, like its question
    assert top.text == scenario_tutor.index.cards["training/dropout"].answer


def test_scenario_chunks_can_be_left_out_of_the_refusal_signal(scenario_tutor):
    question = "why the zebracorn quokka wobble"
    on = Retriever(scenario_tutor.index, FakeEmbedder(), scenario_tutor.config).search(question, k=1)[0]
    off = Retriever(scenario_tutor.index, FakeEmbedder(), scenario_tutor.config.with_(scenario_relevance=0.0))
    top = off.search(question, k=1)[0]
    assert top.card_id == on.card_id == "training/dropout"  # ranking still reads the scenario
    assert top.cosine < on.cosine and top.relevance < on.relevance


def test_the_question_cosine_feature_reads_a_cards_best_scenario(scenario_tutor):
    question = "why the zebracorn quokka wobble"
    plain = Retriever(scenario_tutor.index, FakeEmbedder(), scenario_tutor.config.with_(scenario_question_cosine=False))
    with_scenarios = Retriever(scenario_tutor.index, FakeEmbedder(), scenario_tutor.config)
    assert with_scenarios.search(question, k=1)[0].question_cosine > plain.search(question, k=1)[0].question_cosine


def test_a_follow_up_naming_another_card_by_its_alias_moves_on(alias_tutor):
    retriever = alias_tutor.retriever
    assert retriever.moves_on("and how does the CEC help there?", "basics/softmax")
    assert not retriever.moves_on("and how does the CEC help there?", "architectures/lstm")  # its own alias
    assert not retriever.moves_on("and why is that?", "basics/softmax")
    off = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config.with_(move_on_aliases=False))
    assert not off.moves_on("and how does the CEC help there?", "basics/softmax")


def test_a_follow_up_that_moves_on_is_ranked_by_its_own_reading_first(alias_tutor):
    history = ["What does the softmax function do?"]
    question = "and how would a CEC help there?"  # more than a name: still read beside the conversation
    on = alias_tutor.retriever
    off = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config.with_(move_on_aliases=False))
    moved = {p.card_id: p.score for p in on.search_in_context(question, history, 5)[1]}
    stayed = {p.card_id: p.score for p in off.search_in_context(question, history, 5)[1]}
    assert moved["architectures/lstm"] - moved["basics/softmax"] > stayed["architectures/lstm"] - stayed["basics/softmax"]


def test_a_turn_that_only_names_another_cards_subject_is_read_as_a_fresh_question(alias_tutor):
    retriever = alias_tutor.retriever
    history = ["What does the softmax function do?"]
    card = retriever.conversation_card(history)
    assert card == "basics/softmax"
    assert retriever.names_new_subject("what about the CEC?", card)
    assert retriever.names_new_subject("ok, now explain CEC", card)
    assert not retriever.names_new_subject("what about it?", card)  # names nothing: still about softmax
    same = retriever.conversation_card(["How does the CEC help an LSTM?"])
    assert not retriever.names_new_subject("and the CEC?", same)  # the same card
    fresh = [p.card_id for p in retriever.search("what about the CEC?", 5)]
    turn = [p.card_id for p in retriever.search_in_context("what about the CEC?", history, 5)[1]]
    assert turn == fresh and turn[0] == "architectures/lstm"
    off = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config.with_(move_on_aliases=False))
    assert not off.names_new_subject("what about the CEC?", card)


def test_a_question_that_only_names_a_card_is_ranked_with_that_cards_question_beside_it(alias_tutor, monkeypatch):
    on = alias_tutor.retriever
    off = Retriever(alias_tutor.index, FakeEmbedder(), alias_tutor.config.with_(definition_expand=False))
    lstm = alias_tutor.index.cards["architectures/lstm"].question
    seen: list[list[str]] = []
    for retriever in (on, off):
        real = retriever.query_vectors
        monkeypatch.setattr(retriever, "query_vectors", lambda texts, real=real: seen.append(list(texts)) or real(texts))
    expanded, plain = on.search("what about the CEC?", 5), off.search("what about the CEC?", 5)

    assert any(lstm in text for text in seen[0]) and not any(lstm in text for text in seen[1])
    assert expanded[0].card_id == plain[0].card_id == "architectures/lstm"
    assert expanded[0].relevance == pytest.approx(plain[0].relevance)  # relevance reads the words typed
    seen.clear()
    on.search("how does the CEC keep gradients alive in an LSTM?", 5)  # more than a name: read as asked
    assert not any(lstm in text for text in seen[0])


def test_a_question_that_is_only_a_cards_declared_name_is_never_refused(alias_tutor):
    # "what is BALD", "explain ZeRO": MiniLM reads little in the bare word, and the card that declares it
    # was refused although it came first. A bar no cosine here reaches stands in for that.
    strict = alias_tutor.config.with_(min_relevance=0.99)
    on = Retriever(alias_tutor.index, FakeEmbedder(), strict)
    off = Retriever(alias_tutor.index, FakeEmbedder(), strict.with_(named_is_relevant=False))
    named, plain = on.search("what is a CEC?", 5), off.search("what is a CEC?", 5)

    assert named[0].card_id == plain[0].card_id == "architectures/lstm" and named[0].named
    assert plain[0].relevance < 0.99 <= named[0].relevance
    assert [p.relevance for p in named[1:]] == [p.relevance for p in plain[1:]]  # only the named card
    assert on.search("how does the CEC keep gradients alive?", 5)[0].relevance < 0.99  # not a bare name


def test_a_question_of_several_sentences_is_a_definition_when_one_of_its_questions_is(alias_tutor):
    retriever = alias_tutor.retriever
    assert retriever.cards_defined("what is the CEC?") == ["architectures/lstm"]
    # context first, or questions chained on one subject
    assert retriever.cards_defined("LSTMs keep a cell state. What is the CEC?") == ["architectures/lstm"]
    assert retriever.cards_defined("What is the CEC? Why does it help? How is it built?") == ["architectures/lstm"]
    # a sentence that states rather than asks, and questions that name no card alone, give nothing
    assert retriever.cards_defined("The CEC. Why do my gradients vanish?") == []
    assert retriever.cards_defined("My gradients vanish. Why does the CEC not help here?") == []


def test_a_conversations_reading_with_the_previous_question_first_takes_no_definition_from_it(alias_tutor,
                                                                                             monkeypatch):
    # "What is a transformer?" then "Why do we need positional encodings in it?": the reading that puts the
    # previous question first must not read that sentence as the turn's subject (it put the transformer card
    # back above the positional-encoding card).
    retriever = alias_tutor.retriever
    combined = "What is a CEC? Why does the softmax saturate?"
    assert retriever.cards_defined(combined) == ["architectures/lstm"]
    assert retriever.cards_defined(combined, sentences=False) == []
    calls: list[tuple[str, bool]] = []
    real = retriever.search
    monkeypatch.setattr(retriever, "search", lambda q, *a, sentences=True, **kw:
                        calls.append((q, sentences)) or real(q, *a, sentences=sentences, **kw))
    retriever.search_in_context("Why does the softmax saturate?", ["What is a CEC?"], 5)
    assert (combined, False) in calls and all(s for q, s in calls if q != combined)


def test_a_reading_whose_top_passage_is_more_relevant_weighs_more_in_a_conversation(tutor_fake, monkeypatch):
    retriever = tutor_fake.retriever
    history, question = ["What does the softmax function do?"], "and how do networks learn?"
    tops: dict[str, float] = {}
    real = retriever.search

    def search(query, k=None, pool=50, prior=None, sentences=True):
        found = real(query, k, pool, prior)
        tops[query] = found[0].relevance
        return found

    monkeypatch.setattr(retriever, "search", search)
    plain = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(reading_confidence=0.0))
    flat = {p.card_id: p.score for p in plain.search_in_context(question, history, 5)[1]}
    scaled = {p.card_id: p.score for p in retriever.search_in_context(question, history, 5)[1]}
    assert tops and all(r > 0 for r in tops.values())
    # Every vote shrinks by its reading's top relevance squared: no score grows, the best one by that factor.
    assert max(scaled.values()) < max(flat.values())
    assert max(scaled.values()) >= max(flat.values()) * min(tops.values()) ** 2 - 1e-9


# --- issue 13, session 12: the material's density around a question ----------------------------------


def test_density_term_lowers_relevance_for_a_question_far_from_the_material(tutor_fake):
    config = tutor_fake.config.with_(density_weight=1.0, density_k=1, density_center=0.3)
    assert len(tutor_fake.index.chunks) >= 10  # the term needs 10 × k chunks
    retriever = Retriever(tutor_fake.index, FakeEmbedder(), config)
    near = FakeEmbedder.vector("What is dropout and why does it help?")
    far = FakeEmbedder.vector("sourdough bread recipe oven temperature")
    vecs = tutor_fake.index.vectors.reconstruct_batch(np.arange(len(tutor_fake.index.chunks), dtype=np.int64))
    expected = float((vecs @ near).max()) - 0.3
    assert retriever.density_term(near) == pytest.approx(expected, abs=1e-5)
    assert retriever.density_term(far) < retriever.density_term(near)
    # and it is what the passages' relevance adds to (cosine + coverage) / 2
    top = retriever.search("What is dropout and why does it help?", k=1)[0]
    assert top.relevance == pytest.approx(relevance(top.cosine, top.coverage) + expected, abs=1e-5)


def test_density_term_is_off_on_an_index_too_small_for_a_neighbourhood(tutor_fake):
    n = len(tutor_fake.index.chunks)
    small = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(density_weight=1.0, density_k=n))
    assert small.density_term(FakeEmbedder.vector("What is dropout?")) == 0.0
    off = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(density_weight=0.0, density_k=1))
    assert off.density_term(FakeEmbedder.vector("What is dropout?")) == 0.0


def test_conversation_ranking_does_not_move_with_the_refusal_density_term(tutor_fake):
    history, question = ["What does the softmax function do?"], "and how do networks learn?"
    off = Retriever(tutor_fake.index, FakeEmbedder(), tutor_fake.config.with_(density_weight=0.0))
    on = Retriever(tutor_fake.index, FakeEmbedder(),
                   tutor_fake.config.with_(density_weight=1.0, density_k=1, density_center=0.0))
    a, b = off.search_in_context(question, history, 5)[1], on.search_in_context(question, history, 5)[1]
    assert b[0].relevance != pytest.approx(a[0].relevance)  # the term is on ...
    assert [(p.card_id, round(p.score, 9)) for p in a] == [(p.card_id, round(p.score, 9)) for p in b]  # ... ranking same


def test_query_vectors_are_remembered_read_only_and_bounded(tutor_fake):
    """A repeated question is not embedded again, the cached rows are the embedder's own and cannot be
    changed by a caller, and the oldest queries are forgotten past the cache's size."""
    retriever = tutor_fake.retriever
    embedder = retriever.embedder
    first = [p.card_id for p in retriever.search("what does dropout do at test time", 3)]
    count = embedder.encoded
    assert [p.card_id for p in retriever.search("what does dropout do at test time", 3)] == first
    assert embedder.encoded == count
    vecs = retriever.query_vectors(["what does dropout do at test time", "a brand new question"])
    assert embedder.encoded == count + 1
    np.testing.assert_allclose(vecs[1], FakeEmbedder.vector("a brand new question"), atol=1e-6)
    with pytest.raises(ValueError):
        retriever._qvecs["a brand new question"][0] = 9.0
    retriever.QUERY_CACHE = 2
    retriever.query_vectors(["q one", "q two"])
    assert list(retriever._qvecs) == ["q one", "q two"]


def test_a_card_whose_id_words_the_question_all_uses_is_the_specific_one(tutor_fake):
    retriever = tutor_fake.retriever
    assert retriever.cards_by_id_words("What's the learning rate?") == ["basics/learning-rate"]
    assert retriever.cards_by_id_words("When does batch normalization help?") == ["training/batch-normalization"]
    # one-word ids name broad cards and never count; half of an id is not the id
    assert retriever.cards_by_id_words("What is dropout?") == []
    assert retriever.cards_by_id_words("Why does the rate of learning matter") == ["basics/learning-rate"]
    assert retriever.cards_by_id_words("How do I pick a rate?") == []


def test_the_title_bonus_moves_the_named_card_up_and_nothing_else(built_index):
    from tutor.tutor import Tutor

    plain = Tutor(built_index.with_(title_weight=0.0), embedder_factory=FakeEmbedder)
    titled = Tutor(built_index.with_(title_weight=5.0), embedder_factory=FakeEmbedder)
    # a question whose words favour another card, naming the learning-rate card by its id's words
    question = next(q for q in ("What is dropout and why does it help the learning rate?",
                                "What does the softmax function do to the learning rate?",
                                "How does an LSTM work with its learning rate?")
                    if plain.retrieve(q, k=1)[1][0].card_id != "basics/learning-rate")
    before = [p.card_id for p in plain.retrieve(question, k=len(CARDS))[1]]
    after = [p.card_id for p in titled.retrieve(question, k=len(CARDS))[1]]
    assert after[0] == "basics/learning-rate"
    assert [c for c in after if c != "basics/learning-rate"] == [c for c in before if c != "basics/learning-rate"]
