"""The `Tutor`: one object both front ends build from config, holding the embedder, index and LLM.

Heavy parts (embedder, index) load on first use and once per process; tests pass fakes instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tutor import embed
from tutor.answer import Answer, extractive_answer
from tutor.answerability import closest_notice, match_of
from tutor.chain import answer_stream, condense
from tutor.config import Config
from tutor.embed import Embedder
from tutor.errors import EnvironmentProblem, UserError
from tutor.index import Index, load_index
from tutor.llms import check_backend, default_backend, make_chat_model
from tutor.retrieve import Passage, Retriever


def check_question(question: str | None, config: Config) -> str:
    q = (question or "").strip()
    if not q:
        raise UserError("the question is empty; ask something, e.g. tutor ask \"what is dropout\"")
    if len(q) > config.max_question_chars:
        raise UserError(
            f"the question is {len(q)} characters; the limit is {config.max_question_chars}. "
            "Shorten it to the part you want explained."
        )
    return q


def _with_match(answer: Answer, match: str, closest: str | None) -> Answer:
    """The answer's `match`; a declined answer is `none` whatever retrieval thought."""
    answer.match = "none" if answer.refused else match
    if closest and not answer.refused:
        answer.notice = f"{closest} {answer.notice}" if answer.notice else closest
    return answer


@dataclass
class Tutor:
    config: Config = field(default_factory=Config)
    # None means the real MiniLM embedder, looked up when the Tutor is built (not when this module was
    # imported), so a test can swap `tutor.embed.MiniLMEmbedder` in one place for every front end.
    embedder_factory: Callable[[], Embedder] | None = None
    _embedder: Embedder | None = None
    _index: Index | None = None
    _retriever: Retriever | None = None
    chat_model_factory: Callable = make_chat_model
    _llms: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
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
            self._index = load_index(self.config.index_dir, self.config, self.embed_model)
        return self._index

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            self._retriever = Retriever(self.index, self.embedder, self.config)
        return self._retriever

    def retrieve(
        self, question: str, k: int | None = None, history: list[str] | None = None
    ) -> tuple[str, list[Passage]]:
        q = check_question(question, self.config)
        return self.retriever.search_in_context(q, history, k)

    def chat_model(self, backend: str, model: str | None = None, detail: bool = False):
        key = (backend, model, detail)
        if key not in self._llms:
            self._llms[key] = self.chat_model_factory(backend, self.config, model, 700 if detail else 400)
        return self._llms[key]

    def stream(
        self,
        question: str,
        history: list[str] | None = None,
        backend: str | None = None,
        k: int | None = None,
        model: str | None = None,
        detail: bool = False,
    ) -> Iterator[str | Answer]:
        """Text pieces as they are produced, then the finished `Answer` as the last item."""
        t0 = time.perf_counter()
        q = check_question(question, self.config)
        backend = check_backend(backend or default_backend(self.config))
        retriever = self.retriever  # a missing or stale index is reported before any LLM server starts
        llm, notice = None, None
        if backend != "extractive":
            try:
                llm = self.chat_model(backend, model, detail)
            except EnvironmentProblem as exc:  # loses nothing: the curated answer still serves
                notice = f"{exc.message} (fix: {exc.fix}); showing the curated answer instead"
        history = history or []
        rewrite = condense(llm, history, q) if llm is not None and history else None
        standalone, passages = retriever.search_in_context(q, history, k, rewrite)
        match = match_of(passages, self.config)
        closest = closest_notice(passages) if match == "closest" else None
        if llm is None:
            answer = extractive_answer(q, standalone, passages, self.config.min_relevance)
            answer.notice = notice
            answer.backend = "extractive" if backend == "extractive" else f"{backend}→extractive"
            answer.latency_s = answer.first_token_s = time.perf_counter() - t0
            yield answer.answer
            yield _with_match(answer, match, closest)
            return
        for event in answer_stream(llm, q, standalone, passages, self.config.min_relevance, backend, detail):
            if isinstance(event, Answer):
                event.latency_s = time.perf_counter() - t0
                event = _with_match(event, match, closest)
            yield event

    def ask(
        self,
        question: str,
        history: list[str] | None = None,
        backend: str | None = None,
        k: int | None = None,
        model: str | None = None,
        detail: bool = False,
    ) -> Answer:
        answer = None
        for event in self.stream(question, history, backend, k, model, detail):
            if isinstance(event, Answer):
                answer = event
        assert answer is not None
        return answer
