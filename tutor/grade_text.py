"""The text side of grading: learner answers cut into statements, light stemming, and the cheap
signals that need no model — empty or "I don't know", text addressed to the grader, keyword lists,
negation and reversed claims.

Kept apart from the embedding side so every rule here is unit-testable on plain strings, and so the
gaming guards run before any model is touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Set
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A period that ends an abbreviation ("e.g. dropout", "big eff. batch") does not end the sentence.
_NOT_ABBREVIATION = "".join(rf"(?<!(?i:\b{a}))" for a in (r"e\.g\.", r"i\.e\.", r"vs\.", r"eff\.", r"esp\.",
                                                         r"incl\.", r"approx\.", r"w\.r\.t\.", r"cf\."))
_SENTENCE = re.compile(rf"{_NOT_ABBREVIATION}(?<=[.!?;])\s+|\n+|\s+[-*•]\s+|(?<=\))\s*\.\s*")
# Clause boundaries inside a sentence: a learner often puts a right and a wrong claim in one sentence
# ("X is true, but Y"), and the grader must be able to quote and judge each part on its own.
_WHOLE_SENTENCE = re.compile(rf"{_NOT_ABBREVIATION}(?<=[.!?])\s+|\n+")
# A bare " so " too: "X so Y" states a result the card often keeps as a point of its own ("zeroes activations
# during training so units cannot co-adapt"); dev 8-seed CV .724 → .733 in band, 16 of 16 other fold seeds won.
_CLAUSE = re.compile(r",?\s+(?:but|while|whereas|although|though|however)\s+|,\s+(?:and|so|which)\s+|:\s+"
                     r"|\s+so\s+(?:that\s+)?(?=\w)", re.I)

def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _wordset(
    """a an and are as at be been being but by can could did do does doing done for from had has have
    how i if in into is it its it's just of on or so such than that the their them then there these they
    this those to too us was we were what when where which while who why will with would you your u ur
    also very really basically like i'd i'm you'd that's it'll one ones
    """
)
# Function words mark statements: a list of keywords has almost none of them.
_FUNCTION = STOPWORDS | _wordset("not no all each every other same more less only because")

NEGATORS = _wordset(
    "not no never none nothing neither nor without cannot can't don't doesn't isn't aren't won't wasn't "
    "weren't shouldn't couldn't needn't hasn't haven't didn't"
)
# Reversal pairs: a statement that says the opposite term of a key point makes the opposite claim.
# Symmetric; each word is compared after stemming.
ANTONYMS = (
    ("increase", "decrease"), ("increase", "reduce"), ("higher", "lower"), ("larger", "smaller"),
    ("more", "less"), ("more", "fewer"), ("before", "after"), ("faster", "slower"), ("positive", "negative"),
    ("train", "inference"), ("training", "inference"), ("train", "test"), ("training", "test"),
    ("encoder", "decoder"), ("maximum", "minimum"), ("max", "min"), ("large", "small"), ("big", "small"),
    ("add", "multiply"), ("sum", "product"), ("overfit", "underfit"), ("overfitting", "underfitting"),
    ("bias", "variance"), ("precision", "recall"), ("wider", "narrower"), ("deeper", "shallower"),
    ("frozen", "trainable"), ("sparse", "dense"), ("left", "right"), ("above", "below"), ("first", "last"),
    ("vanish", "explode"), ("vanishing", "exploding"), ("underflow", "overflow"), ("on", "off"),
    # Session 11: general pairs that reversed statements in the labelled set use (CV and test both rose).
    ("high", "low"), ("sharper", "flatter"), ("sharpen", "flatten"), ("maximize", "minimize"),
    ("same", "different"), ("parallel", "sequential"), ("simple", "complex"), ("huge", "tiny"),
    ("remove", "add"), ("always", "never"), ("lower", "raise"),
    ("help", "hurt"), ("improve", "hurt"), ("improve", "worsen"), ("fast", "slow"), ("cheap", "expensive"),
    ("stable", "unstable"), ("linear", "nonlinear"), ("early", "late"), ("most", "least"),
)

_IDK = re.compile(
    r"^\W*(?:i\s+(?:do\s*n[o']t|dont)\s+know|i\s+(?:do\s*n[o']t|dont)\s+remember|no\s+idea|not\s+sure|pass|skip|"
    r"idk|dunno|no\s+clue|i\s+have\s+no\s+idea|i'?m\s+not\s+sure|(?:honestly|sorry),?\s+i\s+(?:do\s*n[o']t|dont))",
    re.I,
)
# Text addressed to the grader rather than to the question. Two ways in: a marker no answer to an
# interview question contains (a role switch, a fake tag, a demanded 10/10), or a statement that names
# the grader / rubric, asks for something (ignore, rate, mark, output, give full credit …) AND points at
# this answer or its reader. Session 37: ten golden and fresh answers about evaluation, parsers, serving
# and prompts were flagged (and capped at 1.0) by the first two alone or by a lower-case "system:".
_MARKER = re.compile(
    r"system\s+override|developer\s+mode"
    r"|you\s+are\s+now\s+(?:a|an|the|in|my|acting|playing|free|unrestricted|jailbroken|dan)\b|you\s+are\s+a\s+(?:helpful\s+)?(?:grader|evaluator|assistant)|new\s+instructions"
    r"|ignore\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+instructions"
    r"|</?\s*\w*(?:grade|grading|instruction|answer|system|score)\w*\s*>|(?<![\d/.])\b10\s*(?:/|out\s+of)\s*10\b(?!\s*/\s*\d)"
    r"|\bpre-?approved\b"
    r"|[\"']?(?:score|label)[\"']?\s*[=:]\s*[\"']?(?:10|ten|100|correct)\b|\bmin_score\b|grading_mode",
    re.I,
)
# A role tag ("SYSTEM:", "[assistant message]:") opens a statement or shouts: mid-sentence and in lower case,
# "per system:", "a control system:" or "the system prompt:" are answers about systems and prompts.
_ROLE_NAMES, _ROLE_KINDS = "system|developer|assistant", "override|prompt|mode|message"
_ROLE_TAG = re.compile(rf"^[\s\[\(#*>{{<\"']*(?:{_ROLE_NAMES})\s*(?:{_ROLE_KINDS})?\s*:", re.I)
_ROLE_SHOUTED = re.compile(rf"\b(?:{_ROLE_NAMES.upper()})(?:\s+(?:{_ROLE_KINDS.upper()}))?\s*:")
_ADDRESSEE = re.compile(
    r"\b(?:grader|graders|grading|evaluator|examiner|marker|scorer|scoring\s+model|rubric|reference\s+answer|"
    r"whoever\s+(?:grades|marks|reads)|instructor)\b", re.I)
# A demand for marks: "full marks", "labelled correct" (both _DEMAND and _POINTER read it).
_FULL_MARKS = r"full\s+(?:marks|credit|score|points)"
_LABELLED = r"label(?:led|ed)?\s+(?:it\s+)?"
_DEMAND = re.compile(
    r"\b(?:ignore|disregard|override|output|mark|rate|give|award|treat|trust|must|should|please|return|skip|"
    rf"counts?\s+as|covered|{_FULL_MARKS}|score|{_LABELLED}correct)\b",
    re.I)


# A demand made of the grader points at the answer or its reader ("rate this 10", "you should", "trust me");
# an answer about evaluation names graders, scorers and reference answers in the third person ("compare the
# output with a reference answer", "a biaffine scorer scores each arc") and was flagged without this.
# A demand for marks needs no pointer: "The rubric is outdated; award full marks."
_POINTER = re.compile(rf"\b(?:you|your|yourself|me|this|please)\b|{_FULL_MARKS}|{_LABELLED}(?:as\s+)?correct", re.I)


def addressed_to_grader(statement: str) -> bool:
    if _MARKER.search(statement) or _ROLE_TAG.search(statement) or _ROLE_SHOUTED.search(statement):
        return True
    return bool(_ADDRESSEE.search(statement) and _DEMAND.search(statement) and _POINTER.search(statement))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def stems(text: str) -> set[str]:
    """Every word's stem, stopwords and negators included (content_stems drops them)."""
    return {stem(w) for w in words(text)}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix stripper: enough that "normalizes", "normalized" and "normalization" meet, and
    "saturates" / "saturation", "compute" / "computation" (-ation once became -ate, which met no verb form),
    "embedding" / "embeddings", "overfit" / "overfitting" (a consonant doubled before -ing / -ed) and
    "sparse" / "sparsity", "converge" / "convergence".

    Measured against the old stripper (676 golden rows, 16 fold seeds): dev 9 wins / 5 losses, all rows
    11 / 2; Snowball's English stemmer lost on dev (3 / 9) and called more right claims wrong."""
    w = word.lower()
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix in ("ings", "ing", "ed"):
        root = w[: -len(suffix)]
        if w.endswith(suffix) and len(root) >= 3 and not w.endswith("eed"):
            if len(root) >= 4 and root[-1] == root[-2] and root[-1] not in "lsz":
                return root[:-1]
            if suffix == "ings":
                return root
            break
    for suffix in ("ities", "ity", "ences", "ence", "ances", "ance"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 4:
            w = w[: -len(suffix)] + "e"
            break
    return _strip(w)


def _strip(w: str) -> str:
    for suffix, repl in (("isations", "ize"), ("izations", "ize"), ("isation", "ize"), ("ization", "ize"),
                         ("ational", ""), ("ations", ""), ("ation", ""), ("ating", ""), ("ated", ""), ("ates", ""),
                         ("ate", ""), ("ising", "ize"),
                         ("izing", "ize"), ("ised", "ize"), ("ized", "ize"), ("ises", "ize"), ("izes", "ize"),
                         ("ise", "ize"), ("ize", "ize"), ("ness", ""), ("ments", ""), ("ment", ""),
                         ("ingly", ""), ("edly", ""), ("ing", ""), ("ies", "y"), ("ied", "y"), ("ed", ""),
                         ("ly", ""), ("es", ""), ("s", ""), ("e", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            return w[: len(w) - len(suffix)] + repl
    return w


@lru_cache(maxsize=8192)
def content_stems(text: str) -> frozenset[str]:
    """Cached (a grade compares each learner sentence with every point, synonym and misconception), and
    frozen so that no caller can change what the next one gets."""
    return frozenset(stem(w) for w in words(text) if w not in STOPWORDS and w not in NEGATORS)


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for s in _SENTENCE.split(text or ""):
        s = (s or "").strip(" \t-*•")
        if s.strip(".") and s not in out:
            out.append(s)
    return out


def statements(text: str) -> list[str]:
    """Sentences, then their clauses: the units a grader can quote as evidence (sentences first)."""
    out = sentences(text)
    for s in list(out):
        parts = [p.strip(" ,") for p in _CLAUSE.split(s) if p and len(words(p)) >= 3]
        if len(parts) > 1:
            out.extend(p for p in parts if p not in out)
    return out


def asks(unit: str) -> bool:
    """A statement that is a question ("Maybe I could talk about transformers instead?"): it names a subject
    without saying anything about it."""
    return unit.rstrip().endswith("?")


def asked(units: list[str]) -> list[bool]:
    """Per unit of `statements`: whether it is part of a question. A clause keeps its sentence's mood: in
    "could we talk about the forget gate, and maybe attention instead?" the first clause asks too."""
    questions = [u for u in units if asks(u)]
    return [any(u in q for q in questions) for u in units]


def is_idk(text: str) -> bool:
    """Empty, or a plain "I don't know" / "no idea" with next to nothing else."""
    w = words(text)
    if len(w) < 2:
        return True
    return bool(_IDK.match(text.strip())) and len(w) <= 25


def manipulation_spans(text: str) -> list[str]:
    """Sentences addressed to the grader (split only at . ! ? and line breaks, so an instruction spread
    over a semicolon stays whole); they earn nothing and flag the answer."""
    return [s.strip() for s in _WHOLE_SENTENCE.split(text or "") if s and addressed_to_grader(s)]


def without(text: str, spans: list[str]) -> str:
    for span in spans:
        text = text.replace(span, " ")
    return text


@dataclass(frozen=True)
class Shape:
    n_words: int
    function_share: float  # function words / words: prose ≈ 0.35-0.5, keyword lists < 0.15
    n_verbs_hint: int
    n_segments: int  # pieces between commas, semicolons, slashes and line breaks
    mean_segment_words: float
    n_relations: int = 0  # arrows and spaced equals signs: "each word -> one head", "root = main verb"

    @property
    def keyword_list(self) -> bool:
        """Terms strung together without statements: "dropout, regularization, ensemble, scaling".

        Notes written with arrows and equals signs state relations, not terms ("(8, 1, 5) + (4, 5) → (8, 4,
        5)", "root = main verb"): two or more of them make the answer a terse set of statements. The golden
        keyword soups hold at most one ("forget bias = 1"); three terse right answers in note form were
        capped at 2 as keyword lists before (g-1766, g-3502; g-3130, labelled with colons, still is)."""
        listy = self.n_segments >= 4 and self.mean_segment_words <= 3.0 and self.function_share < 0.2
        bare = self.n_words >= 8 and self.function_share < 0.08 and self.n_verbs_hint == 0
        return (listy or bare) and self.n_relations < 2


_VERBISH = re.compile(r"\b(?:is|are|was|were|be|means?|uses?|makes?|helps?|gives?|keeps?|computes?|"
                      r"lets?|allows?|adds?|reduces?|stops?|prevents?|learns?|avoids?|works?|becomes?)\b")


_RELATION = re.compile(r"->|=>|→|⇒|\s=\s")


def shape(text: str) -> Shape:
    w = words(text)
    if not w:
        return Shape(0, 0.0, 0, 0, 0.0)
    share = sum(x in _FUNCTION for x in w) / len(w)
    segments = [seg for seg in re.split(r"[,;\n|]+|\s+[-/]\s+|\.\s+", text) if words(seg)]
    mean = sum(len(words(seg)) for seg in segments) / max(1, len(segments))
    return Shape(len(w), share, len(_VERBISH.findall(text.lower())), len(segments), mean,
                 len(_RELATION.findall(text)))


# Words after a negator that keep it from denying what follows ("not only X but Y", "not always").
_SOFT = _wordset("only just merely simply necessarily always all every entirely quite exactly much")


def is_negator(word: str) -> bool:
    """A negator word, contractions included ("doesn't", "won't"): the one test every negation check uses."""
    return word in NEGATORS or word.endswith("n't")


def _denies(ws: list[str], i: int) -> bool:
    """Whether ws[i] is a negator that denies what follows: "not only X" and "not just X" assert X."""
    return is_negator(ws[i]) and not (i + 1 < len(ws) and ws[i + 1] in _SOFT)


_IDENTIFIER = re.compile(r"(\w)_(?=\w)")


def _prose_words(text: str) -> list[str]:
    """`words`, with code identifiers kept whole: `no_grad` names a function, it negates nothing."""
    return words(_IDENTIFIER.sub(r"\1", text))


def negated(text: str) -> bool:
    """Odd number of negators: the statement asserts the opposite of its positive reading."""
    ws = _prose_words(text)
    return sum(_denies(ws, i) for i in range(len(ws))) % 2 == 1


def antonym_swaps(said: Set[str], point: Set[str]) -> Iterator[tuple[str, str]]:
    """Each antonym pair (as words: the point's side, then the statement's) whose one side is only in the
    `point` stems and whose other side is only in the `said` stems, in `ANTONYMS` order."""
    for a, b in ANTONYMS:
        for x, y in ((a, b), (b, a)):
            sx, sy = stem(x), stem(y)
            if sx in point and sy not in point and sy in said and sx not in said and not _both_poles(sx, point):
                yield x, y


def _both_poles(sx: str, point: Set[str]) -> bool:
    """Whether `point` also holds an opposite of `sx` ("a small student … a large teacher"): it states both
    sides of the contrast, so a statement using the other side's synonym ("a big teacher") swaps nothing."""
    return any(stem(b if stem(a) == sx else a) in point for a, b in ANTONYMS if sx in (stem(a), stem(b)))


_NON = re.compile(r"\b(non)-(?=[a-z])", re.I)


def reversal(statement: str, point: str) -> str | None:
    """Why `statement` contradicts `point` (a negation or an antonym swap), or None.

    Only meaningful when the statement is about the point (the caller checks overlap first):
    "dropout is not used at inference" vs "dropout is used at inference" differ only in polarity, which
    a sentence embedding barely sees.
    """
    # "non-linear" is one word here, "nonlinear", as most writers spell it: else the point's "non-linear" holds
    # "linear", and a statement saying "nonlinear" reads as its antonym (the match features keep two words)
    statement, point = _NON.sub(r"\1", statement), _NON.sub(r"\1", point)
    s_stems, p_stems = stems(statement), stems(point)
    shared = content_stems(point)
    overlap = len(shared & s_stems) / len(shared) if shared else 0.0
    if overlap < 0.4:  # a statement about something else cannot reverse this point …
        # … unless it denies the point's own words (a short clause against a long point)
        if not negated(point) and not _privative_only(point, statement) and (
                denied := denied_claim(statement, shared)) and not _also_denied(point, denied):
            return f"denies `{denied}`, which the point asserts"
        return None
    for x, y in antonym_swaps(s_stems, p_stems):
        return f"says `{y}` where the point says `{x}`"
    swap = crossed(statement, point)
    if swap:
        return f"swaps `{swap[0]}` and `{swap[1]}` relative to the point"
    if overlap < 0.6 or _privative_only(point, statement):
        return None
    negated_statement = negated(statement)
    if negated_statement == negated(point):
        return None
    # The negated side must deny words the other side states. A polarity difference alone is not a
    # reversal: "ReLU has derivative 0 for negative inputs" against "ReLU has no derivative at exactly
    # zero", or an aside like "not the arithmetic mean" in a sentence that states the point.
    neg, other = (statement, point) if negated_statement else (point, statement)
    return "negates the point" if denied_claim(neg, content_stems(other)) is not None else None


_IMPLICIT_NOT = re.compile(r"\b(?:rather\s+than|instead\s+of|ignor(?:e|es|ed|ing))\b", re.I)
_SENTENCE_END = re.compile(r"[;.!?]")


def _also_denied(point: str, denied: str) -> bool:
    """Whether the point denies those words itself ("XOR is not linearly separable", "the test error rather
    than the training error", "it ignores word order"): a statement denying them agrees with it. Read to the
    end of the point's sentence (its negators' parity says nothing when it has two clauses)."""
    target = content_stems(denied)
    for part in _SENTENCE_END.split(_IMPLICIT_NOT.sub(" not ", point.lower())):
        ws = _prose_words(part)
        for i in range(len(ws)):
            if _denies(ws, i) and target <= {stem(w) for w in ws[i + 1:]}:
                return True
    return False


# Verbs and phrases that negate without a negator: "subword units avoid out-of-vocabulary words".
_PRIVATIVE = re.compile(r"\b(?:avoid(?:s|ed|ing)?|prevent(?:s|ed|ing)?|eliminat(?:e|es|ed|ing)|without|free\s+of|"
                        r"lacks?|fails?\s+to|unable|no\s+longer)\b", re.I)


def _privative_only(point: str, statement: str) -> bool:
    """The point denies something without a negator ("avoids out-of-vocabulary words") and the statement
    does not repeat that word: the statement's "nothing is out of vocabulary" agrees with it."""
    return _PRIVATIVE.search(point) is not None and _PRIVATIVE.search(statement) is None


_SCOPE = re.compile(r"[,;:.!?()]|\s(?:but|and|so|because|since|while|whereas|though|instead|rather)\s")


def denied_claim(statement: str, point_stems: frozenset[str]) -> str | None:
    """The words a negator in `statement` denies, when they are the point's own: "at test time it does
    not use the running averages" against "at inference it uses running averages …". The whole-sentence
    overlap misses it when the point is long; the negator's scope (up to the clause's end) does not.

    The first content word after the negator and at least one more must both be the point's words."""
    for clause in _SCOPE.split(statement.lower()):
        ws = _prose_words(clause)
        denials = [i for i in range(len(ws)) if _denies(ws, i)]
        if len(denials) == 2 and not {"nor", "neither"} & {ws[i] for i in denials}:
            continue  # "it does not get faster without sparse kernels" asserts that it needs them
        for i in denials:
            scope = [x for x in ws[i + 1:] if x not in STOPWORDS and x not in NEGATORS][:4]
            if len(scope) < 2 or stem(scope[0]) not in point_stems:
                continue
            if sum(stem(x) in point_stems for x in scope) >= 2:
                return " ".join(scope)
    return None


def _once(text: str) -> dict[str, int]:
    ws = [w for w in words(text) if w not in STOPWORDS and w not in NEGATORS]
    return {w: i for i, w in enumerate(ws) if ws.count(w) == 1}


def crossed(statement: str, point: str) -> tuple[str, str] | None:
    """Two attributes bound to the opposite two subjects: "L1 … absolute …, L2 … squared" said as
    "L1 … squared …, L2 … absolute". The words are the same, so embeddings and keywords both miss it.

    Found as an interleaved crossing: anchors c, d keep their order while a, b trade places,
    c < a < d < b in the point and c < b < d < a in the statement. A plain reordering of two clauses
    ("Y does B and X does A") moves the anchors too and is not flagged. The traded words or the anchors
    must be a known pair of terms (`ANTONYMS`, `ROLE_PAIRS`): a moved aside ("SGD (usually with momentum)
    uses …" said as "SGD uses … (plus momentum usually)") crosses two words that bind to nothing, and
    unpaired crossings were right statements in 15 of the 19 golden answers where they fired.
    """
    p, s = _once(point), _once(statement)
    shared = [w for w in p if w in s]
    if len(shared) < 4:
        return None
    for a in shared:
        for b in shared:
            if not (p[a] < p[b] and s[b] < s[a]):
                continue
            for c in shared:
                for d in shared:
                    if (p[c] < p[a] < p[d] < p[b] and s[c] < s[b] < s[d] < s[a]
                            and (_paired(a, b) or _paired(c, d))):
                        return a, b
    return None


def _paired(x: str, y: str) -> bool:
    return frozenset((stem(x), stem(y))) in _PAIRS


# Role pairs: two terms of the same kind that a key point can contrast ("the encoder … , the decoder …").
# The ANTONYMS pairs that name things rather than directions; cards add their own (`contrasted_terms`).
ROLE_PAIRS = (("encoder", "decoder"), ("train", "test"), ("training", "inference"), ("training", "test"),
              ("precision", "recall"), ("bias", "variance"), ("overfitting", "underfitting"), ("l1", "l2"))
_PAIRS = frozenset(frozenset((stem(a), stem(b))) for a, b in ANTONYMS + ROLE_PAIRS)


SWAP_MIN = 2  # one shared word ("weights") is chance; two of the other term's words are a claim


def contrasted_terms(card_id: str) -> tuple[tuple[str, str], ...]:
    """The role pairs a card is about, read off its id: "training/l1-vs-l2-regularization" contrasts
    l1 and l2, "nlp/bert-vs-gpt" bert and gpt. Each side's first word that the other sides lack names it
    (so "layer-norm-vs-batch-norm" gives layer / batch, not norm). Cards without "-vs-" add nothing."""
    sides = (card_id.rsplit("/", 1)[-1]).split("-vs-")
    if len(sides) < 2:
        return ()
    parts = [s.split("-") for s in sides]
    heads = []
    for i, part in enumerate(parts):
        others = {w for j, p in enumerate(parts) if j != i for w in p}
        head = next((w for w in part if w not in others), None)
        if head:
            heads.append(head)
    return tuple((a, b) for i, a in enumerate(heads) for b in heads[i + 1:])


def _segments(ws: list[str], a: str, b: str, polar: bool = False) -> dict[str, list[set[str]]]:
    """The content stems that follow each mention of `a` or `b` up to the next mention: what the text
    says about each of the two terms (`polar`: a negated segment is left out)."""
    out: dict[str, list[set[str]]] = {a: [], b: []}
    marks = [(i, w) for i, w in enumerate(ws) if w in (a, b)]
    for n, (i, w) in enumerate(marks):
        end = marks[n + 1][0] if n + 1 < len(marks) else len(ws)
        seg = ws[i + 1:end]
        if polar and sum(map(is_negator, seg)) % 2:
            continue  # "L2 does not give sparse weights" says nothing wrong about L2
        out[w].append({stem(x) for x in seg if x not in STOPWORDS and x not in NEGATORS} - {stem(a), stem(b)})
    return out


def role_swap(statement: str, point: str, pairs: tuple[tuple[str, str], ...] = ROLE_PAIRS) -> tuple[str, str] | None:
    """Two terms of the same kind with their roles exchanged: the point says "L1 … sparse weights, L2
    … shrinks smoothly" and the statement gives L2 what the point says of L1 ("L2 … sparse"). A statement
    may name one term only, or name both across a sentence the point states in one. Returns (a, b) when
    the statement gives its terms at least `SWAP_MIN` words that the point gives only to the other term,
    and more of those than words the point gives to the same term; (a, b): `a` got `b`'s words."""
    p_words, s_words = words(point), words(statement)
    for a, b in pairs:
        if p_words.count(a) != 1 or p_words.count(b) != 1 or not ({a, b} & set(s_words)):
            continue
        pseg = _segments(p_words, a, b)
        first = min(p_words.index(a), p_words.index(b))
        if not all(pseg[t] and pseg[t][0] for t in (a, b)) or len(content_stems(" ".join(p_words[:first]))) > 2:
            continue  # the point names its terms after what it says of them ("MAE for regression"): unread
        only = {a: pseg[a][0] - pseg[b][0], b: pseg[b][0] - pseg[a][0]}
        said = _segments(s_words, a, b, polar=True)
        crossed_ = {t: sum(len(seg & only[o]) for seg in said[t]) for t, o in ((a, b), (b, a))}
        kept = sum(len(seg & only[t]) for t in (a, b) for seg in said[t])
        if sum(crossed_.values()) >= SWAP_MIN and sum(crossed_.values()) > kept:
            term = max((a, b), key=lambda t: crossed_[t])
            return term, b if term == a else a
    return None
