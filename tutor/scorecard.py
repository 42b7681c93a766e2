"""The mock interview's scorecard: per-topic scores, strengths, gaps with the cards to study, a verdict.

Built from the interview's results (plain dicts, so a stored scorecard can be rebuilt and exported) and
rendered as Markdown for the terminal, the app and the saved file.

Public API: `Scorecard` (`to_markdown()`, `to_dict()`), `build_scorecard(...)`, `verdict_for(...)`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime

from tutor.cards import Card

# Thresholds match the grader's labels: 7+ is a correct answer, under 5 on a topic means an interviewer
# would likely mark it as a gap. Fewer than three answers is too little evidence for any verdict.
READY, NEARLY, TOPIC_FLOOR, MIN_ANSWERS = 7.0, 5.0, 5.0, 3
GAPS_PER_CARD = 3


@dataclass
class Scorecard:
    profile: str
    started_at: str
    ended_at: str
    overall: float | None
    topic_scores: dict[str, float]
    strengths: list[str]  # questions answered well
    gaps: list[dict]  # {point, card_id, status}
    study: list[str]  # card ids to study, most urgent first
    verdict: str
    reason: str
    results: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_markdown(self) -> str:
        span = datetime.fromisoformat(self.ended_at) - datetime.fromisoformat(self.started_at)
        when = self.started_at[:16].replace("T", " ")
        lines = [f"# Mock interview scorecard — {self.profile}", "",
                 f"{when} UTC · {len(self.results)} questions · {span.total_seconds() / 60:.0f} min", "",
                 f"**Verdict: {self.verdict}** — {self.reason}", ""]
        overall = f"{self.overall:.1f}/10" if self.overall is not None else "—"
        lines += [f"Overall: **{overall}**", "", "| topic | score | questions |", "|---|---|---|"]
        per_topic = defaultdict(int)
        for r in self.results:
            per_topic[r["topic"]] += 1
        lines += [f"| {t} | {s:.1f} | {per_topic[t]} |" for t, s in self.topic_scores.items()]
        lines += ["", "## Questions", ""]
        for i, r in enumerate(self.results, 1):
            g = r["grade"]
            line = f"{i}. {r['question']} (level {r['difficulty']}) — **{g['score']:.1f}** {g['label']}"
            if r.get("probe"):
                line += f"; follow-up {r['probe']['grade']['score']:.1f}"
            lines.append(line)
        lines += ["", "## Strengths", ""] + ([f"- {s}" for s in self.strengths] or ["- none yet"])
        lines += ["", "## Gaps", ""]
        lines += [f"- {g['point']} ({g['status']}) — study `{g['card_id']}`" for g in self.gaps] or ["- none found"]
        if self.study:
            lines += ["", "## Study next", "", ", ".join(f"`{c}`" for c in self.study)]
        return "\n".join(lines) + "\n"


def verdict_for(overall: float | None, topic_scores: Mapping[str, float], n: int) -> tuple[str, str]:
    if overall is None or n < MIN_ANSWERS:
        return "not enough answers", f"answer at least {MIN_ANSWERS} questions for a verdict"
    weak = [t for t, s in topic_scores.items() if s < TOPIC_FLOOR]
    if overall >= READY and not weak:
        return "ready", f"overall {overall:.1f}/10 with no topic under {TOPIC_FLOOR:g}"
    if overall >= NEARLY:
        why = f"weak on {', '.join(weak)}" if weak else f"overall {overall:.1f}/10, under {READY:g}"
        return "nearly ready", why + "; study the gaps below"
    return "not ready yet", f"overall {overall:.1f}/10; start with the cards under Study next"


def build_scorecard(profile: str, started_at: datetime, ended_at: datetime, results: list[dict],
                    cards: Mapping[str, Card]) -> Scorecard:
    by_topic: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_topic[r["topic"]].append(float(r["grade"]["score"]))
    topic_scores = {t: round(sum(s) / len(s), 1) for t, s in by_topic.items()}
    scores = [float(r["grade"]["score"]) for r in results]
    overall = round(sum(scores) / len(scores), 1) if scores else None
    strengths = [r["question"] for r in results if r["grade"]["score"] >= READY]
    gaps, study = [], []
    for r in sorted(results, key=lambda r: r["grade"]["score"]):
        # Wrong before missed, at most GAPS_PER_CARD per card: the list is a study plan, not the whole rubric.
        # A compound point made in part ("partly" with `missing`) is a gap in the claims still missing.
        misses = sorted(({**p, "point": p["missing"], "status": "missed"} if p.get("missing") else p
                         for p in r["grade"].get("points", [])
                         if p.get("status") in ("wrong", "missed") or p.get("missing")),
                        key=lambda p: (p["status"] != "wrong", -float(p.get("weight", 1.0))))
        for p in misses[:GAPS_PER_CARD]:
            gaps.append({"point": p["point"], "card_id": r["card_id"], "status": p["status"]})
        for m in r["grade"].get("misconceptions", []):
            gaps.append({"point": f"misconception: {m.get('misconception', '')}", "card_id": r["card_id"],
                         "status": "wrong"})
        if r["grade"]["score"] < READY and r["card_id"] not in study:
            study.append(r["card_id"])
    for cid in list(study):  # a weak answer's follow-up cards are the next things an interviewer asks
        study += [f for f in cards[cid].follow_ups if f in cards and f not in study][:1] if cid in cards else []
    verdict, reason = verdict_for(overall, topic_scores, len(results))
    return Scorecard(profile, started_at.isoformat(), ended_at.isoformat(), overall, topic_scores, strengths,
                     gaps, study, verdict, reason, results)
