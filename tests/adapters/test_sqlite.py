"""The shared SQLite opener: durable settings, counted transactions, named migrations, mapped errors."""

from __future__ import annotations

import sqlite3

import pytest

from adapters.sqlite import Database, Migration, migrations_in


class Boom(Exception):
    pass


M1 = Migration("0001_t", "CREATE TABLE t (x INTEGER NOT NULL); CREATE INDEX t_x ON t(x)")
M2 = Migration("0002_u", "CREATE TABLE u (y TEXT)")


def test_wal_full_sync_and_foreign_keys(tmp_path):
    db = Database(tmp_path / "a.db", error=Boom, migrations=[M1]).open()
    with db.transaction() as c:
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    db.close()


def test_migrations_apply_once_in_order_and_new_ones_later(tmp_path):
    path = tmp_path / "a.db"
    with_one = Database(path, error=Boom, migrations=[M1]).open()
    assert with_one.applied_migrations() == ["0001_t"]
    with_one.close()
    both = Database(path, error=Boom, migrations=[M1, M2]).open()  # M1 again would fail: it must be skipped
    assert both.applied_migrations() == ["0001_t", "0002_u"]
    with both.transaction() as c:
        c.execute("INSERT INTO u(y) VALUES ('ok')")
    both.close()


def test_a_failing_migration_leaves_nothing_half_done(tmp_path):
    bad = Migration("0002_bad", "CREATE TABLE v (z INTEGER); CREATE TABLE v (z INTEGER)")
    with pytest.raises(Boom, match="cannot open database"):
        Database(tmp_path / "a.db", error=Boom, migrations=[M1, bad]).open()
    db = Database(tmp_path / "a.db", error=Boom, migrations=[M1]).open()
    with db.transaction() as c:
        assert c.execute("SELECT name FROM sqlite_master WHERE name = 'v'").fetchone() is None
    assert db.applied_migrations() == ["0001_t"]
    db.close()


def test_a_file_from_before_named_migrations_counts_its_user_version(tmp_path):
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.executescript("CREATE TABLE t (x INTEGER NOT NULL); PRAGMA user_version = 1;")
    raw.close()
    db = Database(path, error=Boom, migrations=[M1, M2]).open()
    assert db.applied_migrations() == ["0001_t", "0002_u"]
    db.close()


def test_nested_transactions_join_the_outer_one(tmp_path):
    db = Database(tmp_path / "a.db", error=Boom, migrations=[M1]).open()
    with pytest.raises(RuntimeError):
        with db.transaction() as outer:
            outer.execute("INSERT INTO t(x) VALUES (1)")
            with db.transaction() as inner:
                inner.execute("INSERT INTO t(x) VALUES (2)")
            raise RuntimeError("the outer one fails: both rows go")
    with db.transaction() as c:
        assert c.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 0
    db.close()


def test_failed_commit_is_rolled_back_and_the_next_transaction_really_commits(tmp_path):
    state = {"armed": False, "failed": 0}

    class Failing(sqlite3.Connection):
        def execute(self, sql, *a):
            if sql == "COMMIT" and state["armed"] and not state["failed"]:
                state["failed"] += 1
                raise sqlite3.OperationalError("disk I/O error")
            return super().execute(sql, *a)

    path = tmp_path / "a.db"
    db = Database(path, error=Boom, migrations=[M1],
                  connect=lambda *a, **kw: sqlite3.connect(*a, factory=Failing, **kw)).open()
    state["armed"] = True
    with pytest.raises(Boom, match="disk I/O error"):
        with db.transaction() as c:
            c.execute("INSERT INTO t(x) VALUES (1)")
    with db.transaction() as c:
        c.execute("INSERT INTO t(x) VALUES (2)")
    other = sqlite3.connect(path)  # a second connection sees only what is committed
    assert [r[0] for r in other.execute("SELECT x FROM t")] == [2]
    other.close()
    db.close()


def test_sqlite_errors_become_the_callers_error(tmp_path):
    db = Database(tmp_path / "a.db", error=Boom, migrations=[M1]).open()
    with pytest.raises(Boom, match="failed: NOT NULL constraint"):
        with db.transaction() as c:
            c.execute("INSERT INTO t(x) VALUES (NULL)")
    db.close()
    with pytest.raises(Boom, match="is not open"):
        with db.transaction():
            pass


def test_unopenable_path_is_the_callers_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(Boom, match="cannot create"):
        Database(blocker / "sub" / "a.db", error=Boom).open()
    (tmp_path / "garbage.db").write_bytes(b"this is not a database file" * 100)
    with pytest.raises(Boom, match="cannot open database"):
        Database(tmp_path / "garbage.db", error=Boom, migrations=[M1]).open()


def test_migrations_in_a_package_are_read_in_name_order():
    names = [m.name for m in migrations_in("controller.store.migrations")]
    assert names == sorted(names) and names[0] == "0001_initial"
    assert all(m.statements() for m in migrations_in("controller.store.migrations"))
