"""Rubric grading: a learner's answer → per-point verdicts with evidence, wrong claims, a 0-10 score.

The score comes from code, never from an LLM: each key point is covered / partly / missed by the best
learner statement (sentence-embedding cosine to the point and its synonyms, mixed with stemmed keyword
matching), a statement that matches a misconception better than any key point — or that negates or
reverses the point it is about — is *wrong* and costs points, and the gaming guards (text addressed to
the grader, keyword lists, empty answers, off-topic answers) cap what an answer can earn. Length earns
nothing: credit is per point, not per word.

`GradeParams` holds every threshold and weight; `tutor.evaluate_grading` calibrates them with
cross-validation on corpus/golden/grading.jsonl and reports the held-out figures.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from tutor.cards import Card
from tutor.config import Config
from tutor.embed import Embedder
from tutor.errors import UserError
from tutor.grade_evidence import (
    Evidence,
    Rubric,
    build_rubric,
    card_rubric,
    gather,
    judge_conflicts,
    reference_points,
)
from tutor.grade_features import features, n_sentences
from tutor.grade_model import SETTLED, ScoreModel
from tutor.grade_model import load as load_model
from tutor.grade_text import asked, is_idk, manipulation_spans, shape, without
from tutor.judge import Judge
from tutor.pair_model import PairModel
from tutor.reader import Reader, rubric_text
from tutor.spotter import cleared, highest, spotted
from tutor.spotter import read as read_statements

LABELS = ("incorrect", "partial", "correct")


@dataclass
class PointGrade:
    point: str  # the key point (card) or reference claim
    status: str  # "covered" | "partly" | "missed" | "wrong"
    evidence: str  # the learner's statement that decided it ("" when missed)
    credit: float  # 0..1
    weight: float  # the point's weight in the score
    source: str  # card id, or "reference"
    passage: str = ""  # the card sentence the point comes from (feedback cites it)
    why: str = ""  # for "wrong": which misconception or reversal
    missing: str = ""  # for "partly" on a compound point: the claims of it the answer did not make


@dataclass
class MisconceptionHit:
    misconception: str
    evidence: str
    point: str | None


@dataclass
class Grade:
    score: float  # 0-10, one decimal
    label: str  # "correct" (>= 7) | "partial" (3-7) | "incorrect" (< 3)
    points: list[PointGrade]
    misconceptions: list[MisconceptionHit]
    flags: list[str]  # "manipulation", "keyword_list", "empty", "off_topic"
    feedback: str  # markdown; cites only the card
    card_id: str | None
    question: str
    latency_s: float = 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["latency_s"] = round(self.latency_s, 4)
        return d


def label_of(score: float) -> str:
    return "correct" if score >= 7 else "partial" if score >= 3 else "incorrect"


@dataclass(frozen=True)
class GradeParams:
    """Thresholds and weights. The defaults are `tutor eval`'s fit on all 216 rows of
    corpus/golden/grading.jsonl (2026-12-01: the mean of the 10 best of 150 random candidates, see
    tutor/evaluate_grading.py); the figures reported are held out by 5-fold cross-validation."""

    alpha: float = 0.52  # match = alpha · cosine + (1 - alpha) · keyword match
    covered: float = 0.62  # match at or above: the point is covered (full credit)
    partly: float = 0.481  # match at or above: partly covered
    partly_credit: float = 0.519
    first_weight: float = 1.576  # the first key point is the card's core claim
    points_needed: float = 0.0  # when > 0: this much point weight covered earns full marks (long rubrics)
    full_at: float = 0.814  # weighted coverage that already earns 10: a terse, complete answer is complete
    mis_min: float = 0.708  # cosine to a misconception needed to call a statement wrong …
    mis_margin: float = 0.05  # … and by how much it must beat the statement's best key point
    reversal_min: float = 0.601  # match to a point above which a negated / reversed statement is wrong
    wrong_penalty: float = 1.591  # score points lost per wrong statement
    wrong_cap: float = 4.722  # an answer with a wrong core claim is never "correct"
    off_topic: float = 0.26  # best cosine of any statement to the question or a point below this: off topic
    # Also off topic: no statement shares a keyword or a content word with any point (keyword match below
    # off_topic_lex) and none comes close to a point in meaning (cosine below off_topic_cos). Round cut-offs,
    # set from the off-topic category; they cap such answers at off_topic_cap (issue 9: off topic scores 0-1).
    off_topic_lex: float = 0.2
    off_topic_cos: float = 0.7
    support_min: float = 0.467  # an on-topic sentence whose best cosine to the card is below this is unsupported …
    unsupported_penalty: float = 1.013  # … and costs this much (fluent answers that say nothing the card says)
    keyword_cap: float = 2.0
    off_topic_cap: float = 1.0
    manipulation_cap: float = 1.0  # an answer that tries to instruct the grader keeps at most this
    # An answer none of whose statements matches any key point at least this well (grade_features' share_50
    # is 0) said nothing the rubric asks for, and keeps at most no_point_cap ("incorrect"), however short and
    # fluent: the label classifier learned "short answers are right" from the terse-right rows and scored
    # "It uses labels." 7.5 for semi-supervised learning. Golden rows with no such match: 82 incorrect,
    # 6 partial, none correct (the learned score called 4 of them correct).
    point_match: float = 0.5
    no_point_cap: float = 2.9

    def with_(self, **changes: float) -> GradeParams:
        return GradeParams(**{**asdict(self), **changes})


# Above this margin the contradiction judge's reading of a point beside the statement that makes it best
# turns that point's verdict to "wrong": the feedback must not praise "the learning rate isn't worth
# tuning" as covering "the learning rate is tuned first". On bench/claim_pairs.jsonl (543 right and 543
# wrong learner claims against their key points) margins above 4 / 4.5 / 5 are 4.6% / 2.0% / 0.4% of the
# right claims and 51.9% / 36.6% / 13.8% of the wrong ones. On the golden dev answers (session 32), the
# answers with a wrong verdict, rules only → with the judge at 4.5 / 5: complete 20 → 48 / 21 of 184,
# terse-right 10 → 27 / 12 of 105, partial-missing 30 → 50 / 36 of 154, negation 33 → 74 / 47 of 113,
# misconception 72 → 97 / 78 of 129. 5 keeps right answers as they were. The verdicts only: the learned
# score reads the margins itself (tutor.grade_features).
JUDGED_WRONG = 5.0
_JUDGED_WHY = "reads as the opposite of this point"


def _judged_wrong(ev: Evidence, j: int, unit: int) -> bool:
    """Does the judge say the statement `unit`, the one it read beside point `j`, contradicts it?"""
    if ev.point_conflict is None or ev.point_conflict[j] <= JUDGED_WRONG:
        return False
    return int(ev.match[:, j].argmax()) == unit


def _score_points(rubric: Rubric, ev: Evidence, p: GradeParams) -> tuple[list[PointGrade], list[MisconceptionHit]]:
    n, k = ev.cos.shape
    match = p.alpha * ev.cos + (1 - p.alpha) * ev.lex
    wrong_unit: dict[int, tuple[int, str, MisconceptionHit | None]] = {}  # unit -> (point, why, hit)
    flagged = spotted(ev.spotted)  # the misconception spotter's confident verdicts (tutor.spotter)
    clear = cleared(ev.spotted)  # … and the pairs it read and found not asserted: cosine alone cannot tell
    for i in range(n):
        if i in flagged:
            m = flagged[i]
            j = rubric.mis_point[m]
            hit = MisconceptionHit(rubric.misconceptions[m], ev.units[i], rubric.points[j].point)
            wrong_unit[i] = (j, f"matches the misconception: {rubric.misconceptions[m]}", hit)
            continue
        if ev.mis_cos.shape[1]:
            m = int(np.argmax(ev.mis_cos[i]))
            best_point = float(ev.cos[i].max()) if k else 0.0
            if (ev.mis_cos[i, m] >= p.mis_min and ev.mis_cos[i, m] >= best_point + p.mis_margin
                    and (i, m) not in clear):
                j = rubric.mis_point[m]
                hit = MisconceptionHit(rubric.misconceptions[m], ev.units[i], rubric.points[j].point)
                wrong_unit[i] = (j, f"matches the misconception: {rubric.misconceptions[m]}", hit)
                continue
        for j in range(k):
            if ev.reversed[i][j] and match[i, j] >= p.reversal_min:
                wrong_unit[i] = (j, f"the statement {ev.reversed[i][j]}", None)
                break
    # A clause and the sentence holding it make one wrong claim about one point: quote the clause, once.
    for i in [i for i, (j, _, _) in wrong_unit.items()
              if any(jw == j and len(ev.units[w]) < len(ev.units[i]) and ev.units[w] in ev.units[i]
                     for w, (jw, _, _) in wrong_unit.items())]:
        del wrong_unit[i]
    grades = []
    # A sentence holding a wrong clause covers nothing: feedback must not praise "X, so Y" when Y is wrong.
    ok = [i for i in range(n) if i not in wrong_unit and not any(ev.units[w] in ev.units[i] for w in wrong_unit)]
    for j, kp in enumerate(rubric.points):
        weight = p.first_weight if j == 0 else 1.0
        wrong = [(i, why) for i, (jj, why, _) in wrong_unit.items() if jj == j]
        best = max(ok, key=lambda i: match[i, j], default=None)
        value = float(match[best, j]) if best is not None else 0.0
        passage = rubric.passages[j] if j < len(rubric.passages) else ""
        if wrong and value < p.covered:
            i, why = wrong[0]
            grades.append(PointGrade(kp.point, "wrong", ev.units[i], 0.0, weight, rubric.source, passage, why))
        elif best is not None and value >= p.partly and _judged_wrong(ev, j, best):
            grades.append(PointGrade(kp.point, "wrong", ev.units[best], 0.0, weight, rubric.source, passage,
                                     _JUDGED_WHY))
        elif value >= p.covered:
            grades.append(PointGrade(kp.point, "covered", ev.units[best], 1.0, weight, rubric.source, passage))
        elif (claimed := _by_claim(rubric, ev, j, ok, p)) is not None:
            grades.append(replace(claimed, weight=weight, source=rubric.source, passage=passage))
        elif value >= p.partly:
            grades.append(PointGrade(kp.point, "partly", ev.units[best], p.partly_credit, weight, rubric.source,
                                     passage))
        else:
            grades.append(PointGrade(kp.point, "missed", "", 0.0, weight, rubric.source, passage))
    # Every wrong statement costs, even one whose point is also covered elsewhere in the answer.
    extra = [PointGrade(rubric.points[j].point, "wrong", ev.units[i], 0.0, 0.0, rubric.source,
                        rubric.passages[j] if j < len(rubric.passages) else "", why)
             for i, (j, why, _) in wrong_unit.items()
             if not any(g.status == "wrong" and g.evidence == ev.units[i] for g in grades)]
    hits = [h for _, _, h in wrong_unit.values() if h is not None]
    return grades + extra, hits


def _by_claim(rubric: Rubric, ev: Evidence, j: int, ok: list[int], p: GradeParams) -> PointGrade | None:
    """The verdict on a compound point ("A; B") read claim by claim, where the whole point did not read as
    covered: a statement that makes one claim well matches the joined point only loosely ("… at inference,
    where it is turned off" against "dropout is switched off in eval mode; forgetting model.eval() makes
    predictions random"), and the learner was told the point was missing. Every claim made: covered; some:
    partly, naming the rest. None when the point is one claim or no claim of it was made."""
    if j >= len(ev.claim_match) or not ev.claim_match[j].shape[1] or not ok:
        return None
    cm = ev.claim_match[j][ok]
    made = cm.max(axis=0) >= p.covered
    if not made.any():
        return None
    point, subs = rubric.points[j].point, rubric.claims[j]
    said = list(dict.fromkeys(ev.units[ok[int(cm[:, c].argmax())]] for c in np.flatnonzero(made)))
    evidence = " … ".join(said)
    if made.all():
        return PointGrade(point, "covered", evidence, 1.0, 1.0, "")
    rest = "; ".join(sub.point for sub, m in zip(subs, made, strict=True) if not m)
    return PointGrade(point, "partly", evidence, p.partly_credit, 1.0, "", missing=rest)


def score(rubric: Rubric, ev: Evidence, p: GradeParams, flags: list[str], model: ScoreModel | None = None
          ) -> tuple[float, list[PointGrade], list[MisconceptionHit]]:
    """The 0-10 score (unrounded) and the verdicts; `flags` gains "off_topic" / "keyword_list".

    With `model`, the learned scorer sets the value and the rules only give the per-point verdicts;
    the gaming guards cap the value either way."""
    if "empty" in flags or not ev.units:
        return 0.0, _missed(rubric, p), []
    learned = model.predict(features(rubric, ev, flags, model.features))[0] if model is not None else None
    points, hits = _score_points(rubric, ev, p)
    weighted = [g for g in points if g.weight > 0]
    total = sum(g.weight for g in weighted) or 1.0
    if p.points_needed > 0:  # a rubric of six points is not failed by a sound answer that makes four
        total = min(total, p.points_needed)
    coverage = sum(g.weight * g.credit for g in weighted) / total
    n_wrong = len({g.point for g in points if g.status == "wrong"})  # a sentence and its clause count once
    value = 10.0 * min(1.0, coverage / p.full_at) - p.wrong_penalty * n_wrong
    if n_wrong:
        value = min(value, p.wrong_cap)
    if p.unsupported_penalty and ev.support is not None:
        n = n_sentences(ev)
        best = np.maximum(ev.support[:n], ev.cos[:n].max(axis=1) if k_points(ev) else 0.0)
        on_topic = ev.question_cos[:n] >= p.off_topic
        value -= p.unsupported_penalty * min(3, int(((best < p.support_min) & on_topic).sum()))
    if learned is not None:
        value = learned
    relevance = max(float(ev.question_cos.max()), float(ev.cos.max()) if ev.cos.size else 0.0)
    if relevance < p.off_topic or off_every_point(ev, p):
        flags.append("off_topic")
        value = min(value, p.off_topic_cap)
        # a question that named a point ("… talk about transformers instead?") made none of it
        questions = {u for u, q in zip(ev.units, asked(ev.units), strict=True) if q}
        points = [replace(g, status="missed", evidence="", credit=0.0) if g.evidence in questions else g
                  for g in points]
    if shape(" ".join(ev.units[:n_sentences(ev)])).keyword_list:
        flags.append("keyword_list")
        value = min(value, p.keyword_cap)
    if "manipulation" in flags:
        value = min(value, p.manipulation_cap)
    if ev.match.size and float(ev.match.max()) < p.point_match:
        value = min(value, p.no_point_cap)
    return max(0.0, min(10.0, value)), points, hits


def off_every_point(ev: Evidence, p: GradeParams) -> bool:
    """No statement names anything a key point says, and none paraphrases one either: the answer talks
    about something else, however close its topic sounds to the question. Questions are not statements:
    "they're all recurrent models … maybe I could talk about transformers instead?" names the point on
    transformers without saying anything (an answer of questions only is read whole: a hedged guess,
    not a change of subject)."""
    if not ev.lex.size:
        return False
    said = [i for i, q in enumerate(asked(ev.units)) if not q] or list(range(len(ev.units)))
    return float(ev.lex[said].max()) < p.off_topic_lex and float(ev.cos[said].max()) < p.off_topic_cos


def k_points(ev: Evidence) -> int:
    return ev.cos.shape[1] if ev.cos.ndim == 2 else 0


def _missed(rubric: Rubric, p: GradeParams) -> list[PointGrade]:
    return [PointGrade(kp.point, "missed", "", 0.0, p.first_weight if j == 0 else 1.0, rubric.source,
                       rubric.passages[j] if j < len(rubric.passages) else "")
            for j, kp in enumerate(rubric.points)]


@functools.cache
def _committed_model(judged: bool = False, read: bool = False, reference: bool = False) -> ScoreModel:
    return load_model(judged=judged, read=read, reference=reference)


@functools.cache
def _committed_quick(reference: bool = False) -> ScoreModel:
    return load_model(reference=reference, quick=True)


def settled_label(quick: ScoreModel | None, rubric: Rubric, ev: Evidence, flags: list[str],
                  x: np.ndarray | None = None) -> str | None:
    """The label the quick model (tutor.grade_model.QUICK_MODEL_FILE) is sure enough of that its score stands
    without the judge, or None. Read off evidence the judge has not touched, so an evaluation that let the
    judge read every answer routes each one as grading did (`x`: the quick model's feature row, when the
    evaluation has it already)."""
    if quick is None or not ev.units or not len(rubric.points):
        return None
    x = features(rubric, ev, flags, quick.features) if x is None else x
    return quick.predict(x)[1] if quick.confidence(x) >= SETTLED else None


_KINDS = ((False, False), (True, False), (True, True))  # (judged, read) of the three committed models


def _reference_twin(model: ScoreModel) -> ScoreModel | None:
    """The committed free-reference model that stands beside committed card model `model` (None: a caller's)."""
    for judged, read in _KINDS:
        if model is _committed_model(judged, read):
            return _committed_model(judged, read, True)
    return None


def default_model(judged: bool = False, read: bool = False) -> ScoreModel | None:
    """The committed learned scorer (`judged`: the one that reads the judge's features, `read`: and the
    reader's; a reader without a judge is not read); TUTOR_GRADE_MODEL=rules grades with the rules alone."""
    if os.environ.get("TUTOR_GRADE_MODEL", "").lower() == "rules":
        return None
    return _committed_model(judged, judged and read)


def prepare(answer: str) -> tuple[str, list[str]]:
    """The gradeable text and the flags the guards raise before any model runs."""
    flags: list[str] = []
    spans = manipulation_spans(answer or "")
    text = without(answer or "", spans)
    if spans:
        flags.append("manipulation")
    if is_idk(text):
        flags.append("empty")
    return text, flags


def read_answer(reader: Reader, rubric: Rubric, question: str | None, text: str, has_statements: bool) -> float:
    """The reader's verdict on the answer `text` (as `prepare` left it): the question the learner answered
    (default: the rubric's) beside the rubric's points and misconceptions, exactly as it was trained; 0 for
    an answer without statements or a rubric without points. tutor/grade_train.py --reader refreshes the
    feature files' reader column with this alone after a reader retrain."""
    if not (has_statements and rubric.points):
        return 0.0
    return reader.score(rubric_text((question or "").strip() or rubric.question, [kp.point for kp in rubric.points],
                                    rubric.misconceptions), text)


@dataclass
class Grader:
    """Grades answers against cards (by id or found from the question) or against a free reference.

    `find_card(question, reference, answer) -> Card | None` is the card lookup; the Tutor passes its
    retriever's. The default compares the question with each card's question and also-asked phrasings,
    more strictly when a reference could serve instead.

    `judge` (tutor.judge) reads each statement beside the card; with one, the default model is the one
    fitted on its features, without one the lexical model (same rows, no judge columns). `reader`
    (tutor.reader) reads the whole answer beside the rubric and `spotter` (tutor.spotter) single statements
    beside its misconceptions; together, beside a judge, they add the model's last two columns.
    """

    embedder: Embedder
    cards: Sequence[Card]
    config: Config = field(default_factory=Config)
    params: GradeParams = field(default_factory=GradeParams)
    find_card: Callable[[str, str | None, str | None], Card | None] | None = None
    feedback: Callable[[Grade, Rubric], str] | None = None
    model: ScoreModel | None = field(default_factory=default_model)  # None: the rule-based score
    judge: Judge | None = None
    reader: Reader | None = None
    spotter: PairModel | None = None  # tutor.spotter: read beside the reader (the full model reads both)
    quick_pass: bool = True  # False: the judge reads every answer (bench/grade_speed.py compares the two)
    _rubrics: dict[object, Rubric] = field(default_factory=dict)
    _question_index: tuple[np.ndarray, list[Card]] | None = None
    _beside: ThreadPoolExecutor | None = field(default=None, repr=False)
    _warming: ThreadPoolExecutor | None = field(default=None, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.judge is not None and self.model is not None and self.model is _committed_model(False, False):
            self.model = default_model(judged=True, read=self.reader is not None and self.spotter is not None)

    def model_for(self, rubric: Rubric) -> ScoreModel | None:
        """The learned model for this rubric: a free reference's own when the grader uses a committed card
        model (a caller's model, or none, grades every rubric)."""
        if rubric.source != "reference" or self.model is None:
            return self.model
        return _reference_twin(self.model) or self.model

    def quick_for(self, rubric: Rubric) -> ScoreModel | None:
        """The first pass that may settle a grade before the judge reads it: only beside the committed full
        model (a caller's model grades every answer itself), and only when the reader and spotter run."""
        full = self.reader is not None and self.spotter is not None and self.judge is not None
        if not (full and self.quick_pass and self.model is _committed_model(True, True)):
            return None
        return _committed_quick(rubric.source == "reference")

    def scorer(self, rubric: Rubric, ev: Evidence) -> ScoreModel | None:
        """The model that scores this evidence: the quick one where it settled the grade."""
        return self.quick_for(rubric) if ev.settled else self.model_for(rubric)

    def read_with_judge(self, rubric: Rubric, ev: Evidence) -> None:
        """The judge's whole reading (sentence and per-point pairs) of an answer it has not read whole yet: the
        answers the quick model is unsure of, and in an evaluation the settled ones too (it refits every
        column); a settled grade stays the quick model's (`ev.settled` is kept)."""
        if self.judge is not None and ev.units and len(rubric.points) and ev.conflict is None:
            judge_conflicts(self.judge, rubric, ev, ev.to_card)

    def rubric_for(self, card: Card) -> Rubric:
        # Key-point embeddings once per card and process, keyed on the card's content as well as its id:
        # a practice probe grades against its card narrowed to one point, and a re-ingested card changes.
        key = (card.id, card.key_points, card.misconceptions)
        if key not in self._rubrics:
            with self._building:  # a grade waits for the rubric `prepare` is building rather than build it twice
                if key not in self._rubrics:
                    self._rubrics[key] = card_rubric(self.embedder, card)
        return self._rubrics[key]

    def prepare(self, card: Card) -> Future:
        """Build what grading `card` needs while the learner is still answering: practice calls this as it
        shows a question. The first grade of a process opens the judge (~3 s) and the first on a card embeds
        its rubric (~170 ms of MiniLM); neither has to wait for the answer. Runs in the background; a failure
        surfaces in the grade itself, which does the same work again. An executor's thread, joined at exit:
        a learner who quits as the first question appears waits for the judge to finish opening (up to ~3 s),
        where a daemon thread crashed the interpreter's shutdown mid-open (segfault, abort)."""
        if self._warming is None:
            self._warming = ThreadPoolExecutor(1, thread_name_prefix="grade-prepare")
        return self._warming.submit(self._prepare, card)

    def _prepare(self, card: Card) -> None:
        opener = getattr(self.judge, "open", None)  # a test's stand-in judge has nothing to open
        if opener is not None:
            opener()
        self.rubric_for(card)

    def card_for_question(self, question: str, reference: str | None = None, answer: str | None = None
                          ) -> Card | None:
        if self.find_card is not None:
            return self.find_card(question, reference, answer)
        # Fake-free default for callers without a retriever: MiniLM puts paraphrases of a card question
        # at cosine >= 0.7 and different questions on the same topic mostly below 0.6.
        threshold = 0.8 if reference else 0.65
        if self._question_index is None:
            owners, texts = [], []
            for c in self.cards:
                for t in (c.question, *c.also_asked):
                    owners.append(c)
                    texts.append(t)
            self._question_index = (self.embedder.encode(texts) if texts else np.zeros((0, 1)), owners)
        vecs, owners = self._question_index
        if not owners:
            return None
        sims = vecs @ self.embedder.encode([question])[0]
        best = int(np.argmax(sims))
        return owners[best] if sims[best] >= threshold else None

    def resolve(self, card: Card | None, question: str | None, reference: str | None, answer: str | None = None
                ) -> Rubric:
        """The rubric to grade against; `answer` (the learner's) may help find the card from the question."""
        if card is None and question and question.strip():
            card = self.card_for_question(question, reference, answer)
        if card is not None:
            return self.rubric_for(card)
        if reference and reference.strip():
            key = f"reference:{question}:{reference}"
            if key not in self._rubrics:
                points = reference_points(reference)
                if not points:
                    raise UserError("the reference has no gradeable claims; give a few full sentences")
                self._rubrics[key] = build_rubric(self.embedder, "reference", question or "", points, [],
                                                  reference)
            return self._rubrics[key]
        if not (question and question.strip()):
            raise UserError("nothing to grade against: give a question, a card id or a reference",
                            fix='tutor grade --question "…" --answer "…"')
        raise UserError("no card matches this question and no reference was given",
                        fix='pass --card ID, or a reference answer (rows: "reference"), to grade against')

    def evidence(self, answer: str, rubric: Rubric, question: str | None = None) -> tuple[Evidence, list[str]]:
        """`question`: the one the learner answered (the reader reads it; default: the rubric's)."""
        text, flags = prepare(answer)
        model = self.model_for(rubric)
        full = (self.reader is not None and self.spotter is not None and self.judge is not None
                and (model is None or "reader" in model.features))
        reading = None
        if full and text and "empty" not in flags:
            # The reader needs only the text, so it reads on one core while MiniLM and the judge take the
            # statements on the other (tutor/reader.py); its verdict is dropped if no statement is found.
            if self._beside is None:
                self._beside = ThreadPoolExecutor(1, thread_name_prefix="grade-reader")
            reading = self._beside.submit(read_answer, self.reader, rubric, question, text, True)
        # The full grader reads in two passes: MiniLM, the spotter and the reader first; the judge's long
        # sentence-beside-card pairs only where the quick model is unsure (tutor.grade_model.SETTLED).
        ev = gather(self.embedder, rubric, "" if "empty" in flags else text, None if full else self.judge)
        if full:
            ev.spotted = read_statements(self.spotter, rubric.misconceptions, ev.units, ev.mis_cos)
            ev.spot = highest(ev.spotted)
            ev.reader = reading.result() if reading is not None and ev.units else 0.0
            label = settled_label(self.quick_for(rubric), rubric, ev, flags)
            ev.settled = label is not None
            if not ev.settled:
                self.read_with_judge(rubric, ev)
            elif label != "correct":
                # The short per-point pairs still, for the verdicts: "reads as the opposite of this point" tells
                # a learner why a wrong or partial answer lost marks. On an answer settled as correct it would
                # contradict the grade, and there it was a false alarm (4 of 4 such answers among 600 dev rows;
                # 18 of 22 on settled incorrect answers were on incorrect ones).
                judge_conflicts(self.judge, rubric, ev, ev.to_card, sentences=False)
        return ev, flags

    def grade(self, answer: str, *, card: Card | None = None, question: str | None = None,
              reference: str | None = None) -> Grade:
        return self.grade_with_evidence(answer, card=card, question=question, reference=reference)[0]

    def grade_with_evidence(self, answer: str, *, card: Card | None = None, question: str | None = None,
                            reference: str | None = None) -> tuple[Grade, Rubric, Evidence, list[str]]:
        """The grade plus what it was decided from (the evaluation re-scores these while calibrating)."""
        t0 = time.perf_counter()
        rubric = self.resolve(card, question, reference, answer)
        ev, flags = self.evidence(answer, rubric, question)
        raised = list(flags)
        value, points, hits = score(rubric, ev, self.params, flags, self.scorer(rubric, ev))
        value = round(value, 1)
        grade = Grade(value, label_of(value), points, hits, flags, "", rubric.card.id if rubric.card else None,
                      (question or "").strip() or rubric.question)
        from tutor.grade_feedback import template_feedback

        grade.feedback = template_feedback(grade, rubric)
        if self.feedback is not None:
            grade.feedback = self.feedback(grade, rubric)
        grade.latency_s = time.perf_counter() - t0
        return grade, rubric, ev, raised
