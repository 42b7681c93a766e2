"""Hybrid retrieval: FAISS inner product + BM25, fused by reciprocal rank fusion, one passage per card.

The fused score ranks; it says nothing absolute. `relevance` is the signal the answering layer refuses
on: the mean of the best dense cosine of a passage's chunks and the IDF-weighted share of the query's
content words that the passage contains. Cosine alone could not separate "what is BPTT" (0.34: MiniLM
barely knows the abbreviation) from "how do I tune a postgres index" (0.34 against the tuning card);
the lexical share does (1.0 vs 0.2), because words we never index ("postgres") weigh the most.
A third part says whether the question is about our subject at all: how dense our material is around it
(`Retriever.density_term`); one passage can meet an unrelated question by accident, many rarely do.
Two lexical checks keep their meaning whatever the embedder: a question sharing no word pair with our
material loses `Config.no_phrase_penalty`, and one mostly in words we never use (`Retriever.unknown_share`)
or made only of persona instructions (`answerability.only_instructions`) gets relevance 0.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from tutor import query_map, rerank
from tutor.answerability import only_instructions, subject_pairs
from tutor.chunk import PHRASING_KINDS, Chunk
from tutor.config import Config
from tutor.embed import Embedder
from tutor.framing import unframed
from tutor.glossary import Glossary, build_glossary, definition_term, question_parts
from tutor.index import Index
from tutor.lexicon import Idf, card_pairs, document_frequency, fold, glossary_of, group_key, pairs, terms
from tutor.sparse import SparseIndex
from tutor.spelling import correct_typos, english_words, respell, typo_index

_FOLLOW_UP = re.compile(
    r"^(and|but|so|or|also|then|what about|how about|why|how come|same|ok(ay)?|compared)\b"
    r"|\b(it|its|it's|that|this|they|them|those|these|their|one|ones|former|latter|there|above)\b",
    re.I,
)


@dataclass
class Passage:
    rank: int
    chunk_id: str
    card_id: str | None
    source: str
    title: str
    text: str
    score: float  # fused RRF score (the re-ranking in Retriever._collapse orders by more than this)
    relevance: float  # calibrated: (best cosine + IDF-weighted query-term coverage) / 2 + Retriever.density_term
    cosine: float = 0.0
    coverage: float = 0.0  # IDF-weighted share of the query's content words the card (or window) contains
    question_cosine: float = 0.0  # cosine with the card's question chunk: does the card ask this question?
    names_subject: bool = True  # the card has the question's subject phrase (answerability.subject_pairs)
    named: bool = False  # the question's whole subject is this card's name or alias ("can you explain CNNs?")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["score"] = round(self.score, 6)
        for key in ("relevance", "cosine", "coverage", "question_cosine"):
            d[key] = round(d[key], 4)
        return d


# Below this cosine a passage is about something else, whatever words it shares: in-scope golden questions'
# best cosine was 0.215 or more, and "how are you today?" met a window that says "today" at 0.03.
_TOPICAL_COSINE = 0.2


# The density term needs a neighbourhood that is a small part of the corpus: the k nearest of at least
# this many times k chunks (our cards give 923 chunks for k 20; the test fixtures' six cards give ~30).
_DENSITY_MIN_SHARE = 10


# The lexical refusal checks (unknown-word share, shared phrases) need a corpus whose vocabulary says what
# our subject is: in the test fixtures' six cards nearly every word and pair of a real question is unknown.
_LEXICAL_MIN_GROUPS = 50


# Word sets of cards met by queries, kept per process; at 1M chunks all of them would take GBs.
_GROUP_TERMS_KEPT = 100_000


def relevance(cosine: float, coverage: float) -> float:
    """The refusal signal: the mean of the best cosine and the query-term coverage, the coverage counting
    in full only once the passage is on topic (cosine at least _TOPICAL_COSINE)."""
    cosine = max(cosine, 0.0)
    return (cosine + coverage * min(1.0, cosine / _TOPICAL_COSINE)) / 2


def retrieval_query(question: str, history: list[str] | None = None) -> str:
    """Without an LLM, a follow-up is made standalone by prefixing the previous question.

    Only when it reads like a follow-up (a connective first, a pronoun, or very short): a fresh topic
    after a conversation must not drag the old one along.
    """
    if not history:
        return question
    return f"{history[-1]} {question}" if looks_like_follow_up(question) else question


def looks_like_follow_up(question: str) -> bool:
    return len(question.split()) <= 6 or bool(_FOLLOW_UP.search(question))


class Retriever:
    def __init__(self, index: Index, embedder: Embedder, config: Config) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config
        self._bm25: SparseIndex | None = None
        self._group_terms: dict[str, set[str]] = {}
        self._idf: Idf | None = None
        self._group_pairs: dict[str, set[str]] = {}
        self._card_pairs: set[str] | None = None
        self._id_words: dict[str, frozenset[str]] | None = None
        self._names: dict[str, list[str]] | None = None
        self._typos: dict[str, list[str]] | None = None
        self._glossary: Glossary | None = None
        self._question_chunk: dict[str, int] | None = None
        self._scenario_chunks: dict[str, list[int]] | None = None
        self._chunk_ids: dict[str, list[int]] | None = None
        self._qterms: dict[int, set[str]] = {}
        self._qvecs: OrderedDict[str, np.ndarray] = OrderedDict()
        self._qvecs_lock = threading.Lock()
        # bench/learn_rank.py collects (query, candidate keys, feature rows) here to train the re-ranker.
        self.feature_sink: list[tuple[str, list[str], np.ndarray]] | None = None
        # tutor/query_map.py: the learned query-side map for this embedder (None: raw vectors rank).
        self.query_map = query_map.for_embedder(getattr(embedder, "name", ""), getattr(embedder, "dim", 0)) \
            if config.query_map else None

    @property
    def glossary(self) -> Glossary:
        if self._glossary is None:
            lexicon = self.index.lexicon  # saved by ingest; built here only for an index from before it
            self._glossary = glossary_of(lexicon, self.config.glossary_max_cards) if lexicon else \
                build_glossary(self.index.cards.values(), self.config.glossary_max_cards)
        return self._glossary

    def question_chunk(self, card_id: str) -> int | None:
        """Position of a card's question chunk (its question, other phrasings and aliases)."""
        if self._question_chunk is None:
            self._question_chunk = {c.card_id: i for i, c in enumerate(self.index.chunks)
                                    if c.card_id and c.kind == "question"}
        return self._question_chunk.get(card_id)

    def scenario_chunks(self, card_id: str) -> list[int]:
        """Positions of a card's scenario chunks (its `scenarios:` phrasings, one a chunk)."""
        if self._scenario_chunks is None:
            self._scenario_chunks = {}
            for i, c in enumerate(self.index.chunks):
                if c.card_id and c.kind == "scenario":
                    self._scenario_chunks.setdefault(c.card_id, []).append(i)
        return self._scenario_chunks.get(card_id, [])

    def idf(self) -> Idf:
        """Corpus IDF over cards (a document chunk counting as one), from the index's lexicon."""
        if self._idf is None:
            lexicon = self.index.lexicon
            self._idf = Idf(lexicon["df"], lexicon["n_groups"]) if lexicon else \
                Idf(*document_frequency(self.index.chunks))
        return self._idf

    def group_terms(self, group: str) -> set[str]:
        """A card's (or document chunk's) content words, read when a query first meets it: per-query work
        stays the same at 600 or 1M chunks."""
        return self._per_group(self._group_terms, group, terms)

    def _per_group(self, cache: dict[str, set[str]], group: str, read: Callable[[str], set[str]]) -> set[str]:
        """`read` over a group's chunks, united and kept in `cache` (emptied when it grows past
        _GROUP_TERMS_KEPT: a long-running server over a huge corpus)."""
        if group not in cache:
            if len(cache) >= _GROUP_TERMS_KEPT:
                cache.clear()
            found: set[str] = set()
            for i in self._chunks_of().get(group, []):
                found.update(read(self.index.chunks[i].embed_text()))
            cache[group] = found
        return cache[group]

    def _chunks_of(self) -> dict[str, list[int]]:
        if self._chunk_ids is None:
            self._chunk_ids = {}
            for i, c in enumerate(self.index.chunks):
                self._chunk_ids.setdefault(group_key(c), []).append(i)
        return self._chunk_ids

    def coverage(self, query: str, group: str) -> float:
        return self.weighted_share(terms(query), self.group_terms(group))

    def _sparse(self) -> SparseIndex:
        """The BM25 that ingest wrote; built here only for an index from before it did."""
        if self._bm25 is None:
            from tutor.sparse import build

            self._bm25 = self.index.sparse or build([c.embed_text() for c in self.index.chunks])
        return self._bm25

    QUERY_CACHE = 512

    def query_vectors(self, texts: list[str]) -> np.ndarray:
        """The texts' vectors, the last QUERY_CACHE queries remembered: a follow-up is searched in several
        readings that repeat the previous question, and `tutor eval` retrieves every question twice (once
        to score retrieval, once inside the answer). Read-only rows, so no caller can change a cached one."""
        with self._qvecs_lock:
            known = {t: self._qvecs[t] for t in texts if t in self._qvecs}
            for t in known:
                self._qvecs.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in known))
        if missing:
            fresh = np.asarray(self.embedder.encode(missing), dtype=np.float32)
            with self._qvecs_lock:
                for t, v in zip(missing, fresh, strict=True):
                    v.setflags(write=False)
                    known[t] = self._qvecs[t] = v
                while len(self._qvecs) > self.QUERY_CACHE:
                    self._qvecs.popitem(last=False)
        return np.vstack([known[t] for t in texts])

    def search(self, query: str, k: int | None = None, pool: int = 50, prior: str | None = None,
               hint: str | None = None, sentences: bool = True) -> list[Passage]:
        """The k best passages for one standalone query; `prior` is a card the conversation is about;
        `hint` is a model's hypothetical answer to the query (tutor/hyde.py): its vector moves the dense
        ranking towards the material's own vocabulary, never the relevance that decides refusal.

        A question in interview framing ("explain dropout in an interview", tutor/framing.py) is searched
        without it first, and that reading is kept when its best passage clears the refusal threshold: the
        framing's words otherwise pull the career cards first. A question about interviewing itself ("how
        do I answer in an interview when I don't know?") says little without the framing, and keeps it."""
        bare = unframed(query) if self.config.unframe else query
        if not bare or bare == query:
            return self._search(query, k, pool, prior, hint, sentences)
        plain = self._search(bare, k, pool, prior, hint, sentences)
        if plain and plain[0].relevance >= self.config.min_relevance:
            return plain
        return self._search(query, k, pool, prior, hint, sentences)

    def _search(self, query: str, k: int | None, pool: int, prior: str | None, hint: str | None,
                sentences: bool = True) -> list[Passage]:
        k = k or self.config.k
        n = len(self.index.chunks)
        pool = min(pool, n)
        # Relevance keeps reading the words the user typed; ranking reads the glossary's expansion too, and a
        # question that only names a card reads that card's question (Config.definition_expand).
        expanded = self.glossary.expand(query) if self.config.expand_aliases else query
        defined = self.cards_defined(query, sentences)
        if self.config.definition_expand and len(defined) == 1 and defined[0] in self.index.cards:
            expanded = f"{expanded} ({self.index.cards[defined[0]].question})"
        vecs = self.query_vectors([expanded] if expanded == query else [expanded, query])
        qvec, raw = query_map.apply(vecs[:1], self.query_map), vecs[-1]
        if hint and self.config.hyde_weight:
            mixed = qvec[0] + self.config.hyde_weight * self.query_vectors([hint])[0]
            qvec = (mixed / max(float(np.linalg.norm(mixed)), 1e-12)).astype(np.float32)[None, :]
        cosines, dense_ids = self.index.vectors.search(np.ascontiguousarray(qvec, dtype=np.float32), pool)
        cos_of = {int(i): float(s) for i, s in zip(dense_ids[0], cosines[0], strict=True) if i >= 0}
        fused: dict[int, float] = {}

        def vote(i: int, rank: int, weight: float = 1.0) -> None:
            chunk = self.index.chunks[i]
            # Curated cards are the primary material; windows of third-party documents count less.
            weight *= self.config.document_weight if not chunk.card_id else \
                self.config.question_weight if chunk.kind in PHRASING_KINDS else 1.0
            fused[i] = fused.get(i, 0.0) + weight / (self.config.rrf_k + rank + 1)

        for rank, i in enumerate(cos_of):
            vote(i, rank)
        named = self.glossary.cards_named(query) if self.config.alias_weight else []
        named += [c for c in defined if c not in named]
        for card_id, weight in [*((c, self.config.alias_weight) for c in named),
                                *((c, self.config.definition_weight) for c in defined),
                                *([(prior, self.config.prior_weight)] if prior and self.config.prior_weight else [])]:
            i = self.question_chunk(card_id)
            if i is not None:  # the question names this card outright: a vote as if ranked first
                vote(i, 0, weight)
        bm25_of: dict[int, float] = {}
        ids, scores = self._sparse().search(expanded, pool)
        for rank, (i, s) in enumerate(zip(ids, scores, strict=True)):
            if s > 0:
                vote(int(i), rank, self.config.bm25_weight)
                bm25_of[int(i)] = float(s)
        missing = [i for i in fused if i not in cos_of]
        dense_order = list(cos_of)  # before BM25-only hits get their cosine appended
        if missing:  # BM25-only hits still need a cosine for the relevance signal
            vecs = self.index.vectors.reconstruct_batch(np.array(missing, dtype=np.int64))
            cos_of.update({i: float(v @ qvec[0]) for i, v in zip(missing, vecs, strict=True)})
        signals = rerank.Signals(cos_of, bm25_of, dense_order, set(named), prior)
        passages = self._collapse(query, fused, signals, k, qvec[0])
        self._raw_relevance(query, passages, raw,
                            recompute=expanded != query or self.query_map is not None or bool(hint))
        self.mark_subject(query, passages, defined)
        return passages

    def lexical_checks(self) -> bool:
        """Whether the lexical checks run: only on a corpus whose vocabulary says what our subject is
        (_LEXICAL_MIN_GROUPS)."""
        return self.idf().n >= _LEXICAL_MIN_GROUPS

    def mark_subject(self, question: str, passages: list[Passage], defined: list[str]) -> None:
        """Set each card passage's `names_subject`: does the card contain the question's subject phrase?

        Also `named`: the card is among `defined`, the cards the question names as its whole subject
        (`cards_defined`: "what do you know about RLHF?"); such a card's relevance is at least the refusal
        threshold (Config.named_is_relevant).
        Read by answerability.match_of. Lexical, so only on a corpus whose vocabulary says what our subject
        is (the test fixtures' six cards share few phrases with any question). In a conversation the turn's
        own words decide (search_in_context calls this again), not a reading that prepends the history.
        """
        wanted = subject_pairs(question) if self.lexical_checks() else set()
        named = set(defined)
        for p in passages:
            p.names_subject = not wanted or p.card_id is None or bool(wanted & self.group_pairs(p.card_id))
            p.named = p.card_id in named
            if p.named and self.config.named_is_relevant:  # the card declares that name: never refused
                p.relevance = max(p.relevance, self.config.min_relevance)

    def _raw_relevance(self, query: str, passages: list[Passage], raw: np.ndarray, recompute: bool = True) -> None:
        """Relevance from the question as typed: an expansion or the query map decides ranking, never refusal.

        "nginx with SSL termination" expands SSL to self-supervised learning; scored on the expanded
        text it cleared the refusal threshold. `recompute` re-reads the cosines (the query was changed for
        ranking); either way the material's density around the question is added (`density_term`).
        """
        lexical = self.lexical_checks()
        bonus = self.density_term(raw) - (self.phrase_penalty(query, passages) if lexical else 0.0)
        # Nothing of ours to answer: words we never use carry most of the question, or it only sets a persona.
        foreign = (lexical and self.unknown_share(query) >= (self.config.max_unknown_share or 2.0)) \
            or only_instructions(query)
        for p in passages:
            if recompute:
                ids = self._chunks_of()[p.card_id or p.chunk_id]
                scale = np.array([self._relevance_scale(i) for i in ids])
                vecs = self.index.vectors.reconstruct_batch(np.array(ids, dtype=np.int64))
                p.cosine = float((vecs @ raw * scale).max())
            p.relevance = relevance(p.cosine, p.coverage) + bonus
            if foreign:
                p.relevance = min(p.relevance, 0.0)

    def phrase_penalty(self, query: str, passages: list[Passage]) -> float:
        """Config.no_phrase_penalty when a question of several word pairs shares none with its shortlist.

        A question on our subject reuses our phrases ("batch size", "learning rate", "attention head")
        even when it is worded freely; one from another field can match single words and no pairs
        ("Docker layers and the build cache": "layer" and "cache" against the KV-cache card). The pairs
        read are every card's (a fixed set of the curated corpus) and those of the document windows found
        for this question (cached like their terms), so the check does not grow with the documents.
        Reading only the passages found, cards included, flagged 26 in-scope dev questions instead of a
        handful. Questions of fewer than Config.phrase_min_pairs pairs are left alone.
        """
        penalty = self.config.no_phrase_penalty
        if not penalty or not passages:
            return 0.0
        qpairs = pairs(query)
        if len(qpairs) < self.config.phrase_min_pairs:
            return 0.0
        if qpairs & self.card_pairs():
            return 0.0
        return 0.0 if any(qpairs & self.group_pairs(p.chunk_id) for p in passages if p.card_id is None) else penalty

    def card_pairs(self) -> set[str]:
        """Every word pair of the curated cards: saved by ingest in the lexicon, else computed once here."""
        if self._card_pairs is None:
            lexicon = self.index.lexicon
            self._card_pairs = set(lexicon["card_pairs"]) if lexicon and "card_pairs" in lexicon else \
                card_pairs(self.index.chunks)
        return self._card_pairs

    def group_pairs(self, group: str) -> set[str]:
        return self._per_group(self._group_pairs, group, pairs)

    def cards_by_id_words(self, query: str) -> list[str]:
        """The most specific cards whose id's words (two or more: "kv-cache", "layer-norm-vs-batch-norm")
        all occur in the query. One-word ids ("attention", "transformer") never count: they name the broad
        cards that outrank a specific one the question names. (A claim's subject is read differently:
        tutor.tutor._cards_titled looks for the id spelled as a phrase, one word included.)"""
        if self._id_words is None:
            from tutor.sparse import stopwords

            stop = stopwords() | {"vs", "versus"}
            self._id_words = {}
            for cid in self.index.cards:
                words = frozenset(fold(w) for w in cid.rsplit("/", 1)[-1].split("-") if w not in stop)
                if len(words) >= 2:
                    self._id_words[cid] = words
        qterms = terms(query)
        hits = {c: len(w) for c, w in self._id_words.items() if w <= qterms}
        top = max(hits.values(), default=0)
        return [c for c, n in hits.items() if n == top]

    def cards_by_name(self, question: str) -> list[str]:
        """The card whose id names a definition question's whole subject: "what is a transformer" asks for
        architectures/transformer, "what are sentence embeddings" for nlp/sentence-embeddings. A card's id
        is its subject's name even where no alias repeats it (one-word ids included, unlike
        `cards_by_id_words`: here the question is nothing but the name)."""
        typed = definition_term(question)
        if not typed:
            return []
        if self._names is None:
            self._names = {}
            for cid in self.index.cards:
                self._names.setdefault(cid.rsplit("/", 1)[-1].replace("-", " "), []).append(cid)
        term = " ".join(re.findall(r"[a-z0-9]+", typed.lower()))
        return self._names.get(term) or (self._names.get(term[:-1], []) if term.endswith("s") else [])

    def respell(self, text: str) -> str:
        """Compounds in our material's spelling ("over-fitting" → "overfitting"), then typos of its words
        ("tranfsormer" → "transformer"; tutor/spelling.py)."""
        if not self.config.respell:
            return text
        df = self.idf().df
        text = respell(text, df, self.card_pairs())
        if self.config.correct_typos and self.lexical_checks():
            text = correct_typos(text, df, self.typo_index, english_words)
        return text

    def typo_index(self) -> dict[str, list[str]]:
        """The corpus words by their one-letter deletions (tutor/spelling.py), built on the first typo."""
        if self._typos is None:
            self._typos = typo_index(self.idf().df)
        return self._typos

    def unknown_share(self, query: str) -> float:
        """The IDF-weighted share of the question's content words that the corpus never uses (numbers aside).

        A question on our subject brings words we know even when it describes another field ("my
        movie-genre classifier must flag comedy and romance": .61 at most on the in-scope golden rows); one
        about another subject is mostly words we lack ("async/await and promises in JavaScript": .76).
        Lexical only, so it keeps its meaning when the embedder changes (Config.max_unknown_share).
        """
        qterms = terms(query)
        known = self.idf().df
        return self.weighted_share(qterms, {t for t in qterms if t not in known and not any(c.isdigit() for c in t)})

    def density_term(self, raw: np.ndarray) -> float:
        """How much of our material sits near the question, relative to a typical in-scope question.

        One passage can match an unrelated question by accident ("my tests pass on my laptop but fail in
        CI" met a scenario about results that change between runs at cosine 0.34); a question about our
        subject has many chunks nearby. The mean cosine of the question's `density_k` nearest chunks,
        less `density_center`, times `density_weight`, is added to every passage's relevance (one vector
        search; numbers in the Config comment). An index of fewer than _DENSITY_MIN_SHARE × k chunks gets
        no term: there the k nearest are much of the corpus, whatever the question.
        """
        weight, k = self.config.density_weight, self.config.density_k
        if not weight or k < 1 or len(self.index.chunks) < _DENSITY_MIN_SHARE * k:
            return 0.0
        cos, ids = self.index.vectors.search(np.ascontiguousarray(raw[None], dtype=np.float32), k)
        found = cos[0][ids[0] >= 0]
        return weight * (float(found.mean()) - self.config.density_center) if found.size else 0.0

    def _relevance_scale(self, i: int) -> float:
        """How much a chunk's cosine counts in the refusal signal: a scenario's by Config.scenario_relevance."""
        return self.config.scenario_relevance if self.index.chunks[i].kind == "scenario" else 1.0

    def _collapse(
        self, query: str, fused: dict[int, float], sig: rerank.Signals, k: int, qvec: np.ndarray
    ) -> list[Passage]:
        """One passage per card (its full answer) or per document chunk, best first.

        The fused score picks the candidates; a linear score over card-level features (tutor/rerank.py)
        orders the best `rerank_pool` of them: learned weights by default, Config.rerank_weights when set.
        """
        cos_of = sig.cosine
        groups: dict[str, tuple[float, float, int]] = {}
        rel_cos: dict[str, float] = {}  # the cosine relevance reads (scenario chunks left out unless configured)
        for i, score in fused.items():
            chunk = self.index.chunks[i]
            key = chunk.card_id or chunk.id
            best, cos, best_i = groups.get(key, (-1.0, -1.0, i))
            groups[key] = (max(best, score), max(cos, cos_of[i]), i if score > best else best_i)
            scale = self._relevance_scale(i)
            if scale:
                rel_cos[key] = max(rel_cos.get(key, -1.0), cos_of[i] * scale)
        pool = sorted(groups.items(), key=lambda kv: -kv[1][0])[: max(k, self.config.rerank_pool)]
        if not pool:
            return []
        hand = self.config.rerank_weights
        full = hand is None or self.feature_sink is not None  # the hand weights read four columns only
        rows, extra = rerank.features(self, query, pool, fused, sig, qvec, full)
        weights = rerank.weight_vector(rerank.hand_weights(*hand) if hand is not None else rerank.learned_weights())
        combined = rerank.scores(rows, weights)
        if self.config.title_weight:  # the question names the specific card: "Compare batch norm and layer norm"
            titled = set(self.cards_by_id_words(query))
            combined = combined + np.array([self.config.title_weight * (key in titled) for key, _ in pool])
        if self.feature_sink is not None:
            self.feature_sink.append((query, [key for key, _ in pool], rows))
        order = sorted(range(len(pool)), key=lambda j: -combined[j])
        out = []
        for rank, j in enumerate(order[:k]):
            key, (score, cos, i) = pool[j]
            coverage, qcos = extra[j]
            if key not in rel_cos:  # only a scenario chunk of this card was seen: its question chunk speaks
                q = self.question_chunk(key)
                rel_cos[key] = cos if q is None else float(self.index.vectors.reconstruct(q) @ qvec)
            cos = rel_cos[key]
            passage = self._passage(rank + 1, self.index.chunks[i], score, relevance(cos, coverage), cos)
            passage.coverage = coverage
            passage.question_cosine = qcos if self.index.chunks[i].card_id else 0.0
            out.append(passage)
        return out

    def question_terms(self, q: int) -> set[str]:
        if q not in self._qterms:
            self._qterms[q] = terms(self.index.chunks[q].embed_text())
        return self._qterms[q]

    def weighted_share(self, qterms: set[str], have: set[str]) -> float:
        """IDF-weighted share of `qterms` found in `have`.

        A word the corpus never uses weighs double: "tune a postgres index" shares "tune" with the
        hyperparameter card, but "postgres" says it is about something else. On the golden sets this
        moved that question below the threshold for 2 more false refusals of 277 (0.051 → 0.058).
        """
        if not qterms:
            return 0.0
        idf = self.idf()
        weights = {t: idf.get(t, 2 * idf.max_idf) for t in qterms}
        return sum(w for t, w in weights.items() if t in have) / sum(weights.values())

    def _passage(self, rank: int, chunk: Chunk, score: float, relevance: float, cosine: float) -> Passage:
        card = self.index.cards.get(chunk.card_id or "")
        if card is not None:
            chunk_id = chunk.id if chunk.kind not in PHRASING_KINDS else f"{card.id}#0"
            return Passage(rank, chunk_id, card.id, chunk.source, card.question, card.answer, score, relevance, cosine)
        return Passage(rank, chunk.id, None, chunk.source, chunk.title, chunk.text, score, relevance, cosine)

    def conversation_card(self, history: list[str]) -> str | None:
        """The card the previous turn was about: its best card, when that one was worth answering from."""
        top = self.search(history[-1], 1)
        return top[0].card_id if top and top[0].relevance >= self.config.min_relevance else None

    def moves_on(self, question: str, card_id: str) -> bool:
        """Does a follow-up bring its own topic? It names another card by an alias (Config.move_on_aliases),
        or uses a rare word (at most Config.move_on_max_cards cards use it; 0: never) that the
        conversation's card lacks. Then the reading prefixed with the previous question must not lead:
        it pulls the answer back to the card the learner is moving away from."""
        if self.config.move_on_aliases and any(c != card_id for c in self.glossary.cards_named(question)):
            return True
        limit = self.config.move_on_max_cards
        if not limit:
            return False
        df = self.idf().df
        have = self.group_terms(card_id)
        return any(t not in have for t in terms(question) if 0 < df.get(t, 0) <= limit)

    def cards_defined(self, question: str, sentences: bool = True) -> list[str]:
        """The cards a definition question names as its whole subject, by an alias ("what is ReLU") or by
        the card's id ("what is a transformer"); none when definition votes are off. In a question of
        several sentences, the first of its questions that is one ("BLEU is a popular metric for
        translation. What are the pros and cons of BLEU?", "What is dropout? Why is it useful? How does it
        work?"); `sentences=False` reads the whole text only (a conversation's reading that puts the previous
        question first: its sentence is context, not the turn's subject)."""
        if not self.config.definition_weight:
            return []
        for part in question_parts(question) if sentences else [question]:
            found = self.glossary.cards_defined(part) or self.cards_by_name(part)
            if found:
                return found
        return []

    def names_new_subject(self, question: str, card_id: str | None) -> bool:
        """Is this turn nothing but the name of a subject other than the conversation's card `card_id` ("what
        about ZeRO?", "and GRUs?", "ok, now explain DDP")? Then the learner has changed the subject outright,
        and it is read as a fresh question: the conversation's card (its prior and the reading prefixed with
        the previous question) kept the old card first for 28% of card names asked this way
        (bench/framing_audit.py --turns)."""
        if not self.config.move_on_aliases:
            return False
        defined = self.cards_defined(question)
        return bool(defined) and card_id not in defined

    def strays(self, question: str, history: list[str]) -> bool:
        """Has this turn left the conversation for something the material does not cover? Only a turn with
        no referring word and a word the material never uses can: "what about it?" is about the
        conversation whatever its cosines say. The
        reading prefixed with the previous question would otherwise carry that question's relevance over
        to any next turn, so "what is the capital of France?" got batch norm as an exact answer."""
        floor = self.config.stray_cosine
        if not floor or _FOLLOW_UP.search(question):
            return False
        df = self.idf().df  # a turn in the material's own words ("the difference from the other kind") stays
        if all(df.get(t, 0) for t in terms(question)):
            return False
        own = self.search(question, 1)
        if own and own[0].relevance >= self.config.min_relevance:
            return False
        q, previous = self.query_vectors([question, history[-1]])
        if float(q @ previous) >= floor:
            return False
        card = self.conversation_card(history)
        ids = self._chunks_of().get(card, []) if card else []
        if not ids:
            return True
        vecs = self.index.vectors.reconstruct_batch(np.array(ids, dtype=np.int64))
        return float((vecs @ q).max()) < floor

    def search_in_context(
        self, question: str, history: list[str] | None, k: int | None = None, rewrite: str | None = None,
        hint: str | None = None,
    ) -> tuple[str, list[Passage]]:
        """Retrieve for a turn of a conversation.

        Several readings are searched and their rankings fused: the question alone, the question after the
        previous one, and an LLM's standalone `rewrite` when there is one. The reading that the wording
        favours (a pronoun or connective: the follow-up) counts double. No single reading was right often
        enough: "How does masking fit in for a decoder?" needs the history without saying so, a fresh topic
        must not drag the old one along, and a small model's rewrite sometimes drops the context. Each
        reading's votes are scaled by how relevant its own top passage is (Config.reading_confidence).
        """
        k = k or self.config.k
        question, history = self.respell(question), [self.respell(h) for h in history or []]
        if not history:
            return question, self.search(question, k, hint=hint)
        # A turn that left the conversation is read without it; a model's rewrite of it still counts
        # ("zxq vrrp?" that the model reads as a question about dropout).
        stray = self.strays(question, history)
        if stray and not rewrite:
            return question, self.search(question, k)
        combined = f"{history[-1]} {question}"
        follow_up = looks_like_follow_up(question)
        own = self.config.own_reading_weight
        # A follow-up whose wording carries no cue ("What objective does it optimize overall?" reads as
        # fresh) still most likely continues the conversation's card: that card gets a vote.
        # A model's standalone rewrite already says what the follow-up is about: no prior then.
        wants_card = (self.config.prior_weight or self.config.move_on_max_cards or self.config.move_on_aliases) \
            and not rewrite
        previous = self.conversation_card(history) if wants_card else None
        if wants_card and self.names_new_subject(question, previous):
            return question, self.search(question, k)
        prior = previous if self.config.prior_weight else None
        leads = follow_up
        if follow_up and previous and self.moves_on(question, previous):
            leads = False  # its own words name what the previous card lacks: its own reading leads
        readings = [(combined, 1.0 if leads else 0.5), (question, own if leads else 1.0)]
        if stray:
            readings = [(question, 1.0)]
        if rewrite and rewrite not in (combined, question):
            readings.append((rewrite, 1.0))
        fused: dict[str, tuple[float, Passage]] = {}
        for query, weight in readings:
            found = self.search(query, max(k, 10), prior=prior, sentences=query != combined)
            if found and self.config.reading_confidence:  # a reading that finds nothing clearly counts less
                # The top passage's own match, without the density term: ranking must not move whenever
                # the refusal side re-tunes how it reads the material around a question.
                confidence = relevance(found[0].cosine, found[0].coverage)
                weight *= max(confidence, 0.0) ** self.config.reading_confidence
            for p in found:
                key = p.card_id or p.chunk_id
                score, best = fused.get(key, (0.0, p))
                best = p if p.relevance > best.relevance else best
                fused[key] = (score + weight / (self.config.rrf_k + p.rank), best)
        # A card no reading finds relevant cannot outvote one that a reading does: two readings that only
        # match noise ("zxq vrrp?" after an unrelated question) would otherwise bury a model's good rewrite.
        floor = self.config.min_relevance
        ranked = sorted(fused.values(), key=lambda sp: (sp[1].relevance < floor, -sp[0]))[:k]
        out = []
        for rank, (score, p) in enumerate(ranked, 1):
            p.rank, p.score = rank, score
            out.append(p)
        self.mark_subject(question, out, self.cards_defined(question))
        return rewrite or (combined if follow_up else question), out
