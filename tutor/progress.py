"""The learner's progress: reviews, conversations and interview scorecards, in SQLite or PostgreSQL.

One interface (`ProgressStore`, which also holds every query), two back ends that differ only in
connection handling, column types and placeholders:
- SQLite (`tutor/progress_sqlite.py`, the default): `$TUTOR_HOME/progress.db`, WAL, short transactions.
- PostgreSQL (`tutor/progress_pg.py`): `TUTOR_DB=postgresql://…`, for several app replicas or a class.

Every record is append-only and keyed by a random id, so two writers (the app and the CLI, two replicas)
can never overwrite each other, and importing an export is "insert what is missing". A card's schedule
is the FSRS state stored with its newest review, so importing older reviews adds history without moving
the schedule back. Timestamps are timezone-aware UTC datetimes.

Public API (the app and the CLI rely on these names):
- `open_store(url: str | None, home: Path, *, timeout_s=5.0) -> ProgressStore`
   url None → `$TUTOR_DB`, else SQLite at `home/progress.db`; `sqlite:///PATH` and `postgresql://…` work too.
- `default_profile() -> str` ($TUTOR_PROFILE, else the OS user), `check_profile(name) -> str`
- records (defined in `tutor/progress_records.py`, importable from here): `Review`, `Conversation`,
  `ScorecardRecord` (each with `to_dict()` / `from_dict()`), `ImportReport`, `utcnow()`
- `ProgressStore`: `add_review`, `reviews(profile, card_id=None)`, `schedule_states(profile)`,
  `add_conversation`, `conversations(profile)`, `add_scorecard`, `scorecards(profile)`, `profiles()`,
  `export(profile=None) -> dict`, `import_data(data) -> ImportReport`, `close()`, `notice` (a message
  the front end should show once, e.g. a corrupt file moved aside), `describe()` (where it lives).
"""

from __future__ import annotations

import getpass
import json
import os
import re
from datetime import datetime
from pathlib import Path

from tutor.errors import UserError
from tutor.progress_records import (  # noqa: F401  (re-exported: the records are part of this API)
    Conversation,
    ImportReport,
    Review,
    ScorecardRecord,
    as_utc,
    utcnow,
)

EXPORT_FORMAT = "tutor-progress"
EXPORT_VERSION = 1
_PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def default_profile() -> str:
    """$TUTOR_PROFILE, else the OS user name (made safe), else 'default'."""
    name = os.environ.get("TUTOR_PROFILE", "")
    if not name:
        try:
            name = re.sub(r"[^A-Za-z0-9_.@-]", "_", getpass.getuser())
        except Exception:  # no user name in a bare container
            name = ""
    return check_profile(name or "default")


def check_profile(name: str) -> str:
    if not _PROFILE.match(name or ""):
        raise UserError(f"profile name {name!r} is not valid: use 1-64 letters, digits, '_', '.', '@' or '-', "
                        "e.g. --profile alice")
    return name


def open_store(url: str | None, home: Path, *, timeout_s: float = 5.0):
    """The progress store `url` names (None: $TUTOR_DB, else SQLite under `home`)."""
    url = url or os.environ.get("TUTOR_DB") or ""
    if url.startswith(("postgresql://", "postgres://")):
        from tutor.progress_pg import PostgresStore

        return PostgresStore(url, timeout_s=timeout_s)
    from tutor.progress_sqlite import SqliteStore

    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url.removeprefix("sqlite:///")), timeout_s=timeout_s)
    if url:
        raise UserError(f"TUTOR_DB={url!r} is not a store address: use postgresql://user@host:port/db, "
                        "sqlite:///path/to/progress.db, or unset it for the default file")
    return SqliteStore(Path(home) / "progress.db", timeout_s=timeout_s)


_REVIEW_COLS = ("id", "profile", "card_id", "topic", "reviewed_at", "kind", "score", "label", "rating", "hints",
                "question", "answer", "grade", "state")
_CONV_COLS = ("id", "profile", "created_at", "question", "answer", "citations", "thread")
_CARD_COLS = ("id", "profile", "created_at", "markdown", "data")
_TABLES = {"reviews": (_REVIEW_COLS, Review, "reviewed_at"),
           "conversations": (_CONV_COLS, Conversation, "created_at"),
           "scorecards": (_CARD_COLS, ScorecardRecord, "created_at")}
_JSON_COLS = {"grade", "state", "citations", "data"}
_TIME_COLS = {"reviewed_at", "created_at"}


