"""The progress store contract, run against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pg_server
import pytest

from tutor.errors import StoreLocked, StoreUnavailable, UserError
from tutor.progress import (
    Conversation,
    Review,
    ScorecardRecord,
    check_profile,
    default_profile,
    open_store,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def postgres():
    """One real server per test session (≈ 2-5 s to start); each test gets its own database."""
    started = time.perf_counter()
    server, why = pg_server.start()
    if server is None:
        pytest.skip(f"PostgreSQL tests skipped: {why}")
    server.startup_s = time.perf_counter() - started
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """An empty store address for each back end. PostgreSQL tests share one server and get a fresh schema
    each (selected through search_path in the address): as isolated as a database, and ~1 s cheaper."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'progress.db'}"
        return
    import psycopg

    server = request.getfixturevalue("postgres")
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    yield f"{server.url}?options=-csearch_path%3D{name}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def store(store_url, tmp_path):
    s = open_store(store_url, tmp_path)
    yield s
    s.close()


def review(card_id="training/dropout", at=NOW, score=8.0, state_due=None, profile="alice", **kw) -> Review:
    state = {"card_id": 0, "state": 2, "step": None, "stability": 3.1, "difficulty": 5.2,
             "due": (state_due or at + timedelta(days=3)).isoformat(), "last_review": at.isoformat()}
    fields = {"rating": 3, "hints": 0, "kind": "quiz", "question": "What is dropout?", "answer": "it zeroes units",
              "grade": {"points": [{"point": "p", "status": "covered"}]}, "state": state, **kw}
    return Review(profile, card_id, card_id.split("/")[0], at, score, "correct", **fields)


def test_reviews_round_trip_with_every_field(store):
    r = review(hints=2, question="Q ünïcode ✓", answer="multi\nline")
    store.add_review(r)
    [back] = store.reviews("alice")
    assert back == r and back.reviewed_at.tzinfo is not None
    assert store.reviews("bob") == []
    assert store.reviews("alice", "training/dropout") == [r]
    assert store.reviews("alice", "basics/softmax") == []


def test_schedule_state_is_the_newest_scheduling_review(store):
    store.add_review(review(at=NOW + timedelta(days=2), state_due=NOW + timedelta(days=9)))
    store.add_review(review(at=NOW, state_due=NOW + timedelta(days=1)))
    store.add_review(review(at=NOW + timedelta(days=3), kind="probe", state=None, rating=None))
    states = store.schedule_states("alice")
    assert list(states) == ["training/dropout"]
    assert states["training/dropout"]["due"] == (NOW + timedelta(days=9)).isoformat()


def test_conversations_and_scorecards_are_kept_per_profile(store):
    c = Conversation("alice", "what is BN?", "It normalizes [1].", [{"n": 1, "chunk_id": "x", "card_id": "t/bn"}],
                     NOW, thread="th1")
    s = ScorecardRecord("alice", "# Scorecard\n", {"overall": 7.5}, NOW)
    store.add_conversation(c)
    store.add_scorecard(s)
    store.add_conversation(Conversation("bob", "q", "a", [], NOW))
    assert store.conversations("alice") == [c]
    assert store.scorecards("alice") == [s] and store.scorecards("bob") == []
    assert store.profiles() == ["alice", "bob"]


def test_adding_the_same_record_twice_keeps_one(store):
    r = review()
    store.add_review(r)
    store.add_review(r)
    assert len(store.reviews("alice")) == 1


def test_export_import_round_trips_without_loss(store, tmp_path):
    store.add_review(review())
    store.add_review(review("basics/softmax", at=NOW + timedelta(hours=1), profile="bob"))
    store.add_conversation(Conversation("alice", "q", "a", [{"n": 1}], NOW))
    store.add_scorecard(ScorecardRecord("alice", "# md", {"x": [1, 2.5]}, NOW))
    data = json.loads(json.dumps(store.export()))  # through a real JSON file's text
    other = open_store(f"sqlite:///{tmp_path / 'other.db'}", tmp_path)
    report = other.import_data(data)
    assert report.added == {"reviews": 2, "conversations": 1, "scorecards": 1}
    assert report.profiles == ["alice", "bob"] and "(profiles: alice, bob)" in report.summary()
    again = other.export()
    for table in ("reviews", "conversations", "scorecards"):
        assert again[table] == data[table]
    assert other.import_data(data).already_present == 4
    other.close()


def test_import_never_overwrites_newer_reviews(store):
    newest = review(at=NOW + timedelta(days=5), state_due=NOW + timedelta(days=20))
    store.add_review(newest)
    older = review(at=NOW, state_due=NOW + timedelta(days=1))
    tampered = review(at=NOW, score=1.0)
    tampered.id = newest.id
    data = {"format": "tutor-progress", "version": 1, "reviews": [older.to_dict(), tampered.to_dict()]}
    report = store.import_data(data)
    assert report.added["reviews"] == 1 and report.older_than_stored == 1 and report.conflicts == 1
    assert "kept the stored ones" in report.summary() and "schedules unchanged" in report.summary()
    assert store.schedule_states("alice")["training/dropout"]["due"] == newest.state["due"]
    assert {r.id: r.score for r in store.reviews("alice")}[newest.id] == 8.0


@pytest.mark.parametrize("data", [{"reviews": []}, [], {"format": "tutor-progress", "version": 99},
                                  {"format": "tutor-progress", "version": 1, "reviews": [{"card_id": "x"}]}])
