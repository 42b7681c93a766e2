"""One place for every setting: defaults, then environment overrides, then explicit arguments.

Thresholds here were measured, not guessed; each says where its number came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The article lives beside the repo on developer machines; a fresh clone may not have it.
SEED_ARTICLE = REPO_ROOT.parent / "shared" / "seed" / "article.txt"


def default_sources() -> list[Path]:
    """What `tutor ingest` indexes with no paths: the curated corpus, plus the seed article if present."""
    sources = [REPO_ROOT / "corpus" / "cards"]
    if SEED_ARTICLE.is_file():
        sources.append(SEED_ARTICLE)
    return sources


def env_float(name: str, default: float, *, least: float | None = None, above: float | None = None) -> float:
    """A number from the environment; a typo or a value out of range (below `least`, or not above `above`)
    is a clear error that names the variable, not a traceback or a failure much later."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    from tutor.errors import UserError

    fix = f"export {name}={default:g}  or unset it"
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{name}={text!r} is not a number", fix=fix) from None
    if least is not None and not value >= least:  # `not >=`: NaN is out of range too
        raise UserError(f"{name}={text!r} must be at least {least:g}", fix=fix)
    if above is not None and not value > above:
        raise UserError(f"{name}={text!r} must be more than {above:g}", fix=fix)
    return value


def default_index_dir() -> Path:
    return Path(os.environ.get("TUTOR_INDEX_DIR", "index"))


def ingest_command(index_dir: Path, *options: str) -> str:
    """The `tutor ingest` command line that (re)builds the index at `index_dir`, for fix hints: a folder
    other than the default is named with --index, else the hint would rebuild ./index instead."""
    import shlex

    if Path(index_dir).resolve() == default_index_dir().resolve():
        return " ".join(["tutor ingest", *options])
    return " ".join(["tutor --index", shlex.quote(str(index_dir)), "ingest", *options])


def data_home() -> Path:
    """Where models and learner progress live (outside the repo so a re-clone keeps them)."""
    return Path(os.environ.get("TUTOR_HOME") or Path.home() / ".cache" / "tutor")


