"""Evaluation metrics as pure functions: retrieval ranking, key-point coverage, citation support, grading.

Nothing here loads a model or reads a file, so every figure in a report can be re-derived by hand and
unit-tested with properties. Citation support is lexical (content-word overlap) on purpose: an LLM
judge would be slow, non-deterministic and, with the small models this project runs, unreliable; an
embedder can be passed to forgive paraphrase that shares no words with its source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

KeyPoints = Sequence[Sequence[str]]  # each key point: alternatives, any of which covers it

# Support thresholds. Lexical: at least half of a sentence's content words must occur in the passage
# (a sentence quoted from its passage scores ~1.0; one about another card's subject scores < 0.3 on our
# corpus). Embedding: a sentence must be a near-paraphrase (cosine >= 0.7, MiniLM) of one passage sentence;
# topically related but different sentences sit around 0.4-0.6.
LEXICAL_SUPPORT = 0.5
EMBED_SUPPORT = 0.7
MIN_JUDGED_WORDS = 3  # shorter sentences ("Yes.", "In short:") carry no checkable claim

_STOP = frozenset([
    "a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are",
    "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "down", "during", "each", "either", "else", "few", "for",
    "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how",
    "i", "if", "in", "into", "is", "it", "its", "itself", "just", "less", "let", "like", "may", "me",
    "might", "more", "most", "much", "must", "my", "no", "nor", "not", "now", "of", "off", "on", "once",
    "one", "only", "or", "other", "our", "out", "over", "own", "per", "related", "same", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this",
    "those", "through", "thus", "to", "too", "under", "until", "up", "upon", "us", "use", "used", "uses",
    "using", "very", "via", "was", "we", "were", "what", "when", "where", "whether", "which", "while",
    "who", "whom", "why", "will", "with", "within", "without", "would", "yes", "yet", "you", "your"
])
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
# A run of citation markers, `[2]`, `[1, 3]` or `[2][3]`, but not an index in code (`x[0]`, `p[i][1]`).
_MARKERS = re.compile(r"(?<![\w\])])(?:\[\d+(?:\s*,\s*\d+)*\]\s*)+")
# Split after sentence punctuation unless a citation marker follows it ("… not BN. [1]" stays whole).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?!\[\d)|\n+")


# ---- key points --------------------------------------------------------------------------------------

# An alternative this short must be a whole word (a plural allowed): as a bare substring "KL" matched
# inside "weakly", "RNN" inside "BiRNN" and "gate" inside "gateway". Longer ones may be stems that the
# text continues ("normaliz" covers "normalization"), so only their start has to be a word start.
SHORT_ALTERNATIVE = 4
_LETTER = r"[^\W_]"  # a letter or digit, any script


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@lru_cache(maxsize=8192)
def _alternative_pattern(alternative: str) -> re.Pattern[str] | None:
    alt = _norm(alternative)
    if not alt:
        return None
    # A boundary is only checked on an edge that is a letter or digit: "[CLS]" or "f'(z)" bring their own.
    start = f"(?<!{_LETTER})" if alt[0].isalnum() else ""
    end = f"(?:e?s)?(?!{_LETTER})" if alt[-1].isalnum() and len(alt) <= SHORT_ALTERNATIVE else ""
    return re.compile(start + re.escape(alt) + end)


def point_covered(alternatives: Sequence[str], text: str) -> bool:
    """A key point is covered when any alternative appears in the text as words, case-insensitively.

    An alternative must start at a word start; one of SHORT_ALTERNATIVE characters or fewer must also end
    at a word end (a plural `s`/`es` allowed), while a longer one may be continued (a stem).
    """
    norm = _norm(text)
    return any(p is not None and p.search(norm) for p in map(_alternative_pattern, alternatives))


def missed_points(key_points: KeyPoints, text: str) -> list[str]:
    """The first alternative of each key point the text does not cover (how a report names it)."""
    return [kp[0] for kp in key_points if not point_covered(kp, text)]


def coverage(key_points: KeyPoints, text: str) -> float:
    """Fraction of key points covered; an empty key-point list is trivially covered."""
    if not key_points:
        return 1.0
    return sum(point_covered(kp, text) for kp in key_points) / len(key_points)


# ---- retrieval ---------------------------------------------------------------------------------------

def first_words(texts: Sequence[str], budget: int) -> str:
    """The first `budget` words of the texts read in rank order: what fits in a small context window."""
    words: list[str] = []
    for t in texts:
        words += t.split()
        if len(words) >= budget:
            break
    return " ".join(words[:budget])


def hit_at_k(key_points: KeyPoints, texts: Sequence[str], k: int) -> bool:
    """All key points covered by the top-k passages together."""
    return coverage(key_points, "\n".join(texts[:k])) == 1.0


def budgeted_hit(key_points: KeyPoints, texts: Sequence[str], budget: int) -> bool:
    """All key points covered within the first `budget` words: rewards putting the answer first."""
    return coverage(key_points, first_words(texts, budget)) == 1.0


def recall_at_k(key_points: KeyPoints, texts: Sequence[str], k: int) -> float:
    return coverage(key_points, "\n".join(texts[:k]))


def first_relevant_rank(card_ids: Sequence[str | None], expected: str) -> int | None:
    """1-based rank of the first passage from the expected card, None when it was not retrieved."""
    for rank, cid in enumerate(card_ids, 1):
        if cid == expected:
            return rank
    return None


def reciprocal_rank(rank: int | None, k: int | None = None) -> float:
    """1/rank, or 0 when missing or (with k) ranked below the cut-off."""
    if rank is None or (k is not None and rank > k):
        return 0.0
    return 1.0 / rank


def dcg(gains: Sequence[float], k: int) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(gains: Sequence[float], k: int, ideal: Sequence[float] | None = None) -> float:
    """Normalized DCG; `ideal` is the best achievable gain list (default: the given gains, sorted).

    Callers that know a perfect passage exists (an expected card) pass it in `ideal`, so retrieving
    nothing relevant scores 0 rather than a vacuous 1.
    """
    best = dcg(sorted(ideal if ideal is not None else gains, reverse=True), k)
    return dcg(gains, k) / best if best > 0 else 0.0


# ---- aggregates --------------------------------------------------------------------------------------

def mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if len(values) else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear-interpolated percentile, None for no values (a report shows "—", not a fake 0)."""
    return float(np.percentile(np.asarray(values, dtype=float), p)) if len(values) else None


