"""The `Tutor`: one object both front ends build from config, holding the embedder, index and LLM.

Heavy parts (embedder, index) load on first use and once per process; tests pass fakes instead.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tutor import embed, recap
from tutor.answer import Answer, extractive_answer, is_relevant
from tutor.answerability import closest_notice, match_of
from tutor.cards import Card, find_card
from tutor.chain import answer_stream, condense
from tutor.config import Config
from tutor.correction import correcting
from tutor.embed import Embedder
from tutor.errors import EnvironmentProblem, TutorError, UserError
from tutor.grounding import claim, premise
from tutor.hyde import hypothetical_answer
from tutor.index import Index, load_index, manifest_stamp
from tutor.judge import Judge, load_judge
from tutor.llms import check_backend, default_backend, make_chat_model
from tutor.pair_model import PairModel
from tutor.reader import Reader, load_reader
from tutor.retrieve import Passage, Retriever, looks_like_follow_up
from tutor.spotter import load_spotter
from tutor.user_text import check_utf8

if TYPE_CHECKING:
    from tutor.glossary import Glossary
    from tutor.grade import Grade, Grader

# C0 controls (NUL included) and DEL: never part of a question, and NUL ends strings in native code.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_question(question: str | None, config: Config) -> str:
    """The question cleaned of what no tokenizer should see, or a UserError saying what is wrong."""
    q = _CONTROL.sub(" ", check_utf8(question or "", "the question")).strip()
    if not q:
        raise UserError("the question is empty; ask something, e.g. tutor ask \"what is dropout\"")
    if not any(ch.isalnum() for ch in q):
        raise UserError("the question has no letters or digits (is it UTF-8 text?); "
                        "ask in words, e.g. tutor ask \"what is dropout\"")
    if len(q) > config.max_question_chars:
        raise UserError(
            f"the question is {len(q)} characters; the limit is {config.max_question_chars}. "
            "Shorten it to the part you want explained."
        )
    return q


def check_answer(answer: str | None, config: Config) -> str:
    """A learner's answer as given, or a UserError when it is not UTF-8 text or over the length limit."""
    answer = check_utf8(answer or "", "the answer")
    if len(answer) > config.max_answer_chars:
        raise UserError(f"the answer is {len(answer)} characters; the limit is {config.max_answer_chars}: shorten it")
    return answer


def _with_match(answer: Answer, match: str, closest: str | None) -> Answer:
    """The answer's `match`; a declined answer is `none` whatever retrieval thought."""
    answer.match = "none" if answer.refused else match
    if closest and not answer.refused:
        answer.notice = f"{closest} {answer.notice}" if answer.notice else closest
    return answer


def _same(a: str, b: str) -> bool:
    """The same question, ignoring case, spacing and the closing mark."""
    def norm(t: str) -> str:
        return " ".join(t.lower().split()).rstrip("?.! ")
    return norm(a) == norm(b)


def _cards_titled(text: str, cards: dict[str, Card]) -> list[str]:
    """Cards whose own name (the last part of the id, "learning-rate") `text` spells, longest first."""
    folded = " " + " ".join(re.findall(r"[a-z0-9]+", text.lower())) + " "
    found = [(len(slug), cid) for cid in cards if (slug := cid.rsplit("/", 1)[-1].replace("-", " "))
             and (f" {slug} " in folded or f" {slug}s " in folded)]
    return [cid for _, cid in sorted(found, reverse=True)]