class ProgressStore:
    """Every query of both back ends. Subclasses provide `_write(sql, rows) -> inserted count`,
    `_query(sql, params) -> list[tuple]` and the value conversions for their column types."""

    notice: str | None = None

    # --- back-end hooks -------------------------------------------------------------------------------
    def _write(self, sql: str, rows: list[tuple]) -> int:
        raise NotImplementedError

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _json_in(self, value: object) -> object:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def _json_out(self, value: object) -> object:
        return json.loads(value) if isinstance(value, str) else value

    def _time_in(self, value: datetime) -> object:
        return value.isoformat(timespec="microseconds")

    def _time_out(self, value: object) -> datetime:
        return as_utc(value)

    def close(self) -> None:
        pass

    def describe(self) -> str:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- records <-> rows -----------------------------------------------------------------------------
    def _row(self, record, cols: tuple[str, ...]) -> tuple:
        out = []
        for c in cols:
            v = getattr(record, c)
            out.append(None if v is None else self._json_in(v) if c in _JSON_COLS
                       else self._time_in(v) if c in _TIME_COLS else v)
        return tuple(out)

    def _record(self, row: tuple, cols: tuple[str, ...], cls):
        d = {}
        for c, v in zip(cols, row, strict=True):
            d[c] = None if v is None else self._json_out(v) if c in _JSON_COLS \
                else self._time_out(v) if c in _TIME_COLS else v
        return cls.from_dict(d)

    def _insert(self, table: str, records: list) -> int:
        if not records:
            return 0
        cols = _TABLES[table][0]
        sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
               "ON CONFLICT (id) DO NOTHING")
        return self._write(sql, [self._row(r, cols) for r in records])

    def _select(self, table: str, where: str, params: tuple) -> list:
        cols, cls, order = _TABLES[table]
        rows = self._query(f"SELECT {', '.join(cols)} FROM {table} WHERE {where} ORDER BY {order}, id", params)
        return [self._record(r, cols, cls) for r in rows]

    # --- the interface --------------------------------------------------------------------------------
    def add_review(self, review: Review) -> None:
        self._insert("reviews", [review])

    def reviews(self, profile: str, card_id: str | None = None) -> list[Review]:
        """Oldest first."""
        if card_id is None:
            return self._select("reviews", "profile = ?", (profile,))
        return self._select("reviews", "profile = ? AND card_id = ?", (profile, card_id))

    def schedule_states(self, profile: str) -> dict[str, dict]:
        """card id → the FSRS state written by that card's newest scheduling review."""
        rows = self._query("SELECT card_id, state FROM reviews WHERE profile = ? AND state IS NOT NULL "
                           "ORDER BY reviewed_at, id", (profile,))
        return {card_id: self._json_out(state) for card_id, state in rows}

    def add_conversation(self, conversation: Conversation) -> None:
        self._insert("conversations", [conversation])

    def conversations(self, profile: str) -> list[Conversation]:
        return self._select("conversations", "profile = ?", (profile,))

    def add_scorecard(self, scorecard: ScorecardRecord) -> None:
        self._insert("scorecards", [scorecard])

    def scorecards(self, profile: str) -> list[ScorecardRecord]:
        return self._select("scorecards", "profile = ?", (profile,))

    def profiles(self) -> list[str]:
        rows = self._query("SELECT profile FROM reviews UNION SELECT profile FROM conversations "
                           "UNION SELECT profile FROM scorecards ORDER BY 1")
        return [r[0] for r in rows]

    def export(self, profile: str | None = None) -> dict:
        """Everything (or one profile's records) as JSON-ready data; `import_data` reads it back."""
        where, params = ("profile = ?", (profile,)) if profile else ("1 = 1", ())
        out: dict = {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "exported_at": utcnow().isoformat(),
                     "profile": profile}
        for table in _TABLES:
            out[table] = [r.to_dict() for r in self._select(table, where, params)]
        return out

    def import_data(self, data: dict) -> ImportReport:
        """Insert every record whose id is not stored yet; never replace a stored record."""
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise UserError("this file is not a tutor progress export (no \"format\": \"tutor-progress\"); "
                            "make one with: tutor progress export FILE.json")
        if int(data.get("version", 0)) > EXPORT_VERSION:
            raise UserError(f"this export has format version {data['version']}, newer than this tutor reads "
                            f"({EXPORT_VERSION}); update the tutor, then import again")
        report = ImportReport()
        for table, (_cols, cls, _order) in _TABLES.items():
            try:
                records = [cls.from_dict(d) for d in data.get(table, [])]
            except (TypeError, KeyError, ValueError) as exc:
                raise UserError(f"the export's `{table}` list holds a malformed record ({exc})") from None
            stored = self._existing(table, [r.id for r in records])
            fresh = [r for r in records if r.id not in stored]
            report.already_present += len(records) - len(fresh)
            report.conflicts += sum(1 for r in records if r.id in stored and stored[r.id] != r.to_dict())
            if table == "reviews":
                report.older_than_stored += self._count_older(fresh)
            report.added[table] = self._insert(table, fresh)
            report.profiles = sorted(set(report.profiles) | {r.profile for r in records})
        return report

    def _existing(self, table: str, ids: list[str]) -> dict[str, dict]:
        cols, cls, _order = _TABLES[table]
        found: dict[str, dict] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            rows = self._query(f"SELECT {', '.join(cols)} FROM {table} WHERE id IN ({', '.join('?' * len(part))})",
                               tuple(part))
            for row in rows:
                rec = self._record(row, cols, cls)
                found[rec.id] = rec.to_dict()
        return found

    def _count_older(self, reviews: list[Review]) -> int:
        newest: dict[tuple[str, str], datetime] = {}
        for profile in {r.profile for r in reviews}:
            for r in self.reviews(profile):
                if r.state is not None:
                    newest[(profile, r.card_id)] = r.reviewed_at
        return sum(1 for r in reviews if r.state is not None
                   and (r.profile, r.card_id) in newest and r.reviewed_at < newest[(r.profile, r.card_id)])
