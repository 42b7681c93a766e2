"""The learned score: a small model over `tutor.grade_features`, fitted on the labelled golden answers.

Why a model: the rule-based scorer's thresholds (one cosine cut for "covered", one margin for "wrong")
cannot weigh a dozen weak signals at once, and MiniLM alone barely separates a fluent wrong answer
from a right one. Three parts, all plain numpy so grading needs nothing beyond numpy:
- five small neural networks over standardized features and boosted trees beside them pick the label by
  their mean probability (`tutor.grade_mlp`, `tutor.grade_trees`: the signals interact, and a linear
  classifier could only add them up); a multinomial logistic regression (L2, C = 1)
  fitted beside them chooses the ridge strength below and picks the label in models saved without them;
- one ridge regression per label (over every feature but `LABEL_ONLY`), fitted on the training rows of
  that gold label, places the score inside the chosen label's range; its strength is chosen from `ALPHAS`
  by an inner 5-fold cross-validation on the training rows alone (in-band share), so a held-out fold never
  picks its own regularisation. One regression over all rows spent itself on telling the labels apart
  (which the classifier already does) and put a right label's score outside its band: on three fresh
  authors' rounds (66, 140 and 72 answers, fitted on the rows before each) one regression put .788 / .843
  / .694 in band at label agreement .848 / .893 / .778; one per label .848 / .893 / .736. The golden bands
  vary little inside a label in ways the features predict (any ridge strength), so a label's scores sit
  near its typical band (test split, p10-p90: correct 8.1-9.0, partial 4.3-4.6, incorrect 0.9-1.2): the
  per-point verdicts and the feedback say what an answer lacked, the score says how far it got;
- per label, a score interval learned on the training rows ("snap") keeps scores inside the bands
  people give (a "correct" answer scores 8-9.5, not 7.0 on the edge).
The gaming guards in `tutor.grade` still cap the result afterwards; the model never lifts a capped answer.

Trained offline by `python -m tutor.grade_train`, which writes the weights to grade_model.json (package
data) and the training features to corpus/golden/grading_features.json, so a test can check that
retraining reproduces the weights without embedding anything.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass
from importlib import resources

import numpy as np

from tutor import grade_mlp, grade_trees
from tutor.metrics import in_band

LABELS = ("incorrect", "partial", "correct")
RANGES = ((0.0, 2.9), (3.0, 6.9), (7.0, 10.0))  # the score range of each label (label_of's cut-offs)
C = 1.0  # inverse L2 strength of the label classifier (scikit-learn's default)
ALPHAS = (1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)  # L2 strengths of the score regressions (inner CV)
INNER_FOLDS = 5
MODEL_FILE = "grade_model.json"  # fitted with the judge's (tutor.judge) and the reader's (tutor.reader) features
JUDGED_MODEL_FILE = "grade_model_judged.json"  # the judge's without the reader's: a reader not exported
LEXICAL_MODEL_FILE = "grade_model_lexical.json"  # fitted without them: graders that have no judge
# The full grader's first pass: fitted on every column but the judge's (tutor.grade_features.QUICK_FEATURES).
# Where its label classifier is at least SETTLED sure, its score stands and the judge's long sentence pairs
# are not read (tutor.grade.Grader.evidence); the judge reads the other answers whole and the full model
# scores them. Why: the judge is ~185 of a typical
# grade's ~395 CPU-ms, and the answers the quick model is sure of are ones the judge does not change.
# Session 50, stored features (dev 5-fold CV, threshold chosen there; test split, models fitted on dev),
# share settled quickly / in band / label agreement (session 51 added .72 and .68):
#     SETTLED   dev CV                     test
#     never     0     .7630 .7726          0     .7898 .7998
#     .85       .355  .7630 .7722          .390  .7887 .7990
#     .75       .565  .7622 .7715          .600  .7898 .8001
#     .72       .622  .7626 .7711          .644  .7887 .7990
#     .70       .658  .7626 .7711          .679  .7905 .8009
#     .68       .694  .7622 .7707          .713  .7883 .7987
#     .65       .739  .7596 .7681          .764  .7865 .7968
# Free references (their own models), dev CV: never .7289 / .7378, .75 .7285 / .7374 (47% settled), .70
# .7293 / .7381 (57%), .68 .7278 / .7367; test .7446 → .7461 at .70.
# .70 is the lowest threshold of the grid whose dev in band stays within .001 of the full model's for the card
# and the reference models both (.68 loses .0011 on references; session 50 shipped .75 by misreading this
# rule); below it the loss grows (the lexical model alone as the first pass loses .0007 in band at .85 for a
# third of the rows routed, .0068 at .70). `tutor eval` (fold seed 7, all 5402 rows), session 50 at .75:
# test .7890 / .7994 / .8115 → .7894 / .8001 / .8127 (in band / agreement / QWK), dev CV .7685 → .7663 in
# band, 60% of the answers settled quickly. Session 51 at .70: test .7898 / .8005 / .8121, dev CV .7670 in band,
# 68% settled, the CI gate's sample unchanged (.7725 / .7900). Grading p50 at .75 → .70 (paired, random 200
# golden answers, 2 rounds): 142.2 → 136.8 ms, mean 156.6 → 147.2 ms; bench/grade_speed.py 152.2 → 138.8 ms.
# Session 52, label networks (tutor.grade_mlp) in both models, dev CV 3 seeds x 5 folds / test (fitted on dev):
#     SETTLED   card dev CV               reference dev CV          card test
#     never     0     .8144 .8238        0     .7680 .7762        0     .8286 .8379
#     .85       .415  .8151 .8243        .317  .7677 .7759        .439  .8275 .8372
#     .75       .626  .8142 .8232        .537  .7672 .7756        .637  .8272 .8368
#     .70       .708  .8125 .8211        .635  .7668 .7752        .712  .8261 .8357
# The same rule gave .75: at .70 the card models lost .0019. The networks are surer than the linear
# classifier was (63% settled at .75, against 57% for the linear one).
# Session 53, boosted trees beside the networks (tutor.grade_trees), same grid and rule:
#     SETTLED   card dev CV               reference dev CV          card test            reference test
#     never     0     .8180 .8270        0     .7793 .7867        0     .8312 .8405    0     .7994 .8072
#     .85       .410  .8181 .8272        .327  .7791 .7867        .449  .8309 .8401    .354  .7998 .8072
#     .75       .616  .8185 .8273        .540  .7793 .7868        .632  .8290 .8383    .572  .7990 .8064
#     .70       .700  .8174 .8262        .626  .7790 .7867        .717  .8272 .8368    .657  .7987 .8061
# The rule gives .70 (the card models lose .0006, the reference ones .0003), but its premise, that a lower
# threshold grades faster, no longer holds: a settled answer below "correct" still has its per-point pairs read,
# and with the trees more of the settled answers are partial. bench/grade_speed.py --sample 200, `read` p50:
# .70 158.9 / 157.8 ms (68% settled), .75 146.6 ms (59%). Dev CV puts .75 ahead of .70 too (.8185 / .8174), so
# .75. `tutor eval` ran at .70 (test .8294 / .8390 / .8467); the gate sample, .70 → .75: in band .8277 → .8237,
# agreement .8439 → .8385 (4-5 of 743 rows); the stored-feature test split (above) .8272 → .8290.
QUICK_MODEL_FILE = "grade_model_quick.json"
SETTLED = 0.75
# Against a free reference (no card: the reference's claims are the key points), the same three models fitted
# on the golden rows graded that way (tutor/grade_train.py): a reference's claims carry no keywords, synonyms
# or misconceptions, so the card models' weights misread them.
REFERENCE_MODEL_FILE = "grade_model_reference.json"
REFERENCE_JUDGED_MODEL_FILE = "grade_model_reference_judged.json"
REFERENCE_LEXICAL_MODEL_FILE = "grade_model_reference_lexical.json"
REFERENCE_QUICK_MODEL_FILE = "grade_model_reference_quick.json"
# Columns the label classifier reads and the score regression does not. The reader (tutor.reader) decides
# well which label an answer earns and badly where inside the band: on a fresh round by a new author on 17
# cards no golden row had covered (68 answers, session 30), reading it in the score too put .750 of the
# scores in band, against .853 without the reader, and label-only keeps the golden test split's gain.
# The misconception spotter (tutor.spotter) likewise: read in the score too, it placed the same test rows in band
# (.7894 either way, session 46), and label-only keeps the two cross-encoders on the same terms.
LABEL_ONLY = ("reader", "spot")
# A snap interval is at least this wide: a narrower one would turn the score into three fixed values
# (every correct answer 8.0), which fits the bands but tells a learner nothing about how good it was.
MIN_WIDTH = 2.0
_FLAT_LIST = re.compile(r"\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]")  # a JSON list of numbers only


@dataclass
class ScoreModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    label_w: list[list[float]]  # (labels, features)
    label_b: list[float]
    score_w: list[list[float]]  # (labels, features): the score regression of each label
    score_b: list[float]
    snap: list[list[float]]  # per label: [lo, hi]
    trained_on: dict  # rows, sha256 of the training file, …
    nets: list[dict] | None = None  # the label classifier (tutor.grade_mlp); None: the linear one above
    trees: dict | None = None  # boosted trees (tutor.grade_trees) whose probabilities are averaged with the nets'

    def _standardized(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(z, the label classifier's logits) for one feature row."""
        z = (np.asarray(x, float) - np.array(self.mean)) / np.array(self.scale)
        if self.nets:
            p = grade_mlp.probabilities(self._net_arrays, z)
            if self.trees:
                p = (p + grade_trees.probabilities(self._tree_arrays, z)) / 2
            return z, np.log(p + 1e-12)
        return z, np.array(self.label_w) @ z + np.array(self.label_b)

    @functools.cached_property
    def _net_arrays(self) -> list[dict]:
        """The networks' weights as arrays, converted once (not a field, so never saved)."""
        return grade_mlp.as_arrays(self.nets or [])

    @functools.cached_property
    def _tree_arrays(self) -> dict:
        return grade_trees.as_arrays(self.trees or {})

    def predict(self, x: np.ndarray) -> tuple[float, str]:
        """The score (0-10, unrounded) and the label for one feature row."""
        z, logits = self._standardized(x)
        label = int(np.argmax(logits))
        value = float(np.array(self.score_w[label]) @ z + self.score_b[label])
        lo, hi = RANGES[label]
        value = float(np.clip(value, lo, hi))
        lo, hi = self.snap[label]
        return float(np.clip(value, lo, hi)), LABELS[label]

    def confidence(self, x: np.ndarray) -> float:
        """The label classifier's probability for the label it picks (softmax over its three logits)."""
        _, logits = self._standardized(x)
        p = np.exp(logits - logits.max())
        return float(p.max() / p.sum())

    def to_json(self) -> str:
        """Indented, with each list of numbers on one line: the networks and trees are ~15,000 numbers, and one
        per line would double the file."""
        text = json.dumps(asdict(self), indent=1)
        return _FLAT_LIST.sub(lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text) + "\n"