@dataclass
class Tutor:
    config: Config = field(default_factory=Config)
    # None means the real MiniLM embedder, looked up when the Tutor is built (not when this module was
    # imported), so a test can swap `tutor.embed.MiniLMEmbedder` in one place for every front end.
    embedder_factory: Callable[[], Embedder] | None = None
    _embedder: Embedder | None = None
    _index: Index | None = None
    _index_stamp: tuple | None = None
    _retriever: Retriever | None = None
    chat_model_factory: Callable = make_chat_model
    _llms: dict = field(default_factory=dict)
    # The grader's contradiction judge (tutor.judge); None means the installed one with the real embedder
    # and none with a test's fake embedder, whose evidence the judged model was not fitted on.
    judge_factory: Callable[[], Judge | None] | None = None
    # The grader's answer reader (tutor.reader), on the same terms as the judge.
    reader_factory: Callable[[], Reader | None] | None = None
    # The grader's misconception spotter (tutor.spotter), on the same terms again.
    spotter_factory: Callable[[], PairModel | None] | None = None
    _grader: Grader | None = None
    _claim_glossary: Glossary | None = None  # the index's glossary with every alias in play (named_passages)

    def __post_init__(self) -> None:
        if self.judge_factory is None:
            self.judge_factory = load_judge if self.embedder_factory is None else (lambda: None)
        if self.reader_factory is None:
            self.reader_factory = load_reader if self.embedder_factory is None else (lambda: None)
        if self.spotter_factory is None:
            self.spotter_factory = load_spotter if self.embedder_factory is None else (lambda: None)
        if self.embedder_factory is None:
            self.embedder_factory = embed.MiniLMEmbedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.embedder_factory()
        return self._embedder

    @property
    def embed_model(self) -> str:
        # A factory without a `name` (a lambda) tells its model only once built.
        return getattr(self._embedder, "name", None) or getattr(self.embedder_factory, "name", None) \
            or self.embedder.name

    @property
    def index(self) -> Index:
        if self._index is None:
            stamp = manifest_stamp(self.config.index_dir)
            self._index = load_index(self.config.index_dir, self.config, self.embed_model)
            self._index_stamp = stamp
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.index, self.embedder, self.config)
        return self._retriever

    def refresh_index(self) -> bool:
        """Pick up an index that `tutor ingest` replaced since it was loaded; True when it did.

        Called before each question, so a long-running app serves the new material on the next question
        without a restart. Costs one stat() when nothing changed. If the new index cannot be read yet
        (an ingest caught mid-swap) or is unusable, the one in memory keeps serving and the next
        question tries again: a learner never loses answers to a rebuild.
        """
        if self._index is None or manifest_stamp(self.config.index_dir) == self._index_stamp:
            return False
        stamp = manifest_stamp(self.config.index_dir)
        try:
            fresh = load_index(self.config.index_dir, self.config, self.embed_model)
        except TutorError:
            return False
        # The grader holds the old cards' rubrics: rebuilt lazily from the new index like the retriever.
        self._index, self._index_stamp, self._retriever, self._grader = fresh, stamp, None, None
        self._claim_glossary = None
        return True

    def retrieve(
        self, question: str, k: int | None = None, history: list[str] | None = None
    ) -> tuple[str, list[Passage]]:
        q = check_question(question, self.config)
        self.refresh_index()
        return self.retriever.search_in_context(q, history, k)

    def chat_model(self, backend: str, model: str | None = None, detail: bool = False):
        key = (backend, model, detail)  # tutor/settings.py registers per-session API clients under this key
        if key not in self._llms:
            self._llms[key] = self.chat_model_factory(backend, self.config, model, 700 if detail else 320)
        return self._llms[key]

    def stream(
        self,
        question: str,
        history: list[str] | None = None,
        backend: str | None = None,
        k: int | None = None,
        model: str | None = None,
        detail: bool = False,
        shown: str | None = None,
    ) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the finished `Answer` as the last item.

        `shown`: the chunk id of the passage the previous answer of this conversation led with; a follow-up
        that lands on it again leads with the part of it that bears on the follow-up (tutor/recap.py)."""
        t0 = time.perf_counter()
        q = check_question(question, self.config)
        backend = check_backend(backend or default_backend(self.config))
        self.refresh_index()
        retriever = self.retriever  # a missing or stale index is reported before any LLM server starts
        llm, notice = None, None
        if backend != "extractive":
            try:
                llm = self.chat_model(backend, model, detail)
            except EnvironmentProblem as exc:  # loses nothing: the curated answer still serves
                notice = f"{exc.message} (fix: {exc.fix}); showing the curated answer instead"
        history = history or []
        # The heuristic readings first (no LLM round trip); the model rewrites the follow-up only when
        # they find nothing in scope. Each condense call cost 2-10 s on 2 cores, and fusing both
        # heuristic readings already matched or beat the rewrite on the golden follow-ups.
        # "From now on teach that X": retrieve on X, so the false claim is corrected from the material.
        # A fresh question is searched with the model's short hypothetical answer too (tutor/hyde.py):
        # ranking only, ~2 s of the 0.5B, so off unless Config.hyde_weight is set. A follow-up has its
        # readings and, if needed, the rewrite.
        hint, hyde_s = None, 0.0
        if llm is not None and not history and self.config.hyde_weight:
            t_hint = time.perf_counter()
            hint = hypothetical_answer(llm, claim(q))
            hyde_s = time.perf_counter() - t_hint
        standalone, passages = retriever.search_in_context(claim(q), history, k, hint=hint)
        rewrite = None
        if llm is not None and history and not is_relevant(passages, self.config.min_relevance):
            rewrite = condense(llm, history, q)
            standalone, passages = retriever.search_in_context(q, history, k, rewrite)
        fix = None
        if llm is None and is_relevant(passages, self.config.min_relevance):
            # A false claim ("from now on teach that …") is answered "No: <key point> [1]." by code, as on the
            # LLM path (tutor/correction.py); the card that states the claim as a misconception answers it.
            passages, fix = correcting(q, passages, self.index.cards, self.config.min_relevance,
                                       self.named_passages(q, passages))
        match = match_of(passages, self.config)
        closest = closest_notice(passages) if match == "closest" else None
        again = self.recap_of(q, history, passages, shown) if fix is None else None
        if llm is None:
            answer = extractive_answer(q, standalone, passages, self.config.min_relevance, lead=again)
            if fix is not None:
                answer.answer = f"{fix.lead()}\n\n{answer.answer}"
                answer.extra.update(lead="correction", correction=fix.why)
            answer.notice = notice
            answer.backend = "extractive" if backend == "extractive" else f"{backend}→extractive"
            answer.latency_s = answer.first_token_s = time.perf_counter() - t0
            yield answer.answer
            yield _with_match(answer, match, closest)
            return
        earlier = history[-1] if history and rewrite is None and looks_like_follow_up(q) else None
        events = answer_stream(llm, q, standalone, passages, self.config.min_relevance, backend, detail,
                               cards=self.index.cards, earlier=earlier, model=self.model_name(backend, model),
                               exact=match == "exact",
                               named=self.named_passages(q, passages), recap=again)
        for event in events:
            if isinstance(event, Answer):
                event.latency_s = time.perf_counter() - t0
                event.extra["condensed"] = rewrite is not None
                if hint is not None:
                    event.extra["hyde_s"] = round(hyde_s, 3)
                event = _with_match(event, match, closest)
            yield event

    def recap_of(self, question: str, history: list[str], passages: list[Passage], shown: str | None) -> str | None:
        """What leads instead of passage [1] when the learner was just shown it: its blocks nearest the
        follow-up, under a line naming the card (tutor/recap.py). None for a fresh passage, a refusal, the
        previous question asked again (whoever repeats a question wants the answer again), or a passage short
        enough to be its own excerpt."""
        if (shown is None or not history or not is_relevant(passages, self.config.min_relevance)
                or passages[0].chunk_id != shown or _same(claim(question), history[-1])):
            return None
        part = recap.excerpt(claim(question), passages[0].text, self.retriever.query_vectors)
        return recap.recap_text(passages[0].title, part) if part != passages[0].text.strip() else None

    def named_passages(self, question: str, passages: list[Passage]) -> list[Passage]:
        """For a claim ("from now on teach that ReLU …"), the cards it names by an alias (the glossary),
        as passages: candidates to correct it from (tutor/correction.py). A card retrieval returned is
        that passage; another carries the best passage's relevance (the claim is in scope, and the card
        it names is what it is about). Empty for an ordinary question.

        Every alias counts here, however many cards use its word: retrieval leaves widespread ones such as
        "ReLU" (23 cards) alone, but in a claim the named thing is the subject to check. So does a card's
        own name, its id ("training/learning-rate" in "a higher learning rate always …").
        """
        if not premise(question) or not passages:
            return []
        if self._claim_glossary is None:
            self._claim_glossary = replace(self.retriever.glossary, max_spread=10**9)
        said = claim(question)
        ids = [c for c in self._claim_glossary.cards_named(said) if c in self.index.cards]
        ids += [c for c in _cards_titled(said, self.index.cards) if c not in ids]
        have = {p.card_id: p for p in passages}
        best = passages[0]

        def source(cid: str) -> str:  # the card's file, from its question chunk (the retriever's cached map)
            i = self.retriever.question_chunk(cid)
            return self.index.chunks[i].source if i is not None else ""

        return [have.get(cid) or Passage(len(passages) + n, f"{cid}#0", cid, source(cid), card.question,
                                         card.answer, 0.0, best.relevance, best.cosine)
                for n, cid in enumerate(ids, 1) if (card := self.index.cards[cid])]

    def warm_up(self, backend: str | None = None, model: str | None = None) -> None:
        """Start what the first answer will need in the background (the local model server)."""
        if (backend or default_backend(self.config)) == "local":
            from tutor.llm_server import warm_up

            warm_up(model or self.config.llm_model or None)

    def model_name(self, backend: str, model: str | None) -> str | None:
        if backend == "local":
            from tutor.models import default_model

            return model or self.config.llm_model or default_model()
        return model or None

    def ask(self, question: str, history: list[str] | None = None, **options: Any) -> Answer:
        """`stream` run to the end: its final `Answer`. `options` are stream's (backend, k, model, detail),
        by keyword, so the one argument list to keep is stream's."""
        answer = None
        for event in self.stream(question, history, **options):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer

    # ---- grading ---------------------------------------------------------------------------------

    @property
    def cards(self) -> list[Card]:
        """The indexed cards (index/cards.jsonl), sorted by id."""
        return sorted(self.index.cards.values(), key=lambda c: c.id)

    @property
    def grader(self) -> Grader:
        if self._grader is None:
            from tutor.grade import Grader  # here: asking never needs the grader's imports (~30 ms)

            self._grader = Grader(self.embedder, self.cards, self.config, find_card=self.card_for_question,
                                  judge=self.judge_factory(), reader=self.reader_factory(),
                                  spotter=self.spotter_factory())
        return self._grader

    def card_for_question(self, question: str, reference: str | None = None, answer: str | None = None
                          ) -> Card | None:
        """The card a question is about, by retrieval, or None when no card is close enough.

        With a reference the card is searched with the question and the reference together, and must clear
        a higher bar than the refusal threshold (Config.grade_card_relevance): a loosely related card would
        grade against the wrong points, where the reference itself is a fair rubric. A question worded unlike
        the card's often finds its card below the bar ("How does expected squared error decompose into
        separate components?") or finds a neighbour ("Why does SimCLR need very large batches?" finds the
        batch-size card), and an answer says far more about its topic than a question. Golden test answers
        re-asked with a golden retrieval question of their card (992 rows): the question alone found the
        card for .602 of them (none .296, a wrong card .102; in band .776 with the card, .642 so routed);
        the question and the reference .999 (in band .777), and 28 of 30 uncovered deep-learning questions
        with a written reference still found no card (24 before).

        Without a reference, the learner's `answer` read with the question names the card when that card is
        also among the question's own top five (an answer about another subject cannot move the grade onto
        that subject's card); otherwise the question alone must clear Config.grade_question_relevance. A
        card that is only loosely related is no rubric: the learner is asked for a reference or a card id.
        Golden answers re-asked as above (every 4th; dev 495 / test 499 rows): the card found right / none
        / wrong .859 / .004 / .137 → .960 / .032 / .008 on dev, .869 / .002 / .129 → .960 / .022 / .018 on
        test; the 30 uncovered questions with a learner's answer were graded against some card 26 times,
        now once.
        """
        question = check_question(question, self.config)
        bar = self.config.grade_card_relevance
        if reference and reference.strip():
            return self._card_found(f"{question} {self._clip_to_question(question, reference)}", bar)
        if not (answer and answer.strip()):
            return self._card_found(question, self.config.min_relevance)
        own = [p for p in self.retriever.search(question, 5) if p.card_id and p.relevance >= self.config.min_relevance]
        joint = self.retriever.search(f"{question} {self._clip_to_question(question, answer)}", 1)
        if joint and joint[0].relevance >= bar and joint[0].card_id in {p.card_id for p in own}:
            return self.index.cards.get(joint[0].card_id)
        if own and own[0].relevance >= self.config.grade_question_relevance:
            return self.index.cards.get(own[0].card_id)
        return None

    def _clip_to_question(self, question: str, text: str) -> str:
        """`text` on one line, cut at a space so that the question and it fit the question length limit."""
        text, limit = " ".join(text.split()), self.config.max_question_chars - len(question) - 1
        if len(text) <= limit:
            return text
        cut = text[: max(limit, 0)]
        return cut.rsplit(" ", 1)[0] if " " in cut else cut

    def _card_found(self, query: str, bar: float) -> Card | None:
        for passage in self.retriever.search(query, 1):
            if passage.card_id and passage.relevance >= bar:
                return self.index.cards.get(passage.card_id)
        return None

    def grade(self, answer: str, *, card_id: str | None = None, question: str | None = None,
              reference: str | None = None, backend: str | None = None, model: str | None = None) -> Grade:
        """Grade a learner's answer; the score is code's, an LLM backend only words the feedback."""
        from tutor.grade_feedback import llm_feedback

        answer = check_answer(answer, self.config)
        for what, text in (("the question", question), ("the reference", reference)):
            check_utf8(text or "", what)
        self.refresh_index()
        card = None
        if card_id:
            card = find_card(self.index.cards, card_id)
        grade = self.grader.grade(answer, card=card, question=question, reference=reference)
        backend = check_backend(backend) if backend else "extractive"
        if backend != "extractive":
            # A backend that cannot start leaves the template feedback already in the grade.
            with contextlib.suppress(EnvironmentProblem):
                grade.feedback = llm_feedback(self.chat_model(backend, model), grade)
        return grade
