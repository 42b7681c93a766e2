"""Note-taking shorthand spelled out before a learner's statement is matched against a rubric.

Candidates who type fast write "grads", "w/", "b/c", "params", "~10x". MiniLM and the stemmed keyword match
read those as other words than the card's "gradients", "with", "because", "parameters": a notes-style answer
to the zero_grad card that made four of five points was matched on two of them (4.4 → 8.3 once spelled out).
Only shorthand that means one thing in a deep-learning answer is expanded. Capitalised acronyms (LR, BN, NN)
are left alone: LR is a learning rate or a logistic regression, and cards list acronyms among their keywords.

The grader matches the expanded text but quotes the learner's own words (`tutor.grade_evidence.gather`).
"""

from __future__ import annotations

import re

# (pattern, replacement). A word-like abbreviation must stand alone: not inside an identifier or attribute
# (`requires_grad`, `.grad`, `__init__`, `lr=`), so code keeps its meaning.
_ALONE_BEFORE = r"(?<![\w.])"
_ALONE_AFTER = r"(?![\w(=])"
_WORDS = {
    "grad": "gradient", "grads": "gradients", "param": "parameter", "params": "parameters",
    "hyperparams": "hyperparameters", "hparams": "hyperparameters", "lr": "learning rate",
    "mem": "memory", "info": "information", "dim": "dimension", "dims": "dimensions",
    "seq": "sequence", "seqs": "sequences", "avg": "average", "attn": "attention", "vocab": "vocabulary",
    "emb": "embedding", "embs": "embeddings", "conv": "convolution", "convs": "convolutions",
    "init": "initialization", "val": "validation", "prev": "previous", "fwd": "forward", "bwd": "backward",
    "probs": "probabilities", "arch": "architecture", "approx": "approximately", "num": "number of",
    "wrt": "with respect to", "esp": "especially", "eff": "effective", "incl": "including",
    "eval": "evaluation", "stats": "statistics", "std": "standard deviation", "var": "variance",
    "prob": "probability", "exp": "exponential", "pred": "prediction", "preds": "predictions",
    "feats": "features", "fn": "function", "func": "function", "perf": "performance", "ctx": "context",
    "ckpt": "checkpoint", "optim": "optimizer", "nonlin": "nonlinearity", "tok": "token", "toks": "tokens",
    "distrib": "distribution", "thru": "through", "bc": "because", "cuz": "because", "coz": "because",
}
# A period after the abbreviation is its own ("big eff. batch") only when the sentence goes on in lower case.
_OWN_PERIOD = r"(?:\.(?=\s+(?-i:[a-z0-9(])))?"
_WORD = re.compile(_ALONE_BEFORE + "(" + "|".join(sorted(_WORDS, key=len, reverse=True)) + ")" + _OWN_PERIOD
                   + _ALONE_AFTER, re.I)
_SYMBOLS = (
    (re.compile(r"(?<!\S)w/o(?=\s|$)", re.I), "without"),
    (re.compile(r"(?<!\S)w/(?=\s|\w)", re.I), "with "),
    (re.compile(r"(?<!\S)b/c(?=\s|$|[,;:])", re.I), "because"),
    (re.compile(r"(?<!\S)b/w(?=\s|$|[,;:])", re.I), "between"),
    (re.compile(r"\bw\.r\.t\.?", re.I), "with respect to"),
    (re.compile(r"\be\.g\.(?:,)?", re.I), "for example"),
    (re.compile(r"\bi\.e\.(?:,)?", re.I), "that is"),
    (re.compile(r"\bvs\.(?=\s)", re.I), "versus"),
    (re.compile(r"(?<=\s)&(?=\s)"), "and"),
    (re.compile(r"[~≈]\s*(?=\d)"), "about "),
    (re.compile(r"\s≈\s"), " is about "),
)
_SPACES = re.compile(r"[ \t]{2,}")


def expand(text: str) -> str:
    """`text` with its shorthand spelled out; text without any is returned unchanged (the same string)."""
    out = text
    for pattern, replacement in _SYMBOLS:
        out = pattern.sub(replacement, out)
    out = _WORD.sub(_spelled, out)
    return text if out == text else _SPACES.sub(" ", out)


def _spelled(match: re.Match[str]) -> str:
    word = match.group(1)
    if word.isupper():  # LR, NUM: an acronym, left alone
        return match.group(0)
    expansion = _WORDS[word.lower()]
    return expansion[0].upper() + expansion[1:] if word[0].isupper() else expansion