def load(text: str | None = None, judged: bool = True, read: bool = True, reference: bool = False,
         quick: bool = False) -> ScoreModel:
    """The committed model (package data; `judged`: the one fitted with the judge's features, `read`: and
    the reader's; `reference`: the one for a free reference instead of a card; `quick`: the full grader's
    first pass, QUICK_MODEL_FILE), or one from `text`."""
    if text is None and quick:
        name = REFERENCE_QUICK_MODEL_FILE if reference else QUICK_MODEL_FILE
        text = resources.files("tutor").joinpath(name).read_text(encoding="utf-8")
    if text is None:
        if reference:
            name = (REFERENCE_MODEL_FILE if read else REFERENCE_JUDGED_MODEL_FILE) if judged \
                else REFERENCE_LEXICAL_MODEL_FILE
        else:
            name = (MODEL_FILE if read else JUDGED_MODEL_FILE) if judged else LEXICAL_MODEL_FILE
        text = resources.files("tutor").joinpath(name).read_text(encoding="utf-8")
    return ScoreModel(**json.loads(text))


def _ridge(z: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    b = float(y.mean())
    w = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ (y - b))
    return w, b


def _logistic(z: np.ndarray, labels: np.ndarray, c: float, steps: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression, loss = sum of cross-entropies + ||W||² / (2C), by Newton steps."""
    n, d = z.shape
    k = len(LABELS)
    za = np.hstack([z, np.ones((n, 1))])
    onehot = np.eye(k)[labels]
    theta = np.zeros((k, d + 1))
    penalty = np.diag([1.0 / c] * d + [1e-6])  # the intercept is (almost) not penalized
    for _ in range(steps):
        logits = za @ theta.T
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        grad = ((p - onehot).T @ za + theta @ penalty).ravel()
        hess = np.zeros((k * (d + 1), k * (d + 1)))
        for a in range(k):
            for b in range(k):
                weight = p[:, a] * ((a == b) - p[:, b])
                hess[a * (d + 1):(a + 1) * (d + 1), b * (d + 1):(b + 1) * (d + 1)] = (za.T * weight) @ za
        hess += np.kron(np.eye(k), penalty)
        step = np.linalg.solve(hess + 1e-9 * np.eye(len(grad)), grad)
        theta -= step.reshape(k, d + 1)
        if np.abs(step).max() < 1e-10:
            break
    return theta[:, :d], theta[:, d]


def _snap(scores: list[float], labels: list[int], bands: list[list[float]]) -> list[list[float]]:
    """Per predicted label, the interval whose clipping puts most training scores inside their band."""
    out = []
    for label, (lo0, hi0) in enumerate(RANGES):
        mine = [(s, b) for s, got, b in zip(scores, labels, bands, strict=True) if got == label]
        raw = np.array([s for s, _ in mine], float)
        shown = np.array([round(s, 1) for s, _ in mine], float)  # a score as reported, one decimal
        b_lo, b_hi = np.array([b[0] for _, b in mine], float), np.array([b[1] for _, b in mine], float)
        best = (-1, lo0, hi0)
        for lo in np.arange(lo0, hi0 + 1e-9, 0.5):
            for hi in np.arange(lo + MIN_WIDTH, hi0 + 1e-9, 0.5):
                # lo and hi are multiples of 0.5: clipping then rounding is the bound itself or the rounded score
                value = np.where(raw < lo, lo, np.where(raw > hi, hi, shown))
                hits = int(((b_lo <= value) & (value <= b_hi)).sum())
                if hits > best[0]:
                    best = (hits, float(lo), float(hi))
        out.append([round(best[1], 2), round(best[2], 2)])
    return out


def choose_alpha(x: np.ndarray, labels: list[str], bands: list[list[float]],
                 names: list[str] | tuple[str, ...] | None = None) -> float:
    """The ridge strength whose inner cross-validation (row i in fold i mod 5) puts most held-out scores in
    their band; the first of `ALPHAS` on a tie. Deterministic."""
    x = np.asarray(x, float)
    fold = np.arange(len(labels)) % INNER_FOLDS
    hits = dict.fromkeys(ALPHAS, 0)
    names = list(names) if names is not None else [str(i) for i in range(x.shape[1])]
    for f in range(INNER_FOLDS):
        tr, te = np.nonzero(fold != f)[0], np.nonzero(fold == f)[0]
        if not len(te) or len({labels[i] for i in tr}) < len(LABELS):
            continue
        # one label classifier per fold: only the score regression depends on alpha
        # the linear classifier picks the labels here: the five networks cost ~7 s a fit and would change which
        # ridge reads a row near a label boundary, not how well each ridge places its own label's rows
        for alpha, model in zip(ALPHAS, _fit(x[tr], [labels[i] for i in tr], [bands[i] for i in tr], names, {},
                                             ALPHAS, nets=False), strict=True):
            hits[alpha] += sum(in_band(round(model.predict(x[i])[0], 1), bands[i]) for i in te)
    return max(ALPHAS, key=lambda a: (hits[a], -ALPHAS.index(a)))


def train(x: np.ndarray, labels: list[str], bands: list[list[float]], names: list[str] | tuple[str, ...],
          trained_on: dict | None = None, alpha: float | None = None, nets: bool = True) -> ScoreModel:
    """Fit the model on feature rows `x` with gold `labels` and score `bands` (the score target is the
    band's centre); `alpha=None` chooses the ridge strength by `choose_alpha`; `nets=False` keeps the
    linear label classifier. Deterministic: the same rows give the same weights."""
    x = np.asarray(x, float)
    if alpha is None:
        alpha = choose_alpha(x, labels, bands, names)
    return _fit(x, labels, bands, names, trained_on or {}, (alpha,), nets)[0]


def _fit(x: np.ndarray, labels: list[str], bands: list[list[float]], names: list[str] | tuple[str, ...],
         trained_on: dict, alphas: tuple[float, ...], nets: bool = True) -> list[ScoreModel]:
    """One model per ridge strength in `alphas`, all sharing one label classifier."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    y = np.array([(b[0] + b[1]) / 2 for b in bands], float)
    ix = np.array([LABELS.index(v) for v in labels])
    lw, lb = _logistic(z, ix, C)
    networks = [_lists(net) for net in grade_mlp.fit(z, ix, len(LABELS))] if nets else None
    trees = _lists(grade_trees.fit(z, ix, len(LABELS))) \
        if nets and len(set(ix.tolist())) == len(LABELS) else None  # trees need every label
    scored = np.array([n not in LABEL_ONLY for n in names])
    models = []
    for alpha in alphas:
        ws, bs = [], []
        for label in range(len(LABELS)):
            # a label no training row has (a tiny set) borrows the regression over all rows
            mine = ix == label if (ix == label).any() else np.ones(len(ix), bool)
            w = np.zeros(z.shape[1])
            w[scored], b = _ridge(z[mine][:, scored], y[mine], alpha)
            ws.append(_r(w))
            bs.append(round(b, 6))
        model = ScoreModel(list(names), _r(mean), _r(scale), [_r(row) for row in lw], _r(lb), ws, bs,
                           [list(r) for r in RANGES], dict(trained_on, rows=len(labels), alpha=alpha), networks, trees)
        fitted = [model.predict(row) for row in x]
        model.snap = _snap([s for s, _ in fitted], [LABELS.index(lab) for _, lab in fitted], bands)
        models.append(model)
    return models


def _lists(arrays: dict) -> dict:
    """A fitted classifier's numpy arrays as a model file holds them: floats rounded by `_r`, integers as they are."""
    return {key: value.tolist() if value.dtype.kind in "iu" else _r(value) if value.ndim == 1
            else [_r(row) for row in value] for key, value in arrays.items()}


def _r(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