@dataclass(frozen=True)
class Config:
    index_dir: Path = field(default_factory=default_index_dir)
    sources: tuple[Path, ...] = field(default_factory=lambda: tuple(default_sources()))
    embed_model: str = "all-MiniLM-L6-v2"
    # Chunking, measured by bench/chunk_sizes.py on the 277 golden questions (hit@5 / hit in 300 words /
    # share of chunks MiniLM truncates at 256 word pieces): 120 tokens .910/.776/0%, 180 .906/.769/0.4%,
    # 256 .924/.773/28%, 400 .924/.791/53%. 256 ties the best hit@5 while half as many windows lose their
    # tail to truncation as at 400 (BM25 still reads the whole window).
    encoding: str = "cl100k_base"
    chunk_tokens: int = 256
    chunk_overlap: int = 40
    k: int = 5
    rrf_k: int = 10
    # RRF votes from document windows (the captured article, user files) are scaled by this, so a
    # curated card wins a near-tie: its answer is complete and reviewed, a window is a fragment.
    document_weight: float = 0.8
    bm25_weight: float = 1.0  # 0.6 and 0.3 lost 2 golden hits@5 each (277 questions)
    # Ranking levers of issue 13, measured with bench/retrieval_levers.py (figures in the docstring there).
    expand_aliases: bool = True  # append a glossary term's other names ("BPTT" → backpropagation through time)
    glossary_max_cards: int = 3  # terms more cards use than this (CNN, LLM) are neither expanded nor voted for
    alias_weight: float = 1.0  # an RRF vote at rank 1 for each card whose alias the question uses
    # "what is ReLU" / "explain ZeRO": a question whose whole subject is a card's alias votes for that card
    # this strongly, on top of its alias vote, however many cards use the word (Glossary.cards_defined; the
    # card also joins the named cards, so alias_weight + definition_weight in all). Definition questions of the
    # 400 aliases only one card declares: the owner first in 371 (widespread words such as ReLU, ZeRO, LN,
    # MLP went to a card that uses them), 400 at weight 2; golden dev / test rank 1 unchanged.
    definition_weight: float = 2.0
    # A question that is nothing but one card's name ("what about GRUs?", "what is ZeRO?") says little to
    # MiniLM, so the passages after that card were noise (a GELU card, an LLM fine-tuning card). Ranking reads
    # the named card's own question beside it (relevance still reads the words typed), so they are its
    # neighbours (Retriever._search).
    definition_expand: bool = True
    # Added to a card's re-ranking score when the question uses every word of its id (two words or more,
    # the most specific such cards only; Retriever.cards_by_id_words): real public questions are short and name
    # the card ("Explain how KV cache accelerates LLM inference") while a broad card outranked it. Session
    # 25, 205 cards: golden dev rank 1 .767 → .770 (hit@5 +1), test .813 → .817; 360 real public questions
    # (bench/public_audit.py) first .783 → .794 (GitHub half .796 → .812, web half .769 → .775); the
    # public-style audit unchanged. 0.2: dev follow-ups −1 row; 0.4: web half −1; as an RRF vote: +1 dev
    # false refusal.
    title_weight: float = 0.1
    question_weight: float = 1.0  # votes from a card's question chunk (question, also_asked, aliases)
    # Card-level re-ranking of the best `rerank_pool` fused candidates (tutor/rerank.py): fused score / the
    # best one's + these weights times (best cosine, coverage of the query's words by the card, question
    # cosine). None = the learned weights of tutor/rerank_weights.json (bench/learn_rank.py): +2.5 points of
    # rank 1 on held-out dev pools, but end to end on dev rank 1 .730 vs .735 and follow-ups .607 vs .623
    # (a conversation fuses several searches), so the hand weights stay the default.
    rerank_pool: int = 20
    # Search a question without its framing first (tutor/framing.py: the interview, the answer's style, a list's
    # numbering); keep that reading when its best passage clears min_relevance, else search it as typed.
    unframe: bool = True
    rerank_weights: tuple[float, float, float] | None = (0.5, 1.0, 0.6)
    # Rank with the learned query-side map of tutor/query_map.py (bench/learn_query_map.py; refusal and
    # exact/closest still read raw cosines). Off: chosen on dev (rank 1 .735 → .752, hit@5 .970 → .978,
    # false refusals .017 both), it did not carry to test (rank 1 .743 → .738, false refusals .015 → .020).
    query_map: bool = False
    # Cards' `scenarios:` (symptom / "what happens if" phrasings, one chunk each) always vote in ranking;
    # their cosine counts in the refusal signal scaled by this. Dev false refusals at 1 / .9 / .8 / 0:
    # .004 / .009 / .013 / .030, refusal recall .962 at all four. The cost shows on test: recall 1.0 → .923
    # (a short situation sentence is close to short off-topic questions: "useEffect runs twice" met
    # "two runs with the same code give different results").
    scenario_relevance: float = 1.0
    # The re-ranker's question cosine reads the best of the card's question chunk and its scenario chunks
    # (dev rank 1 .752 → .761, test .787 → .797).
    scenario_question_cosine: bool = True
    own_reading_weight: float = 0.5  # in a follow-up, the question alone against the question after the last one (1.0)
    # In a conversation each reading's rank votes are scaled by its top passage's relevance to this power:
    # the reading that finds a card clearly (a follow-up naming its own topic, or a vague one that only the
    # prefixed reading makes sense of) outvotes the one that finds nothing much. Session 12, 0 / 1 / 2 / 3 /
    # 4 on dev rank 1: .765 / .770 / .774 / .770 / .774 (follow-ups .656 → .689 at 2); test at 2: .797 → .812
    # (follow-ups .744 → .814), hit@5 and false refusals unchanged on both. The confidence is the top
    # passage's (cosine + coverage) / 2, without the refusal side's density term (with it: test .807).
    reading_confidence: float = 2.0
    # HyDE (tutor/hyde.py): with a model on, a fresh question's dense query vector plus this times the
    # vector of the model's short hypothetical answer. Off (0): with the packaged 0.5B it moved dev rank 1
    # by +0 to +6 questions of 230 depending on the prompt wording, at ~2 s before the first text
    # (bench/hyde.py). TUTOR_HYDE=0.6 turns it on, e.g. for a stronger model behind an OpenAI-style API.
    hyde_weight: float = field(default_factory=lambda: env_float("TUTOR_HYDE", 0.0, least=0.0))
    prior_weight: float = 1.0  # in a conversation, a vote at rank 1 for the previous turn's card
    # A turn with no referring word ("it", "that", "and …"), with a word the material never uses, that the
    # material does not cover and whose MiniLM cosine to the previous question and to the conversation's
    # card is below this has left the conversation ("what is the capital of France?" after batch norm): it
    # is retrieved, and refused or flagged, as if asked alone; the reading prefixed with the previous
    # question made it an "exact" batch-norm answer. Below ~0.2 MiniLM reads texts as unrelated. Session 21
    # (cards-only index; each out-of-scope question put after a random golden question): unrelated ones
    # refused 12 → 74 of 100, uncovered deep-learning ones 1 → 6 of 31; golden follow-ups cut loose 0 of
    # 104, and every golden figure unchanged on both splits. 0 turns the check off.
    stray_cosine: float = 0.2
    # A follow-up that moves on: when it names another card by one of that card's aliases ("How is that
    # different from a VAE?" after the autoencoder card), its own reading leads, not the reading prefixed
    # with the previous question. Dev follow-ups rank 1 .639 → .656, test .744 both, no hit@5 lost.
    move_on_aliases: bool = True
    # ... or when it uses a rare word (at most this many cards use it) the conversation's card lacks. Off:
    # on dev N = 1, 2, 3, 4, 8 gave follow-ups +1, +3, 0, 0, 0 rows at rank 1 (N 8 lost a hit@5), a peak
    # rather than a trend; "survive" or "serving" is rare without naming a new topic.
    move_on_max_cards: int = 0
    # Compounds respelled as our material writes them before searching ("over-fitting" → "overfitting",
    # "finetuning" → "fine-tuning", "over- and under-fitting"; tutor/spelling.py). False: the words as typed.
    respell: bool = True
    # With respell: a word the corpus never uses becomes the most used corpus word one edit away (typos).
    correct_typos: bool = True
    # Refusal: a top passage's `relevance` below this means "outside our material". Measured by
    # bench/calibrate_refusal.py on corpus/golden with the issue-13 ranking (cards-only index, 175 cards;
    # 416 in-scope questions, 52 unrelated out-of-scope rows; the 19 uncovered deep-learning rows are
    # answerability's, not refusal's): in-scope p5 0.341 / min 0.232, out-of-scope p95 0.255 / max 0.348.
    # Best threshold 0.273: recall 0.981, false refusals 0.014 (0.32 gave 0.981 and 0.038). The optimal
    # range was narrow (0.273-0.274): re-run the script whenever ranking or the corpus changes.
    # Session 12: with the density term below, re-fitted on dev to 0.232, the middle of the gap between the
    # second-lowest in-scope row (0.251) and the second-highest unrelated row (0.214) at weight 0.5.
    # Session 25 (199 cards, 250 dev / 239 test rows): bench/fit_refusal.py fits 0.246 on the default
    # index (0.247 cards-only): dev refusal recall .961 → .980 (cards-only 1.0) at .004 false refusals;
    # test recall 1.0 both, false refusals .004 → .008 (one row more); rankings and the held-out
    # public-style audit unchanged.
    min_relevance: float = 0.246
    # A question that is nothing but a card's declared name ("what is BALD", "explain ZeRO", Passage.named)
    # is ours however little MiniLM reads in the bare word: that card's relevance is at least min_relevance.
    # Before, 16-25 of the 958 names and aliases were refused with their own card first (session 33).
    named_is_relevant: bool = True
    # The material's density around a question (Retriever.density_term): weight × (mean cosine of the
    # density_k nearest chunks − density_center) is added to relevance; 0 = off. An unrelated question
    # can meet one chunk by accident, a question on our subject has many neighbours (dev medians 0.17 vs
    # 0.42). Chosen on dev (bench/retrieval_levers.py, 39 unrelated / 230 in-scope rows, 13 of them new
    # held-out rows): refusal recall .923 → .974 at the same 1 false refusal; test .872 → .949, 1 false
    # refusal both; rank 1 and hit@5 unchanged. Weights .75 / 1 / 1.25 narrowed the dev gap (.026 / .011 /
    # none at one false refusal); k 5-50 behaved alike. The centre only shifts the threshold: 0.4 is about
    # the in-scope median, so the exact / grading relevance bars keep their meaning.
    density_weight: float = 0.5
    density_k: int = 20
    density_center: float = 0.4
    # A question whose content words are mostly ones the corpus never uses (IDF-weighted share, numbers
    # aside: Retriever.unknown_share) is about something we lack: its relevance is capped at 0 (refused).
    # Lexical, so it survives an embedder swap. Session 13: the highest share of any in-scope golden row is
    # .65 on dev (.60 test); the cap is that dev maximum plus a .10 margin (bench/fit_refusal.py). No dev
    # row moves (every dev unrelated row above .65 was refused already); the test row it catches (.76,
    # "async/await and promises in JavaScript") was seen before the margin was chosen. 0 = off.
    max_unknown_share: float = 0.75
    # A question of at least phrase_min_pairs adjacent content-word pairs that shares none of them with our
    # cards (or the document windows it found) loses no_phrase_penalty of relevance
    # (Retriever.phrase_penalty): single words can meet by accident ("Docker layers and the build cache"
    # met the KV-cache card at .302), phrases rarely do. Lexical, so it survives an embedder swap.
    # Session 13, fitted on dev by bench/fit_refusal.py: the least penalty that refuses every dev
    # unrelated row without a shared phrase (.070) plus a .03 margin; the dev in-scope rows without one
    # start at .46 (9-11 of 230 rows, most of them follow-ups). Refusal recall dev .961 → .980 (50 unrelated
    # dev rows incl. 11 new ones), test 1.0 both (cards-only); false refusals, rank 1 and exact unchanged on
    # both; default index alike. Test's lowest in-scope row without a shared phrase (.368) had been seen
    # before the margin was chosen; the midpoint rule (.15) would refuse it. 0 = off.
    no_phrase_penalty: float = 0.10
    phrase_min_pairs: int = 3
    # Tried in session 13 and removed: weighing query-term coverage by the IDF over the cards alone (not
    # cards and document windows). Default index: dev lost (right first cards called exact −2, wrong exact
    # +1, refusal flat), test won (refusal recall .974 → 1.0, uncovered flagged 9 → 10 of 13); cards-only
    # unchanged.
    # Answerability (tutor/answerability.py): an answered question is an `exact` match when the top card's
    # relevance and its coverage of the question's words reach these, otherwise `closest`. Measured on
    # corpus/golden (416 questions, 19 uncovered deep-learning questions): 16/19 uncovered declined or
    # flagged closest, 95.4% of questions whose expected card came first stay exact. Requiring a question
    # cosine of 0.3-0.4 as well flagged 0-1 more uncovered row and 5-20% more right answers.
    # Session 10 (181 cards, 432 questions) adds "the top card is the most relevant of the shortlist"
    # (answerability.match_of): 18/19 uncovered flagged, exact precision .780 → .849, and 88.6% of right
    # first cards stay exact.
    # Session 12 (relevance now carries the density term; 39 uncovered + 432 in-scope rows): a grid over
    # both bars on dev, counting a wrong `exact` twice as bad as a right card shown as closest, is flat
    # between 0.38 and 0.46 at coverage 0.30, and coverage 0.30 beats 0.25 at every relevance bar. 0.36 /
    # 0.25 → 0.40 / 0.30: exact precision dev .867 → .890 (wrong claims 24 → 19), test .867 → .881
    # (22 → 19); right first cards still exact .892 → .869 / .888 → .876; uncovered flagged 11 → 11 / 9 →
    # 10 of 13.
    exact_min_relevance: float = 0.40
    exact_min_coverage: float = 0.30
    # ... and, when the top card lacks the question's subject as a phrase (Passage.names_subject,
    # answerability.subject_pairs: "word error" of "How is word error rate computed"), this relevance.
    # Session 13, default index (cards + the article), dev: every bar in 0.45-0.49 ties (0.44: one uncovered
    # row fewer, 0.50: one right exact fewer); 0.47 is the middle. Off → 0.47 (`tutor --index DIR eval`, rows
    # with kind uncovered-dl): uncovered declined or flagged dev 12 → 14 of 14, test 12 → 15 of 17; right
    # first cards still exact dev 159 → 159 of 177, test 140 → 139 of 163; wrong exact claims 21 / 21
    # unchanged; false refusals unchanged. Cards-only index: uncovered dev 12 → 14, test 14 → 15 of 17.
    # bench/fit_refusal.py applies it as it is (not fitted). 0 turns it off.
    exact_subject_relevance: float = 0.47
    max_question_chars: int = 2000
    max_answer_chars: int = 8000
    # Grading: a card found from the question by retrieval replaces a given reference only above this
    # relevance (golden grading questions find their card at >= 0.86; out-of-scope questions top at 0.40).
    grade_card_relevance: float = 0.5
    # Grading with neither a card id nor a reference: when the learner's answer does not settle the card, the
    # question alone must find it at this relevance (a round bar above grade_card_relevance; Tutor.card_for_question).
    grade_question_relevance: float = 0.6
    llm_backend: str = field(default_factory=lambda: os.environ.get("TUTOR_BACKEND", ""))
    # Empty means tutor.models.default_model() (TUTOR_LLM_MODEL, else `tutor llm install --default`'s pick).
    llm_model: str = field(default_factory=lambda: os.environ.get("TUTOR_LLM_MODEL", ""))
    llm_timeout_s: float = field(default_factory=lambda: env_float("TUTOR_LLM_TIMEOUT", 120.0, above=0.0))

    def with_(self, **changes: object) -> Config:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