def test_bad_import_files_are_user_errors(store, data):
    with pytest.raises(UserError):
        store.import_data(data)


_WRITER = textwrap.dedent("""
    import sys
    import time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from tutor.progress import Review, open_store
    url, who, n, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    store = open_store(url, Path("."))
    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    (gate / f"ready-{who}").touch()
    while not (gate / "go").exists():  # both writers start together, whatever their import time
        time.sleep(0.005)
    first = time.time()
    for i in range(n):
        store.add_review(Review("alice", f"basics/c{i % 7}", "basics", t0 + timedelta(seconds=i), 5.0, "partial",
                                2, 0, "quiz", who, str(i), {}, {"due": t0.isoformat()}))
    print(first, time.time())
    store.close()
""")


def test_two_processes_writing_at_once_lose_nothing(store_url, tmp_path):
    n, gate = 150, tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, store_url, who, str(n), str(gate)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for who in ("app", "cli")]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < 2 and time.monotonic() < deadline and None in [p.poll() for p in procs]:
        time.sleep(0.01)
    (gate / "go").touch()
    spans = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        spans.append([float(x) for x in out.split()])
    (a0, a1), (b0, b1) = spans
    assert a0 < b1 and b0 < a1, "the writers did not overlap in time: the test proves nothing"
    with open_store(store_url, tmp_path) as s:
        rows = s.reviews("alice")
    assert len(rows) == 2 * n
    assert sorted(r.question for r in rows).count("app") == n


def test_migrations_bring_an_old_schema_up_to_date_keeping_data(tmp_path):
    from tutor import progress_sqlite

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for sql in progress_sqlite.MIGRATIONS[0]:
        conn.execute(sql)
    conn.execute("INSERT INTO conversations (id, profile, created_at, question, answer, citations) "
                 "VALUES ('c1', 'alice', ?, 'q', 'a', '[]')", (NOW.isoformat(),))
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    with open_store(f"sqlite:///{path}", tmp_path) as s:
        [c] = s.conversations("alice")
        assert c.thread == "" and c.question == "q"
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == progress_sqlite.SCHEMA_VERSION


def test_postgres_schema_version_is_recorded_and_reopening_is_a_no_op(postgres):
    import psycopg

    from tutor.progress_pg import SCHEMA_VERSION, PostgresStore

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    for _ in range(2):  # a whole database of its own here, to exercise the address form without options
        s = PostgresStore(postgres.url_for(name))
        assert s.schema_version() == SCHEMA_VERSION
        s.close()


def test_postgres_migrates_a_version_1_schema_keeping_data(postgres):
    import psycopg

    from tutor.progress_pg import MIGRATIONS, PostgresStore

    name = f"t_{uuid.uuid4().hex[:12]}"
    url = f"{postgres.url}?options=-csearch_path%3D{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
        for sql in MIGRATIONS[0]:
            conn.execute(sql)
        conn.execute("CREATE TABLE tutor_schema (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO tutor_schema VALUES (1)")
        conn.execute("INSERT INTO conversations (id, profile, created_at, question, answer) "
                     "VALUES ('c1', 'alice', now(), 'q', 'a')")
    s = PostgresStore(url)
    [c] = s.conversations("alice")
    assert c.thread == "" and s.schema_version() == len(MIGRATIONS)
    s.close()


def test_a_newer_sqlite_schema_is_refused_with_a_fix(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreUnavailable, match="newer than this tutor"):
        open_store(f"sqlite:///{path}", tmp_path)


def test_a_corrupt_sqlite_file_is_moved_aside_and_a_new_one_started(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"this is not a database, just some bytes " * 200)
    s = open_store(None, tmp_path)
    moved = list(tmp_path.glob("progress.db.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes().startswith(b"this is not a database")
    assert str(moved[0]) in s.notice and "moved" in s.notice
    s.add_review(review())
    assert len(s.reviews("alice")) == 1
    s.close()


def test_a_locked_sqlite_file_gives_a_clear_message(tmp_path):
    path = tmp_path / "progress.db"
    open_store(None, tmp_path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        s = open_store(None, tmp_path, timeout_s=0.2)
        with pytest.raises(StoreLocked, match="locked by another program") as exc:
            s.add_review(review())
        assert exc.value.exit_code == 2 and "TUTOR_DB" in str(exc.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_an_unreachable_postgres_is_an_environment_problem_without_the_password(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(StoreUnavailable) as exc:
        open_store(f"postgresql://u:s3cret@127.0.0.1:{port}/db", tmp_path, timeout_s=1)
    assert "s3cret" not in str(exc.value) and "unset TUTOR_DB" in str(exc.value)


def test_tutor_db_selects_the_store_and_a_bad_one_is_a_user_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TUTOR_DB", f"sqlite:///{tmp_path / 'x.db'}")
    with open_store(None, tmp_path) as s:
        assert s.describe().endswith("x.db")
    monkeypatch.setenv("TUTOR_DB", "mysql://nope")
    with pytest.raises(UserError, match="not a store address"):
        open_store(None, tmp_path)


def test_profile_names(monkeypatch):
    monkeypatch.setenv("TUTOR_PROFILE", "alice")
    assert default_profile() == "alice"
    monkeypatch.delenv("TUTOR_PROFILE")
    assert check_profile(default_profile())
    for bad in ("", "a b", "x" * 65, "../etc"):
        with pytest.raises(UserError, match="--profile"):
            check_profile(bad)