def summary(values: Sequence[float]) -> dict:
    return {"n": len(values), "mean": mean(values), "p50": percentile(values, 50),
            "p95": percentile(values, 95)}


# ---- citation support --------------------------------------------------------------------------------

@lru_cache(maxsize=8192)
def content_words(text: str) -> frozenset[str]:
    """Lower-cased words minus stop words and one-letter tokens, with a plural `s` folded away.

    Cached: the eval and the citation checks judge the same passages against many claims (≈ 66k calls
    over ≈ 2k distinct texts in one `tutor eval`), so the regex and folding ran again and again."""
    out = set()
    for w in _WORD.findall(text.lower()):
        if w in _STOP or (len(w) < 2 and not w.isdigit()):
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        out.add(w)
    return frozenset(out)


def lexical_support(claim: str, source: str) -> float | None:
    """Share of the claim's content words found in the source; None when too short to judge."""
    words = content_words(claim)
    if len(words) < MIN_JUDGED_WORDS:
        return None
    return len(words & content_words(source)) / len(words)


def split_sentences(text: str) -> list[str]:
    parts = (s.strip(" \t-*#>•") for s in _SENTENCE_END.split(text))
    return [s for s in parts if s and not s.startswith("```")]


def strip_markers(text: str) -> str:
    return _MARKERS.sub("", text).strip()


@dataclass(frozen=True)
class CitedClaim:
    """The text a citation marker vouches for: the sentence part since the previous marker."""

    n: int
    claim: str


def cited_claims(text: str) -> list[CitedClaim]:
    """Every `[n]` (or `[n, m]`) in the text with the claim it closes.

    Adjacent markers share one claim; a marker after a fragment with no content words ("When would
    you use each? [2]") vouches for the fragment together with the sentence before it.
    """
    out: list[CitedClaim] = []
    previous = ""
    for sentence in split_sentences(text):
        start, last = 0, None
        for m in _MARKERS.finditer(sentence):
            segment = sentence[start : m.start()].strip(" ;,:")
            borrowed = last if last is not None else f"{previous} {segment}".strip()
            claim = segment if content_words(segment) else borrowed
            out += [CitedClaim(int(n), claim) for n in re.findall(r"\d+", m.group())]
            last, start = claim, m.end()
        previous = strip_markers(sentence)
    return out


class SupportJudge:
    """Decides whether a source supports a claim: lexical overlap first, then (optionally) embeddings.

    The embedder is consulted only when overlap fails, so an extractive answer never pays for it.
    """

    def __init__(self, embedder: object | None = None, lexical: float = LEXICAL_SUPPORT,
                 embed: float = EMBED_SUPPORT) -> None:
        self.embedder = embedder
        self.lexical = lexical
        self.embed = embed

    def supports(self, claim: str, source: str) -> bool | None:
        """True/False, or None when the claim is too short to judge."""
        overlap = lexical_support(claim, source)
        if overlap is None:
            return None
        if overlap >= self.lexical:
            return True
        if self.embedder is None:
            return False
        sentences = split_sentences(source) or [source]
        vecs = self.embedder.encode([strip_markers(claim), *sentences])
        return float(np.max(vecs[1:] @ vecs[0])) >= self.embed


# ---- grading (used once the grader lands) ------------------------------------------------------------

def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Rows: gold label; columns: predicted label, both in `labels` order."""
    index = {label: i for i, label in enumerate(labels)}
    m = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, predicted, strict=True):
        m[index[g]][index[p]] += 1
    return m


def label_agreement(gold: Sequence[str], predicted: Sequence[str]) -> float | None:
    if not gold:
        return None
    return sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)


def quadratic_weighted_kappa(
    gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> float | None:
    """Cohen's kappa with quadratic weights over ordered labels: near-misses cost less than far misses."""
    n, size = len(gold), len(labels)
    if n == 0:
        return None
    observed = np.array(confusion_matrix(gold, predicted, labels), dtype=float)
    expected = np.outer(observed.sum(1), observed.sum(0)) / n
    i, j = np.indices((size, size))
    weights = (i - j) ** 2 / max(size - 1, 1) ** 2
    denom = float((weights * expected).sum())
    return 1.0 if denom == 0 else 1.0 - float((weights * observed).sum()) / denom


def in_band(score: float, band: Sequence[float]) -> bool:
    return band[0] <= score <= band[1]
