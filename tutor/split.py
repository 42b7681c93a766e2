"""Golden rows split into `dev` (tune on it freely) and `test` (the gate and published figures only).

The refusal threshold, chunk size, BM25 weight and card synonyms were all tuned on corpus/golden, so a
gate that scores the same rows measures how well we fitted them, not how well the tutor works. Each row
records its part in a `split` field; this module fills it in for rows that lack one and never changes a
row that has one, so re-running it after new rows are appended is safe and moves nothing.

The rule (also in corpus/golden/README.md): per file, rows are grouped into conversations (a row and
every follow-up whose `previous` chain leads to it go to the same part, so a test follow-up never needs a
dev turn), and conversations are stratified by (kinds, topic) for questions, (label, topic) for grading
rows, one stratum for out-of-scope rows. Within a stratum, new conversations are taken in the order of a
hash of their first row's id and each goes to the part that is further below its share (TEST_SHARE of
rows to test), ties broken by the same hash: deterministic, independent of file order, balanced per
stratum even when rows arrive a few at a time.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import CorpusError

SPLITS = ("dev", "test")
TEST_SHARE = 0.5  # a small golden set: half of it is what keeps a test figure's step near 1%
# The CI gate (tutor/gate.py) grades a fixed sample of the test split's grading rows: grading all 2702 was
# 13 of `make test`'s 20 minutes. The sample holds every row of a category with fewer than SMALL_CATEGORY
# test rows (manipulation, keyword soup, off topic, …) and one row in SAMPLE_EVERY of the others, chosen by
# a hash of the row's id, so new rows leave the old ones where they were. `tutor eval` still grades and
# reports the whole split; the gate's grading bars are the sample's figures.
SAMPLE_EVERY = 4
SMALL_CATEGORY = 50


@dataclass
class SplitReport:
    path: Path
    assigned: dict[str, int]  # rows newly given each split
    totals: dict[str, int]  # rows in each split afterwards


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def in_sample(row: dict) -> bool:
    return _digest(f"gate sample:{row['id']}") % SAMPLE_EVERY == 0  # salted: the splits read the bare hash


def gate_sample(rows: list[dict]) -> list[int]:
    """Indices of the grading `rows` (one split's) the gate grades: small categories whole, the rest sampled.

    Taking the sample of a sample gives it back, so the gate test, which grades only these rows, measures
    what `tutor eval --write-gate` measured on them within the whole split."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[str(row.get("category"))] = counts.get(str(row.get("category")), 0) + 1
    return [i for i, row in enumerate(rows) if counts[str(row.get("category"))] < SMALL_CATEGORY or in_sample(row)]


def _topic(row: dict) -> str:
    return str(row.get("topic") or (str(row.get("card_id") or "").split("/")[0]) or "-")


def row_stratum(row: dict) -> tuple[str, str]:
    """(kind, topic) of one row; the kind of a grading row is its label, an out-of-scope row has neither."""
    if "label" in row or "score_band" in row:
        return str(row.get("label")), _topic(row)
    if "key_points" in row:
        kind = row.get("kind") or ("followup" if row.get("previous") is not None else "direct")
        return str(kind), _topic(row)
    return "out_of_scope", "-"


def conversations(rows: list[dict]) -> dict[str, list[dict]]:
    """First row id -> the rows of its conversation (the row and all follow-ups leading back to it)."""
    by_id = {str(r["id"]): r for r in rows}
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        root, seen = row, set()
        while root.get("previous") is not None and str(root["previous"]) in by_id:
            if str(root["id"]) in seen:  # a cycle: batch.conversation_order reports it when the file runs
                break
            seen.add(str(root["id"]))
            root = by_id[str(root["previous"])]
        groups[str(root["id"])].append(row)
    return dict(groups)


def assign(rows: list[dict], test_share: float = TEST_SHARE) -> dict[str, str]:
    """Row id -> split for every row that has none yet; rows that have one keep it."""
    for row in rows:
        if "split" in row and row["split"] not in SPLITS:
            raise CorpusError(f"row `{row['id']}`: `split` must be one of {', '.join(SPLITS)}, "
                              f"not {row['split']!r}")
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SPLITS, 0))
    new: dict[tuple, list[tuple[str, list[dict]]]] = defaultdict(list)
    out: dict[str, str] = {}
    for root, members in conversations(rows).items():
        kinds = "+".join(sorted({row_stratum(r)[0] for r in members}))
        stratum = (kinds, row_stratum(members[0])[1] if members else "-")
        done = [r["split"] for r in members if "split" in r]
        if done:  # a conversation already placed: its new follow-ups join it
            root_row = next((r for r in members if str(r["id"]) == root), members[0])
            split = root_row.get("split") or done[0]
            out.update({str(r["id"]): split for r in members if "split" not in r})
            for r in members:
                counts[stratum][r.get("split") or split] += 1
        else:
            new[stratum].append((root, members))
    share = {"test": test_share, "dev": 1.0 - test_share}
    for stratum, units in new.items():
        for root, members in sorted(units, key=lambda u: (_digest(u[0]), u[0])):
            c = counts[stratum]
            total = c["dev"] + c["test"] + len(members)
            deficit = {s: share[s] * total - c[s] for s in SPLITS}
            if abs(deficit["test"] - deficit["dev"]) < 1e-9:
                split = SPLITS[_digest(root) % 2]
            else:
                split = max(SPLITS, key=deficit.get)
            c[split] += len(members)
            out.update({str(r["id"]): split for r in members})
    return out


def _with_split(line: str, split: str) -> str:
    """The JSONL line with `"split": …` added as its last field, the rest of the text untouched."""
    body = line.rstrip()
    if not body.endswith("}"):
        raise CorpusError(f"cannot add a split to a line that does not end with `}}`: {body[:60]}")
    inner = body[:-1].rstrip()
    sep = "" if inner.endswith("{") else ", "
    return f"{inner}{sep}\"split\": {json.dumps(split)}}}" + line[len(body):]


def assign_file(path: Path, test_share: float = TEST_SHARE, write: bool = True) -> SplitReport:
    """Give every row of a golden JSONL file without a `split` one, editing only those lines."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    parsed: list[tuple[int, dict]] = []
    for n, line in enumerate(lines):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"{path}:{n + 1}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict) or "id" not in row:
                raise CorpusError(f"{path}:{n + 1}: each line must be a JSON object with an `id`")
            parsed.append((n, row))
    try:
        splits = assign([row for _, row in parsed], test_share)
    except CorpusError as exc:
        raise CorpusError(f"{path}: {exc.message}") from None
    for n, row in parsed:
        if str(row["id"]) in splits:
            lines[n] = _with_split(lines[n], splits[str(row["id"])])
    if write and splits:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.replace(path)
    assigned = {s: sum(v == s for v in splits.values()) for s in SPLITS}
    totals = {s: sum((row.get("split") or splits.get(str(row["id"]))) == s for _, row in parsed) for s in SPLITS}
    return SplitReport(path, assigned, totals)
