"""The team progress store: PostgreSQL through psycopg 3 (`TUTOR_DB=postgresql://user@host:port/db`).

Same records and queries as SQLite (`tutor/progress.py`), with native column types (timestamptz, jsonb).
Several app replicas can share one database: records are append-only with random ids, each write is one
short transaction, and migrations run under a transaction-scoped advisory lock so replicas starting
together migrate once.
"""

from __future__ import annotations

import threading
from datetime import datetime

from tutor.errors import MissingExtra, StoreUnavailable
from tutor.progress import ProgressStore
from tutor.progress_records import as_utc

_LOCK_KEY = 0x7475746F72  # "tutor": the advisory lock that serializes migrations

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE reviews (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, card_id TEXT NOT NULL, topic TEXT NOT NULL,
            reviewed_at TIMESTAMPTZ NOT NULL, kind TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,
            label TEXT NOT NULL, rating INTEGER, hints INTEGER NOT NULL DEFAULT 0,
            question TEXT NOT NULL DEFAULT '', answer TEXT NOT NULL DEFAULT '',
            grade JSONB NOT NULL DEFAULT '{}', state JSONB)""",
        "CREATE INDEX reviews_profile_card ON reviews (profile, card_id, reviewed_at)",
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            question TEXT NOT NULL, answer TEXT NOT NULL, citations JSONB NOT NULL DEFAULT '[]')""",
        """CREATE TABLE scorecards (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL,
            markdown TEXT NOT NULL, data JSONB NOT NULL DEFAULT '{}')""",
    ),
    (
        "ALTER TABLE conversations ADD COLUMN thread TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX conversations_profile ON conversations (profile, created_at)",
        "CREATE INDEX scorecards_profile ON scorecards (profile, created_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _safe_url(url: str) -> str:
    """The address without its password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        d = conninfo_to_dict(url)
        return f"postgresql://{d.get('user', '')}@{d.get('host', '')}:{d.get('port', '5432')}/{d.get('dbname', '')}"
    except Exception:
        return "the TUTOR_DB address"


class PostgresStore(ProgressStore):
    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        try:
            import psycopg
            from psycopg.types.json import Jsonb
        except ImportError:
            raise MissingExtra("psycopg[binary]", "team") from None
        self._psycopg, self._Jsonb = psycopg, Jsonb
        self.url, self.timeout_s = url, timeout_s
        self.notice: str | None = None
        self._lock = threading.Lock()
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout_s)))
        except psycopg.OperationalError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StoreUnavailable(f"cannot reach the PostgreSQL progress store at {_safe_url(url)} ({first})",
                                   fix="start the server, check TUTOR_DB, or unset TUTOR_DB to use the local "
                                       "SQLite file") from None
        self._migrate()

    def describe(self) -> str:
        return _safe_url(self.url)

    def _migrate(self) -> None:
        with self._lock, self._conn.transaction():
            cur = self._conn.cursor()
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            cur.execute("CREATE TABLE IF NOT EXISTS tutor_schema (version INTEGER NOT NULL)")
            row = cur.execute("SELECT version FROM tutor_schema").fetchone()
            version = row[0] if row else 0
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(f"the database at {self.describe()} has schema version {version}, newer "
                                       f"than this tutor ({SCHEMA_VERSION})", fix="update the tutor (make install)")
            for steps in MIGRATIONS[version:]:
                for sql in steps:
                    cur.execute(sql)
            if row is None:
                cur.execute("INSERT INTO tutor_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
            elif version != SCHEMA_VERSION:
                cur.execute("UPDATE tutor_schema SET version = %s", (SCHEMA_VERSION,))

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def _write(self, sql: str, rows: list[tuple]) -> int:
        with self._lock, self._conn.transaction():
            cur = self._conn.cursor()
            added = 0
            for row in rows:
                cur.execute(self._sql(sql), row)
                added += max(cur.rowcount, 0)
            return added

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(self._sql(sql), params).fetchall()

    def _json_in(self, value: object) -> object:
        return self._Jsonb(value)

    def _time_in(self, value: datetime) -> object:
        return value

    def _time_out(self, value: object) -> datetime:
        return as_utc(value)

    def schema_version(self) -> int:
        return int(self._query("SELECT version FROM tutor_schema")[0][0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()
