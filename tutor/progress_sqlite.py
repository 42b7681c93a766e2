"""The default progress store: one SQLite file under $TUTOR_HOME (stdlib, no server).

WAL lets the app read while the CLI writes; every write is one short `BEGIN IMMEDIATE` transaction and
a busy timeout makes a second writer wait its turn instead of failing. The schema version lives in
`PRAGMA user_version` and migrations run in order inside one transaction, so two processes opening an
old file at once migrate it once. A file that is not a database, or fails SQLite's quick check, is moved
aside under a name that says so (never deleted) and a new one is started; the store's `notice` tells
the learner where the old file went.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from tutor.errors import StoreLocked, StoreUnavailable
from tutor.progress import ProgressStore

# Each entry moves the schema from version i to i+1. Never edit a shipped entry: add a new one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE reviews (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, card_id TEXT NOT NULL, topic TEXT NOT NULL,
            reviewed_at TEXT NOT NULL, kind TEXT NOT NULL, score REAL NOT NULL, label TEXT NOT NULL,
            rating INTEGER, hints INTEGER NOT NULL DEFAULT 0, question TEXT NOT NULL DEFAULT '',
            answer TEXT NOT NULL DEFAULT '', grade TEXT NOT NULL DEFAULT '{}', state TEXT)""",
        "CREATE INDEX reviews_profile_card ON reviews (profile, card_id, reviewed_at)",
        """CREATE TABLE conversations (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, created_at TEXT NOT NULL,
            question TEXT NOT NULL, answer TEXT NOT NULL, citations TEXT NOT NULL DEFAULT '[]')""",
        """CREATE TABLE scorecards (
            id TEXT PRIMARY KEY, profile TEXT NOT NULL, created_at TEXT NOT NULL,
            markdown TEXT NOT NULL, data TEXT NOT NULL DEFAULT '{}')""",
    ),
    (  # 2: chat turns are grouped into threads; listing by profile and time is the common read
        "ALTER TABLE conversations ADD COLUMN thread TEXT NOT NULL DEFAULT ''",
        "CREATE INDEX conversations_profile ON conversations (profile, created_at)",
        "CREATE INDEX scorecards_profile ON scorecards (profile, created_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def _is_locked(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class SqliteStore(ProgressStore):
    def __init__(self, path: Path, *, timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self.timeout_s = timeout_s
        self.notice: str | None = None
        self._lock = threading.Lock()  # one connection shared by the app's threads
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = self._open_waiting()
        except sqlite3.DatabaseError as exc:
            if _is_locked(exc):
                raise self._locked() from None
            moved = self._move_aside()
            self.notice = (f"the progress file {self.path} was damaged ({exc}); it was moved to {moved} "
                           "and a new one was started")
            self._conn = self._open()

    def describe(self) -> str:
        return f"sqlite:///{self.path}"

    def _open_waiting(self) -> sqlite3.Connection:
        """`_open`, retried while another process creates or migrates the file.

        Switching a new file to WAL needs an exclusive lock and SQLite does not call the busy handler for
        it, so the app and the CLI opening a fresh file together failed at once instead of waiting.
        """
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                if not _is_locked(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout_s * 1000)}")
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {check}")
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":  # persistent once set
                conn.execute("PRAGMA journal_mode = WAL")
            self._migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # re-read under the write lock
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"the progress file {self.path} has schema version {version}, newer than this tutor "
                    f"({SCHEMA_VERSION})", fix="update the tutor (git pull && make install)")
            for steps in MIGRATIONS[version:]:
                for sql in steps:
                    conn.execute(sql)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _move_aside(self) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        self.path.rename(target)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the damaged file, not the new one
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.rename(target.with_name(target.name + suffix))
        return target

    def _locked(self) -> StoreLocked:
        return StoreLocked(f"the progress file {self.path} is locked by another program (waited "
                           f"{self.timeout_s:g}s)", fix="close the other program using it and retry, or set "
                           "TUTOR_DB=sqlite:///another/file.db")

    def _write(self, sql: str, rows: list[tuple]) -> int:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    before = self._conn.total_changes
                    self._conn.executemany(sql, rows)
                    added = self._conn.total_changes - before
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:
                if _is_locked(exc):
                    raise self._locked() from None
                raise
        return added

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if _is_locked(exc):
                    raise self._locked() from None
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()
